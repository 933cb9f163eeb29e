"""membership coupons and product cards in articles

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 09:00:00

Hand-written and dialect-neutral (no batch operations): only new tables.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TERMS = (
    "(kind = 'amount' AND amount_off_fen > 0 AND percent_off IS NULL)"
    " OR (kind = 'percent' AND percent_off > 0 AND percent_off < 100 AND amount_off_fen IS NULL)"
)


def _terms(table: str) -> list[Any]:
    return [
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_off_fen", sa.BigInteger(), nullable=True),
        sa.Column("min_spend_fen", sa.BigInteger(), nullable=False),
        sa.Column("percent_off", sa.Integer(), nullable=True),
        sa.Column("cap_fen", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(TERMS, name=op.f(f"ck_{table}_terms")),
        sa.CheckConstraint("min_spend_fen >= 0", name=op.f(f"ck_{table}_min_spend")),
        sa.CheckConstraint("cap_fen IS NULL OR cap_fen > 0", name=op.f(f"ck_{table}_cap")),
    ]


def upgrade() -> None:
    op.create_table(
        "coupon_campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("occasion", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=True),
        *_terms("coupon_campaign"),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "occasion IN ('levelup', 'monthly', 'manual')",
            name=op.f("ck_coupon_campaign_occasion"),
        ),
        sa.CheckConstraint(
            "occasion <> 'levelup' OR level IS NOT NULL", name=op.f("ck_coupon_campaign_level")
        ),
        sa.CheckConstraint(
            "(valid_days IS NOT NULL AND valid_days > 0 AND valid_to IS NULL)"
            " OR (valid_days IS NULL AND valid_to IS NOT NULL)",
            name=op.f("ck_coupon_campaign_validity"),
        ),
        sa.CheckConstraint(
            "valid_from IS NULL OR valid_to IS NULL OR valid_from < valid_to",
            name=op.f("ck_coupon_campaign_window"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_campaign")),
    )
    op.create_table(
        "coupon",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("fan_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        *_terms("coupon"),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_order_id", sa.Integer(), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("valid_from < valid_to", name=op.f("ck_coupon_window")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["coupon_campaign.id"],
            name=op.f("fk_coupon_campaign_id_coupon_campaign"),
        ),
        sa.ForeignKeyConstraint(["fan_id"], ["fan.id"], name=op.f("fk_coupon_fan_id_fan")),
        sa.ForeignKeyConstraint(
            ["used_order_id"], ["order.id"], name=op.f("fk_coupon_used_order_id_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon")),
        sa.UniqueConstraint(
            "campaign_id", "fan_id", "period", name=op.f("uq_coupon_campaign_id_fan_id_period")
        ),
        sa.UniqueConstraint("used_order_id", name=op.f("uq_coupon_used_order_id")),
    )
    op.create_index("ix_coupon_fan_id_valid_to", "coupon", ["fan_id", "valid_to"], unique=False)
    op.create_index(op.f("ix_coupon_valid_to"), "coupon", ["valid_to"], unique=False)
    op.create_table(
        "article_product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("position >= 0", name=op.f("ck_article_product_position")),
        sa.ForeignKeyConstraint(
            ["article_id"], ["article.id"], name=op.f("fk_article_product_article_id_article")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_article_product_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_product")),
        sa.UniqueConstraint(
            "article_id", "position", name=op.f("uq_article_product_article_id_position")
        ),
        sa.UniqueConstraint(
            "article_id", "product_id", name=op.f("uq_article_product_article_id_product_id")
        ),
    )
    op.create_index(
        op.f("ix_article_product_product_id"), "article_product", ["product_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_article_product_product_id"), table_name="article_product")
    op.drop_table("article_product")
    op.drop_index(op.f("ix_coupon_valid_to"), table_name="coupon")
    op.drop_index("ix_coupon_fan_id_valid_to", table_name="coupon")
    op.drop_table("coupon")
    op.drop_table("coupon_campaign")
