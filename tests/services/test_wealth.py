"""Wealth products: the rounding rule, exact totals, idempotent payouts, quotas under concurrency,
notifications, dry funds."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.errors import BelowMinimum, InsufficientFunds, QuotaExceeded
from botstore.models import (
    AccountKind,
    Fan,
    Holding,
    LedgerTransaction,
    OutboxMessage,
    Payout,
    WealthProduct,
)
from botstore.money import Fen
from botstore.scheduler import Scheduler, pay_dividends
from botstore.services import fans, ledger, wealth
from botstore.services.ledger import Leg


def scheduler_for(database, clock: FrozenClock, **scheduler: object) -> Scheduler:
    # English notices for fans who never chose a language (the account's default is zh_CN).
    config = Config().replace(scheduler={"enabled": False, **scheduler}, wechat={"language": "en"})
    return Scheduler(sessions=database, engine=database.kw["bind"], config=config, clock=clock)


async def make_product(database, clock: FrozenClock, *, funded: bool = True, **spec) -> int:
    values = {
        "name": "Daily Dividend 30",
        "rate_bps": 365,
        "term_days": 30,
        "min_fen": 50_00,
        "per_fan_quota_fen": 50_000_00,
        "total_quota_fen": 1_000_000_00,
        "agency_name": "Test Agency",
        "commission_bps": 1000,
        "interval_days": 1,
    } | spec
    async with database() as session, session.begin():
        product = await wealth.create_product(session, **values, now=clock.now())
        if funded:
            await wealth.fund_product(
                session,
                product,
                amount_fen=wealth.reserve_for(product),
                key=f"fund:{product.id}",
                now=clock.now(),
            )
        return product.id


async def rich_fan(database, clock: FrozenClock, openid: str, fen: int = 1_000_000_00) -> Fan:
    async with database() as session, session.begin():
        fan = await fans.get_or_create(session, openid, now=clock.now())
        outside = await ledger.system_account(session, AccountKind.OUTSIDE)
        await ledger.transfer(
            session,
            key=f"gift:{openid}",
            kind="topup",
            legs=[Leg(outside.id, -fen), Leg(fan.wallet_account_id, fen)],
            now=clock.now(),
        )
        return fan


async def buy(database, clock: FrozenClock, fan: Fan, product_id: int, fen: int, key: str):
    async with database() as session, session.begin():
        return await wealth.invest(
            session, fan, product_id=product_id, amount=Fen(fen), key=key, now=clock.now()
        )


async def balance(database, account_id: int) -> int:
    async with database() as session:
        return await ledger.balance_of(session, account_id)


async def product_of(database, product_id: int) -> WealthProduct:
    async with database() as session:
        return await session.get(WealthProduct, product_id)


async def payouts_of(database, holding_id: int) -> list[Payout]:
    async with database() as session:
        return list(
            (
                await session.exec(
                    select(Payout)
                    .where(Payout.holding_id == holding_id)
                    .order_by(col(Payout.period))
                )
            ).all()
        )


@pytest.mark.parametrize("principal", [1, 99, 50_00, 12_345_67, 1_000_000_00])
@pytest.mark.parametrize(
    ("rate_bps", "term_days", "interval_days"), [(365, 30, 1), (420, 90, 30), (777, 364, 7)]
)
def test_periods_carry_remainders_and_sum_to_the_floor_of_the_total(
    principal: int, rate_bps: int, term_days: int, interval_days: int
) -> None:
    periods = term_days // interval_days
    amounts = [
        wealth.period_amounts(principal, rate_bps, 1000, interval_days, k)
        for k in range(1, periods + 1)
    ]
    exact_total = principal * rate_bps * term_days // (10000 * 365)
    assert sum(dividend for dividend, _ in amounts) == exact_total
    assert sum(commission for _, commission in amounts) == exact_total * 1000 // 10000
    assert all(dividend >= 0 and commission >= 0 for dividend, commission in amounts)
    # No period pays more than one fen over the exact per-period share.
    share = principal * rate_bps * interval_days / (10000 * 365)
    assert all(dividend <= share + 1 for dividend, _ in amounts)


def test_the_rounding_rule_on_a_small_principal() -> None:
    # 50 yuan at 3.65%: 0.5 fen a day, so the days alternate 0 and 1 fen, 15 fen over 30 days.
    amounts = [wealth.period_amounts(50_00, 365, 0, 1, k)[0] for k in range(1, 31)]
    assert amounts == [0, 1] * 15


async def test_a_30_day_product_pays_exactly_the_stated_total_and_returns_the_principal(
    database,
) -> None:
    clock = FrozenClock()
    product_id = await make_product(database, clock)
    fan = await rich_fan(database, clock, "o_w1", fen=10_000_00)
    holding = await buy(database, clock, fan, product_id, 10_000_00, "buy1")
    assert await balance(database, fan.wallet_account_id) == 0
    product = await product_of(database, product_id)
    fund_before = await balance(database, product.fund_account_id)

    await scheduler_for(database, clock).advance(timedelta(days=30))

    payouts = await payouts_of(database, holding.id)
    assert [p.period for p in payouts] == list(range(1, 31))
    # 10,000 yuan at 3.65% for 30 days = 30.00 yuan, 1.00 a day; the agency gets 10% on top.
    assert {p.amount_fen for p in payouts} == {100}
    assert sum(p.commission_fen for p in payouts) == 300
    assert [p.due_at for p in payouts] == [
        holding.started_at + timedelta(days=k) for k in range(1, 31)
    ]
    assert await balance(database, fan.wallet_account_id) == 10_000_00 + 30_00
    assert await balance(database, product.agency_account_id) == 3_00
    assert await balance(database, product.fund_account_id) == fund_before - 10_000_00 - 33_00
    async with database() as session:
        closed = await session.get(Holding, holding.id)
    assert closed.status == "matured" and closed.paid_fen == 30_00 and closed.next_due_at is None
    assert closed.closed_at == holding.matures_at


async def test_an_odd_principal_pays_the_floor_of_the_exact_total(database) -> None:
    clock = FrozenClock()
    product_id = await make_product(database, clock, rate_bps=777)
    fan = await rich_fan(database, clock, "o_odd")
    holding = await buy(database, clock, fan, product_id, 12_345_67, "odd")
    await scheduler_for(database, clock).advance(timedelta(days=31))
    payouts = await payouts_of(database, holding.id)
    assert sum(p.amount_fen for p in payouts) == 12_345_67 * 777 * 30 // 3_650_000
    assert await balance(database, fan.wallet_account_id) == 1_000_000_00 + sum(
        p.amount_fen for p in payouts
    )


async def outcome(database, fan: Fan, holding: Holding) -> tuple[object, ...]:
    """What a holding produced, relative to its start, for comparing two runs."""
    payouts = await payouts_of(database, holding.id)
    async with database() as session:
        texts = [
            message.payload["text"]["content"].replace(f"#{holding.id}", "#H")
            for message in await _outbox(session, fan.openid)
        ]
        closed = await session.get(Holding, holding.id)
    return (
        [
            (p.period, p.amount_fen, p.commission_fen, p.due_at - holding.started_at)
            for p in payouts
        ],
        [p.paid_at - holding.started_at for p in payouts],
        texts,
        await balance(database, fan.wallet_account_id),
        closed.status,
        closed.closed_at - holding.started_at,
        closed.paid_fen,
    )


async def _outbox(session, openid: str) -> list[OutboxMessage]:
    return list(
        (
            await session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.openid == openid)
                .order_by(col(OutboxMessage.id))
            )
        ).all()
    )


async def test_thirty_one_day_advances_equal_one_thirty_day_advance(database) -> None:
    clock = FrozenClock()
    scheduler = scheduler_for(database, clock)
    product_id = await make_product(database, clock, rate_bps=777)

    day_by_day = await rich_fan(database, clock, "o_daily")
    first = await buy(database, clock, day_by_day, product_id, 12_345_67, "daily")
    for _ in range(30):
        await scheduler.advance(timedelta(days=1))
    clock.advance(timedelta(hours=5))  # any later start

    at_once = await rich_fan(database, clock, "o_monthly")
    second = await buy(database, clock, at_once, product_id, 12_345_67, "monthly")
    _, _, ran = await scheduler.advance(timedelta(days=30))

    assert await outcome(database, day_by_day, first) == await outcome(database, at_once, second)
    # In time order: each day's dividend, then the maturity after the last one.
    assert [r.job for r in ran] == ["wealth.pay_dividends"] * 30 + ["wealth.mature_holdings"]
    assert [r.at for r in ran] == sorted(r.at for r in ran)


async def test_running_the_payout_job_twice_or_concurrently_pays_once(database) -> None:
    clock = FrozenClock()
    product_id = await make_product(database, clock)
    holdings = []
    for index in range(6):
        fan = await rich_fan(database, clock, f"o_twice{index}")
        holdings.append(
            await buy(database, clock, fan, product_id, 1_000_00 * (index + 1), f"t{index}")
        )
    scheduler = scheduler_for(database, clock, batch_size=2)
    clock.advance(timedelta(days=3))

    assert await pay_dividends(scheduler.context, clock.now()) == 18
    assert await pay_dividends(scheduler.context, clock.now()) == 0
    clock.advance(timedelta(days=4))
    counts = await asyncio.gather(
        *(pay_dividends(scheduler.context, clock.now()) for _ in range(4))
    )
    assert sum(counts) == 6 * 4

    async with database() as session:
        payouts = (await session.exec(select(func.count()).select_from(Payout))).one()
        dividends = (
            await session.exec(
                select(func.count())
                .select_from(LedgerTransaction)
                .where(LedgerTransaction.kind == "dividend")
            )
        ).one()
    assert payouts == dividends == 6 * 7
    for holding in holdings:
        assert [p.period for p in await payouts_of(database, holding.id)] == list(range(1, 8))
        expected = wealth.cumulative_dividend(holding.principal_fen, 365, 7)
        assert await balance(database, holding.wallet_account_id) == (
            1_000_000_00 - holding.principal_fen + expected
        )


async def test_minimum_and_quotas_are_enforced(database) -> None:
    clock = FrozenClock()
    product_id = await make_product(
        database, clock, min_fen=50_00, per_fan_quota_fen=300_00, total_quota_fen=500_00
    )
    alice = await rich_fan(database, clock, "o_alice")
    bob = await rich_fan(database, clock, "o_bob")
    with pytest.raises(BelowMinimum):
        await buy(database, clock, alice, product_id, 49_99, "a0")
    await buy(database, clock, alice, product_id, 200_00, "a1")
    with pytest.raises(QuotaExceeded) as per_fan:
        await buy(database, clock, alice, product_id, 100_01, "a2")
    assert per_fan.value.details["remaining_fen"] == 100_00
    await buy(database, clock, bob, product_id, 250_00, "b1")
    with pytest.raises(QuotaExceeded) as total:
        await buy(database, clock, alice, product_id, 50_01, "a3")
    assert total.value.details["remaining_fen"] == 50_00
    poor = await rich_fan(database, clock, "o_poor", fen=10_00)
    with pytest.raises(InsufficientFunds):
        await buy(database, clock, poor, product_id, 50_00, "p1")
    product = await product_of(database, product_id)
    assert product.sold_fen == 450_00
    assert await balance(database, alice.wallet_account_id) == 1_000_000_00 - 200_00


async def test_concurrent_invests_never_oversell_either_quota(database) -> None:
    clock = FrozenClock()
    product_id = await make_product(
        database, clock, min_fen=100_00, per_fan_quota_fen=300_00, total_quota_fen=1_000_00
    )
    buyers = [await rich_fan(database, clock, f"o_rush{index}") for index in range(8)]

    async def attempt(fan: Fan, key: str) -> bool:
        try:
            await buy(database, clock, fan, product_id, 100_00, key)
        except QuotaExceeded:
            return False
        return True

    # Each of 8 fans tries 4 times at once: the per-fan cap allows 3 each, the total 10 in all.
    outcomes = await asyncio.gather(
        *(attempt(fan, f"{fan.openid}:{n}") for fan in buyers for n in range(4))
    )
    assert sum(outcomes) == 10
    async with database() as session:
        per_fan = (
            await session.exec(
                select(Holding.fan_id, func.sum(Holding.principal_fen)).group_by(Holding.fan_id)
            )
        ).all()
    assert sum(total for _, total in per_fan) == 1_000_00
    assert all(total <= 300_00 for _, total in per_fan)
    assert (await product_of(database, product_id)).sold_fen == 1_000_00


async def test_payouts_and_maturity_notify_the_fan_in_the_outbox(database) -> None:
    clock = FrozenClock()
    product_id = await make_product(database, clock, term_days=2)
    fan = await rich_fan(database, clock, "o_notified")
    holding = await buy(database, clock, fan, product_id, 10_000_00, "n1")
    await scheduler_for(database, clock).advance(timedelta(days=2))
    async with database() as session:
        messages = await _outbox(session, fan.openid)
    assert [m.reason for m in messages] == ["dividend", "dividend", "maturity"]
    assert messages[0].payload == {
        "touser": "o_notified",
        "msgtype": "text",
        "text": {
            "content": f"Dividend ¥1.00 from Daily Dividend 30 (holding #{holding.id}, 1/2) is "
            "in your wallet. Paid so far: ¥1.00."
        },
    }
    assert messages[2].payload["text"]["content"] == (
        f"Daily Dividend 30 (holding #{holding.id}) has matured: your principal ¥10,000.00 is "
        "back in your wallet, after ¥2.00 of dividends."
    )


async def test_a_dry_fund_pays_nothing_and_the_others_still_pay(database) -> None:
    clock = FrozenClock()
    dry = await make_product(database, clock, name="Dry", funded=False)
    wet = await make_product(database, clock, name="Wet")
    fan = await rich_fan(database, clock, "o_dry")
    dry_holding = await buy(database, clock, fan, dry, 50_00, "d1")
    wet_holding = await buy(database, clock, fan, wet, 10_000_00, "w1")
    async with database() as session, session.begin():
        product = await session.get(WealthProduct, dry)
        # The issuer never funded it and took the principal out: nothing is left to pay from.
        outside = await ledger.system_account(session, AccountKind.OUTSIDE)
        await ledger.transfer(
            session,
            key="drain",
            kind="test",
            legs=[Leg(product.fund_account_id, -50_00), Leg(outside.id, 50_00)],
            now=clock.now(),
        )
    await scheduler_for(database, clock).advance(timedelta(days=2))
    assert [p.amount_fen for p in await payouts_of(database, wet_holding.id)] == [100, 100]
    # Day 1 rounds to zero fen (nothing moves); day 2 needs a fen the fund doesn't have.
    assert [p.amount_fen for p in await payouts_of(database, dry_holding.id)] == [0]
    async with database() as session:
        stuck = await session.get(Holding, dry_holding.id)
    assert stuck.next_period == 2 and stuck.status == "active"
