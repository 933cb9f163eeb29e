"""SQLModel tables. The schema itself is created only by the Alembic migrations."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, Index, MetaData, TypeDecorator
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _at(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


class AccountKind:
    WALLET = "wallet"
    OUTSIDE = "outside"  # the world beyond the sandbox: top-ups come from here
    PLATFORM = "platform"


class Account(SQLModel, table=True):
    __tablename__ = "account"
    # The outside world is the only account allowed below zero: it is where top-ups come from.
    __table_args__ = (CheckConstraint("balance_fen >= 0 OR kind = 'outside'", name="balance"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=120)
    fan_id: int | None = Field(default=None, foreign_key="fan.id", index=True)
    balance_fen: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime = _at()


class Fan(SQLModel, table=True):
    __tablename__ = "fan"

    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(max_length=64, unique=True)
    nickname: str = Field(default="", max_length=64)
    subscribed: bool = False
    subscribed_at: datetime | None = _at(default=None)
    unsubscribed_at: datetime | None = _at(default=None)
    subscribe_scene: str | None = Field(default=None, max_length=64)
    latitude: float | None = None
    longitude: float | None = None
    location_at: datetime | None = _at(default=None)
    wallet_account_id: int | None = Field(default=None)
    created_at: datetime = _at()
    last_seen_at: datetime = _at()


class LedgerTransaction(SQLModel, table=True):
    __tablename__ = "ledger_transaction"

    id: int | None = Field(default=None, primary_key=True)
    # Idempotency: one movement per key (the inbound message's dedup key plus the movement's role).
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=32)
    memo: str = Field(default="", max_length=200)
    created_at: datetime = _at()


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint("amount_fen <> 0", name="nonzero"),
        Index("ix_ledger_entry_account_id_id", "account_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    transaction_id: int = Field(foreign_key="ledger_transaction.id", index=True)
    account_id: int = Field(foreign_key="account.id")
    amount_fen: int = Field(sa_type=BigInteger)
    kind: str = Field(max_length=32)
    created_at: datetime = _at()


class ProcessedMessage(SQLModel, table=True):
    """A message's dedup key with the reply it got: a retry gets this reply and runs nothing."""

    __tablename__ = "processed_message"

    key: str = Field(primary_key=True, max_length=200)
    reply: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    handled_at: datetime = _at(index=True)


class InboundMessage(SQLModel, table=True):
    """Every accepted inbound message and event, as parsed."""

    __tablename__ = "inbound_message"

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=200, index=True)
    openid: str = Field(max_length=64, index=True)
    msg_type: str = Field(max_length=32)
    event: str | None = Field(default=None, max_length=64)
    fields: dict[str, Any] = Field(sa_type=JSON)
    encrypted: bool = False
    received_at: datetime = _at()


class OutboxMessage(SQLModel, table=True):
    """A customer-service message the account sent a fan outside a passive reply."""

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(max_length=64, index=True)
    # The customer-service API's JSON shape (wechat-protocol.md 7.2).
    payload: dict[str, Any] = Field(sa_type=JSON)
    reason: str = Field(max_length=32)
    created_at: datetime = _at()


class MatchType:
    EXACT = "exact"
    CONTAINS = "contains"
    REGEX = "regex"


class KeywordRule(SQLModel, table=True):
    """A merchant's auto-reply, matched before the built-in commands."""

    __tablename__ = "keyword_rule"
    __table_args__ = (
        CheckConstraint("match_type IN ('exact', 'contains', 'regex')", name="match_type"),
        CheckConstraint("reply_type IN ('text', 'news')", name="reply_type"),
    )

    id: int | None = Field(default=None, primary_key=True)
    match_type: str = Field(max_length=16)
    pattern: str = Field(max_length=200)
    # Higher first; ties go to the older rule.
    priority: int = 0
    reply_type: str = Field(default="text", max_length=16)
    # Jinja2 (sandboxed) sources; news uses title/description/url/pic_url, text uses content.
    content: str = Field(default="", max_length=2000)
    title: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=500)
    url: str = Field(default="", max_length=500)
    pic_url: str = Field(default="", max_length=500)
    enabled: bool = True
    created_at: datetime = _at()
