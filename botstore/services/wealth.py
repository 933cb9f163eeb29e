"""Wealth products: the catalogue, buying, holdings, dividends and maturity.

Where the money comes from and goes:
- Each product has a fund account (`AccountKind.WEALTH_FUND`) and its distributing agency an
  account (`AccountKind.AGENCY`). Buying moves the principal wallet -> fund.
- The issuer pre-funds the fund from the outside world with the reserve that the dividends and
  the agency's commission on the whole quota need (`fund_product`, a ledger movement made by the
  seeder or an admin). Every payout is then an ordinary balanced movement out of the fund, and
  the ledger sums to zero. A fund that runs dry stops paying (its holdings stay due) rather than
  going negative; the database's balance check backs that.
- Dividends are simple interest on the principal, one period every `interval_days`. The rounding
  rule, in integer fen: the dividend due through period k is
  floor(principal * rate_bps * k * interval_days / (10000 * 365)), and period k pays that minus
  the same for period k - 1. Remainders carry forward, so the term pays exactly
  floor(principal * rate_bps * term_days / 3_650_000) in total. A period can round to zero fen.
- The agency's commission uses the same rule on the dividend: floor(cumulative dividend *
  commission_bps / 10000), differenced per period. The fund pays it on top: the fan gets the
  stated rate.
- At maturity the principal returns fund -> wallet and the holding closes.

Exactly once: each period is one ledger transaction keyed `payout:<holding>:<period>` and one
`Payout` row unique on (holding, period), written with the holding's progress in one database
transaction; PostgreSQL runs lock the holdings they take (SKIP LOCKED), SQLite's immediate
transactions queue. `pay_due` and `mature_due` work one batch per call, so a run that dies loses
at most its open batch and the next run pays the rest. Batches post their ledger rows with
set-oriented statements (`ledger.transfer_many`) rather than one `ledger.transfer` per payout:
the same rows and invariants, at a hundred thousand payouts in seconds.
"""

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.errors import (
    BadArgument,
    BelowMinimum,
    InsufficientFunds,
    NotFound,
    QuotaExceeded,
)
from botstore.models import (
    Account,
    AccountKind,
    Fan,
    Holding,
    HoldingStatus,
    LedgerTransaction,
    WealthProduct,
)
from botstore.money import Fen, format_yuan
from botstore.services import ledger, messages, notices, wallet
from botstore.services.bulk import BulkWriter

YEAR_BPS = 10_000 * 365
INVEST = "invest"
DIVIDEND = "dividend"
MATURITY = "maturity"
FUNDING = "wealth_funding"

# Renders a notification: (template under replies/, context) -> the text the fan reads.
Render = Callable[[str, Mapping[str, Any]], str]


def cumulative_dividend(principal_fen: int, rate_bps: int, days: int) -> int:
    """The dividend due over the first `days` days, rounded down to the fen."""
    return principal_fen * rate_bps * days // YEAR_BPS


def period_amounts(
    principal_fen: int, rate_bps: int, commission_bps: int, interval_days: int, period: int
) -> tuple[int, int]:
    """(dividend, commission) of period `period` (1-based), remainders carried."""
    before = cumulative_dividend(principal_fen, rate_bps, (period - 1) * interval_days)
    through = cumulative_dividend(principal_fen, rate_bps, period * interval_days)
    commission = through * commission_bps // 10_000 - before * commission_bps // 10_000
    return through - before, commission


def reserve_for(product: WealthProduct) -> int:
    """The dividends and commission the whole quota can earn: what the fund must hold.

    Per-holding amounts round down, so their sum never exceeds this figure on the total.
    """
    dividends = cumulative_dividend(product.total_quota_fen, product.rate_bps, product.term_days)
    return dividends + dividends * product.commission_bps // 10_000


class FundExhausted(Exception):
    """A fund can't cover a batch; its products' holdings stay due."""

    def __init__(self, product_ids: Collection[int]) -> None:
        super().__init__(f"wealth funds of products {sorted(product_ids)} are short")
        self.product_ids = frozenset(product_ids)


# --- the catalogue ---


@dataclass(frozen=True, slots=True)
class ProductLine:
    product: WealthProduct
    remaining_fen: int  # total quota left

    @property
    def total_dividend_at_minimum_fen(self) -> int:
        p = self.product
        return cumulative_dividend(p.min_fen, p.rate_bps, p.term_days)


