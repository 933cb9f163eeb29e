"""Every party is told, through the webhook: sellers and resellers of sales, cancellations and
payouts, buyers of shipping, auto-completion and refunds, group members of a full group, authors
of tips; each in the recipient's language, in the event's transaction, once; and held while the
recipient is outside WeChat's 48-hour window, until they next write."""

import asyncio

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.app import db_key
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import Fan, OutboxMessage, Product
from botstore.services import articles
from tests.webhook.westore import first_id, list_product, open_store, say, topup

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def config(config: Config, request: pytest.FixtureRequest) -> Config:
    # Concurrency is not this module's subject: no reply should fall past the budget here. A
    # test may name the tip fee (basis points) as its `config` parameter.
    return config.replace(
        server={"reply_budget_seconds": 60},
        articles={"tip_fee_bps": getattr(request, "param", 0)},
    )


async def outbox(sessions: Sessions, openid: str, *, reason: str | None = None) -> list[str]:
    """The texts pushed to the fan (delivered, not waiting), oldest first."""
    async with sessions() as session:
        statement = (
            select(OutboxMessage)
            .where(OutboxMessage.openid == openid, col(OutboxMessage.waiting).is_(False))
            .order_by(col(OutboxMessage.id))
        )
        rows = (await session.exec(statement)).all()
    return [
        row.payload["text"]["content"] for row in rows if reason is None or row.reason == reason
    ]


async def waiting(sessions: Sessions, openid: str) -> list[OutboxMessage]:
    async with sessions() as session:
        statement = (
            select(OutboxMessage)
            .where(OutboxMessage.openid == openid, col(OutboxMessage.waiting))
            .order_by(col(OutboxMessage.id))
        )
        return list((await session.exec(statement)).all())


async def counted(sessions: Sessions, openid: str) -> int:
    async with sessions() as session:
        fan = (await session.exec(select(Fan).where(Fan.openid == openid))).one()
        return fan.waiting_notices


async def nickname(sessions: Sessions, openid: str, name: str) -> None:
    async with sessions() as session, session.begin():
        await session.exec(update(Fan).where(col(Fan.openid) == openid).values(nickname=name))


async def advance(client: TestClient, config: Config, hours: int) -> list[str]:
    headers = {"Authorization": f"Bearer {config.admin.token}"}
    response = await client.post(
        "/admin/api/clock/advance", json={"hours": hours}, headers=headers
    )
    assert response.status == 200, await response.text()
    return [entry["job"] for entry in (await response.json())["ran"] if entry["done"]]


@pytest.fixture
async def shop(wechat: Emulator, sessions: Sessions) -> int:
    """Tea House (o_tea, who speaks Chinese) lists Green-tea at ¥12.50, stock 5; o_buyer ("Mei",
    English) has ¥100."""
    await open_store(wechat, "o_tea", "Tea House")
    product_id = await list_product(wechat, "o_tea", "Green-tea", "12.5", 5)
    assert (await say(wechat, "o_tea", "语言 中文")).startswith("从现在起")
    await topup(wechat, "o_buyer", "100")
    await nickname(sessions, "o_buyer", "Mei")
    return product_id


async def test_the_seller_is_told_of_a_paid_order_in_the_sellers_language(
    wechat: Emulator, sessions: Sessions, shop: int
) -> None:
    assert (await say(wechat, "o_buyer", f"buy {shop} 2")).startswith("Order #1")
    assert await outbox(sessions, "o_tea", reason="order_paid") == [
        '新订单 #1：Mei 购买 Green-tea × 2，已付 ¥25.00。发送"发货 #1"发货。'
    ]
    assert await outbox(sessions, "o_buyer") == []  # the buyer has the reply


async def test_a_refused_or_retried_buy_tells_nobody_twice(
    wechat: Emulator, sessions: Sessions, shop: int
) -> None:
    # Refused (not enough money, no stock): nothing is sent.
    assert "not enough" in (await say(wechat, "o_poor", f"buy {shop}")).lower()
    assert "only 5 left" in await say(wechat, "o_buyer", f"buy {shop} 6")
    assert await outbox(sessions, "o_tea") == []
    # WeChat's retry of the same message gets the stored reply and tells no one again.
    first = await wechat.say(f"buy {shop}", fan="o_buyer", msg_id=4242)
    again = await wechat.say(f"buy {shop}", fan="o_buyer", msg_id=4242)
    assert first.content == again.content
    assert len(await outbox(sessions, "o_tea", reason="order_paid")) == 1


