"""notices held until the fan next writes

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-06 06:30:00

WeChat refuses a customer-service message to a fan who has not written in 48 hours; botstore's
notices to such a fan wait in the outbox (`waiting`) and go out when the fan next writes
(`queued_at` on the delivered copy). `fan.waiting_notices` counts them, read with the fan on every
message, so delivery costs no query for a fan with none. Plain ADD COLUMN, dialect-neutral.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "fan", sa.Column("waiting_notices", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "outbox_message",
        sa.Column("waiting", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("outbox_message", sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox_message", "queued_at")
    op.drop_column("outbox_message", "waiting")
    op.drop_column("fan", "waiting_notices")