async def create_product(
    session: AsyncSession,
    *,
    name: str,
    rate_bps: int,
    term_days: int,
    min_fen: int,
    per_fan_quota_fen: int,
    total_quota_fen: int,
    agency_name: str,
    commission_bps: int = 0,
    interval_days: int = 1,
    now: datetime,
) -> WealthProduct:
    """A new product with its own fund account and its agency's account (not yet funded)."""
    if term_days <= 0 or interval_days <= 0 or term_days % interval_days:
        raise ValueError("the term must be a positive multiple of the dividend interval")
    if not 0 < min_fen <= per_fan_quota_fen <= total_quota_fen:
        raise ValueError("need 0 < minimum <= per-fan quota <= total quota")
    agency = (
        await session.exec(
            select(Account).where(Account.kind == AccountKind.AGENCY, Account.name == agency_name)
        )
    ).first()
    if agency is None:
        agency = Account(kind=AccountKind.AGENCY, name=agency_name, created_at=now)
        session.add(agency)
    fund = Account(kind=AccountKind.WEALTH_FUND, name=f"fund: {name}"[:120], created_at=now)
    session.add(fund)
    await session.flush()
    assert fund.id is not None and agency.id is not None
    product = WealthProduct(
        name=name,
        rate_bps=rate_bps,
        term_days=term_days,
        interval_days=interval_days,
        min_fen=min_fen,
        per_fan_quota_fen=per_fan_quota_fen,
        total_quota_fen=total_quota_fen,
        fund_account_id=fund.id,
        agency_name=agency_name,
        agency_account_id=agency.id,
        commission_bps=commission_bps,
        created_at=now,
    )
    session.add(product)
    await session.flush()
    return product


async def fund_product(
    session: AsyncSession, product: WealthProduct, *, amount_fen: int, key: str, now: datetime
) -> LedgerTransaction:
    """The issuer pays `amount_fen` into the fund from the outside world, once per key."""
    return await ledger.fund_from_outside(
        session, product.fund_account_id, amount_fen, key=key, kind=FUNDING, now=now
    )


async def products(session: AsyncSession) -> list[ProductLine]:
    """The products on sale, with the quota left."""
    rows = await session.exec(
        select(WealthProduct).where(col(WealthProduct.enabled)).order_by(col(WealthProduct.id))
    )
    return [ProductLine(p, p.total_quota_fen - p.sold_fen) for p in rows.all()]


# --- the merchant admin: opening and editing products ---

MAX_RATE_BPS = 10_000  # 100% a year
MAX_TERM_DAYS = 3650


@dataclass(frozen=True, slots=True)
class Terms:
    """What the admin sets on a product; fen amounts, basis points, days."""

    name: str
    rate_bps: int
    term_days: int
    interval_days: int
    min_fen: int
    per_fan_quota_fen: int
    total_quota_fen: int
    commission_bps: int


def check_terms(terms: Terms) -> Terms:
    """The terms, cleaned, or BadArgument naming the first wrong field."""
    name = " ".join(terms.name.split())
    if not 1 <= len(name) <= 60 or not name.isprintable():
        raise BadArgument("name", terms.name[:60], "1-60 printable characters")
    if not 0 <= terms.rate_bps <= MAX_RATE_BPS:
        raise BadArgument("rate_bps", str(terms.rate_bps), f"0-{MAX_RATE_BPS} basis points a year")
    if not 1 <= terms.term_days <= MAX_TERM_DAYS:
        raise BadArgument("term_days", str(terms.term_days), f"1-{MAX_TERM_DAYS} days")
    if not 1 <= terms.interval_days <= terms.term_days:
        raise BadArgument("interval_days", str(terms.interval_days), "1 day up to the term")
    if terms.term_days % terms.interval_days:
        raise BadArgument(
            "interval_days", str(terms.interval_days), "the term must be a multiple of it"
        )
    if terms.min_fen <= 0:
        raise BadArgument("minimum", str(terms.min_fen), "must be more than zero")
    if terms.per_fan_quota_fen < terms.min_fen:
        raise BadArgument("per_fan_quota", str(terms.per_fan_quota_fen), "below the minimum")
    if terms.total_quota_fen < terms.per_fan_quota_fen:
        raise BadArgument("total_quota", str(terms.total_quota_fen), "below the per-fan quota")
    if not 0 <= terms.commission_bps <= 10_000:
        raise BadArgument("commission_bps", str(terms.commission_bps), "0-10000 basis points")
    return replace(terms, name=name)