async def test_shipping_receipt_and_payout(
    wechat: Emulator, sessions: Sessions, shop: int
) -> None:
    await say(wechat, "o_buyer", f"buy {shop} 2")
    await say(wechat, "o_tea", "发货 #1")
    [shipped] = await outbox(sessions, "o_buyer", reason="order_shipped")
    # The buyer speaks English; the order completes by itself 240 hours after shipping.
    assert shipped == (
        'Order #1 (Green-tea x 2) has shipped. Send "received #1" when it arrives; otherwise it '
        "completes by itself on Jan 11, 2026 12:00.\nTimes are China Time."
    )
    assert (await say(wechat, "o_buyer", "received 1")).startswith("Order #1")
    assert await outbox(sessions, "o_tea", reason="order_payout") == [
        "Mei 已确认收到订单 #1（Green-tea × 2）：¥25.00 已计入 Tea House 的收入。"
    ]
    assert await outbox(sessions, "o_buyer", reason="order_completed") == []


async def test_a_resale_tells_supplier_and_reseller_and_pays_out_both(
    wechat: Emulator, sessions: Sessions, shop: int
) -> None:
    await open_store(wechat, "o_aff", "Book Corner")
    resale = first_id(await say(wechat, "o_aff", f"resell {shop} 15"))
    await say(wechat, "o_buyer", f"buy {resale} 2")
    assert await outbox(sessions, "o_tea", reason="order_paid") == [
        '新订单 #1：Mei 购买 Green-tea × 2，由 Book Corner 分销，你的货款 ¥25.00。发送"发货 #1"发货。'
    ]
    assert await outbox(sessions, "o_aff", reason="resale_sold") == [
        "Your listing Green-tea sold: order #1, x 2 for Mei. Your margin of ¥5.00 is paid when "
        "the order completes."
    ]
    await say(wechat, "o_tea", "ship 1")
    await say(wechat, "o_buyer", "received 1")
    assert await outbox(sessions, "o_aff", reason="resale_margin") == [
        "Order #1 (Green-tea x 2) is complete: your margin of ¥5.00 is in the earnings of "
        "Book Corner."
    ]
    assert len(await outbox(sessions, "o_tea", reason="order_payout")) == 1


async def test_a_cancellation_tells_the_buyer_the_supplier_and_the_reseller(
    wechat: Emulator, sessions: Sessions, client: TestClient, config: Config, shop: int
) -> None:
    await open_store(wechat, "o_aff", "Book Corner")
    resale = first_id(await say(wechat, "o_aff", f"resell {shop} 15"))
    await say(wechat, "o_buyer", f"buy {resale}")
    await advance(client, config, 49)  # cancel_after_hours = 48
    assert (await say(wechat, "o_buyer", "cancel 1")).startswith("Order #1 is cancelled")
    assert await outbox(sessions, "o_buyer", reason="order_refund") == [
        "Order #1 is cancelled: ¥15.00 is back in your wallet."
    ]
    # Supplier and reseller last wrote 49 hours ago: held, then delivered as each writes.
    assert [notice.reason for notice in await waiting(sessions, "o_tea")] == ["order_cancelled"]
    await say(wechat, "o_tea", "余额")
    await say(wechat, "o_aff", "balance")
    assert await outbox(sessions, "o_tea", reason="order_cancelled") == [
        "订单 #1（Green-tea × 1）已被买家取消并退款：请不要发货。"
    ]
    assert await outbox(sessions, "o_aff", reason="order_cancelled") == [
        "Order #1 (Green-tea x 1) was cancelled by the buyer and refunded: no margin for this "
        "sale."
    ]


