"""Store owners see and use what they earn (balance, withdraw, the admin's store list, orders),
and `history` says what each movement was and who was on the other side."""

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func
from sqlmodel import select

from botstore.app import create_app
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.keys import scheduler_key
from botstore.models import Account, LedgerEntry, LedgerTransaction
from botstore.seed.offline import seed_offline
from botstore.services import ledger
from tests.admin.test_entities import api, signed_in_page
from tests.webhook.test_articles import add_article
from tests.webhook.westore import (
    balance,
    first_id,
    list_product,
    open_store,
    say,
    store_balance,
    topup,
)


@pytest.fixture
async def sold(wechat: Emulator) -> int:
    """Tea House (o_tea) sold 2 x Green-tea at 12.50 to o_buyer: order #1, paid, in escrow."""
    await open_store(wechat, "o_tea", "Tea House")
    tea = await list_product(wechat, "o_tea", "Green-tea", "12.5", 5)
    await topup(wechat, "o_buyer", "100")
    return first_id(await say(wechat, "o_buyer", f"buy {tea} 2"))


async def money(sessions) -> tuple[object, ...]:
    """Every balance and the ledger's size: equal before and after a refusal."""
    async with sessions() as session:
        balances = (await session.exec(select(Account.id, Account.balance_fen))).all()
        size = (await session.exec(select(func.count()).select_from(LedgerEntry))).one()
    return tuple(sorted(balances)), size


async def complete(wechat: Emulator, order_id: int) -> None:
    await say(wechat, "o_tea", f"ship {order_id}")
    await say(wechat, "o_buyer", f"received {order_id}")


async def test_balance_shows_a_store_owner_settled_and_escrowed_earnings(
    wechat: Emulator, sold: int
) -> None:
    assert await say(wechat, "o_tea", "balance") == (
        "Your balance: ¥0.00\n"
        'Store #1 "Tea House": ¥0.00 settled, ¥25.00 still in escrow for paid and shipped orders.'
    )
    await complete(wechat, sold)
    assert await say(wechat, "o_tea", "balance") == (
        "Your balance: ¥0.00\n"
        'Store #1 "Tea House": ¥25.00 settled, ¥0.00 still in escrow for paid and shipped orders.\n'
        'Send "withdraw" to move the settled earnings to your wallet, or "withdraw <amount>" for '
        "part of them."
    )
    assert await say(wechat, "o_tea", "余额") == (
        "你的余额：¥0.00\n"
        '店铺 #1"Tea House"：已结算 ¥25.00，另有 ¥0.00 还在平台代管中（已付款和已发货的订单）。\n'
        '发送"提现"把已结算的收入转入钱包，或发送"提现 <金额>"只转一部分。'
    )
    # A fan without a store sees the wallet only, as before.
    assert await say(wechat, "o_buyer", "balance") == "Your balance: ¥75.00"


async def test_withdraw_moves_all_settled_earnings_in_one_balanced_transaction_once(
    wechat: Emulator, sessions, sold: int
) -> None:
    await complete(wechat, sold)
    first = await wechat.say("withdraw", fan="o_tea", msg_id=7001)
    assert first.content == (
        'Moved ¥25.00 of store #1 "Tea House"\'s earnings to your wallet. '
        "Balance: ¥25.00; left in the store: ¥0.00."
    )
    retry = await wechat.say("withdraw", fan="o_tea", msg_id=7001)
    assert retry.raw == first.raw
    assert await balance(wechat, "o_tea") == "25.00"
    assert await store_balance(sessions, "o_tea") == 0
    async with sessions() as session:
        txns = (
            await session.exec(
                select(LedgerTransaction).where(LedgerTransaction.kind == "store_withdraw")
            )
        ).all()
        assert len(txns) == 1
        legs = (
            await session.exec(
                select(LedgerEntry.amount_fen).where(LedgerEntry.transaction_id == txns[0].id)
            )
        ).all()
        assert sorted(legs) == [-2500, 2500]
        assert await ledger.imbalance(session) == 0


