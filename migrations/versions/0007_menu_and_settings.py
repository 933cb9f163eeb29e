"""custom menu and account reply settings

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 07:00:00

Hand-written and dialect-neutral (no batch operations): only new tables.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "menu",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("matchrule", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_menu")),
    )
    op.create_table(
        "account_setting",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_account_setting")),
    )


def downgrade() -> None:
    op.drop_table("account_setting")
    op.drop_table("menu")
