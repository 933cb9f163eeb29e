"""initial schema: fans, ledger, messages, keyword rules

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 04:17:45.160127
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("nickname", sa.String(length=64), nullable=False),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.Column("subscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("subscribe_scene", sa.String(length=64), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("location_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wallet_account_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fan")),
        sa.UniqueConstraint("openid", name=op.f("uq_fan_openid")),
    )
    op.create_table(
        "inbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("msg_type", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("encrypted", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_message")),
    )
    op.create_index(
        op.f("ix_inbound_message_dedup_key"), "inbound_message", ["dedup_key"], unique=False
    )
    op.create_index(op.f("ix_inbound_message_openid"), "inbound_message", ["openid"], unique=False)
    op.create_table(
        "keyword_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("match_type", sa.String(length=16), nullable=False),
        sa.Column("pattern", sa.String(length=200), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("reply_type", sa.String(length=16), nullable=False),
        sa.Column("content", sa.String(length=2000), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("pic_url", sa.String(length=500), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "match_type IN ('exact', 'contains', 'regex')", name=op.f("ck_keyword_rule_match_type")
        ),
        sa.CheckConstraint(
            "reply_type IN ('text', 'news')", name=op.f("ck_keyword_rule_reply_type")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keyword_rule")),
    )
    op.create_table(
        "ledger_transaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("memo", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transaction")),
        sa.UniqueConstraint("key", name=op.f("uq_ledger_transaction_key")),
    )
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
    )
    op.create_index(op.f("ix_outbox_message_openid"), "outbox_message", ["openid"], unique=False)
    op.create_table(
        "processed_message",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("reply", sa.JSON(), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_processed_message")),
    )
    op.create_index(
        op.f("ix_processed_message_handled_at"), "processed_message", ["handled_at"], unique=False
    )
    account = op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("fan_id", sa.Integer(), nullable=True),
        sa.Column("balance_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "balance_fen >= 0 OR kind = 'outside'", name=op.f("ck_account_balance")
        ),
        sa.ForeignKeyConstraint(["fan_id"], ["fan.id"], name=op.f("fk_account_fan_id_fan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
    )
    op.create_index(op.f("ix_account_fan_id"), "account", ["fan_id"], unique=False)
    # The system accounts exist from the start, so concurrent first movements can't race to
    # create them.
    created = datetime(2026, 1, 1, tzinfo=UTC)
    op.bulk_insert(
        account,
        [
            {"kind": "outside", "name": "outside world", "balance_fen": 0, "created_at": created},
            {"kind": "platform", "name": "platform", "balance_fen": 0, "created_at": created},
        ],
    )
    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen <> 0", name=op.f("ck_ledger_entry_nonzero")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_ledger_entry_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transaction.id"],
            name=op.f("fk_ledger_entry_transaction_id_ledger_transaction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entry")),
    )
    op.create_index(
        "ix_ledger_entry_account_id_id", "ledger_entry", ["account_id", "id"], unique=False
    )
    op.create_index(
        op.f("ix_ledger_entry_transaction_id"), "ledger_entry", ["transaction_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ledger_entry_transaction_id"), table_name="ledger_entry")
    op.drop_index("ix_ledger_entry_account_id_id", table_name="ledger_entry")
    op.drop_table("ledger_entry")
    op.drop_index(op.f("ix_account_fan_id"), table_name="account")
    op.drop_table("account")
    op.drop_index(op.f("ix_processed_message_handled_at"), table_name="processed_message")
    op.drop_table("processed_message")
    op.drop_index(op.f("ix_outbox_message_openid"), table_name="outbox_message")
    op.drop_table("outbox_message")
    op.drop_table("ledger_transaction")
    op.drop_table("keyword_rule")
    op.drop_index(op.f("ix_inbound_message_openid"), table_name="inbound_message")
    op.drop_index(op.f("ix_inbound_message_dedup_key"), table_name="inbound_message")
    op.drop_table("inbound_message")
    op.drop_table("fan")
