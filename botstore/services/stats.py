"""The dashboard's figures: fans, messages, orders, GMV, tips, ads, dividends, coupons."""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore import models
from botstore.models import Ad, ArticleTip, Fan, InboundMessage, Order, OrderStatus, Payout
from botstore.services.fans import following

HOURS = 24
DAYS = 14


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime
    count: int
    amount_fen: int = 0


@dataclass(frozen=True, slots=True)
class Figures:
    now: datetime
    fans: int
    fans_subscribed: int
    fans_new_24h: int
    messages_24h: int
    messages_per_hour: list[Bucket]  # the last 24 whole hours and the current one's part
    orders: int
    orders_by_status: dict[str, int]
    gmv_fen: int  # what buyers paid for orders not cancelled
    orders_per_day: list[Bucket]  # the last 14 days: orders placed and their GMV
    tips: int
    tips_fen: int
    ad_revenue_fen: int  # settled ad costs paid to the account
    ad_impressions: int
    ad_clicks: int
    dividends: int
    dividends_fen: int
    coupons_issued: int | None  # None while the coupon tables don't exist
    coupons_used: int | None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["now"] = self.now.isoformat()
        for series in ("messages_per_hour", "orders_per_day"):
            for bucket in data[series]:
                bucket["start"] = bucket["start"].isoformat()
        return data


def _count_in(column: Any, start: datetime, end: datetime) -> Any:
    return func.coalesce(func.sum(case(((column >= start) & (column < end), 1), else_=0)), 0)


def _sum_in(column: Any, value: Any, start: datetime, end: datetime) -> Any:
    return func.coalesce(func.sum(case(((column >= start) & (column < end), value), else_=0)), 0)


def _hours(now: datetime) -> list[datetime]:
    current = now.replace(minute=0, second=0, microsecond=0)
    return [current - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]


def _days(now: datetime) -> list[datetime]:
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]


async def _one(session: AsyncSession, *columns: Any) -> tuple[int, ...]:
    row = (await session.exec(select(*columns))).one()  # type: ignore[call-overload]
    # SQLModel's exec gives a bare scalar for one column, a row for several.
    values = (row,) if len(columns) == 1 else tuple(row)
    return tuple(int(value or 0) for value in values)


async def figures(session: AsyncSession, *, now: datetime) -> Figures:
    """Every figure of the dashboard as of `now` (the emulated clock)."""
    day_ago = now - timedelta(hours=HOURS)
    fans, subscribed, new = await _one(
        session,
        func.count(col(Fan.id)),
        func.coalesce(func.sum(case((following(), 1), else_=0)), 0),
        _count_in(col(Fan.created_at), day_ago, now + timedelta(seconds=1)),
    )
    # One query of 24 conditional counts: the same SQL on SQLite and PostgreSQL.
    hours = _hours(now)
    received = col(InboundMessage.received_at)
    per_hour = await _one(
        session,
        *(_count_in(received, start, start + timedelta(hours=1)) for start in hours),
    )
    days = _days(now)
    paid_at, total = col(Order.paid_at), col(Order.total_fen)
    placed = col(Order.status) != OrderStatus.CANCELLED
    per_day = await _one(
        session,
        *(_count_in(paid_at, start, start + timedelta(days=1)) for start in days),
        *(
            _sum_in(paid_at, case((placed, total), else_=0), start, start + timedelta(days=1))
            for start in days
        ),
    )
    status_rows = await session.exec(
        select(Order.status, func.count(col(Order.id))).group_by(col(Order.status))
    )
    by_status = {status: int(n) for status, n in status_rows}
    (gmv,) = await _one(session, func.coalesce(func.sum(case((placed, total), else_=0)), 0))
    tips, tips_fen = await _one(
        session, func.count(col(ArticleTip.id)), func.coalesce(func.sum(ArticleTip.amount_fen), 0)
    )
    ad_revenue, impressions, clicks = await _one(
        session,
        func.coalesce(func.sum(Ad.spent_fen), 0),
        func.coalesce(func.sum(Ad.impressions), 0),
        func.coalesce(func.sum(Ad.clicks), 0),
    )
    dividends, dividends_fen = await _one(
        session,
        func.coalesce(func.sum(case((col(Payout.transaction_id).is_not(None), 1), else_=0)), 0),
        func.coalesce(func.sum(Payout.amount_fen), 0),
    )
    issued: int | None = None
    used: int | None = None
    coupon = getattr(models, "Coupon", None)  # the coupon tables came with migration 0008
    if coupon is not None:
        issued, used = await _one(
            session,
            func.count(coupon.id),
            func.coalesce(func.sum(case((coupon.used_order_id.is_not(None), 1), else_=0)), 0),
        )
    return Figures(
        now=now,
        fans=fans,
        fans_subscribed=subscribed,
        fans_new_24h=new,
        messages_24h=sum(per_hour),
        messages_per_hour=[Bucket(start, n) for start, n in zip(hours, per_hour, strict=True)],
        orders=sum(by_status.values()),
        orders_by_status=by_status,
        gmv_fen=gmv,
        orders_per_day=[
            Bucket(start, n, fen)
            for start, n, fen in zip(days, per_day[:DAYS], per_day[DAYS:], strict=True)
        ],
        tips=tips,
        tips_fen=tips_fen,
        ad_revenue_fen=ad_revenue,
        ad_impressions=impressions,
        ad_clicks=clicks,
        dividends=dividends,
        dividends_fen=dividends_fen,
        coupons_issued=issued,
        coupons_used=used,
    )
