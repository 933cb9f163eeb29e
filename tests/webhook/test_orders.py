"""Orders through the webhook: buy into escrow, ship, receive, cancel, concurrency, payouts."""

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import LedgerTransaction, Order, OrderStatus
from botstore.services import orders
from tests.helpers import count
from tests.webhook.westore import (
    balance,
    escrow_balance,
    first_id,
    list_product,
    open_store,
    say,
    stock,
    store_balance,
    topup,
)


@pytest.fixture
def config(config: Config) -> Config:
    # Fifty buyers queue on one product row; on a slow machine the last can pass 4.5 s and get
    # "success" with the reply in the outbox. This module is about stock and money, not that.
    return config.replace(server={"reply_budget_seconds": 60})


@pytest.fixture
async def tea(wechat: Emulator) -> int:
    """Tea House (o_tea) lists Green-tea #1 at 12.50 with stock 5; o_buyer has 100."""
    await open_store(wechat, "o_tea", "Tea House")
    product_id = await list_product(wechat, "o_tea", "Green-tea", "12.5", 5)
    await topup(wechat, "o_buyer", "100")
    return product_id


@pytest.fixture
async def resale(wechat: Emulator, tea: int) -> int:
    """Book Corner (o_aff) resells Green-tea as #2 at 15.00."""
    await open_store(wechat, "o_aff", "Book Corner")
    reply = await say(wechat, "o_aff", f"resell {tea} 15")
    return first_id(reply)


async def test_buy_pays_into_escrow_and_reserves_stock(wechat: Emulator, sessions, tea) -> None:
    reply = await say(wechat, "o_buyer", "buy #1 2")
    assert reply == (
        "Order #1: 2 x product #1, paid ¥25.00. The platform holds the money until you send "
        '"received #1" after delivery.'
    )
    assert await balance(wechat, "o_buyer") == "75.00"
    assert await escrow_balance(sessions) == 2500
    assert await stock(sessions, tea) == 3
    async with sessions() as session:
        order = (await session.exec(select(Order))).one()
    assert (order.status, order.qty, order.unit_price_fen, order.total_fen) == (
        "paid",
        2,
        1250,
        2500,
    )
    assert order.discount_fen == 0 and order.affiliate_store_id is None
    assert "(stock 1)" in await say(wechat, "o_tea", "list Cup 3")
    assert (await say(wechat, "o_buyer", "购买 1")).startswith("订单 #2：商品 #1 × 1")


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("buy 99", "There is no product #99."),
        (
            "buy 1 0",
            "[qty]: a whole number from 1 to 999\nUsage: buy <product id> [qty] [nocoupon] [from] [article id]",
        ),
        (
            "buy 1 -1",
            "[qty]: a whole number from 1 to 999\nUsage: buy <product id> [qty] [nocoupon] [from] [article id]",
        ),
        (
            "buy",
            "<product id> is missing\nUsage: buy <product id> [qty] [nocoupon] [from] [article id]",
        ),
        ("buy 1 6", "Product #1 is short: only 5 left; you asked for 6."),
        (
            "buy 1 5",
            "Not enough money: this needs ¥62.50 and the balance is ¥50.00. "
            'Send "topup <amount>" to add some.',
        ),
    ],
)
async def test_a_refused_buy_changes_nothing(
    wechat: Emulator, sessions, text: str, reply: str
) -> None:
    await open_store(wechat, "o_tea", "Tea House")
    await list_product(wechat, "o_tea", "Green-tea", "12.5", 5)
    await topup(wechat, "o_buyer", "50")
    assert await say(wechat, "o_buyer", text) == reply
    assert await count(sessions, Order) == 0
    assert await stock(sessions, 1) == 5
    assert await balance(wechat, "o_buyer") == "50.00"
    assert await count(sessions, LedgerTransaction) == 1  # the top-up


async def test_a_store_owner_cannot_buy_its_own_product(
    wechat: Emulator, sessions, resale
) -> None:
    await topup(wechat, "o_tea", "100")
    assert await say(wechat, "o_tea", "buy 1") == (
        "Product #1 is from your own store: you can't buy it."
    )
    # Nor the resale of it, which would pay the owner with its own money.
    assert await say(wechat, "o_tea", f"buy {resale}") == (
        f"Product #{resale} is from your own store: you can't buy it."
    )
    assert await say(wechat, "o_aff", f"buy {resale}") == (
        f"Product #{resale} is from your own store: you can't buy it."
    )
    assert await count(sessions, Order) == 0


async def test_a_sold_out_product_is_refused(wechat: Emulator, sessions) -> None:
    await open_store(wechat, "o_tea", "Tea House")
    await list_product(wechat, "o_tea", "Green-tea", "12.5", 0)
    await topup(wechat, "o_buyer", "100")
    assert await say(wechat, "o_buyer", "buy 1") == ("Product #1 is sold out; you asked for 1.")


