"""stores, products, merchants and partner services can be deactivated

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 10:00:00

Hand-written and dialect-neutral (no batch operations): batch mode would rebuild `store` and
`product`, which other tables reference, under SQLite's foreign_keys=ON. Plain ADD COLUMN and
DROP COLUMN (SQLite 3.35+) leave the referencing rows alone. The server default makes every
existing row active.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("store", "product", "merchant", "partner_service")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table, sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "active")
