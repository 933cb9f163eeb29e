"""wealth products, holdings, payouts and the emulated clock

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-26 05:10:00

Hand-written and dialect-neutral (no batch operations): only new tables.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wealth_product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("rate_bps", sa.Integer(), nullable=False),
        sa.Column("term_days", sa.Integer(), nullable=False),
        sa.Column("interval_days", sa.Integer(), nullable=False),
        sa.Column("min_fen", sa.BigInteger(), nullable=False),
        sa.Column("per_fan_quota_fen", sa.BigInteger(), nullable=False),
        sa.Column("total_quota_fen", sa.BigInteger(), nullable=False),
        sa.Column("sold_fen", sa.BigInteger(), nullable=False),
        sa.Column("fund_account_id", sa.Integer(), nullable=False),
        sa.Column("agency_name", sa.String(length=60), nullable=False),
        sa.Column("agency_account_id", sa.Integer(), nullable=False),
        sa.Column("commission_bps", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "rate_bps >= 0 AND rate_bps <= 100000", name=op.f("ck_wealth_product_rate")
        ),
        sa.CheckConstraint(
            "term_days > 0 AND interval_days > 0", name=op.f("ck_wealth_product_term")
        ),
        sa.CheckConstraint(
            "term_days % interval_days = 0", name=op.f("ck_wealth_product_interval")
        ),
        sa.CheckConstraint("min_fen > 0", name=op.f("ck_wealth_product_minimum")),
        sa.CheckConstraint(
            "sold_fen >= 0 AND sold_fen <= total_quota_fen", name=op.f("ck_wealth_product_quota")
        ),
        sa.CheckConstraint(
            "commission_bps >= 0 AND commission_bps <= 10000",
            name=op.f("ck_wealth_product_commission"),
        ),
        sa.ForeignKeyConstraint(
            ["fund_account_id"],
            ["account.id"],
            name=op.f("fk_wealth_product_fund_account_id_account"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_account_id"],
            ["account.id"],
            name=op.f("fk_wealth_product_agency_account_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wealth_product")),
    )
    op.create_table(
        "holding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("fan_id", sa.Integer(), nullable=False),
        sa.Column("wallet_account_id", sa.Integer(), nullable=False),
        sa.Column("principal_fen", sa.BigInteger(), nullable=False),
        sa.Column("rate_bps", sa.Integer(), nullable=False),
        sa.Column("commission_bps", sa.Integer(), nullable=False),
        sa.Column("interval_days", sa.Integer(), nullable=False),
        sa.Column("periods", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("matures_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_period", sa.Integer(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("commission_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("principal_fen > 0", name=op.f("ck_holding_principal")),
        sa.CheckConstraint("status IN ('active', 'matured')", name=op.f("ck_holding_status")),
        sa.ForeignKeyConstraint(["fan_id"], ["fan.id"], name=op.f("fk_holding_fan_id_fan")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["wealth_product.id"],
            name=op.f("fk_holding_product_id_wealth_product"),
        ),
        sa.ForeignKeyConstraint(
            ["wallet_account_id"],
            ["account.id"],
            name=op.f("fk_holding_wallet_account_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holding")),
        sa.UniqueConstraint("key", name=op.f("uq_holding_key")),
    )
    op.create_index(op.f("ix_holding_product_id"), "holding", ["product_id"], unique=False)
    op.create_index(op.f("ix_holding_fan_id"), "holding", ["fan_id"], unique=False)
    op.create_index(op.f("ix_holding_next_due_at"), "holding", ["next_due_at"], unique=False)
    op.create_index(
        "ix_holding_status_matures_at", "holding", ["status", "matures_at"], unique=False
    )
    op.create_table(
        "payout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("holding_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("commission_fen", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["holding_id"], ["holding.id"], name=op.f("fk_payout_holding_id_holding")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transaction.id"],
            name=op.f("fk_payout_transaction_id_ledger_transaction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout")),
        sa.UniqueConstraint("holding_id", "period", name=op.f("uq_payout_holding_id_period")),
    )
    clock_state = op.create_table(
        "clock_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offset_seconds", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock_state")),
    )
    # The one row exists from the start, so every advance is a plain atomic UPDATE.
    op.bulk_insert(
        clock_state,
        [{"id": 1, "offset_seconds": 0, "updated_at": datetime(2026, 1, 1, tzinfo=UTC)}],
    )


def downgrade() -> None:
    op.drop_table("clock_state")
    op.drop_table("payout")
    op.drop_index("ix_holding_status_matures_at", table_name="holding")
    op.drop_index(op.f("ix_holding_next_due_at"), table_name="holding")
    op.drop_index(op.f("ix_holding_fan_id"), table_name="holding")
    op.drop_index(op.f("ix_holding_product_id"), table_name="holding")
    op.drop_table("holding")
    op.drop_table("wealth_product")