async def test_a_retried_buy_makes_one_order(wechat: Emulator, sessions, tea) -> None:
    first = await wechat.say("buy 1 2", fan="o_buyer", msg_id=777)
    copies = await asyncio.gather(
        *(wechat.say("buy 1 2", fan="o_buyer", msg_id=777) for _ in range(3))
    )
    assert {copy.raw for copy in copies} == {first.raw}
    assert await count(sessions, Order) == 1
    assert await stock(sessions, tea) == 3
    assert await balance(wechat, "o_buyer") == "75.00"


async def test_50_concurrent_buyers_of_10_in_stock_leave_10_orders(
    wechat: Emulator, sessions
) -> None:
    await open_store(wechat, "o_tea", "Tea House")
    await list_product(wechat, "o_tea", "Green-tea", "12.5", 10)
    buyers = [f"o_buyer_{n:02d}" for n in range(50)]
    for buyer in buyers:
        await topup(wechat, buyer, "20")
    replies = await asyncio.gather(*(say(wechat, buyer, "buy 1") for buyer in buyers))

    assert sum(reply.startswith("Order #") for reply in replies) == 10, replies
    assert sum(reply == "Product #1 is sold out; you asked for 1." for reply in replies) == 40
    assert await count(sessions, Order) == 10
    assert await stock(sessions, 1) == 0
    assert await escrow_balance(sessions) == 10 * 1250
    balances = [await balance(wechat, buyer) for buyer in buyers]
    for reply, left in zip(replies, balances, strict=True):
        assert left == ("7.50" if reply.startswith("Order #") else "20.00")


async def test_concurrent_buys_never_overdraw_a_wallet(wechat: Emulator, sessions, tea) -> None:
    # 100 yuan buys at most 8 at 12.50; 5 in stock, two of them each ask for 3.
    replies = await asyncio.gather(*(say(wechat, "o_buyer", "buy 1 3") for _ in range(2)))
    assert sorted(reply[:6] for reply in replies) == ["Order ", "Produc"]
    assert await stock(sessions, tea) == 2
    assert await balance(wechat, "o_buyer") == "62.50"


async def test_only_the_supplier_ships_and_only_the_buyer_confirms(
    wechat: Emulator, sessions, tea
) -> None:
    await say(wechat, "o_buyer", "buy 1")
    assert await say(wechat, "o_buyer", "received 1") == (
        "Order #1 is paid, so it can't be confirmed as received before it ships."
    )
    assert await say(wechat, "o_buyer", "ship 1") == (
        "Only the supplying store's owner of order #1 can do that."
    )
    assert await say(wechat, "o_tea", "发货 #1") == (
        '订单 #1 已发货。买家发送"收货 #1"后，货款将付给你的店铺。'
    )
    assert await say(wechat, "o_tea", "ship 1") == ("Order #1 is shipped, so it can't be shipped.")
    assert await say(wechat, "o_tea", "received 1") == "Only the buyer of order #1 can do that."
    assert await say(wechat, "o_other", "received 1") == "Only the buyer of order #1 can do that."
    assert await say(wechat, "o_tea", "ship 9") == "There is no order #9."
    assert await store_balance(sessions, "o_tea") == 0

    assert await say(wechat, "o_buyer", "received 1") == (
        "Order #1 is complete: ¥12.50 released to the seller. Thank you!"
    )
    assert await store_balance(sessions, "o_tea") == 1250
    assert await escrow_balance(sessions) == 0
    assert await say(wechat, "o_buyer", "received 1") == (
        "Order #1 is completed, so it can't be confirmed as received."
    )
    async with sessions() as session:
        order = (await session.exec(select(Order))).one()
    assert order.status == OrderStatus.COMPLETED
    assert order.received_at == order.completed_at == order.shipped_at


async def test_a_resale_is_shipped_by_the_supplier_and_pays_both_exactly(
    wechat: Emulator, sessions, resale
) -> None:
    reply = await say(wechat, "o_buyer", f"buy {resale} 3")
    assert "paid ¥45.00" in reply
    order_id = first_id(reply)
    assert await stock(sessions, 1) == 2
    assert await say(wechat, "o_aff", f"ship {order_id}") == (
        f"Only the supplying store's owner of order #{order_id} can do that."
    )
    await say(wechat, "o_tea", f"ship {order_id}")
    before = await count(sessions, LedgerTransaction)
    await say(wechat, "o_buyer", f"received {order_id}")

    assert await store_balance(sessions, "o_tea") == 3 * 1250
    assert await store_balance(sessions, "o_aff") == 3 * 250
    assert await escrow_balance(sessions) == 0
    assert await balance(wechat, "o_buyer") == "55.00"
    assert await count(sessions, LedgerTransaction) == before + 1  # one transaction pays both


