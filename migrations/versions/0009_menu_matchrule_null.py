"""a default menu's matchrule is SQL NULL, not JSON null

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 11:30:00

The column used to store a missing matchrule as the JSON value null, which SQL's IS NULL does not
see; the model now writes SQL NULL (JSON(none_as_null=True)), and this converts the rows saved
before. Dialect-neutral: both engines cast JSON to text as 'null'.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE menu SET matchrule = NULL WHERE CAST(matchrule AS TEXT) = 'null'")


def downgrade() -> None:
    # SQL NULL reads back as None through either column type: nothing to undo.
    pass
