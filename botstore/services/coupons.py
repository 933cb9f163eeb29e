"""Membership coupons: campaigns, issuing (level-up, monthly, manual), choosing and claiming the
best coupon for an order, giving it back on a refund, and expiry.

Rules:
- A coupon is amount-off (`amount_off_fen` off an order of at least `min_spend_fen`) or
  percent-off (floor(price * percent_off / 100), at most `cap_fen`); never more than the price.
  Its terms are copied from the campaign when issued.
- Issuing is idempotent: a coupon is unique per (campaign, fan, period), the period being
  "levelup" for level-up campaigns, "once" for manual ones and the month ("2026-01") for
  monthly ones, and it is written by an INSERT that skips an existing row. Months are the
  account's (`wallet.timezone`): a monthly coupon runs from the 1st, 00:00 there.
- Level-up: after each completed payment the caller runs `level_up` in the same transaction;
  every level the fan's points reach whose level-up campaign has not given the fan a coupon yet
  gives one now (a jump over two levels gives both).
- One coupon per order, claimed by one conditional UPDATE `... WHERE used_order_id IS NULL`, so
  two concurrent buys can't both use it: the second takes the next best coupon, or none.
- The best coupon is the largest discount; ties go to the one expiring first, then the oldest.
- A coupon is usable from `valid_from` until just before `valid_to`; `expire_due` marks the unused
  ones past it (they were unusable already).
- Money: the platform funds the discount when the order is paid (see orders.buy); a cancelled
  order gives the coupon back, unused, with its original expiry.
- A new coupon's notice is held for a fan outside WeChat's 48-hour window (services/notices.py);
  issuing to many fans decides that with the fans' query and writes the notices in one batch.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, exists, func, literal_column, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.db import insert_or_skip, scalar
from botstore.errors import BadArgument, NotFound
from botstore.models import (
    AccountKind,
    CampaignOccasion,
    Coupon,
    CouponCampaign,
    CouponKind,
    Fan,
    LedgerTransaction,
)
from botstore.money import Fen
from botstore.services import fans, ledger, membership, messages, notices, switches
from botstore.services.bulk import BulkWriter
from botstore.services.membership import DEFAULT_RULES, Rules

ISSUED = "coupon_issued"
BUDGET = "coupon_budget"
LEVELUP_PERIOD = "levelup"
MANUAL_PERIOD = "once"
MAX_NAME = 60
MAX_VALID_DAYS = 3660
# Renders a notification: (template under replies/, context) -> the text the fan reads.
Render = Callable[[str, Mapping[str, Any]], str]


@dataclass(frozen=True, slots=True)
class Offer:
    """A coupon and what it takes off one order."""

    coupon: Coupon
    name: str
    discount_fen: int


@dataclass(frozen=True, slots=True)
class Held:
    """A fan's coupon with its campaign's name, as `coupons` lists it."""

    coupon: Coupon
    name: str


def discount_of(coupon: Coupon | CouponCampaign, amount_fen: int) -> int:
    """What the coupon takes off an order of `amount_fen` (0: it doesn't apply)."""
    if coupon.kind == CouponKind.AMOUNT:
        if amount_fen < coupon.min_spend_fen:
            return 0
        return min(coupon.amount_off_fen or 0, amount_fen)
    if amount_fen < coupon.min_spend_fen:
        return 0
    # Rounded down: the platform never gives more than the stated rate.
    off = amount_fen * (coupon.percent_off or 0) // 100
    return off if coupon.cap_fen is None else min(off, coupon.cap_fen)


def period_of(campaign: CouponCampaign, now: datetime, timezone: str = "UTC") -> str:
    """The period a campaign's coupon is unique in, for a fan (a month: in `timezone`)."""
    if campaign.occasion == CampaignOccasion.LEVELUP:
        return LEVELUP_PERIOD
    if campaign.occasion == CampaignOccasion.MONTHLY:
        return month_start(now, timezone).astimezone(ZoneInfo(timezone)).strftime("%Y-%m")
    return MANUAL_PERIOD


def month_start(moment: datetime, timezone: str = "UTC") -> datetime:
    """The first instant of `moment`'s month in `timezone` (the account's), in UTC."""
    zone = ZoneInfo(timezone)
    local = moment.astimezone(zone).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    # Rebuilt from the wall time: midnight of the 1st may have another UTC offset than `moment`.
    return datetime(local.year, local.month, 1, tzinfo=zone).astimezone(UTC)


def month_start_after(moment: datetime, timezone: str = "UTC") -> datetime:
    """The first instant of the month after `moment`'s in `timezone`, in UTC."""
    start = month_start(moment, timezone).astimezone(ZoneInfo(timezone))
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return datetime(year, month, 1, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


async def create_campaign(
    session: AsyncSession,
    *,
    name: str,
    occasion: str,
    now: datetime,
    level: str | None = None,
    amount_off_fen: int | None = None,
    min_spend_fen: int = 0,
    percent_off: int | None = None,
    cap_fen: int | None = None,
    valid_days: int | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> CouponCampaign:
    """A campaign: amount-off with a minimum spend, or percent-off with an optional cap."""
    if not name.strip() or len(name) > MAX_NAME:
        raise BadArgument("campaign name", name, f"1-{MAX_NAME} characters")
    if occasion not in (
        CampaignOccasion.LEVELUP,
        CampaignOccasion.MONTHLY,
        CampaignOccasion.MANUAL,
    ):
        raise BadArgument("occasion", occasion, "levelup, monthly or manual")
    if occasion == CampaignOccasion.LEVELUP and not level:
        raise BadArgument("level", "", "a level-up campaign names its level")
    if (amount_off_fen is None) == (percent_off is None):
        raise BadArgument("terms", "", "give an amount off or a percent off, not both")
    if amount_off_fen is not None and amount_off_fen <= 0:
        raise BadArgument("amount off", str(amount_off_fen), "more than 0")
    if percent_off is not None and not 0 < percent_off < 100:
        raise BadArgument("percent off", str(percent_off), "1-99")
    if min_spend_fen < 0:
        raise BadArgument("minimum spend", str(min_spend_fen), "0 or more")
    if cap_fen is not None and cap_fen <= 0:
        raise BadArgument("cap", str(cap_fen), "more than 0")
    if (valid_days is None) == (valid_to is None):
        raise BadArgument("validity", "", "give valid days or an end date, not both")
    if valid_days is not None and not 0 < valid_days <= MAX_VALID_DAYS:
        raise BadArgument("valid days", str(valid_days), f"1-{MAX_VALID_DAYS}")
    if valid_from is not None and valid_to is not None and valid_from >= valid_to:
        raise BadArgument("validity", "", "the start must come before the end")
    campaign = CouponCampaign(
        name=name.strip(),
        occasion=occasion,
        level=level,
        kind=CouponKind.AMOUNT if amount_off_fen is not None else CouponKind.PERCENT,
        amount_off_fen=amount_off_fen,
        min_spend_fen=min_spend_fen,
        percent_off=percent_off,
        cap_fen=cap_fen,
        valid_days=valid_days,
        valid_from=valid_from,
        valid_to=valid_to,
        created_at=now,
    )
    session.add(campaign)
    await session.flush()
    return campaign


async def fund_budget(
    session: AsyncSession, *, amount: Fen, key: str, now: datetime
) -> LedgerTransaction:
    """Put money for coupon discounts into the platform account, from outside (once per key)."""
    platform = await ledger.system_account(session, AccountKind.PLATFORM)
    return await ledger.fund_from_outside(
        session, platform.id or 0, amount, key=key, kind=BUDGET, now=now
    )


async def _issue(
    session: AsyncSession,
    campaign: CouponCampaign,
    fan: Fan,
    *,
    now: datetime,
    timezone: str = "UTC",
) -> Coupon | None:
    """The fan's coupon of this campaign for the current period, unless it has one already."""
    monthly = campaign.occasion == CampaignOccasion.MONTHLY
    # A monthly coupon runs from its month's start whenever in the month it is issued, so a
    # late scheduler run, or a fan who arrives mid-month, gets the very same coupon.
    starts = month_start(now, timezone) if monthly else now
    if campaign.valid_from is not None:
        starts = max(starts, campaign.valid_from)
    if monthly:
        # Through the last day of its month, whatever the month's length: `valid_days` (30 in
        # the demo) ended January a day early and ran February into March.
        ends = month_start_after(starts, timezone)
        if campaign.valid_to is not None:
            ends = min(ends, campaign.valid_to)
    elif campaign.valid_days is not None:
        ends = starts + timedelta(days=campaign.valid_days)
    else:
        assert campaign.valid_to is not None
        ends = campaign.valid_to
    if ends <= now:  # over already (a fixed window that ended): nothing to give
        return None
    period = period_of(campaign, now, timezone)
    # INSERT ... ON CONFLICT DO NOTHING: a second issue (a retry, another process, an admin
    # clicking twice) writes nothing; on PostgreSQL it waits for a concurrent first one.
    statement = (
        insert_or_skip(
            session.bind.dialect.name, Coupon, unique=["campaign_id", "fan_id", "period"]
        )
        .values(
            campaign_id=campaign.id,
            fan_id=fan.id,
            period=period,
            kind=campaign.kind,
            amount_off_fen=campaign.amount_off_fen,
            min_spend_fen=campaign.min_spend_fen,
            percent_off=campaign.percent_off,
            cap_fen=campaign.cap_fen,
            valid_from=starts,
            valid_to=ends,
            issued_at=now,
        )
        .returning(col(Coupon.id))
    )
    coupon_id = (await session.exec(statement)).scalar_one_or_none()
    if coupon_id is None:
        return None
    coupon = await session.get(Coupon, coupon_id)
    assert coupon is not None
    return coupon


def _told(campaign: CouponCampaign, coupon: Coupon) -> dict[str, Any]:
    """What the fan's notice of a new coupon says."""
    return {
        "coupon": coupon,
        "name": campaign.name,
        "occasion": campaign.occasion,
        "level": campaign.level,
    }


async def _issue_and_tell(
    session: AsyncSession,
    campaign: CouponCampaign,
    fan: Fan,
    *,
    now: datetime,
    render: Render | None,
    timezone: str = "UTC",
) -> Coupon | None:
    """`_issue` to one fan, who is told (held outside the window) with `render`."""
    coupon = await _issue(session, campaign, fan, now=now, timezone=timezone)
    if coupon is not None and render is not None:
        await notices.notify(
            session,
            fan,
            "notifications/coupon_issued.txt",
            _told(campaign, coupon),
            render=render,
            reason=ISSUED,
            now=now,
        )
    return coupon


async def issue_to(
    session: AsyncSession,
    campaign_id: int,
    fan: Fan,
    *,
    now: datetime,
    render: Render | None = None,
    timezone: str = "UTC",
) -> Coupon | None:
    """Give one fan the campaign's coupon for the current period (None: it has it already)."""
    campaign = await session.get(CouponCampaign, campaign_id)
    if campaign is None:
        raise NotFound("coupon campaign", campaign_id)
    return await _issue_and_tell(session, campaign, fan, now=now, render=render, timezone=timezone)


async def level_up(
    session: AsyncSession,
    fan: Fan,
    *,
    rules: Rules,
    now: datetime,
    render: Render | None = None,
) -> list[Coupon]:
    """Issue the level-up coupon of every level the fan has reached and not had one for yet.

    Call it after a completed payment, in the payment's transaction. Idempotent: a level gives
    its coupon once, however often this runs.
    """
    points = await membership.points_of(session, fan, points_per_yuan=rules.points_per_yuan)
    reached = membership.reached_levels(points, rules.levels)
    campaigns = await session.exec(
        select(CouponCampaign)
        .where(
            CouponCampaign.occasion == CampaignOccasion.LEVELUP,
            col(CouponCampaign.active),
            col(CouponCampaign.level).in_(reached),
        )
        .order_by(col(CouponCampaign.id))
    )
    issued = []
    for campaign in campaigns.all():
        coupon = await _issue_and_tell(session, campaign, fan, now=now, render=render)
        if coupon is not None:
            issued.append(coupon)
    return issued


async def issue_campaign(
    session: AsyncSession,
    campaign_id: int,
    *,
    level: str | None = None,
    now: datetime,
    rules: Rules | None = None,
    render: Render | None = None,
    timezone: str = "UTC",
) -> int:
    """Issue the campaign's coupon to every fan at `level` (default: the campaign's level; none:
    every fan still following), once per fan and period; how many were issued.

    `rules` gives the levels (config [membership]; config.toml's defaults when None); with
    `render`, each fan gets a customer-service message in the outbox, held for one outside the
    48-hour window (read with the fans, written in one batch); `timezone` is the account's,
    whose months monthly coupons follow.
    """
    campaign = await session.get(CouponCampaign, campaign_id)
    if campaign is None:
        raise NotFound("coupon campaign", campaign_id)
    rules = rules or DEFAULT_RULES
    level = level or campaign.level
    if level is not None and level not in {name for name, _ in rules.levels}:
        raise BadArgument("level", level, ", ".join(name for name, _ in rules.levels))
    period = period_of(campaign, now, timezone)
    already = select(Coupon.id).where(
        Coupon.campaign_id == campaign.id,
        col(Coupon.fan_id) == col(Fan.id),
        Coupon.period == period,
    )
    # Fans who unfollowed get nothing; fans who never followed (they only chatted) do. A run
    # at a past instant (the scheduler catching up) skips fans who came later.
    candidates = (
        await session.exec(
            select(Fan, notices.reachable(now))
            .where(
                fans.following(),
                col(Fan.created_at) <= now,
                ~already.exists(),
            )
            .order_by(col(Fan.id))
        )
    ).all()
    if level is not None:
        points = await membership.points_by_fan(
            session, [fan.id or 0 for fan, _ in candidates], points_per_yuan=rules.points_per_yuan
        )
        candidates = [
            (fan, reachable)
            for fan, reachable in candidates
            if membership.level_of(points.get(fan.id or 0, 0), rules.levels) == level
        ]
    issued = 0
    batch: list[messages.Notice] = []
    for fan, reachable in candidates:
        coupon = await _issue(session, campaign, fan, now=now, timezone=timezone)
        if coupon is None:
            continue
        issued += 1
        if render is None:
            continue
        text = render(
            "notifications/coupon_issued.txt",
            _told(campaign, coupon) | {"locale": fan.language},
        )
        payload = messages.text_message(fan.openid, text)
        batch.append(messages.Notice(fan.openid, payload, ISSUED, now, fan.id or 0, not reachable))
    await notices.notify_many(BulkWriter(await session.connection()), batch)
    return issued


async def issue_monthly(
    session: AsyncSession,
    *,
    now: datetime,
    rules: Rules,
    render: Render | None = None,
    timezone: str = "UTC",
) -> int:
    """This month's coupon (the month in `timezone`) of every active monthly campaign, to the
    fans at its level."""
    campaigns = await session.exec(
        select(CouponCampaign.id)
        .where(CouponCampaign.occasion == CampaignOccasion.MONTHLY, col(CouponCampaign.active))
        .order_by(col(CouponCampaign.id))
    )
    issued = 0
    for campaign_id in campaigns.all():
        issued += await issue_campaign(
            session, campaign_id, now=now, rules=rules, render=render, timezone=timezone
        )
    return issued


async def next_monthly(
    session: AsyncSession, *, after: datetime, timezone: str = "UTC"
) -> datetime | None:
    """When monthly coupons are next due after `after`: the next month's start (in `timezone`)
    past the last monthly issue (or the first campaign's creation); None without a monthly
    campaign."""
    first = (
        await session.exec(
            select(func.min(CouponCampaign.created_at)).where(
                CouponCampaign.occasion == CampaignOccasion.MONTHLY, col(CouponCampaign.active)
            )
        )
    ).one()
    if first is None:
        return None
    last = (
        await session.exec(
            select(func.max(Coupon.issued_at))
            .join(CouponCampaign, col(CouponCampaign.id) == Coupon.campaign_id)
            .where(CouponCampaign.occasion == CampaignOccasion.MONTHLY)
        )
    ).one()
    return month_start_after(max(after, first, last or first), timezone)


def _usable(now: datetime) -> Any:
    return and_(
        col(Coupon.used_order_id).is_(None),
        col(Coupon.expired_at).is_(None),
        col(Coupon.valid_from) <= now,
        col(Coupon.valid_to) > now,
    )


async def unused(session: AsyncSession, fan: Fan, now: datetime) -> list[Held]:
    """The fan's coupons that are neither used nor expired, expiring soonest first."""
    rows = await session.exec(
        select(Coupon, CouponCampaign.name)
        .join(CouponCampaign, col(CouponCampaign.id) == Coupon.campaign_id)
        .where(
            Coupon.fan_id == fan.id,
            col(Coupon.used_order_id).is_(None),
            col(Coupon.expired_at).is_(None),
            col(Coupon.valid_to) > now,
        )
        .order_by(col(Coupon.valid_to), col(Coupon.id))
    )
    return [Held(coupon, name) for coupon, name in rows.all()]


# Whether the fan holds a coupon neither used nor expired (valid now or not).
_HOLDS_ANY = select(literal_column("1")).where(
    exists(
        select(Coupon.id).where(
            col(Coupon.fan_id) == bindparam("fan_id"),
            col(Coupon.used_order_id).is_(None),
            col(Coupon.expired_at).is_(None),
        )
    )
)


async def offers(session: AsyncSession, fan: Fan, amount_fen: int, now: datetime) -> list[Offer]:
    """The fan's usable coupons that apply to an order of `amount_fen`, best first."""
    # Every purchase asks, and most buyers hold none: a plain read (db.scalar) answers first,
    # unless the session has coupon changes the read would not see (the ORM's query flushes).
    unflushed = any(isinstance(c, Coupon) for c in (*session.new, *session.dirty))
    if not unflushed and await scalar(session, _HOLDS_ANY, fan_id=fan.id) is None:
        return []
    rows = await session.exec(
        select(Coupon, CouponCampaign.name)
        .join(CouponCampaign, col(CouponCampaign.id) == Coupon.campaign_id)
        .where(Coupon.fan_id == fan.id, _usable(now))
    )
    ranked = [Offer(coupon, name, discount_of(coupon, amount_fen)) for coupon, name in rows.all()]
    ranked = [offer for offer in ranked if offer.discount_fen > 0]
    ranked.sort(key=lambda o: (-o.discount_fen, o.coupon.valid_to, o.coupon.id or 0))
    return ranked


async def best_for(
    session: AsyncSession, fan: Fan, amount_fen: int, now: datetime
) -> Offer | None:
    """The coupon `buy` would apply to an order of `amount_fen` (None: none applies)."""
    ranked = await offers(session, fan, amount_fen, now)
    return ranked[0] if ranked else None


async def claim_best(
    session: AsyncSession, fan: Fan, *, order_id: int, amount_fen: int, now: datetime
) -> Offer | None:
    """Mark the best applicable coupon used by the order; None if none could be claimed."""
    for offer in await offers(session, fan, amount_fen, now):
        # The claim is the conditional UPDATE: a concurrent buy that claimed this coupon first
        # leaves rowcount 0 here (PostgreSQL waits for its commit), and we try the next one.
        result = await session.exec(
            update(Coupon)
            .where(col(Coupon.id) == offer.coupon.id, _usable(now))
            .values(used_order_id=order_id, used_at=now)
        )
        if result.rowcount == 1:
            await session.refresh(offer.coupon)
            return offer
    return None


async def give_back(session: AsyncSession, *, order_id: int) -> Coupon | None:
    """A refunded order's coupon is unused again, its expiry unchanged (None: it had none)."""
    coupon = await of_order(session, order_id)
    if coupon is None:
        return None
    await session.exec(
        update(Coupon)
        .where(col(Coupon.id) == coupon.id, col(Coupon.used_order_id) == order_id)
        .values(used_order_id=None, used_at=None)
    )
    await session.refresh(coupon)
    return coupon


async def of_order(session: AsyncSession, order_id: int) -> Coupon | None:
    """The coupon an order used."""
    statement = select(Coupon).where(Coupon.used_order_id == order_id)
    return (await session.exec(statement)).first()


async def expire_due(session: AsyncSession, *, now: datetime) -> int:
    """Mark every unused coupon past its end as expired; how many."""
    result = await session.exec(
        update(Coupon)
        .where(
            col(Coupon.used_order_id).is_(None),
            col(Coupon.expired_at).is_(None),
            col(Coupon.valid_to) <= now,
        )
        .values(expired_at=now)
    )
    return result.rowcount


async def next_expiry(session: AsyncSession, *, after: datetime) -> datetime | None:
    """When the next unused coupon runs out, after `after` (for the scheduler)."""
    statement = select(Coupon.valid_to).where(
        col(Coupon.used_order_id).is_(None),
        col(Coupon.expired_at).is_(None),
        col(Coupon.valid_to) > after,
    )
    return (await session.exec(statement.order_by(col(Coupon.valid_to)).limit(1))).first()


# --- the merchant admin ---


@dataclass(frozen=True, slots=True)
class CampaignLine:
    """A campaign with how many of its coupons were issued and used."""

    campaign: CouponCampaign
    issued: int
    used: int


async def campaigns(session: AsyncSession) -> list[CampaignLine]:
    """Every campaign, oldest first, with its coupons issued and used."""
    counts = (
        select(
            Coupon.campaign_id,
            func.count().label("issued"),
            func.count(col(Coupon.used_order_id)).label("used"),
        )
        .group_by(col(Coupon.campaign_id))
        .subquery()
    )
    rows = await session.exec(
        select(CouponCampaign, func.coalesce(counts.c.issued, 0), func.coalesce(counts.c.used, 0))
        .outerjoin(counts, counts.c.campaign_id == CouponCampaign.id)
        .order_by(col(CouponCampaign.id))
    )
    return [CampaignLine(c, int(issued), int(used)) for c, issued, used in rows.all()]


async def set_active(session: AsyncSession, campaign_id: int, *, active: bool) -> CouponCampaign:
    """Stop (or restart) a campaign's level-up and monthly issuing; issued coupons stay usable."""
    return await switches.set_active(
        session, CouponCampaign, campaign_id, what="coupon campaign", active=active
    )