async def test_orders_lists_purchases_and_sales_with_status(
    wechat: Emulator, sessions, resale
) -> None:
    assert await say(wechat, "o_buyer", "orders") == (
        'No orders yet. Browse with "stores", buy with "buy <product id>".'
    )
    await say(wechat, "o_buyer", "buy 1")
    await say(wechat, "o_buyer", f"buy {resale} 2")
    await say(wechat, "o_tea", "ship 1")
    assert await say(wechat, "o_buyer", "orders") == (
        "Bought:\n#2 Green-tea x2 ¥30.00 paid\n#1 Green-tea x1 ¥12.50 shipped"
    )
    assert await say(wechat, "o_buyer", "订单") == (
        "买到的：\n#2 Green-tea x2 ¥30.00 已付款\n#1 Green-tea x1 ¥12.50 已发货"
    )
    # The supplier sees its own take of the resale (2 x 12.50), not the resale price; the
    # reseller its margin (2 x 2.50).
    assert await say(wechat, "o_tea", "orders") == (
        "Sold:\n#2 Green-tea x2 ¥25.00 paid (resold by another store: your take)"
        "\n#1 Green-tea x1 ¥12.50 shipped"
    )
    assert await say(wechat, "o_aff", "orders") == (
        "Sold:\n#2 Green-tea x2 ¥5.00 paid (resale: your margin)"
    )


async def test_cancel_waits_for_the_shipping_window_then_refunds_and_restocks(
    wechat: Emulator, sessions, clock: FrozenClock, tea
) -> None:
    await say(wechat, "o_buyer", "buy 1 2")
    assert await say(wechat, "o_buyer", "cancel 1") == (
        "The seller has 48 hours to ship order #1: if it is still unshipped, "
        "you can cancel it from Jan 3, 2026 12:00.\nTimes are China Time."
    )
    assert await say(wechat, "o_tea", "cancel 1") == "Only the buyer of order #1 can do that."
    clock.advance(timedelta(hours=48))
    assert await say(wechat, "o_other", "cancel 1") == "Only the buyer of order #1 can do that."
    # The seller last wrote 48 hours ago: its notice is held, and the buyer is told so.
    assert await say(wechat, "o_buyer", "取消 1") == (
        "订单 #1 已取消：¥25.00 已退回你的钱包。\nTea House 的店主下次发消息时会看到这条通知。"
    )
    assert await balance(wechat, "o_buyer") == "100.00"
    assert await stock(sessions, tea) == 5
    assert await escrow_balance(sessions) == 0
    assert await say(wechat, "o_buyer", "cancel 1") == (
        "Order #1 is cancelled, so it can't be cancelled."
    )
    assert await say(wechat, "o_tea", "ship 1") == "Order #1 is cancelled, so it can't be shipped."


async def test_a_shipped_order_cannot_be_cancelled(
    wechat: Emulator, sessions, clock: FrozenClock, tea
) -> None:
    await say(wechat, "o_buyer", "buy 1")
    clock.advance(timedelta(hours=47))
    await say(wechat, "o_tea", "ship 1")
    clock.advance(timedelta(hours=2))
    assert await say(wechat, "o_buyer", "cancel 1") == (
        "Order #1 is shipped, so it can't be cancelled."
    )
    assert await escrow_balance(sessions) == 1250


async def test_auto_complete_releases_shipped_orders_past_the_window(
    wechat: Emulator, sessions, clock: FrozenClock, resale
) -> None:
    for text in ("buy 1", f"buy {resale}", "buy 1"):
        await say(wechat, "o_buyer", text)
    await say(wechat, "o_tea", "ship 1")
    await say(wechat, "o_tea", "ship 2")
    clock.advance(timedelta(hours=240))
    await say(wechat, "o_tea", "ship 3")  # shipped later: not due yet

    async with sessions() as session, session.begin():
        done = await orders.auto_complete_shipped(
            session, now=clock.now(), after=timedelta(hours=240)
        )
    assert [order.id for order in done] == [1, 2]
    async with sessions() as session, session.begin():
        again = await orders.auto_complete_shipped(
            session, now=clock.now(), after=timedelta(hours=240)
        )
    assert again == []
    assert await store_balance(sessions, "o_tea") == 2 * 1250
    assert await store_balance(sessions, "o_aff") == 250
    assert await escrow_balance(sessions) == 1250
    async with sessions() as session:
        statuses = [o.status for o in (await session.exec(select(Order).order_by(Order.id))).all()]
    assert statuses == ["completed", "completed", "shipped"]