async def test_withdraw_an_amount_then_the_rest_in_chinese(
    wechat: Emulator, sessions, sold: int
) -> None:
    await complete(wechat, sold)
    assert await say(wechat, "o_tea", "withdraw ¥10.5") == (
        'Moved ¥10.50 of store #1 "Tea House"\'s earnings to your wallet. '
        "Balance: ¥10.50; left in the store: ¥14.50."
    )
    assert await say(wechat, "o_tea", "提现") == (
        '已把店铺 #1"Tea House"的 ¥14.50 收入转入你的钱包。余额：¥25.00；店铺里还剩：¥0.00。'
    )
    assert await store_balance(sessions, "o_tea") == 0


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        (
            "withdraw",
            'Store #1 "Tea House" has no settled earnings to withdraw yet: ¥25.00 is still in '
            "escrow until its orders complete. Nothing was moved.",
        ),
        (
            "withdraw 0.01",
            'Store #1 "Tea House" has no settled earnings to withdraw yet: ¥25.00 is still in '
            "escrow until its orders complete. Nothing was moved.",
        ),
        ("withdraw 1e3", "[amount]: write the amount in plain digits, e.g. 1000 (no exponents)"),
        ("withdraw -5", "[amount]: "),
        ("withdraw 5 6", "unexpected '6'"),
    ],
)
async def test_withdraw_refuses_with_the_reason_and_changes_nothing(
    wechat: Emulator, sessions, sold: int, text: str, reply: str
) -> None:
    before = await money(sessions)
    got = await say(wechat, "o_tea", text)
    assert got.startswith(reply), got
    assert await money(sessions) == before


async def test_withdraw_refuses_more_than_is_settled_and_fans_without_a_store(
    wechat: Emulator, sessions, sold: int
) -> None:
    await complete(wechat, sold)
    before = await money(sessions)
    assert await say(wechat, "o_tea", "withdraw 25.01") == (
        'You asked for ¥25.01, but store #1 "Tea House" has ¥25.00 of settled earnings to '
        "withdraw. Nothing was moved."
    )
    assert await say(wechat, "o_buyer", "withdraw") == (
        "You have no store yet. Open one: open <store name>"
    )
    assert await money(sessions) == before
    await say(wechat, "o_tea", "withdraw")
    assert await say(wechat, "o_tea", "withdraw") == (
        'Store #1 "Tea House" has no earnings to withdraw yet. Nothing was moved.'
    )


async def test_a_resale_shows_each_store_its_own_share(wechat: Emulator, sold: int) -> None:
    await open_store(wechat, "o_aff", "Book Corner")
    resale = first_id(await say(wechat, "o_aff", "resell 1 15"))
    order = first_id(await say(wechat, "o_buyer", f"buy {resale} 2"))
    # The supplier gets its price x qty (2 x 12.50), the reseller the margin (2 x 2.50).
    assert await say(wechat, "o_tea", "orders") == (
        f"Sold:\n#{order} Green-tea x2 ¥25.00 paid (resold by another store: your take)\n"
        "#1 Green-tea x2 ¥25.00 paid"
    )
    assert await say(wechat, "o_aff", "orders") == (
        f"Sold:\n#{order} Green-tea x2 ¥5.00 paid (resale: your margin)"
    )
    assert "¥50.00 still in escrow" in await say(wechat, "o_tea", "balance")
    assert "¥5.00 still in escrow" in await say(wechat, "o_aff", "balance")
    await complete(wechat, order)
    assert "¥5.00 settled" in await say(wechat, "o_aff", "balance")
    assert f"Order #{order} completed: your resale margin +¥5.00" in await say(
        wechat, "o_aff", "history"
    )
    assert (await say(wechat, "o_aff", "withdraw")).startswith("Moved ¥5.00")


async def test_history_names_group_buys_and_their_refunds(
    client: TestClient, wechat: Emulator, sold: int
) -> None:
    await say(wechat, "o_tea", "groupprice 1 9.90 3")
    await topup(wechat, "o_a", "20")
    group = first_id(await say(wechat, "o_a", "group 1"))
    await client.app[scheduler_key].advance(timedelta(hours=25))  # the group fails unfilled
    lines = (await say(wechat, "o_a", "history")).splitlines()
    assert lines[1].endswith(f"Group #{group} failed and was refunded +¥9.90"), lines
    assert lines[2].endswith(f"Paid Tea House (group #{group}) -¥9.90"), lines


async def test_the_admin_store_list_and_json_show_each_store_balance(
    client: TestClient, config: Config, wechat: Emulator, sold: int
) -> None:
    status, data = await api(client, config, "GET", "stores")
    assert status == 200
    store = data["stores"][0]
    assert (store["balance_fen"], store["escrow_fen"]) == (0, 2500)
    await complete(wechat, sold)
    status, data = await api(client, config, "PATCH", "stores/1", {"description": "Leaves"})
    assert (data["store"]["balance_fen"], data["store"]["escrow_fen"]) == (2500, 0)
    page = await signed_in_page(client, config, "/admin/stores")
    assert "<th>Balance</th>" in page and "¥25.00" in page