async def reserve_shortfall(session: AsyncSession, product: WealthProduct) -> int:
    """What the fund lacks to pay everything it may owe: the open holdings' principal and
    unpaid dividends and commission (on their own, copied terms), plus the reserve the unsold
    quota needs on the product's current terms. Zero when it holds enough."""
    holdings = await session.exec(
        select(Holding).where(
            Holding.product_id == product.id, Holding.status == HoldingStatus.ACTIVE
        )
    )
    owed = 0
    for holding in holdings.all():
        days = holding.periods * holding.interval_days
        dividends = cumulative_dividend(holding.principal_fen, holding.rate_bps, days)
        commission = dividends * holding.commission_bps // 10_000
        owed += holding.principal_fen + dividends - holding.paid_fen
        owed += commission - holding.commission_fen
    unsold = replace_quota(product, product.total_quota_fen - product.sold_fen)
    owed += reserve_for(unsold)
    balance = await ledger.balance_of(session, product.fund_account_id)
    return max(owed - balance, 0)


def replace_quota(product: WealthProduct, quota_fen: int) -> WealthProduct:
    # A detached copy for reserve_for: the quota still for sale, on the current terms.
    return WealthProduct(
        name=product.name,
        rate_bps=product.rate_bps,
        term_days=product.term_days,
        interval_days=product.interval_days,
        min_fen=product.min_fen,
        per_fan_quota_fen=product.per_fan_quota_fen,
        total_quota_fen=quota_fen,
        fund_account_id=product.fund_account_id,
        agency_name=product.agency_name,
        agency_account_id=product.agency_account_id,
        commission_bps=product.commission_bps,
    )


async def _top_up(
    session: AsyncSession, product: WealthProduct, *, key: str, now: datetime
) -> int:
    shortfall = await reserve_shortfall(session, product)
    if shortfall:
        await fund_product(session, product, amount_fen=shortfall, key=key, now=now)
    return shortfall


async def open_product(
    session: AsyncSession, terms: Terms, *, agency_name: str, key: str, now: datetime
) -> WealthProduct:
    """A new product whose fund the issuer pre-funds from outside with the reserve its whole
    quota needs, in the same transaction (as the seeder does)."""
    terms = check_terms(terms)
    agency = " ".join(agency_name.split())
    if not 1 <= len(agency) <= 60 or not agency.isprintable():
        raise BadArgument("agency", agency_name[:60], "1-60 printable characters")
    product = await create_product(
        session,
        name=terms.name,
        rate_bps=terms.rate_bps,
        term_days=terms.term_days,
        interval_days=terms.interval_days,
        min_fen=terms.min_fen,
        per_fan_quota_fen=terms.per_fan_quota_fen,
        total_quota_fen=terms.total_quota_fen,
        commission_bps=terms.commission_bps,
        agency_name=agency,
        now=now,
    )
    await _top_up(session, product, key=key, now=now)
    return product


async def edit_product(
    session: AsyncSession,
    product_id: int,
    terms: Terms,
    *,
    enabled: bool,
    key: str,
    now: datetime,
) -> tuple[WealthProduct, int]:
    """New terms for new investments only: a holding copied its rate, commission, interval and
    periods when bought, so nothing a fan already holds changes. The total quota can't drop
    below what is sold. When the new terms need a larger reserve, the issuer tops the fund up
    from outside in the same transaction; (the product, the top-up in fen)."""
    product = await session.get(WealthProduct, product_id, populate_existing=True)
    if product is None:
        raise NotFound("wealth product", product_id)
    terms = check_terms(terms)
    sold = product.sold_fen
    if terms.total_quota_fen < sold:
        raise BadArgument(
            "total_quota", str(terms.total_quota_fen), f"below what is sold (¥{format_yuan(sold)})"
        )
    product.name = terms.name
    product.rate_bps = terms.rate_bps
    product.term_days = terms.term_days
    product.interval_days = terms.interval_days
    product.min_fen = terms.min_fen
    product.per_fan_quota_fen = terms.per_fan_quota_fen
    product.total_quota_fen = terms.total_quota_fen
    product.commission_bps = terms.commission_bps
    product.enabled = enabled
    session.add(product)
    await session.flush()
    return product, await _top_up(session, product, key=key, now=now)


async def set_enabled(session: AsyncSession, product_id: int, *, enabled: bool) -> WealthProduct:
    """Stop (or resume) selling a product; its holdings keep paying either way."""
    product = await session.get(WealthProduct, product_id)
    if product is None:
        raise NotFound("wealth product", product_id)
    product.enabled = enabled
    session.add(product)
    await session.flush()
    return product


