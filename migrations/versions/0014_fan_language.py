"""a fan's language

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 03:30:00

NULL until the fan types a command or chooses a language: config.toml's wechat.language
speaks for them until then, so changing that default reaches every fan who never chose.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("fan", sa.Column("language", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("fan", "language")
