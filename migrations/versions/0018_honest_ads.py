"""ad clicks that count (signed, once per impression and per fan's daily allowance); an order
remembers the article whose product card it was bought from

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 06:00:00

Hand-written: `order` is referenced by other tables, so its new column is a plain ADD COLUMN
(SQLite 3.35+ drops it again) rather than a batch rebuild under SQLite's foreign_keys=ON.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDER_ARTICLE_FK = "fk_order_article_id_article"


def upgrade() -> None:
    op.create_table(
        "ad_click",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ad_id", sa.Integer(), nullable=False),
        sa.Column("fan_id", sa.Integer(), nullable=False),
        sa.Column("impression", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("slot > 0", name=op.f("ck_ad_click_slot")),
        sa.CheckConstraint("amount_fen >= 0", name=op.f("ck_ad_click_amount")),
        sa.ForeignKeyConstraint(["ad_id"], ["ad.id"], name=op.f("fk_ad_click_ad_id_ad")),
        sa.ForeignKeyConstraint(["fan_id"], ["fan.id"], name=op.f("fk_ad_click_fan_id_fan")),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transaction.id"],
            name=op.f("fk_ad_click_transaction_id_ledger_transaction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_click")),
        sa.UniqueConstraint("ad_id", "impression", name=op.f("uq_ad_click_ad_id_impression")),
        sa.UniqueConstraint(
            "ad_id", "fan_id", "day", "slot", name=op.f("uq_ad_click_ad_id_fan_id_day_slot")
        ),
    )
    op.create_index(op.f("ix_ad_click_fan_id"), "ad_click", ["fan_id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite takes a foreign key only inline in ADD COLUMN (no ALTER ... ADD CONSTRAINT).
        op.execute(
            'ALTER TABLE "order" ADD COLUMN article_id INTEGER '
            f"CONSTRAINT {ORDER_ARTICLE_FK} REFERENCES article (id)"
        )
    else:
        op.add_column("order", sa.Column("article_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f(ORDER_ARTICLE_FK), "order", "article", ["article_id"], ["id"]
        )
    op.create_index(op.f("ix_order_article_id"), "order", ["article_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_order_article_id"), table_name="order")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f(ORDER_ARTICLE_FK), "order", type_="foreignkey")
    op.drop_column("order", "article_id")
    op.drop_index(op.f("ix_ad_click_fan_id"), table_name="ad_click")
    op.drop_table("ad_click")
