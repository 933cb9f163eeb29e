"""the account's mini program: its users, wx.login codes, subscribe templates, grants, messages

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 03:30:00

New tables only; nothing existing changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "miniprogram_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fan_id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        _at("created_at"),
        sa.ForeignKeyConstraint(
            ["fan_id"], ["fan.id"], name=op.f("fk_miniprogram_user_fan_id_fan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_miniprogram_user")),
        sa.UniqueConstraint("fan_id", name=op.f("uq_miniprogram_user_fan_id")),
        sa.UniqueConstraint("openid", name=op.f("uq_miniprogram_user_openid")),
    )
    op.create_table(
        "miniprogram_login",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_key", sa.String(length=64), nullable=False),
        _at("expires_at"),
        _at("used_at", nullable=True),
        _at("created_at"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["miniprogram_user.id"],
            name=op.f("fk_miniprogram_login_user_id_miniprogram_user"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_miniprogram_login")),
    )
    op.create_index(
        op.f("ix_miniprogram_login_user_id"), "miniprogram_login", ["user_id"], unique=False
    )
    op.create_index(
        op.f("ix_miniprogram_login_expires_at"), "miniprogram_login", ["expires_at"], unique=False
    )
    op.create_table(
        "subscribe_template",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=60), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        _at("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribe_template")),
    )
    op.create_table(
        "subscribe_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=False),
        _at("granted_at"),
        _at("used_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["miniprogram_user.id"],
            name=op.f("fk_subscribe_grant_user_id_miniprogram_user"),
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["subscribe_template.id"],
            name=op.f("fk_subscribe_grant_template_id_subscribe_template"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribe_grant")),
    )
    op.create_index(
        "ix_subscribe_grant_user_id_template_id",
        "subscribe_grant",
        ["user_id", "template_id"],
        unique=False,
    )
    op.create_table(
        "subscribe_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=False),
        sa.Column("page", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        _at("sent_at"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["miniprogram_user.id"],
            name=op.f("fk_subscribe_message_user_id_miniprogram_user"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["subscribe_grant.id"],
            name=op.f("fk_subscribe_message_grant_id_subscribe_grant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribe_message")),
        sa.UniqueConstraint("grant_id", name=op.f("uq_subscribe_message_grant_id")),
    )
    op.create_index(
        op.f("ix_subscribe_message_user_id"), "subscribe_message", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_subscribe_message_user_id"), table_name="subscribe_message")
    op.drop_table("subscribe_message")
    op.drop_index("ix_subscribe_grant_user_id_template_id", table_name="subscribe_grant")
    op.drop_table("subscribe_grant")
    op.drop_table("subscribe_template")
    op.drop_index(op.f("ix_miniprogram_login_expires_at"), table_name="miniprogram_login")
    op.drop_index(op.f("ix_miniprogram_login_user_id"), table_name="miniprogram_login")
    op.drop_table("miniprogram_login")
    op.drop_table("miniprogram_user")