async def test_history_names_what_each_movement_was_and_the_counterparty(
    wechat: Emulator, sessions, clock: FrozenClock, config: Config, sold: int
) -> None:
    async with sessions() as session, session.begin():
        await seed_offline(session, now=clock.now())
    await say(wechat, "o_buyer", "pay TEA01 20")
    article = await add_article(sessions, clock, author="o_tea")
    await say(wechat, "o_buyer", f"tip {article} 3")
    tea = 1
    cancelled = first_id(await say(wechat, "o_buyer", f"buy {tea} 1"))
    clock.advance(timedelta(hours=config.orders.cancel_after_hours))
    await say(wechat, "o_buyer", f"cancel {cancelled}")
    history = await say(wechat, "o_buyer", "history")
    lines = history.splitlines()
    assert lines[0] == "Your wallet, last 6 movements:"
    assert lines[-1] == "Times are China Time."  # the account's zone, named once
    assert [line.split(" ", 4)[4] for line in lines[1:-1]] == [
        f"Order #{cancelled} refunded +¥12.50",
        f"Paid Tea House (order #{cancelled}) -¥12.50",
        "Tip to 'Brewing tea' -¥3.00",
        "Paid Lotus Tea House -¥20.00",
        "Paid Tea House (order #1) -¥25.00",
        "Topped up +¥100.00",
    ]
    for code in ("order_pay", "order_refund", "merchant_pay", "tip", "topup"):
        assert code not in history
    zh = await say(wechat, "o_buyer", "账单")
    assert "付款给 Lotus Tea House -¥20.00" in zh
    assert f"订单 #{cancelled} 已退款 +¥12.50" in zh
    await complete(wechat, sold)
    await say(wechat, "o_tea", "withdraw 5")
    owner = (await say(wechat, "o_tea", "history")).splitlines()
    assert owner[0] == "Your wallet, last 2 movements:"
    assert owner[1].endswith('Withdrawn from your store "Tea House" +¥5.00')
    assert owner[2].endswith("Tip received for 'Brewing tea' +¥3.00")
    assert owner[3] == 'Store #1 "Tea House", last 2 movements:'
    assert owner[4].endswith("Withdrawn to your wallet -¥5.00")
    assert owner[5].endswith("Order #1 completed: your sale +¥25.00")


async def test_history_says_one_movement_in_the_singular(wechat: Emulator, sessions) -> None:
    await topup(wechat, "o_new", "5")
    assert (await say(wechat, "o_new", "history")).splitlines()[0] == (
        "Your wallet, last 1 movement:"
    )
    assert (await say(wechat, "o_new", "账单")).splitlines()[0] == "你的钱包，最近 1 笔收支："
    async with sessions() as session:
        count = (await session.exec(select(func.count()).select_from(LedgerEntry))).one()
    assert count == 2


async def test_times_are_on_the_configured_zone_which_the_reply_names_once(
    aiohttp_client, config: Config, clock: FrozenClock
) -> None:
    berlin = config.replace(wallet={"timezone": "Europe/Berlin"})
    app = create_app(berlin, clock=clock)
    wechat = Emulator(await aiohttp_client(app), "/wechat", berlin.wechat, clock=clock)
    await topup(wechat, "o_a", "5")
    # 2026-01-01 04:00 UTC is 05:00 in Berlin (noon in the default Asia/Shanghai).
    assert await say(wechat, "o_a", "history") == (
        "Your wallet, last 1 movement:\n"
        "Jan 1, 2026 05:00 Topped up +¥5.00\n"
        "Times are Central European Time."
    )
    assert (await say(wechat, "o_a", "账单")).endswith("05:00 充值 +¥5.00\n时间均为中欧时间。")
    utc = config.replace(wallet={"timezone": "UTC"})
    app = create_app(utc, clock=clock)
    wechat = Emulator(await aiohttp_client(app), "/wechat", utc.wechat, clock=clock)
    await topup(wechat, "o_b", "5")
    assert (await say(wechat, "o_b", "history")).endswith("04:00 Topped up +¥5.00\nTimes are UTC.")


async def test_concurrent_withdrawals_never_take_more_than_is_settled(
    wechat: Emulator, sessions, sold: int
) -> None:
    await complete(wechat, sold)
    replies = await asyncio.gather(
        *(say(wechat, "o_tea", text) for text in ("withdraw", "withdraw 20", "提现 10"))
    )
    moved = [reply for reply in replies if reply.startswith(("Moved", "已把"))]
    assert moved, replies
    assert await store_balance(sessions, "o_tea") >= 0
    assert (
        int(Decimal(await balance(wechat, "o_tea")) * 100) + await store_balance(sessions, "o_tea")
        == 2500
    )
    async with sessions() as session:
        assert await ledger.imbalance(session) == 0