async def all_products(
    session: AsyncSession, *, product_id: int | None = None
) -> list[tuple[WealthProduct, int, int]]:
    """Every product (or one), on sale or not, with its open holdings and its fund's balance."""
    statement = select(WealthProduct).order_by(col(WealthProduct.id))
    if product_id is not None:
        statement = statement.where(WealthProduct.id == product_id)
    rows = await session.exec(statement.execution_options(populate_existing=True))
    out = []
    for product in rows.all():
        holders = (
            await session.exec(
                select(func.count()).where(
                    Holding.product_id == product.id, Holding.status == HoldingStatus.ACTIVE
                )
            )
        ).one()
        balance = await ledger.balance_of(session, product.fund_account_id)
        out.append((product, int(holders), balance))
    return out


# --- buying ---


async def invest(
    session: AsyncSession,
    fan: Fan,
    *,
    product_id: int,
    amount: Fen,
    key: str,
    now: datetime,
) -> Holding:
    """Buy `amount` of a product from the wallet: minimum, per-fan and total quota enforced."""
    product = await session.get(WealthProduct, product_id)
    if product is None or not product.enabled:
        raise NotFound("wealth product", product_id)
    assert product.id is not None and fan.id is not None
    if amount < product.min_fen:
        raise BelowMinimum(product.name, product.min_fen, amount)
    wallet_id = wallet.wallet_id(fan)
    # Lock the wallet row first (PostgreSQL) so one fan's concurrent purchases check the
    # per-fan quota one at a time; SQLite's immediate transactions already queue.
    await session.exec(select(Account.id).where(Account.id == wallet_id).with_for_update())
    owned = (
        await session.exec(
            select(func.coalesce(func.sum(Holding.principal_fen), 0)).where(
                Holding.fan_id == fan.id, Holding.product_id == product.id
            )
        )
    ).one()
    if int(owned) + amount > product.per_fan_quota_fen:
        raise QuotaExceeded(
            product.name,
            product.per_fan_quota_fen,
            max(product.per_fan_quota_fen - int(owned), 0),
            per_fan=True,
        )
    # The total quota: one conditional UPDATE, so concurrent buyers can never oversell.
    sold = await session.exec(
        update(WealthProduct)
        .where(
            col(WealthProduct.id) == product.id,
            col(WealthProduct.sold_fen) + amount <= col(WealthProduct.total_quota_fen),
        )
        .values(sold_fen=col(WealthProduct.sold_fen) + amount)
    )
    if sold.rowcount != 1:
        await session.refresh(product)
        raise QuotaExceeded(
            product.name, product.total_quota_fen, product.total_quota_fen - product.sold_fen
        )
    await ledger.transfer(
        session,
        key=f"{key}:invest",
        kind=INVEST,
        legs=[ledger.Leg(wallet_id, -amount), ledger.Leg(product.fund_account_id, amount)],
        now=now,
    )
    periods = product.term_days // product.interval_days
    holding = Holding(
        key=f"{key}:invest",
        product_id=product.id,
        fan_id=fan.id,
        wallet_account_id=wallet_id,
        principal_fen=amount,
        rate_bps=product.rate_bps,
        commission_bps=product.commission_bps,
        interval_days=product.interval_days,
        periods=periods,
        started_at=now,
        matures_at=now + timedelta(days=product.term_days),
        next_due_at=now + timedelta(days=product.interval_days),
    )
    session.add(holding)
    await session.flush()
    await session.refresh(product)
    return holding


@dataclass(frozen=True, slots=True)
class HoldingLine:
    holding: Holding
    product_name: str
    total_dividend_fen: int  # what the whole term pays
    next_amount_fen: int | None  # the next period's dividend, None once all are paid


async def holdings(session: AsyncSession, fan: Fan) -> list[HoldingLine]:
    """The fan's holdings, open ones first, newest first."""
    rows = await session.exec(
        select(Holding, WealthProduct.name)
        .join(WealthProduct, col(WealthProduct.id) == Holding.product_id)
        .where(Holding.fan_id == fan.id)
        .order_by(col(Holding.status), col(Holding.id).desc())
    )
    lines = []
    for holding, name in rows.all():
        total = cumulative_dividend(
            holding.principal_fen, holding.rate_bps, holding.periods * holding.interval_days
        )
        upcoming = None
        if holding.next_period <= holding.periods:
            upcoming, _ = period_amounts(
                holding.principal_fen,
                holding.rate_bps,
                holding.commission_bps,
                holding.interval_days,
                holding.next_period,
            )
        lines.append(HoldingLine(holding, name, total, upcoming))
    return lines


