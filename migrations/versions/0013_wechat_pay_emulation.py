"""WeChat Pay, emulated (API v3): the platform key, merchants, orders, refunds, notifications

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 03:06:22

Only new tables; dialect-neutral.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wxpay_platform",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_key_id", sa.String(length=64), nullable=False),
        sa.Column("private_key_pem", sa.String(), nullable=False),
        sa.Column("public_key_pem", sa.String(), nullable=False),
        sa.Column("certificate_pem", sa.String(), nullable=False),
        sa.Column("certificate_serial", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wxpay_platform")),
    )
    op.create_table(
        "wxpay_merchant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mchid", sa.String(length=32), nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("apiv3_key", sa.String(length=32), nullable=False),
        sa.Column("serial_no", sa.String(length=64), nullable=False),
        sa.Column("public_key_pem", sa.String(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("public_key_mode", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_wxpay_merchant_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wxpay_merchant")),
        sa.UniqueConstraint("mchid", name=op.f("uq_wxpay_merchant_mchid")),
    )
    op.create_table(
        "wxpay_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("out_trade_no", sa.String(length=32), nullable=False),
        sa.Column("trade_type", sa.String(length=16), nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=127), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("notify_url", sa.String(length=256), nullable=False),
        sa.Column("attach", sa.String(length=128), nullable=True),
        sa.Column("payer_openid", sa.String(length=128), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("prepay_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("transaction_id", sa.String(length=32), nullable=True),
        sa.Column("payer_fan_id", sa.Integer(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "refunded_fen >= 0 AND refunded_fen <= total_fen", name=op.f("ck_wxpay_order_refunded")
        ),
        sa.CheckConstraint("total_fen > 0", name=op.f("ck_wxpay_order_total")),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["wxpay_merchant.id"],
            name=op.f("fk_wxpay_order_merchant_id_wxpay_merchant"),
        ),
        sa.ForeignKeyConstraint(
            ["payer_fan_id"], ["fan.id"], name=op.f("fk_wxpay_order_payer_fan_id_fan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wxpay_order")),
        sa.UniqueConstraint("code", name=op.f("uq_wxpay_order_code")),
        sa.UniqueConstraint(
            "merchant_id", "out_trade_no", name=op.f("uq_wxpay_order_merchant_id_out_trade_no")
        ),
        sa.UniqueConstraint("prepay_id", name=op.f("uq_wxpay_order_prepay_id")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_wxpay_order_transaction_id")),
    )
    op.create_table(
        "wxpay_refund",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("out_refund_no", sa.String(length=64), nullable=False),
        sa.Column("refund_id", sa.String(length=32), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=True),
        sa.Column("notify_url", sa.String(length=256), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("success_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_wxpay_refund_amount")),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["wxpay_merchant.id"],
            name=op.f("fk_wxpay_refund_merchant_id_wxpay_merchant"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["wxpay_order.id"], name=op.f("fk_wxpay_refund_order_id_wxpay_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wxpay_refund")),
        sa.UniqueConstraint(
            "merchant_id", "out_refund_no", name=op.f("uq_wxpay_refund_merchant_id_out_refund_no")
        ),
        sa.UniqueConstraint("refund_id", name=op.f("uq_wxpay_refund_refund_id")),
    )
    op.create_index(op.f("ix_wxpay_refund_order_id"), "wxpay_refund", ["order_id"])

    op.create_table(
        "wxpay_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notify_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("refund_id", sa.Integer(), nullable=True),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=256), nullable=False),
        sa.Column("resource", sa.JSON(), nullable=False),
        sa.Column("body", sa.String(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["wxpay_merchant.id"],
            name=op.f("fk_wxpay_notification_merchant_id_wxpay_merchant"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["wxpay_order.id"],
            name=op.f("fk_wxpay_notification_order_id_wxpay_order"),
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"],
            ["wxpay_refund.id"],
            name=op.f("fk_wxpay_notification_refund_id_wxpay_refund"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wxpay_notification")),
        sa.UniqueConstraint("notify_id", name=op.f("uq_wxpay_notification_notify_id")),
    )
    op.create_index(
        op.f("ix_wxpay_notification_next_attempt_at"), "wxpay_notification", ["next_attempt_at"]
    )
    op.create_index(op.f("ix_wxpay_notification_order_id"), "wxpay_notification", ["order_id"])

    op.create_table(
        "wxpay_notification_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tried_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=False),
        sa.Column("acknowledged", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["wxpay_notification.id"],
            name=op.f("fk_wxpay_notification_attempt_notification_id_wxpay_notification"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wxpay_notification_attempt")),
        sa.UniqueConstraint(
            "notification_id",
            "number",
            name=op.f("uq_wxpay_notification_attempt_notification_id_number"),
        ),
    )


def downgrade() -> None:
    op.drop_table("wxpay_notification_attempt")
    op.drop_index(op.f("ix_wxpay_notification_order_id"), table_name="wxpay_notification")
    op.drop_index(op.f("ix_wxpay_notification_next_attempt_at"), table_name="wxpay_notification")

    op.drop_table("wxpay_notification")
    op.drop_index(op.f("ix_wxpay_refund_order_id"), table_name="wxpay_refund")

    op.drop_table("wxpay_refund")
    op.drop_table("wxpay_order")
    op.drop_table("wxpay_merchant")
    op.drop_table("wxpay_platform")
