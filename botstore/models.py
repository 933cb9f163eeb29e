"""SQLModel tables. The schema itself is created only by the Alembic migrations."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Index,
    MetaData,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
    true,
)
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


def _active() -> Any:
    # An admin's switch: an inactive row is hidden from fans and sells or takes payments no more,
    # while what it already sold is served as before. The server default makes the rows written
    # before the column existed (migration 0010), or by plain SQL, active.
    return Field(default=True, sa_column_kwargs={"server_default": true()})


class AccountKind:
    WALLET = "wallet"
    OUTSIDE = "outside"  # the world beyond the sandbox: top-ups come from here
    PLATFORM = "platform"
    ESCROW = "escrow"  # the platform holds order payments here until completion
    STORE = "store"
    MERCHANT = "merchant"
    PARTNER = "partner"
    WEALTH_FUND = "wealth_fund"  # a wealth product's fund: principal plus the dividend reserve
    AGENCY = "agency"  # a wealth product's distributing agency: earns commission
    ADVERTISER = "advertiser"  # an ad campaign's budget, funded from outside


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
    # A botstore locale (zh_CN, en): the language of the fan's last command or their choice;
    # None until then, when config.toml's wechat.language speaks for them.
    language: str | None = Field(default=None, max_length=16)
    created_at: datetime = _at()
    last_seen_at: datetime = _at()
    # Notices held in the outbox until the fan next writes (services/notices.py): read with the
    # fan on every message, so a fan with none costs no query.
    waiting_notices: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


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


class MessageState:
    ACCEPTED = "accepted"  # committed before anything is answered; not handled yet
    DONE = "done"  # handled: the reply is stored with the key


class ProcessedMessage(SQLModel, table=True):
    """A message's dedup key with the reply it got: a retry gets this reply and runs nothing.

    The key is committed `accepted` before the message is handled, so a message WeChat was told
    `success` for survives a crash; a restarted server handles every accepted one.
    """

    __tablename__ = "processed_message"
    __table_args__ = (
        CheckConstraint("state IN ('accepted', 'done')", name="state"),
        # Few rows are ever accepted-but-not-done: the restart's scan reads only those.
        Index(
            "ix_processed_message_accepted",
            "key",
            sqlite_where=text("state = 'accepted'"),
            postgresql_where=text("state = 'accepted'"),
        ),
    )

    key: str = Field(primary_key=True, max_length=200)
    # Rows from before migration 0011 were all handled in one transaction: done.
    state: str = Field(
        default=MessageState.DONE,
        max_length=16,
        sa_column_kwargs={"server_default": MessageState.DONE},
    )
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
    # A notice the platform would refuse now (outside the 48-hour window, wechat-protocol.md
    # 7.2): kept here, not delivered, until the fan next writes (services/notices.py).
    waiting: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # On a notice delivered late: when it was first sent and held.
    queued_at: datetime | None = _at(default=None)


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


# --- Commerce: WeStore shops, orders, group buys, offline merchants, partner services ---


class Store(SQLModel, table=True):
    """A fan's WeStore shop; one per fan. Its account receives what its sales earn."""

    __tablename__ = "store"

    id: int | None = Field(default=None, primary_key=True)
    owner_fan_id: int = Field(foreign_key="fan.id", unique=True)
    account_id: int = Field(foreign_key="account.id")
    name: str = Field(max_length=60)
    description: str = Field(default="", max_length=500)
    cover_url: str = Field(default="", max_length=500)
    active: bool = _active()
    created_at: datetime = _at()