# --- the scheduler's work: dividends and maturity ---


class DueHolding(NamedTuple):
    """What a payout reads of a holding that is due: `_DUE_COLUMNS`, selected in this order."""

    id: int
    product_id: int
    wallet_account_id: int
    principal_fen: int
    rate_bps: int
    commission_bps: int
    interval_days: int
    periods: int
    started_at: datetime
    next_period: int
    paid_fen: int
    commission_fen: int
    fan_id: int
    openid: str
    language: str | None  # the fan's, for the notice
    product_name: str
    fund_account_id: int
    agency_account_id: int
    reachable: bool  # whether the notice goes out now or is held (notices.reachable, at `now`)


_DUE_JOINED = {
    "openid": Fan.openid,
    "language": Fan.language,
    "product_name": WealthProduct.name,
    "fund_account_id": WealthProduct.fund_account_id,
    "agency_account_id": WealthProduct.agency_account_id,
}
# Only what the payout needs (each datetime read costs a conversion per row), in the
# NamedTuple's order; a field with no column fails at import. `reachable` depends on the run's
# `now`: added last, by the query.
_DUE_COLUMNS = tuple(
    _DUE_JOINED[name] if name in _DUE_JOINED else getattr(Holding, name)
    for name in DueHolding._fields[:-1]
)


async def pay_due(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    render: Render,
    skip_products: Collection[int] = (),
) -> int:
    """Pay every dividend period due by `now` of up to `limit` holdings; the payouts made.

    The caller commits (one batch per transaction) and calls again until it returns 0. Each
    holding is caught up in full, so its next due date moves past `now` and out of the next
    batch's index range: every batch reads only what it pays.
    Raises FundExhausted (nothing written) when a fund can't cover the batch.
    """
    conn = await session.connection()
    statement = (
        select(*_DUE_COLUMNS, notices.reachable(now))
        .join(Fan, col(Fan.id) == Holding.fan_id)
        .join(WealthProduct, col(WealthProduct.id) == Holding.product_id)
        # No status test: next_due_at is NULL once every period is paid, and a query on the
        # index alone stays cheap however many holdings are active.
        .where(col(Holding.next_due_at) <= now)
        .order_by(col(Holding.next_due_at), col(Holding.id))
        .limit(limit)
    )
    if skip_products:
        statement = statement.where(col(Holding.product_id).not_in(list(skip_products)))
    if conn.dialect.name == "postgresql":
        statement = statement.with_for_update(of=Holding.__table__, skip_locked=True)  # type: ignore[attr-defined]
    rows = (await conn.execute(statement)).all()
    if not rows:
        return 0
    movements: list[ledger.Movement] = []
    payouts: list[tuple[Any, ...]] = []  # the payout row, its transaction id added later
    progress: list[tuple[Any, ...]] = []  # the holding's new progress, then its id
    batch: list[messages.Notice] = []
    funds: dict[int, set[int]] = {}
    writer = BulkWriter(conn)
    when = writer.when
    paid_at = when(now)
    # Plain tuples, not Rows: a Row's attribute lookup costs more than the arithmetic.
    for due in map(DueHolding._make, rows):
        holding_id, started_at, interval_days = due.id, due.started_at, due.interval_days
        period, paid, commission_paid = due.next_period, due.paid_fen, due.commission_fen
        funds.setdefault(due.fund_account_id, set()).add(due.product_id)
        while period <= due.periods:
            due_at = started_at + timedelta(days=period * interval_days)
            if due_at > now:
                break
            amount, commission = period_amounts(
                due.principal_fen, due.rate_bps, due.commission_bps, interval_days, period
            )
            paid += amount
            commission_paid += commission
            key = f"payout:{holding_id}:{period}"
            payouts.append((holding_id, period, amount, commission, key, when(due_at), paid_at))
            if amount or commission:
                legs = [(due.fund_account_id, -(amount + commission))]
                if amount:
                    legs.append((due.wallet_account_id, amount))
                if commission:
                    legs.append((due.agency_account_id, commission))
                movements.append(ledger.Movement(key, DIVIDEND, due_at, tuple(legs)))
            if amount:
                context = {
                    "product_name": due.product_name,
                    "holding_id": holding_id,
                    "period": period,
                    "periods": due.periods,
                    "amount_fen": amount,
                    "paid_fen": paid,
                    "principal_fen": due.principal_fen,
                    "due_at": due_at,
                    "locale": due.language,
                }
                text = render("notifications/dividend.txt", context)
                batch.append(_notice(due, text, DIVIDEND, now))
            period += 1
        next_due = (
            started_at + timedelta(days=period * interval_days) if period <= due.periods else None
        )
        progress.append((period, when(next_due), paid, commission_paid, holding_id))
    try:
        ids = await ledger.transfer_many(writer, movements)
    except InsufficientFunds as short:
        raise FundExhausted(funds.get(short.details["account_id"], set())) from None
    by_key = dict(zip((m.key for m in movements), ids, strict=True))
    await writer.insert(
        "payout",
        (
            "holding_id",
            "period",
            "amount_fen",
            "commission_fen",
            "transaction_id",
            "due_at",
            "paid_at",
        ),
        [
            (holding_id, period, amount, commission, by_key.get(key), due_at, paid_at)
            for holding_id, period, amount, commission, key, due_at, paid_at in payouts
        ],
    )
    await writer.update(
        "holding", ("next_period", "next_due_at", "paid_fen", "commission_fen"), progress
    )
    await notices.notify_many(writer, batch)
    return len(payouts)