async def test_auto_completion_tells_buyer_and_seller_who_get_it_when_they_next_write(
    wechat: Emulator, sessions: Sessions, client: TestClient, config: Config, shop: int
) -> None:
    await say(wechat, "o_buyer", f"buy {shop}")
    await say(wechat, "o_tea", "发货 1")
    assert "orders.auto_complete_shipped" in await advance(client, config, 241)
    # Nobody wrote in the last 48 hours: WeChat would refuse both pushes, so they wait.
    [held] = await waiting(sessions, "o_buyer")
    assert held.reason == "order_completed"
    assert [n.reason for n in await waiting(sessions, "o_tea")] == ["order_payout"]
    assert await counted(sessions, "o_buyer") == 1
    assert await outbox(sessions, "o_buyer", reason="order_completed") == []
    response = await client.get("/console/api/outbox", params={"openid": "o_buyer"})
    [shown] = [m for m in (await response.json())["messages"] if m["reason"] == "order_completed"]
    assert shown["waiting"] is True
    # An event that opens no window (a location report) delivers nothing.
    await wechat.event(
        "LOCATION", fan="o_buyer", extra={"Latitude": "1", "Longitude": "2", "Precision": "5"}
    )
    assert await counted(sessions, "o_buyer") == 1
    # The buyer writes: the notice goes out, as a new push naming when it was first sent.
    await say(wechat, "o_buyer", "balance")
    assert await outbox(sessions, "o_buyer", reason="order_completed") == [
        "Order #1 (Green-tea x 1) completed by itself: you did not confirm receipt in time, so "
        "the seller has been paid."
    ]
    assert await waiting(sessions, "o_buyer") == [] and await counted(sessions, "o_buyer") == 0
    await advance(client, config, 1)  # the job runs again: the order completed once, told once
    assert len(await outbox(sessions, "o_buyer", reason="order_completed")) == 1
    async with sessions() as session:
        sent = (
            await session.exec(
                select(OutboxMessage).where(OutboxMessage.reason == "order_completed")
            )
        ).one()
    assert sent.queued_at == held.created_at < sent.created_at
    assert sent.id > held.id  # a new row, which the console pushes (it shows rows past its last)
    # The seller is still away; a refused command of theirs delivers too (its own transaction).
    assert (await say(wechat, "o_tea", "发货 99")).startswith("没有订单 #99")
    assert await outbox(sessions, "o_tea", reason="order_payout") == [
        "订单 #1（Green-tea × 1）买家未按时确认，已自动完成：¥12.50 已计入 Tea House 的收入。"
    ]


async def test_two_messages_at_once_deliver_a_waiting_notice_once(
    wechat: Emulator, sessions: Sessions, client: TestClient, config: Config, shop: int
) -> None:
    await say(wechat, "o_buyer", f"buy {shop}")
    await advance(client, config, 49)
    await say(wechat, "o_buyer", "cancel 1")  # o_tea, away for 49 hours, gets a held notice
    assert await counted(sessions, "o_tea") == 1
    await asyncio.gather(say(wechat, "o_tea", "余额"), say(wechat, "o_tea", "订单"))
    assert len(await outbox(sessions, "o_tea", reason="order_cancelled")) == 1
    assert await waiting(sessions, "o_tea") == [] and await counted(sessions, "o_tea") == 0
    # The console's outbox shows the delivered copy with when it was first held.
    response = await client.get("/console/api/outbox", params={"openid": "o_tea"})
    [shown] = [m for m in (await response.json())["messages"] if m["reason"] == "order_cancelled"]
    assert shown["waiting"] is False and shown["queued_at"] is not None


async def test_every_member_is_told_when_a_group_fills(
    wechat: Emulator, sessions: Sessions, shop: int
) -> None:
    await say(wechat, "o_tea", f"团购价 {shop} 9.9 3")  # o_tea keeps speaking Chinese
    for fan in ("o_a", "o_b", "o_c"):
        await topup(wechat, fan, "50")
    await say(wechat, "o_a", f"group {shop}")
    await say(wechat, "o_b", "参团 1")  # o_b speaks Chinese
    assert await outbox(sessions, "o_a") == []  # not full yet
    reply = await say(wechat, "o_c", "join 1")
    assert reply.startswith("Group #1 is complete")
    assert await outbox(sessions, "o_a", reason="group_filled") == [
        "Group buy #1 for Green-tea is full! Your order #1 is paid (¥9.90) and the store ships "
        "next."
    ]
    assert await outbox(sessions, "o_b", reason="group_filled") == [
        "Green-tea 的拼团 #1 已成团！你的订单 #2 已付款（¥9.90），店铺接下来发货。"
    ]
    assert await outbox(sessions, "o_c") == []  # the reply told the one who filled it
    assert await outbox(sessions, "o_tea", reason="group_orders") == [
        'Green-tea 的拼团 #1 已成团：3 笔已付款订单，每笔 ¥9.90（#1, #2, #3）。请逐笔发送"发货 <订单编号>"发货。'
    ]