class Product(SQLModel, table=True):
    """A product listed in a store; a resale listing points at its supplier's product."""

    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("price_fen > 0", name="price"),
        CheckConstraint("stock >= 0", name="stock"),
        CheckConstraint("group_price_fen IS NULL OR group_price_fen > 0", name="group_price"),
        CheckConstraint("group_size IS NULL OR group_size >= 2", name="group_size"),
        Index("ix_product_created_at_id", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    name: str = Field(max_length=60)
    description: str = Field(default="", max_length=500)
    image_url: str = Field(default="", max_length=500)
    price_fen: int = Field(sa_type=BigInteger)
    # Stock lives on the supplier's product; a resale listing's own stock stays 0.
    stock: int = 0
    supplier_product_id: int | None = Field(default=None, foreign_key="product.id", index=True)
    group_price_fen: int | None = Field(default=None, sa_type=BigInteger)
    group_size: int | None = None
    group_hours: int = 24
    active: bool = _active()
    # The store owner's switch (`delist`/`relist`), apart from the admin's `active`: an owner
    # can't relist what the account deactivated. The server default lists rows written before.
    listed: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    created_at: datetime = _at()


class OrderStatus:
    PAID = "paid"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Order(SQLModel, table=True):
    """A purchase. The money sits in escrow until the order completes (or is refunded)."""

    __tablename__ = "order"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty"),
        CheckConstraint("total_fen >= 0", name="total"),
        CheckConstraint("discount_fen >= 0", name="discount"),
        CheckConstraint("status IN ('paid', 'shipped', 'completed', 'cancelled')", name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # One order per inbound message (its dedup key plus the role), so a retry can't buy twice.
    key: str = Field(max_length=200, unique=True)
    buyer_fan_id: int = Field(foreign_key="fan.id", index=True)
    product_id: int = Field(foreign_key="product.id")  # what the buyer picked (maybe a resale)
    supplier_product_id: int = Field(foreign_key="product.id")  # whose stock and who ships
    supplier_store_id: int = Field(foreign_key="store.id", index=True)
    affiliate_store_id: int | None = Field(default=None, foreign_key="store.id", index=True)
    group_id: int | None = Field(default=None, foreign_key="group_buy.id", index=True)
    # The article whose product card the buyer bought from (`buy #1 from #2`), for its sales.
    article_id: int | None = Field(default=None, foreign_key="article.id", index=True)
    qty: int
    unit_price_fen: int = Field(sa_type=BigInteger)  # what the buyer's price list said
    supplier_unit_fen: int = Field(sa_type=BigInteger)  # what the supplier gets per unit
    discount_fen: int = Field(default=0, sa_type=BigInteger)  # funded by the platform
    total_fen: int = Field(sa_type=BigInteger)  # what the buyer paid
    status: str = Field(default=OrderStatus.PAID, max_length=16)
    paid_at: datetime = _at()
    shipped_at: datetime | None = _at(default=None)
    received_at: datetime | None = _at(default=None)
    completed_at: datetime | None = _at(default=None)
    cancelled_at: datetime | None = _at(default=None)


class GroupStatus:
    OPEN = "open"
    COMPLETED = "completed"
    FAILED = "failed"


class GroupBuy(SQLModel, table=True):
    """A group buy at the product's group price; it completes when `size` fans have joined."""

    __tablename__ = "group_buy"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'completed', 'failed')", name="status"),
        CheckConstraint("size >= 2", name="size"),
    )

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id")
    leader_fan_id: int = Field(foreign_key="fan.id")
    price_fen: int = Field(sa_type=BigInteger)
    size: int
    joined: int = 0
    status: str = Field(default=GroupStatus.OPEN, max_length=16)
    deadline_at: datetime = _at(index=True)
    created_at: datetime = _at()
    closed_at: datetime | None = _at(default=None)


class GroupMember(SQLModel, table=True):
    __tablename__ = "group_member"
    __table_args__ = (UniqueConstraint("group_id", "fan_id"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="group_buy.id", index=True)
    fan_id: int = Field(foreign_key="fan.id")
    key: str = Field(max_length=200, unique=True)
    paid_fen: int = Field(sa_type=BigInteger)
    joined_at: datetime = _at()


class Merchant(SQLModel, table=True):
    """An offline merchant: paid by code, or through its QR scene."""

    __tablename__ = "merchant"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=60)
    scene: str = Field(max_length=64, unique=True)
    account_id: int = Field(foreign_key="account.id")
    active: bool = _active()
    created_at: datetime = _at()


