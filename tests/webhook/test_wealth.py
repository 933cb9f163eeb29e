"""Wealth commands through the real webhook: list, invest, holdings, refusals."""

from datetime import timedelta

import pytest

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.keys import scheduler_key
from botstore.models import Holding, LedgerTransaction
from botstore.seed.wealth import seed_wealth_products
from tests.admin.test_entities import api
from tests.helpers import count


@pytest.fixture
async def products(sessions, clock: FrozenClock) -> None:
    async with sessions() as session, session.begin():
        await seed_wealth_products(session, now=clock.now())


async def test_wealth_lists_products_with_rate_term_minimum_and_quota(
    wechat: Emulator, products: None
) -> None:
    lines = (await wechat.say("wealth", fan="o_a")).content.splitlines()
    assert lines[0] == "Wealth products:"
    assert lines[1] == (
        "#1 Daily Dividend 30: 3.65% a year, 30 days, dividends every day; minimum ¥50.00, "
        "up to ¥50,000.00 each, ¥10,000,000.00 left"
    )
    assert lines[2].startswith("#2 Steady 90: 4.20% a year, 90 days, dividends every 30 days;")
    assert lines[-1] == 'Send "invest <product id> <amount>" to buy.'


async def test_invest_then_holdings_show_principal_dividends_and_maturity(
    wechat: Emulator, products: None, client, clock: FrozenClock
) -> None:
    await wechat.say("topup 1000", fan="o_a")
    bought = await wechat.say("invest #1 1000", fan="o_a")
    assert bought.content == (
        "Bought ¥1,000.00 of Daily Dividend 30: holding #1. 30 dividends totalling ¥3.00; "
        "first on Jan 2, 2026 12:00, principal back on Jan 31, 2026 12:00.\n"
        "Times are China Time."
    )
    assert (await wechat.say("balance", fan="o_a")).content == "Your balance: ¥0.00"
    assert (
        (await wechat.say("wealth", fan="o_a"))
        .content.splitlines()[1]
        .endswith("¥9,999,000.00 left")
    )
    await client.app[scheduler_key].advance(timedelta(days=3))
    assert (await wechat.say("持仓", fan="o_a")).content == (
        "你的持仓：\n#1 Daily Dividend 30: 本金 ¥1,000.00，已付分红 ¥0.30 / ¥3.00，"
        "下次 2026年1月5日 12:00 分红 ¥0.10，2026年1月31日 12:00 到期\n时间均为中国时间。"
    )
    await client.app[scheduler_key].advance(timedelta(days=30))
    assert (await wechat.say("holdings", fan="o_a")).content == (
        "Your holdings:\n#1 Daily Dividend 30: principal ¥1,000.00, dividends paid ¥3.00 of "
        "¥3.00, matured Jan 31, 2026 12:00 (principal returned)\nTimes are China Time."
    )
    assert (await wechat.say("balance", fan="o_a")).content == "Your balance: ¥1,003.00"


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("invest 1 49.99", "The minimum for Daily Dividend 30 is ¥50.00; ¥49.99 is too little."),
        ("invest 9 100", "There is no wealth product #9."),
        (
            "invest 1 60000",
            "Over the quota of ¥50,000.00 each fan may hold of Daily Dividend 30: "
            "¥50,000.00 left.",
        ),
        (
            "invest 1 100",
            "Not enough money: this needs ¥100.00 and the balance is ¥50.00. "
            'Send "topup <amount>" to add some.',
        ),
        ("invest 1", "<amount> is missing\nUsage: invest <product id> <amount>"),
    ],
)
async def test_refused_investments_say_why_and_move_nothing(
    wechat: Emulator, products: None, sessions, text: str, reply: str
) -> None:
    await wechat.say("topup 50", fan="o_a")
    before = await count(sessions, LedgerTransaction)
    assert (await wechat.say(text, fan="o_a")).content == reply
    assert await count(sessions, LedgerTransaction) == before
    assert await count(sessions, Holding) == 0


async def test_a_retried_invest_buys_once(wechat: Emulator, products: None, sessions) -> None:
    await wechat.say("topup 100", fan="o_a")
    first = await wechat.say("invest 1 60", fan="o_a", msg_id=7)
    retry = await wechat.say("invest 1 60", fan="o_a", msg_id=7)
    assert retry.raw == first.raw
    assert await count(sessions, Holding) == 1


async def test_no_holdings_and_no_products(wechat: Emulator, config: Config) -> None:
    assert (await wechat.say("holdings", fan="o_a")).content == (
        'No holdings yet. Send "wealth" to see the products.'
    )
    assert (await wechat.say("wealth", fan="o_a")).content == (
        "No wealth products on sale right now."
    )


async def test_a_sold_out_product_says_sold_out(client, config: Config, wechat: Emulator) -> None:
    status, data = await api(
        client,
        config,
        "POST",
        "wealth",
        {
            "name": "Tiny",
            "rate_percent": "3",
            "term_days": 30,
            "interval_days": 30,
            "minimum": "50",
            "per_fan_quota": "100",
            "total_quota": "120",
        },
    )
    assert status == 201, data
    await wechat.say("topup 100", fan="o_a")
    assert (await wechat.say("invest 1 100", fan="o_a")).content.startswith("Bought ¥100.00")
    # ¥20.00 is left, below the ¥50.00 minimum: nobody can buy any more.
    assert (await wechat.say("wealth", fan="o_b")).content.splitlines()[1] == (
        "#1 Tiny: 3.00% a year, 30 days, dividends every 30 days; minimum ¥50.00, up to "
        "¥100.00 each: sold out"
    )
    assert (await wechat.say("理财", fan="o_b")).content.splitlines()[1].endswith("：已售罄")