async def test_a_failed_group_refund_waits_for_a_member_away_for_48_hours(
    wechat: Emulator, sessions: Sessions, client: TestClient, config: Config, shop: int
) -> None:
    await say(wechat, "o_tea", f"groupprice {shop} 9.9 3")
    async with sessions() as session, session.begin():
        await session.exec(update(Product).where(col(Product.id) == shop).values(group_hours=72))
    await topup(wechat, "o_a", "50")
    await say(wechat, "o_a", f"group {shop}")
    await advance(client, config, 73)
    assert await outbox(sessions, "o_a", reason="group_refund") == []
    [held] = await waiting(sessions, "o_a")
    assert held.payload["text"]["content"] == (
        "Group buy #1 did not fill before its deadline: ¥9.90 is back in your wallet."
    )
    await wechat.event("CLICK", fan="o_a", event_key="balance")  # a menu click opens one too
    assert len(await outbox(sessions, "o_a", reason="group_refund")) == 1


@pytest.mark.parametrize(
    ("config", "told"),
    [
        (500, "Mei 赞赏了《How we brew》¥5.00：¥4.75 已存入你的钱包（平台服务费 ¥0.25）。"),
        (0, "Mei 赞赏了《How we brew》¥5.00，已存入你的钱包。"),
    ],
    indirect=["config"],
)
async def test_an_author_is_told_of_a_tip(
    wechat: Emulator, sessions: Sessions, clock: FrozenClock, told: str
) -> None:
    await say(wechat, "o_author", "language 中文")
    async with sessions() as session, session.begin():
        author = (await session.exec(select(Fan).where(Fan.openid == "o_author"))).one()
        article = await articles.create_article(
            session, title="How we brew", author=author, now=clock.now()
        )
        mine = article.id
        house = await articles.create_article(
            session, title="News", author=None, now=wechat.clock.now()
        )
        theirs = house.id
    await topup(wechat, "o_reader", "20")
    await nickname(sessions, "o_reader", "Mei")
    assert (await say(wechat, "o_reader", f"tip {mine} 5")).startswith("You tipped")
    assert await outbox(sessions, "o_author", reason="tip_received") == [told]
    await say(wechat, "o_reader", f"tip {theirs} 1")  # the account's own: nobody to tell
    assert len(await outbox(sessions, "o_author", reason="tip_received")) == 1


async def test_a_recipient_who_chose_no_language_reads_the_accounts_not_the_writers(
    wechat: Emulator, sessions: Sessions, clock: FrozenClock
) -> None:
    await say(wechat, "o_quiet", "hello")  # no command word: no language of their own
    async with sessions() as session, session.begin():
        author = (await session.exec(select(Fan).where(Fan.openid == "o_quiet"))).one()
        assert author.language is None
        article = await articles.create_article(
            session, title="Quiet notes", author=author, now=clock.now()
        )
    await say(wechat, "o_reader", "充值 20")
    assert (await say(wechat, "o_reader", f"赞赏 {article.id} 5")).startswith("你")
    # The tests' account speaks English (wechat.language = "en"); the tipper wrote Chinese.
    assert await outbox(sessions, "o_quiet", reason="tip_received") == [
        'o_reader tipped ¥5.00 for "Quiet notes": it is in your wallet.'
    ]


async def test_a_message_of_a_fan_with_nothing_waiting_reads_no_outbox(
    wechat: Emulator, client: TestClient, shop: int
) -> None:
    engine = client.app[db_key].kw["bind"]
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        await say(wechat, "o_buyer", "balance")
        await say(wechat, "o_tea", "orders")
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert statements  # the listener sees the session's statements
    assert not [s for s in statements if "outbox_message" in s]
