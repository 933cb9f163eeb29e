"""articles, tips and ad placements

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 09:00:00

Hand-written and dialect-neutral (no batch operations): only new tables.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ad",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("advertiser", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("pic_url", sa.String(length=500), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=False),
        sa.Column("spent_fen", sa.BigInteger(), nullable=False),
        sa.Column("cpm_fen", sa.BigInteger(), nullable=False),
        sa.Column("cpc_fen", sa.BigInteger(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("settled_impressions", sa.BigInteger(), nullable=False),
        sa.Column("settled_clicks", sa.BigInteger(), nullable=False),
        sa.Column("advertiser_account_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('product', 'campaign')", name=op.f("ck_ad_kind")),
        sa.CheckConstraint("budget_fen >= 0", name=op.f("ck_ad_budget")),
        sa.CheckConstraint("spent_fen >= 0 AND spent_fen <= budget_fen", name=op.f("ck_ad_spent")),
        sa.CheckConstraint("cpm_fen >= 0 AND cpc_fen >= 0", name=op.f("ck_ad_price")),
        sa.CheckConstraint(
            "settled_impressions >= 0 AND settled_impressions <= impressions",
            name=op.f("ck_ad_impressions"),
        ),
        sa.CheckConstraint(
            "settled_clicks >= 0 AND settled_clicks <= clicks", name=op.f("ck_ad_clicks")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_ad_product_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["advertiser_account_id"],
            ["account.id"],
            name=op.f("fk_ad_advertiser_account_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad")),
    )
    op.create_table(
        "article",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=120), nullable=False),
        sa.Column("body", sa.String(length=20000), nullable=False),
        sa.Column("cover_url", sa.String(length=500), nullable=False),
        sa.Column("author_fan_id", sa.Integer(), nullable=True),
        sa.Column("author_account_id", sa.Integer(), nullable=False),
        sa.Column("reads", sa.Integer(), nullable=False),
        sa.Column("tips_count", sa.Integer(), nullable=False),
        sa.Column("tips_total_fen", sa.BigInteger(), nullable=False),
        sa.Column("ad_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("reads >= 0", name=op.f("ck_article_reads")),
        sa.CheckConstraint(
            "tips_count >= 0 AND tips_total_fen >= 0", name=op.f("ck_article_tips")
        ),
        sa.ForeignKeyConstraint(
            ["author_fan_id"], ["fan.id"], name=op.f("fk_article_author_fan_id_fan")
        ),
        sa.ForeignKeyConstraint(
            ["author_account_id"],
            ["account.id"],
            name=op.f("fk_article_author_account_id_account"),
        ),
        sa.ForeignKeyConstraint(["ad_id"], ["ad.id"], name=op.f("fk_article_ad_id_ad")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article")),
    )
    op.create_index(op.f("ix_article_author_fan_id"), "article", ["author_fan_id"], unique=False)
    op.create_table(
        "article_tip",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("fan_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_article_tip_amount")),
        sa.CheckConstraint(
            "fee_fen >= 0 AND fee_fen <= amount_fen", name=op.f("ck_article_tip_fee")
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["article.id"], name=op.f("fk_article_tip_article_id_article")
        ),
        sa.ForeignKeyConstraint(["fan_id"], ["fan.id"], name=op.f("fk_article_tip_fan_id_fan")),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transaction.id"],
            name=op.f("fk_article_tip_transaction_id_ledger_transaction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_tip")),
        sa.UniqueConstraint("key", name=op.f("uq_article_tip_key")),
    )
    op.create_index(op.f("ix_article_tip_article_id"), "article_tip", ["article_id"], unique=False)
    op.create_index(op.f("ix_article_tip_fan_id"), "article_tip", ["fan_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_article_tip_fan_id"), table_name="article_tip")
    op.drop_index(op.f("ix_article_tip_article_id"), table_name="article_tip")
    op.drop_table("article_tip")
    op.drop_index(op.f("ix_article_author_fan_id"), table_name="article")
    op.drop_table("article")
    op.drop_table("ad")