async def mature_due(session: AsyncSession, *, now: datetime, limit: int, render: Render) -> int:
    """Return the principal of up to `limit` fully paid holdings past maturity; how many."""
    conn = await session.connection()
    statement = (
        select(
            Holding.__table__,  # type: ignore[attr-defined]
            Fan.openid,
            Fan.language,
            WealthProduct.name,
            WealthProduct.fund_account_id,
            notices.reachable(now).label("reachable"),
        )
        .join(Fan, col(Fan.id) == Holding.fan_id)
        .join(WealthProduct, col(WealthProduct.id) == Holding.product_id)
        .where(
            Holding.status == HoldingStatus.ACTIVE,
            col(Holding.next_due_at).is_(None),
            col(Holding.matures_at) <= now,
        )
        .order_by(col(Holding.matures_at), col(Holding.id))
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        statement = statement.with_for_update(of=Holding.__table__, skip_locked=True)  # type: ignore[attr-defined]
    rows = (await conn.execute(statement)).all()
    if not rows:
        return 0
    movements = [
        ledger.Movement(
            f"maturity:{row.id}",
            MATURITY,
            row.matures_at,
            (
                (row.fund_account_id, -row.principal_fen),
                (row.wallet_account_id, row.principal_fen),
            ),
        )
        for row in rows
    ]
    writer = BulkWriter(conn)
    try:
        await ledger.transfer_many(writer, movements)
    except InsufficientFunds as short:
        account_id = short.details["account_id"]
        products = {row.product_id for row in rows if row.fund_account_id == account_id}
        raise FundExhausted(products) from None
    await writer.update(
        "holding",
        ("status", "closed_at"),
        [(HoldingStatus.MATURED, writer.when(row.matures_at), row.id) for row in rows],
    )
    batch = [
        _notice(
            row,
            render(
                "notifications/matured.txt",
                {
                    "product_name": row.name,
                    "holding_id": row.id,
                    "principal_fen": row.principal_fen,
                    "paid_fen": row.paid_fen,
                    "matures_at": row.matures_at,
                    "locale": row.language,
                },
            ),
            MATURITY,
            now,
        )
        for row in rows
    ]
    await notices.notify_many(writer, batch)
    return len(rows)


async def next_dividend_due(session: AsyncSession, *, after: datetime) -> datetime | None:
    """The earliest unpaid dividend later than `after`."""
    return (
        await session.exec(
            select(func.min(Holding.next_due_at)).where(
                Holding.status == HoldingStatus.ACTIVE, col(Holding.next_due_at) > after
            )
        )
    ).one()


async def next_maturity_due(session: AsyncSession, *, after: datetime) -> datetime | None:
    """The earliest open holding maturing later than `after`."""
    return (
        await session.exec(
            select(func.min(Holding.matures_at)).where(
                Holding.status == HoldingStatus.ACTIVE, col(Holding.matures_at) > after
            )
        )
    ).one()


def _notice(due: Any, text: str, reason: str, now: datetime) -> messages.Notice:
    """A batch's notice to the holder of `due` (a row with fan_id, openid and reachable)."""
    openid = due.openid
    payload = messages.text_message(openid, text)
    return messages.Notice(openid, payload, reason, now, due.fan_id, not due.reachable)
