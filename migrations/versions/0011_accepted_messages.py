"""a message's dedup key is committed `accepted` before it is handled, `done` after

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 01:00:00

Existing keys were claimed and handled in one transaction: the server default makes them done.
Batch mode rebuilds processed_message on SQLite to add the check constraint; no table
references it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACCEPTED = sa.text("state = 'accepted'")


def upgrade() -> None:
    with op.batch_alter_table("processed_message") as batch:
        batch.add_column(
            sa.Column("state", sa.String(length=16), server_default="done", nullable=False)
        )
        batch.create_check_constraint(
            op.f("ck_processed_message_state"), "state IN ('accepted', 'done')"
        )
    op.create_index(
        "ix_processed_message_accepted",
        "processed_message",
        ["key"],
        sqlite_where=ACCEPTED,
        postgresql_where=ACCEPTED,
    )


def downgrade() -> None:
    op.drop_index("ix_processed_message_accepted", table_name="processed_message")
    with op.batch_alter_table("processed_message") as batch:
        batch.drop_constraint(op.f("ck_processed_message_state"), type_="check")
        batch.drop_column("state")
