"""a store owner delists and relists its products

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 06:10:00

The owner's switch, beside the admin's `active` (0010): plain ADD COLUMN and DROP COLUMN, as
0010 does, so SQLite does not rebuild `product`, which other tables reference. The server
default keeps every existing product listed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "product", sa.Column("listed", sa.Boolean(), server_default=sa.true(), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("product", "listed")
