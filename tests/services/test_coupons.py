"""Coupons as services: discount rules, choosing the best, idempotent issuing by level and
period, expiry, claiming once, and bad campaign terms."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from botstore.clock import FrozenClock
from botstore.config import MembershipConfig
from botstore.errors import BadArgument, NotFound
from botstore.models import (
    CampaignOccasion,
    Coupon,
    CouponCampaign,
    Fan,
    LedgerTransaction,
    OutboxMessage,
)
from botstore.money import Fen
from botstore.services import coupons, fans, ledger, membership, merchants
from botstore.services.ledger import Leg

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RULES = membership.Rules(1, (("green", 0), ("gold", 500), ("platinum", 2000)))


def test_the_default_rules_are_config_tomls() -> None:
    settings = MembershipConfig()
    assert (
        membership.Rules(settings.points_per_yuan, settings.level_thresholds)
        == membership.DEFAULT_RULES
    )


@pytest.mark.parametrize(
    ("terms", "amount", "discount"),
    [
        ({"kind": "amount", "amount_off_fen": 2000, "min_spend_fen": 6000}, 5999, 0),
        ({"kind": "amount", "amount_off_fen": 2000, "min_spend_fen": 6000}, 6000, 2000),
        ({"kind": "amount", "amount_off_fen": 2000, "min_spend_fen": 0}, 1500, 1500),
        ({"kind": "percent", "percent_off": 15, "cap_fen": 6000}, 10_001, 1500),
        ({"kind": "percent", "percent_off": 15, "cap_fen": 6000}, 100_000, 6000),
        ({"kind": "percent", "percent_off": 15, "cap_fen": None}, 100_000, 15_000),
        ({"kind": "percent", "percent_off": 10, "cap_fen": None, "min_spend_fen": 5000}, 4999, 0),
        ({"kind": "percent", "percent_off": 10, "cap_fen": None}, 9, 0),
    ],
)
def test_discounts_round_down_and_respect_minimum_and_cap(
    terms: dict[str, object], amount: int, discount: int
) -> None:
    values = {"min_spend_fen": 0, **terms}
    coupon = Coupon(campaign_id=1, fan_id=1, period="once", **values)  # type: ignore[arg-type]
    assert coupons.discount_of(coupon, amount) == discount


def test_months_are_utc_calendar_months() -> None:
    at = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    assert coupons.month_start(at) == datetime(2026, 12, 1, tzinfo=UTC)
    assert coupons.month_start_after(at) == datetime(2027, 1, 1, tzinfo=UTC)
    assert coupons.month_start_after(datetime(2026, 1, 1, tzinfo=UTC)) == datetime(
        2026, 2, 1, tzinfo=UTC
    )


async def fan_with(database, clock: FrozenClock, openid: str, *, paid_yuan: int = 0) -> Fan:
    """A fan whose offline payments total `paid_yuan` (one point per yuan)."""
    async with database() as session, session.begin():
        fan = await fans.get_or_create(session, openid, now=clock.now())
        if paid_yuan:
            if await merchants.by_scene(session, "merchant_T1") is None:
                await merchants.create(
                    session, code="T1", name="Tea", scene="merchant_T1", now=clock.now()
                )
            outside = await ledger.system_account(session, "outside")
            await ledger.transfer(
                session,
                key=f"fund:{openid}",
                kind="topup",
                legs=[
                    Leg(outside.id or 0, -paid_yuan * 100),
                    Leg(fan.wallet_account_id or 0, paid_yuan * 100),
                ],
                now=clock.now(),
            )
            await merchants.pay(
                session,
                fan,
                code="T1",
                amount=Fen(paid_yuan * 100),
                key=f"pay:{openid}",
                now=clock.now(),
            )
        return fan


async def campaign(database, clock: FrozenClock, **spec: object) -> int:
    values: dict[str, object] = {
        "name": "Ten off",
        "occasion": CampaignOccasion.MANUAL,
        "amount_off_fen": 1000,
        "valid_days": 30,
    } | spec
    async with database() as session, session.begin():
        created = await coupons.create_campaign(session, now=clock.now(), **values)  # type: ignore[arg-type]
        return created.id or 0


async def all_coupons(database) -> list[Coupon]:
    async with database() as session:
        return list((await session.exec(select(Coupon).order_by(col(Coupon.id)))).all())


async def test_a_campaign_issues_to_the_fans_at_its_level_once_per_period(
    database, clock: FrozenClock
) -> None:
    green = await fan_with(database, clock, "o_green", paid_yuan=499)
    gold = await fan_with(database, clock, "o_gold", paid_yuan=500)
    await fan_with(database, clock, "o_platinum", paid_yuan=2000)
    gone = await fan_with(database, clock, "o_gone")
    async with database() as session, session.begin():
        fans.unsubscribe(await session.get(Fan, gone.id), now=clock.now())  # type: ignore[arg-type]
    gold_monthly = await campaign(database, clock, occasion=CampaignOccasion.MONTHLY, level="gold")
    for_all = await campaign(database, clock, name="Everyone")

    async with database() as session, session.begin():
        assert (
            await coupons.issue_campaign(session, gold_monthly, now=clock.now(), rules=RULES) == 1
        )
        assert (
            await coupons.issue_campaign(session, gold_monthly, now=clock.now(), rules=RULES) == 0
        )
        # "Issue now to a level": the admin's override of the campaign's level.
        assert (
            await coupons.issue_campaign(
                session, gold_monthly, level="green", now=clock.now(), rules=RULES
            )
            == 1
        )
        # No level: every fan still following (the unsubscribed one gets nothing).
        assert await coupons.issue_campaign(session, for_all, now=clock.now()) == 3
        assert await coupons.issue_campaign(session, for_all, now=clock.now()) == 0
    issued = await all_coupons(database)
    assert [(c.campaign_id, c.fan_id, c.period) for c in issued] == [
        (gold_monthly, gold.id, "2026-01"),
        (gold_monthly, green.id, "2026-01"),
        (for_all, green.id, "once"),
        (for_all, gold.id, "once"),
        (for_all, 3, "once"),
    ]
    # A monthly coupon runs from the month's start through its last day (the campaign's 30
    # valid days left January 31st out); a manual one from its issue.
    assert issued[0].valid_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert issued[0].valid_to == datetime(2026, 2, 1, tzinfo=UTC)
    assert issued[2].valid_from == clock.now()

    clock.advance(timedelta(days=31))
    async with database() as session, session.begin():
        assert (
            await coupons.issue_campaign(session, gold_monthly, now=clock.now(), rules=RULES) == 1
        )
        assert await coupons.issue_campaign(session, for_all, now=clock.now()) == 0
    february = (await all_coupons(database))[-1]
    assert february.period == "2026-02"
    # February's ends with February, not 30 days on in March.
    assert february.valid_to == datetime(2026, 3, 1, tzinfo=UTC)


async def test_issuing_refuses_unknown_campaigns_and_levels(database, clock: FrozenClock) -> None:
    campaign_id = await campaign(database, clock)
    async with database() as session:
        with pytest.raises(NotFound):
            await coupons.issue_campaign(session, 99, now=clock.now())
        with pytest.raises(BadArgument) as refused:
            await coupons.issue_campaign(session, campaign_id, level="diamond", now=clock.now())
    assert refused.value.details["reason"] == "green, gold, platinum"
    assert await all_coupons(database) == []


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"name": ""}, "1-60 characters"),
        ({"occasion": "weekly"}, "levelup, monthly or manual"),
        ({"occasion": "levelup"}, "a level-up campaign names its level"),
        ({"percent_off": 10}, "give an amount off or a percent off, not both"),
        ({"amount_off_fen": 0}, "more than 0"),
        ({"amount_off_fen": None, "percent_off": 100}, "1-99"),
        ({"min_spend_fen": -1}, "0 or more"),
        ({"cap_fen": 0}, "more than 0"),
        ({"valid_days": None}, "give valid days or an end date, not both"),
        ({"valid_days": 0}, "1-3660"),
        (
            {
                "valid_days": None,
                "valid_from": datetime(2026, 2, 1, tzinfo=UTC),
                "valid_to": datetime(2026, 1, 1, tzinfo=UTC),
            },
            "the start must come before the end",
        ),
    ],
)
async def test_bad_campaign_terms_are_refused(
    database, clock: FrozenClock, spec: dict[str, object], reason: str
) -> None:
    values: dict[str, object] = {
        "name": "Ten off",
        "occasion": CampaignOccasion.MANUAL,
        "amount_off_fen": 1000,
        "valid_days": 30,
    } | spec
    async with database() as session:
        with pytest.raises(BadArgument) as refused:
            await coupons.create_campaign(session, now=clock.now(), **values)  # type: ignore[arg-type]
    assert refused.value.details["reason"] == reason
    async with database() as session:
        assert (await session.exec(select(CouponCampaign))).all() == []


async def test_level_up_gives_each_reached_level_once(database, clock: FrozenClock) -> None:
    gold = await campaign(database, clock, occasion="levelup", level="gold")
    platinum = await campaign(
        database, clock, occasion="levelup", level="platinum", percent_off=15, amount_off_fen=None
    )
    fan = await fan_with(database, clock, "o_jump", paid_yuan=2000)
    render = lambda template, values: f"{template} #{values['coupon'].id}"  # noqa: E731
    async with database() as session, session.begin():
        first = await coupons.level_up(session, fan, rules=RULES, now=clock.now(), render=render)
        again = await coupons.level_up(session, fan, rules=RULES, now=clock.now(), render=render)
    assert [c.campaign_id for c in first] == [gold, platinum] and again == []
    async with database() as session:
        notes = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    assert [n.payload["text"]["content"] for n in notes] == [
        "notifications/coupon_issued.txt #1",
        "notifications/coupon_issued.txt #2",
    ]
    assert {n.reason for n in notes} == {"coupon_issued"}


async def test_the_best_coupon_is_the_largest_discount_then_the_soonest_to_expire(
    database, clock: FrozenClock
) -> None:
    fan = await fan_with(database, clock, "o_best")
    later = await campaign(database, clock, name="Later", valid_days=20)
    sooner = await campaign(database, clock, name="Sooner", valid_days=10)
    small = await campaign(database, clock, name="Small", amount_off_fen=500)
    picky = await campaign(database, clock, name="Picky", amount_off_fen=3000, min_spend_fen=9000)
    async with database() as session, session.begin():
        for campaign_id in (later, sooner, small, picky):
            await coupons.issue_campaign(session, campaign_id, now=clock.now())
    async with database() as session:
        best = await coupons.best_for(session, fan, 8000, clock.now())
        assert best is not None and (best.name, best.discount_fen) == ("Sooner", 1000)
        best = await coupons.best_for(session, fan, 9000, clock.now())
        assert best is not None and (best.name, best.discount_fen) == ("Picky", 3000)
        ranked = await coupons.offers(session, fan, 400, clock.now())
        assert [(o.name, o.discount_fen) for o in ranked] == [
            ("Sooner", 400),
            ("Later", 400),
            ("Small", 400),
        ]
        assert [held.name for held in await coupons.unused(session, fan, clock.now())] == [
            "Sooner",
            "Later",
            "Small",
            "Picky",
        ]


async def test_expired_coupons_are_never_offered_and_expiry_marks_them_once(
    database, clock: FrozenClock
) -> None:
    fan = await fan_with(database, clock, "o_late")
    await campaign(database, clock, valid_days=1)
    async with database() as session, session.begin():
        await coupons.issue_campaign(session, 1, now=clock.now())
        assert await coupons.next_expiry(session, after=clock.now()) == clock.now() + timedelta(
            days=1
        )
    clock.advance(timedelta(days=1))
    async with database() as session, session.begin():
        assert await coupons.best_for(session, fan, 10_000, clock.now()) is None
        assert await coupons.unused(session, fan, clock.now()) == []
        assert (
            await coupons.claim_best(session, fan, order_id=1, amount_fen=10_000, now=clock.now())
            is None
        )
        assert await coupons.expire_due(session, now=clock.now()) == 1
        assert await coupons.expire_due(session, now=clock.now()) == 0
        assert await coupons.next_expiry(session, after=EPOCH) is None
    (coupon,) = await all_coupons(database)
    assert coupon.expired_at == clock.now() and coupon.used_order_id is None


async def test_monthly_coupons_fall_due_at_month_starts_after_the_last_issue(
    database, clock: FrozenClock
) -> None:
    async with database() as session:
        assert await coupons.next_monthly(session, after=EPOCH) is None
    await fan_with(database, clock, "o_m")
    await campaign(database, clock, occasion="monthly")
    async with database() as session, session.begin():
        assert await coupons.next_monthly(session, after=EPOCH) == datetime(2026, 2, 1, tzinfo=UTC)
        await coupons.issue_monthly(session, now=clock.now() + timedelta(days=40), rules=RULES)
        assert await coupons.next_monthly(session, after=EPOCH) == datetime(2026, 3, 1, tzinfo=UTC)


async def test_the_coupon_budget_comes_from_outside_once_per_key(
    database, clock: FrozenClock
) -> None:
    async with database() as session, session.begin():
        await coupons.fund_budget(session, amount=Fen(5000), key="budget:1", now=clock.now())
        await coupons.fund_budget(session, amount=Fen(5000), key="budget:1", now=clock.now())
        platform = await ledger.system_account(session, "platform")
        assert await ledger.balance_of(session, platform.id or 0) == 5000
    async with database() as session:
        kinds = (await session.exec(select(LedgerTransaction.kind))).all()
    assert kinds == ["coupon_budget"]