class QrCode(SQLModel, table=True):
    """A parametric QR code made through the emulated /cgi-bin/qrcode/create."""

    __tablename__ = "qr_code"

    id: int | None = Field(default=None, primary_key=True)
    ticket: str = Field(max_length=200, unique=True)
    action_name: str = Field(max_length=32)
    scene: str = Field(max_length=64, index=True)
    expire_at: datetime | None = _at(default=None)
    created_at: datetime = _at()


class PartnerService(SQLModel, table=True):
    """A third-party mini program (ride hailing, bikes, hotels, recharge) paid via the wallet."""

    __tablename__ = "partner_service"
    __table_args__ = (
        CheckConstraint("commission_bps >= 0 AND commission_bps <= 10000", name="commission"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    category: str = Field(max_length=32)
    description: str = Field(default="", max_length=300)
    app_id: str = Field(max_length=32)
    page_path: str = Field(default="pages/index/index", max_length=200)
    icon_url: str = Field(default="", max_length=500)
    account_id: int = Field(foreign_key="account.id")
    # The platform's cut of every payment, in basis points (100 = 1%).
    commission_bps: int = 0
    active: bool = _active()
    created_at: datetime = _at()


class Conversation(SQLModel, table=True):
    """A fan's open multi-message exchange, e.g. a merchant payment waiting for the amount."""

    __tablename__ = "conversation"

    fan_id: int = Field(foreign_key="fan.id", primary_key=True)
    kind: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    started_at: datetime = _at()
    expires_at: datetime = _at()


class AccessToken(SQLModel, table=True):
    """Tokens of the emulated active APIs (/cgi-bin/token)."""

    __tablename__ = "access_token"

    token: str = Field(primary_key=True, max_length=200)
    app_id: str = Field(max_length=32)
    expires_at: datetime = _at(index=True)
    created_at: datetime = _at()


# --- Wealth products, holdings, payouts and the emulated clock ---


class WealthProduct(SQLModel, table=True):
    """A wealth product. Its fund account holds the fans' principal and the dividend reserve."""

    __tablename__ = "wealth_product"
    __table_args__ = (
        CheckConstraint("rate_bps >= 0 AND rate_bps <= 100000", name="rate"),
        CheckConstraint("term_days > 0 AND interval_days > 0", name="term"),
        CheckConstraint("term_days % interval_days = 0", name="interval"),
        CheckConstraint("min_fen > 0", name="minimum"),
        CheckConstraint("sold_fen >= 0 AND sold_fen <= total_quota_fen", name="quota"),
        CheckConstraint("commission_bps >= 0 AND commission_bps <= 10000", name="commission"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    rate_bps: int  # annual simple interest, in basis points (365 = 3.65%)
    term_days: int
    interval_days: int = 1  # dividends every this many days; the term is a multiple of it
    min_fen: int = Field(sa_type=BigInteger)
    per_fan_quota_fen: int = Field(sa_type=BigInteger)
    total_quota_fen: int = Field(sa_type=BigInteger)
    # Raised by one conditional UPDATE per purchase, so concurrent buyers can't oversell.
    sold_fen: int = Field(default=0, sa_type=BigInteger)
    fund_account_id: int = Field(foreign_key="account.id")
    agency_name: str = Field(max_length=60)
    agency_account_id: int = Field(foreign_key="account.id")
    commission_bps: int = 0  # the agency's share of each dividend, paid by the fund on top
    enabled: bool = True
    created_at: datetime = _at()


class HoldingStatus:
    ACTIVE = "active"
    MATURED = "matured"


class Holding(SQLModel, table=True):
    """A fan's purchase of a wealth product; terms are copied so later edits don't change it."""

    __tablename__ = "holding"
    __table_args__ = (
        CheckConstraint("principal_fen > 0", name="principal"),
        CheckConstraint("status IN ('active', 'matured')", name="status"),
        Index("ix_holding_status_matures_at", "status", "matures_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)  # the purchase message's dedup key
    product_id: int = Field(foreign_key="wealth_product.id", index=True)
    fan_id: int = Field(foreign_key="fan.id", index=True)
    wallet_account_id: int = Field(foreign_key="account.id")
    principal_fen: int = Field(sa_type=BigInteger)
    rate_bps: int
    commission_bps: int
    interval_days: int
    periods: int
    started_at: datetime = _at()
    matures_at: datetime = _at()
    next_period: int = 1  # periods + 1 once every dividend is paid
    next_due_at: datetime | None = _at(default=None, index=True)  # None once every one is paid
    paid_fen: int = Field(default=0, sa_type=BigInteger)
    commission_fen: int = Field(default=0, sa_type=BigInteger)
    status: str = Field(default=HoldingStatus.ACTIVE, max_length=16)
    closed_at: datetime | None = _at(default=None)


class Payout(SQLModel, table=True):
    """One dividend period of one holding: the unique pair makes a second payment impossible."""

    __tablename__ = "payout"
    __table_args__ = (UniqueConstraint("holding_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    holding_id: int = Field(foreign_key="holding.id")
    period: int
    amount_fen: int = Field(sa_type=BigInteger)
    commission_fen: int = Field(sa_type=BigInteger)
    # None when the period's dividend rounds to zero fen: nothing moves, the remainder carries.
    transaction_id: int | None = Field(default=None, foreign_key="ledger_transaction.id")
    due_at: datetime = _at()
    paid_at: datetime = _at()


class ClockState(SQLModel, table=True):
    """The emulated clock's offset from wall time, shared by every process and the CLI."""

    __tablename__ = "clock_state"

    id: int = Field(default=1, primary_key=True)
    offset_seconds: int = Field(default=0, sa_type=BigInteger)
    updated_at: datetime = _at()


# --- Articles, tips and ad placements ---


class Article(SQLModel, table=True):
    """A post of the account or of a fan; tips go to `author_account_id`."""

    __tablename__ = "article"
    __table_args__ = (
        CheckConstraint("reads >= 0", name="reads"),
        CheckConstraint("tips_count >= 0 AND tips_total_fen >= 0", name="tips"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=64)
    digest: str = Field(default="", max_length=120)
    body: str = Field(default="", max_length=20000)
    cover_url: str = Field(default="", max_length=500)
    # None: the account's own article, whose tips go to the platform account.
    author_fan_id: int | None = Field(default=None, foreign_key="fan.id", index=True)
    author_account_id: int = Field(foreign_key="account.id")
    reads: int = 0
    tips_count: int = 0
    tips_total_fen: int = Field(default=0, sa_type=BigInteger)
    ad_id: int | None = Field(default=None, foreign_key="ad.id")
    created_at: datetime = _at()


class ArticleTip(SQLModel, table=True):
    """One tip; `key` (the message's dedup key) makes a retried tip impossible to repeat."""

    __tablename__ = "article_tip"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount"),
        CheckConstraint("fee_fen >= 0 AND fee_fen <= amount_fen", name="fee"),
    )

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", index=True)
    fan_id: int = Field(foreign_key="fan.id", index=True)
    amount_fen: int = Field(sa_type=BigInteger)
    fee_fen: int = Field(default=0, sa_type=BigInteger)
    key: str = Field(max_length=200, unique=True)
    transaction_id: int = Field(foreign_key="ledger_transaction.id")
    created_at: datetime = _at()


class AdKind:
    PRODUCT = "product"  # the account's own product
    CAMPAIGN = "campaign"  # another merchant's, paid from its budget


class Ad(SQLModel, table=True):
    """An ad placement. Costs accrue per impression and click, never more than the budget:
    settlement moves the impressions' from the advertiser's account to the platform's, a
    counted click (AdClick) its own at once, so `settled_clicks` keeps up with `clicks`."""

    __tablename__ = "ad"
    __table_args__ = (
        CheckConstraint("kind IN ('product', 'campaign')", name="kind"),
        CheckConstraint("budget_fen >= 0", name="budget"),
        CheckConstraint("spent_fen >= 0 AND spent_fen <= budget_fen", name="spent"),
        CheckConstraint("cpm_fen >= 0 AND cpc_fen >= 0", name="price"),
        CheckConstraint(
            "settled_impressions >= 0 AND settled_impressions <= impressions", name="impressions"
        ),
        CheckConstraint("settled_clicks >= 0 AND settled_clicks <= clicks", name="clicks"),
    )

    id: int | None = Field(default=None, primary_key=True)
    advertiser: str = Field(max_length=60)
    kind: str = Field(max_length=16)
    product_id: int | None = Field(default=None, foreign_key="product.id")
    title: str = Field(max_length=64)
    description: str = Field(default="", max_length=200)
    url: str = Field(max_length=500)
    pic_url: str = Field(default="", max_length=500)
    budget_fen: int = Field(default=0, sa_type=BigInteger)
    spent_fen: int = Field(default=0, sa_type=BigInteger)
    cpm_fen: int = Field(default=0, sa_type=BigInteger)  # per 1000 impressions
    cpc_fen: int = Field(default=0, sa_type=BigInteger)  # per click
    impressions: int = Field(default=0, sa_type=BigInteger)
    clicks: int = Field(default=0, sa_type=BigInteger)
    settled_impressions: int = Field(default=0, sa_type=BigInteger)
    settled_clicks: int = Field(default=0, sa_type=BigInteger)
    advertiser_account_id: int = Field(foreign_key="account.id")
    active: bool = True
    created_at: datetime = _at()


class AdClick(SQLModel, table=True):
    """A click that counted: through a signed link handed to the fan with `impression` (the
    ad's impression number), at most one per impression and `slot` 1..N of the fan's daily
    allowance (`day`, the account's date). The unique constraints make a repeat or a
    concurrent copy insert nothing; the charge is one ledger transaction keyed on the click."""

    __tablename__ = "ad_click"
    __table_args__ = (
        UniqueConstraint("ad_id", "impression"),
        UniqueConstraint("ad_id", "fan_id", "day", "slot"),
        CheckConstraint("slot > 0", name="slot"),
        CheckConstraint("amount_fen >= 0", name="amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ad_id: int = Field(foreign_key="ad.id")
    fan_id: int = Field(foreign_key="fan.id", index=True)
    impression: int = Field(sa_type=BigInteger)
    day: str = Field(max_length=10)  # YYYY-MM-DD in wallet.timezone
    slot: int
    amount_fen: int = Field(default=0, sa_type=BigInteger)  # 0: the ad charges per click no more
    transaction_id: int | None = Field(default=None, foreign_key="ledger_transaction.id")
    created_at: datetime = _at()


# --- The account's custom menu and its reply settings ---


class Menu(SQLModel, table=True):
    """The custom menu as /cgi-bin/menu/create took it: the default one, or a conditional one."""

    __tablename__ = "menu"

    id: int | None = Field(default=None, primary_key=True)
    # The official JSON shapes: {"button": [...]} and, for a conditional menu, its matchrule.
    buttons: list[dict[str, Any]] = Field(sa_type=JSON)
    # SQL NULL for the default menu (not JSON null), so queries can say IS NULL.
    matchrule: dict[str, Any] | None = Field(default=None, sa_type=JSON(none_as_null=True))
    created_at: datetime = _at()


class AccountSetting(SQLModel, table=True):
    """One of the account's reply settings (e.g. the welcome reply), edited from the admin."""

    __tablename__ = "account_setting"

    name: str = Field(primary_key=True, max_length=64)
    value: dict[str, Any] = Field(sa_type=JSON)
    updated_at: datetime = _at()


# --- Membership coupons, and product cards in articles ---


class CampaignOccasion:
    LEVELUP = "levelup"  # issued once to each fan who reaches `level`
    MONTHLY = "monthly"  # issued each month (UTC) to the fans at `level` (every fan if None)
    MANUAL = "manual"  # issued when an admin asks, once per fan


class CouponKind:
    AMOUNT = "amount"  # amount_off_fen off an order of at least min_spend_fen
    PERCENT = "percent"  # percent_off of the order, at most cap_fen (if set)


# The terms a campaign and its coupons share: exactly one of the two kinds.
_COUPON_TERMS = (
    "(kind = 'amount' AND amount_off_fen > 0 AND percent_off IS NULL)"
    " OR (kind = 'percent' AND percent_off > 0 AND percent_off < 100 AND amount_off_fen IS NULL)"
)


class CouponCampaign(SQLModel, table=True):
    """What a coupon gives, who gets it (a level, or everyone) and when (level-up, monthly,
    manual), valid for `valid_days` from issue or in a fixed window ending `valid_to`."""

    __tablename__ = "coupon_campaign"
    __table_args__ = (
        CheckConstraint("occasion IN ('levelup', 'monthly', 'manual')", name="occasion"),
        CheckConstraint("occasion <> 'levelup' OR level IS NOT NULL", name="level"),
        CheckConstraint(_COUPON_TERMS, name="terms"),
        CheckConstraint("min_spend_fen >= 0", name="min_spend"),
        CheckConstraint("cap_fen IS NULL OR cap_fen > 0", name="cap"),
        CheckConstraint(
            "(valid_days IS NOT NULL AND valid_days > 0 AND valid_to IS NULL)"
            " OR (valid_days IS NULL AND valid_to IS NOT NULL)",
            name="validity",
        ),
        CheckConstraint(
            "valid_from IS NULL OR valid_to IS NULL OR valid_from < valid_to", name="window"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    occasion: str = Field(max_length=16)  # a CampaignOccasion value
    level: str | None = Field(default=None, max_length=32)
    kind: str = Field(max_length=16)
    amount_off_fen: int | None = Field(default=None, sa_type=BigInteger)
    min_spend_fen: int = Field(default=0, sa_type=BigInteger)
    percent_off: int | None = None
    cap_fen: int | None = Field(default=None, sa_type=BigInteger)
    valid_days: int | None = None
    valid_from: datetime | None = _at(default=None)
    valid_to: datetime | None = _at(default=None)
    active: bool = True
    created_at: datetime = _at()


class Coupon(SQLModel, table=True):
    """One fan's coupon. Terms are copied from the campaign so later edits don't change it; the
    unique (campaign, fan, period) makes issuing idempotent; `used_order_id` is claimed by one
    conditional UPDATE, so a coupon pays for one order only."""

    __tablename__ = "coupon"
    __table_args__ = (
        UniqueConstraint("campaign_id", "fan_id", "period"),
        CheckConstraint(_COUPON_TERMS, name="terms"),
        CheckConstraint("min_spend_fen >= 0", name="min_spend"),
        CheckConstraint("cap_fen IS NULL OR cap_fen > 0", name="cap"),
        CheckConstraint("valid_from < valid_to", name="window"),
        Index("ix_coupon_fan_id_valid_to", "fan_id", "valid_to"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="coupon_campaign.id")
    fan_id: int = Field(foreign_key="fan.id")
    # "levelup", "once" (manual) or the month, "2026-01" (monthly).
    period: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    amount_off_fen: int | None = Field(default=None, sa_type=BigInteger)
    min_spend_fen: int = Field(default=0, sa_type=BigInteger)
    percent_off: int | None = None
    cap_fen: int | None = Field(default=None, sa_type=BigInteger)
    valid_from: datetime = _at()
    valid_to: datetime = _at(index=True)
    used_order_id: int | None = Field(default=None, foreign_key="order.id", unique=True)
    used_at: datetime | None = _at(default=None)
    expired_at: datetime | None = _at(default=None)
    issued_at: datetime = _at()


class ArticleProduct(SQLModel, table=True):
    """A product card embedded in an article (content e-commerce), shown in `position` order."""

    __tablename__ = "article_product"
    __table_args__ = (
        UniqueConstraint("article_id", "position"),
        UniqueConstraint("article_id", "product_id"),
        CheckConstraint("position >= 0", name="position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id")
    product_id: int = Field(foreign_key="product.id", index=True)
    position: int = 0


# --- The account's mini program: its users, logins and subscribe messages ---


class MiniProgramUser(SQLModel, table=True):
    """A fan who opened the mini program: the same person under the mini program's own openid
    (one per app, as on the platform; the unionid is shared and derived from the fan)."""

    __tablename__ = "miniprogram_user"

    id: int | None = Field(default=None, primary_key=True)
    fan_id: int = Field(foreign_key="fan.id", unique=True)
    openid: str = Field(max_length=64, unique=True)
    created_at: datetime = _at()


class MiniProgramLogin(SQLModel, table=True):
    """A `wx.login` code: exchanged once at /sns/jscode2session, within its lifetime."""

    __tablename__ = "miniprogram_login"

    code: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="miniprogram_user.id", index=True)
    session_key: str = Field(max_length=64)
    expires_at: datetime = _at(index=True)
    used_at: datetime | None = _at(default=None)
    created_at: datetime = _at()


class SubscribeTemplate(SQLModel, table=True):
    """A subscribe-message template of the mini program: its keywords, e.g. thing1 (商品名称)."""

    __tablename__ = "subscribe_template"

    id: str = Field(primary_key=True, max_length=64)
    title: str = Field(max_length=60)
    # [{"key": "thing1", "name": "商品名称"}, ...]: the data fields a send must fill.
    keywords: list[dict[str, str]] = Field(sa_type=JSON)
    active: bool = _active()
    created_at: datetime = _at()


class SubscribeGrant(SQLModel, table=True):
    """One "allow" of wx.requestSubscribeMessage: one message of this template may be sent."""

    __tablename__ = "subscribe_grant"
    __table_args__ = (Index("ix_subscribe_grant_user_id_template_id", "user_id", "template_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="miniprogram_user.id")
    template_id: str = Field(foreign_key="subscribe_template.id", max_length=64)
    granted_at: datetime = _at()
    used_at: datetime | None = _at(default=None)


class SubscribeMessage(SQLModel, table=True):
    """A subscribe message delivered to a mini-program user, on the grant it used up."""

    __tablename__ = "subscribe_message"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="miniprogram_user.id", index=True)
    grant_id: int = Field(foreign_key="subscribe_grant.id", unique=True)
    template_id: str = Field(max_length=64)
    page: str = Field(default="", max_length=200)
    # {"thing1": {"value": "..."}, ...}: the template's fields, as sent.
    data: dict[str, Any] = Field(sa_type=JSON)
    state: str = Field(default="formal", max_length=16)
    sent_at: datetime = _at()


# --- WeChat Pay, emulated (API v3) ---


class WxPayPlatform(SQLModel, table=True):
    """The platform's own RSA key pair, made once: its public key (public-key mode, id
    PUB_KEY_ID_...) and the certificate wrapping the same key (certificate mode)."""

    __tablename__ = "wxpay_platform"

    id: int = Field(default=1, primary_key=True)
    public_key_id: str = Field(max_length=64)
    private_key_pem: str
    public_key_pem: str
    certificate_pem: str
    certificate_serial: str = Field(max_length=64)
    created_at: datetime = _at()


class WxPayMerchant(SQLModel, table=True):
    """A merchant calling the v3 API: requests are verified with `public_key_pem`, whose
    certificate serial is `serial_no`; notifications are encrypted with `apiv3_key`."""

    __tablename__ = "wxpay_merchant"

    id: int | None = Field(default=None, primary_key=True)
    mchid: str = Field(max_length=32, unique=True)
    appid: str = Field(max_length=32)
    apiv3_key: str = Field(max_length=32)
    serial_no: str = Field(max_length=64)
    public_key_pem: str
    account_id: int = Field(foreign_key="account.id")
    # Seen sending `Wechatpay-Serial: PUB_KEY_ID_...`: notifications then name the public key id
    # instead of the certificate serial, as for a merchant in public-key mode.
    public_key_mode: bool = False
    created_at: datetime = _at()


class WxPayTradeState:
    NOTPAY = "NOTPAY"
    SUCCESS = "SUCCESS"
    CLOSED = "CLOSED"
    REFUND = "REFUND"


class WxPayOrder(SQLModel, table=True):
    """A prepay order (JSAPI, NATIVE or H5), unique per merchant by `out_trade_no`."""

    __tablename__ = "wxpay_order"
    __table_args__ = (
        UniqueConstraint("merchant_id", "out_trade_no"),
        CheckConstraint("total_fen > 0", name="total"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= total_fen", name="refunded"),
    )

    id: int | None = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="wxpay_merchant.id")
    out_trade_no: str = Field(max_length=32)
    trade_type: str = Field(max_length=16)
    appid: str = Field(max_length=32)
    description: str = Field(max_length=127)
    total_fen: int = Field(sa_type=BigInteger)
    currency: str = Field(default="CNY", max_length=8)
    notify_url: str = Field(max_length=256)
    attach: str | None = Field(default=None, max_length=128)
    payer_openid: str | None = Field(default=None, max_length=128)
    # The request's fields that define the order: the same out_trade_no with others is refused.
    request: dict[str, Any] = Field(sa_type=JSON)
    prepay_id: str = Field(max_length=64, unique=True)
    code: str = Field(max_length=32, unique=True)  # code_url's `pr`, h5_url's `package`
    expires_at: datetime = _at()
    state: str = Field(default=WxPayTradeState.NOTPAY, max_length=16)
    transaction_id: str | None = Field(default=None, max_length=32, unique=True)
    payer_fan_id: int | None = Field(default=None, foreign_key="fan.id")
    paid_at: datetime | None = _at(default=None)
    closed_at: datetime | None = _at(default=None)
    refunded_fen: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime = _at()


class WxPayRefund(SQLModel, table=True):
    """A refund of a paid order, unique per merchant by `out_refund_no`."""

    __tablename__ = "wxpay_refund"
    __table_args__ = (
        UniqueConstraint("merchant_id", "out_refund_no"),
        CheckConstraint("amount_fen > 0", name="amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="wxpay_merchant.id")
    order_id: int = Field(foreign_key="wxpay_order.id", index=True)
    out_refund_no: str = Field(max_length=64)
    refund_id: str = Field(max_length=32, unique=True)
    amount_fen: int = Field(sa_type=BigInteger)
    reason: str | None = Field(default=None, max_length=80)
    notify_url: str | None = Field(default=None, max_length=256)
    request: dict[str, Any] = Field(sa_type=JSON)
    status: str = Field(default="SUCCESS", max_length=16)
    created_at: datetime = _at()
    success_at: datetime = _at()


class WxPayNotification(SQLModel, table=True):
    """A payment or refund notification to the merchant's notify_url, tried until it answers
    200/204 or the retry schedule runs out (`state` pending, delivered or failed)."""

    __tablename__ = "wxpay_notification"

    id: int | None = Field(default=None, primary_key=True)
    notify_id: str = Field(max_length=64, unique=True)
    merchant_id: int = Field(foreign_key="wxpay_merchant.id")
    order_id: int = Field(foreign_key="wxpay_order.id", index=True)
    refund_id: int | None = Field(default=None, foreign_key="wxpay_refund.id")
    event_type: str = Field(max_length=32)
    url: str = Field(max_length=256)
    resource: dict[str, Any] = Field(sa_type=JSON)  # the plaintext the body carries encrypted
    body: str | None = None  # the exact body, made at the first try and sent on every try
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = _at(default=None, index=True)
    # A try in flight (wall time): another runner leaves it alone until then.
    leased_until: datetime | None = _at(default=None)
    delivered_at: datetime | None = _at(default=None)
    created_at: datetime = _at()


class WxPayNotificationAttempt(SQLModel, table=True):
    """One try of a notification: when it was due, when it ran, what the merchant answered."""

    __tablename__ = "wxpay_notification_attempt"
    __table_args__ = (UniqueConstraint("notification_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="wxpay_notification.id")
    number: int
    scheduled_at: datetime = _at()
    tried_at: datetime = _at()
    status: int | None = None
    outcome: str = Field(max_length=200)
    acknowledged: bool = False
