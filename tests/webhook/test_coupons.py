"""Coupons through the webhook: the level-up coupon, the best coupon applied by `buy`, nocoupon,
one coupon under concurrent buys, expiry, refunds, monthly coupons on the clock, product cards."""

import asyncio
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlmodel import col, select

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.errors import BadArgument, NotFound
from botstore.models import (
    Account,
    AccountKind,
    Coupon,
    Fan,
    LedgerTransaction,
    Order,
    OutboxMessage,
)
from botstore.money import Fen
from botstore.seed.offline import seed_offline
from botstore.services import articles, coupons, fans
from botstore.wechat import NewsReply
from tests.helpers import count
from tests.webhook.westore import (
    balance,
    escrow_balance,
    first_id,
    list_product,
    open_store,
    say,
    store_balance,
    topup,
)

BUDGET = 100_00


async def platform_balance(sessions) -> int:
    async with sessions() as session:
        statement = select(Account.balance_fen).where(Account.kind == AccountKind.PLATFORM)
        return (await session.exec(statement)).one()


async def outbox(sessions, openid: str, reason: str) -> list[str]:
    async with sessions() as session:
        rows = await session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.openid == openid, OutboxMessage.reason == reason)
            .order_by(col(OutboxMessage.id))
        )
        return [row.payload["text"]["content"] for row in rows.all()]


async def coupon_rows(sessions) -> list[Coupon]:
    async with sessions() as session:
        return list((await session.exec(select(Coupon).order_by(col(Coupon.id)))).all())


async def make_campaign(sessions, clock: FrozenClock, **spec: object) -> int:
    values: dict[str, object] = {
        "name": "Twenty off",
        "occasion": "manual",
        "amount_off_fen": 2000,
        "min_spend_fen": 6000,
        "valid_days": 30,
    } | spec
    async with sessions() as session, session.begin():
        campaign = await coupons.create_campaign(session, now=clock.now(), **values)  # type: ignore[arg-type]
        return campaign.id or 0


async def give(sessions, clock: FrozenClock, campaign_id: int, openid: str = "o_a") -> None:
    """Give one fan a campaign's coupon."""
    async with sessions() as session, session.begin():
        fan = await fans.get_or_create(session, openid, now=clock.now())
        assert await coupons.issue_to(session, campaign_id, fan, now=clock.now()) is not None


@pytest.fixture
async def shop(wechat: Emulator, sessions, clock: FrozenClock) -> int:
    """Merchants and partner services, the platform's coupon budget, the level-up campaigns of
    gold and platinum, and Tea House (o_tea) selling Longjing #1 at 68.00 (stock 10)."""
    async with sessions() as session, session.begin():
        await seed_offline(session, now=clock.now())
        await coupons.fund_budget(session, amount=Fen(BUDGET), key="budget", now=clock.now())
    await make_campaign(sessions, clock, name="Gold welcome", occasion="levelup", level="gold")
    await make_campaign(
        sessions,
        clock,
        name="Platinum welcome",
        occasion="levelup",
        level="platinum",
        amount_off_fen=None,
        min_spend_fen=0,
        percent_off=15,
        cap_fen=6000,
    )
    await open_store(wechat, "o_tea", "Tea House")
    return await list_product(wechat, "o_tea", "Longjing", "68", 10)


# --- the level-up coupon ---


async def test_crossing_a_threshold_issues_the_level_coupon_exactly_once(
    wechat: Emulator, sessions, shop
) -> None:
    await topup(wechat, "o_a", "1000")
    await say(wechat, "o_a", "pay TEA01 499")
    assert (await say(wechat, "o_a", "coupons")).startswith("No coupons right now.")
    first = await wechat.say("pay TEA01 1", fan="o_a", msg_id=4242)
    retry = await wechat.say("pay TEA01 1", fan="o_a", msg_id=4242)
    assert retry.body == first.body
    await say(wechat, "o_a", "pay TEA01 100")  # still gold: nothing more
    assert await say(wechat, "o_a", "coupons") == (
        "Your coupons (1):\n"
        "#1 Gold welcome: ¥20.00 off orders from ¥60.00, until Jan 31, 2026 12:00\n"
        '"buy" applies the best one by itself; "buy <product id> [qty] nocoupon" keeps them.\n'
        "Times are China Time."
    )
    assert await outbox(sessions, "o_a", "coupon_issued") == [
        'You are a gold member now! New coupon #1 "Gold welcome": ¥20.00 off orders from '
        '¥60.00, valid until Jan 31, 2026 12:00. "buy" applies it by itself; "coupons" '
        "lists yours.\nTimes are China Time."
    ]
    assert len(await coupon_rows(sessions)) == 1


@pytest.mark.parametrize("payment", ["pay TEA01 2000", "use 1 2000", "scan"])
async def test_every_kind_of_payment_levels_up_and_a_jump_gives_both_coupons(
    wechat: Emulator, sessions, shop, payment: str
) -> None:
    await topup(wechat, "o_a", "2000")
    if payment == "scan":
        await wechat.event("SCAN", fan="o_a", event_key="merchant_TEA01")
        await say(wechat, "o_a", "2000")
    else:
        await say(wechat, "o_a", payment)
    issued = await coupon_rows(sessions)
    assert [(c.campaign_id, c.period) for c in issued] == [(1, "levelup"), (2, "levelup")]
    assert len(await outbox(sessions, "o_a", "coupon_issued")) == 2
    # Top-ups and tips earn nothing, so they level nobody up.
    await topup(wechat, "o_b", "3000")
    assert len(await coupon_rows(sessions)) == 2


async def test_an_order_completing_levels_the_buyer_up_by_receipt_or_by_the_scheduler(
    client: TestClient, wechat: Emulator, sessions, shop, config: Config
) -> None:
    big = await list_product(wechat, "o_tea", "Teapot", "500", 5)
    placed = []
    for fan in ("o_a", "o_b"):
        await topup(wechat, fan, "500")
        placed.append(first_id(await say(wechat, fan, f"buy {big}")))
        await say(wechat, "o_tea", f"ship {placed[-1]}")
    await say(wechat, "o_a", f"received {placed[0]}")
    assert [c.fan_id for c in await coupon_rows(sessions)] == [2]
    # o_b never confirms: the scheduler completes the order and issues the coupon with it.
    response = await client.post(
        "/admin/api/clock/advance",
        json={"days": 10},
        headers={"Authorization": f"Bearer {config.admin.token}"},
    )
    assert response.status == 200
    ran = (await response.json())["ran"]
    assert [r["done"] for r in ran if r["job"] == "orders.auto_complete_shipped"] == [1]
    assert [c.fan_id for c in await coupon_rows(sessions)] == [2, 3]
    assert len(await outbox(sessions, "o_b", "coupon_issued")) == 1


# --- applying coupons ---


async def test_buy_applies_the_best_coupon_and_the_platform_funds_the_discount(
    wechat: Emulator, sessions, shop, clock: FrozenClock
) -> None:
    await topup(wechat, "o_a", "100")
    ten_percent = await make_campaign(
        sessions, clock, name="Ten percent", amount_off_fen=None, min_spend_fen=0, percent_off=10
    )
    twenty_off = await make_campaign(sessions, clock)
    for campaign_id in (ten_percent, twenty_off):
        await give(sessions, clock, campaign_id)
    assert await say(wechat, "o_a", f"buy {shop}") == (
        "Order #1: 1 x product #1, ¥68.00 less coupon #2 ¥20.00: paid ¥48.00. The platform "
        'holds the money until you send "received #1" after delivery.'
    )
    assert await balance(wechat, "o_a") == "52.00"
    assert await escrow_balance(sessions) == 6800
    assert await platform_balance(sessions) == BUDGET - 2000
    async with sessions() as session:
        order = (await session.exec(select(Order))).one()
        used = await coupons.of_order(session, order.id or 0)
    assert (order.discount_fen, order.total_fen) == (2000, 4800)
    assert used is not None and used.id == 2 and used.used_at is not None
    # The seller still gets the full price; the buyer earns points on what it paid.
    await say(wechat, "o_tea", "ship 1")
    assert await say(wechat, "o_a", "received 1") == (
        "Order #1 is complete: ¥68.00 released to the seller. Thank you!"
    )
    assert await store_balance(sessions, "o_tea") == 6800
    assert await escrow_balance(sessions) == 0
    assert (await say(wechat, "o_a", "points")).startswith("You have 48 points")
    # The next buy takes the remaining coupon; one coupon per order.
    await topup(wechat, "o_a", "100")
    assert "less coupon #1 ¥6.80: paid ¥61.20" in await say(wechat, "o_a", f"buy {shop}")


async def test_nocoupon_declines_and_keeps_the_coupon(
    wechat: Emulator, sessions, shop, clock: FrozenClock
) -> None:
    await topup(wechat, "o_a", "300")
    await give(sessions, clock, await make_campaign(sessions, clock))
    assert (await say(wechat, "o_a", f"buy {shop} nocoupon")).startswith(
        "Order #1: 1 x product #1, paid ¥68.00."
    )
    assert (await say(wechat, "o_a", f"buy #{shop} 2 NoCoupon")).startswith(
        "Order #2: 2 x product #1, paid ¥136.00."
    )
    assert await platform_balance(sessions) == BUDGET
    (coupon,) = await coupon_rows(sessions)
    assert coupon.used_order_id is None


async def test_buy_without_an_applicable_coupon_pays_the_full_price(
    wechat: Emulator, sessions, shop, clock: FrozenClock
) -> None:
    cheap = await list_product(wechat, "o_tea", "Cup", "12", 5)
    await topup(wechat, "o_a", "100")
    await give(sessions, clock, await make_campaign(sessions, clock))  # from ¥60 only
    assert (await say(wechat, "o_a", f"buy {cheap}")).startswith(
        f"Order #1: 1 x product #{cheap}, paid ¥12.00."
    )
    assert (await coupon_rows(sessions))[0].used_order_id is None


async def test_two_concurrent_buys_cannot_both_use_one_coupon(
    wechat: Emulator, sessions, shop, clock: FrozenClock
) -> None:
    await topup(wechat, "o_a", "500")
    await give(sessions, clock, await make_campaign(sessions, clock))
    replies = await asyncio.gather(
        wechat.say(f"buy {shop}", fan="o_a", msg_id=9001),
        wechat.say(f"buy {shop}", fan="o_a", msg_id=9002),
    )
    texts = sorted(reply.content for reply in replies)
    assert sum("less coupon #1 ¥20.00: paid ¥48.00" in text for text in texts) == 1
    assert sum("paid ¥68.00." in text for text in texts) == 1
    async with sessions() as session:
        discounts = sorted((await session.exec(select(Order.discount_fen))).all())
    assert discounts == [0, 2000]
    assert await balance(wechat, "o_a") == f"{500 - 48 - 68}.00"
    assert await platform_balance(sessions) == BUDGET - 2000


async def test_expired_coupons_are_not_applied_and_the_expiry_job_marks_them(
    client: TestClient, wechat: Emulator, sessions, shop, clock: FrozenClock, config: Config
) -> None:
    await topup(wechat, "o_a", "100")
    await give(sessions, clock, await make_campaign(sessions, clock, valid_days=1))
    clock.advance(timedelta(days=1))
    assert (await say(wechat, "o_a", "coupons")).startswith("No coupons right now.")
    assert (await say(wechat, "o_a", f"buy {shop}")).startswith(
        "Order #1: 1 x product #1, paid ¥68.00."
    )
    response = await client.post(
        "/admin/api/clock/advance",
        json={"hours": 1},
        headers={"Authorization": f"Bearer {config.admin.token}"},
    )
    ran = (await response.json())["ran"]
    assert [r for r in ran if r["job"].startswith("coupons.")] == [
        {"job": "coupons.expire_due", "at": "2026-01-02T04:00:00+00:00", "done": 1}
    ]
    (coupon,) = await coupon_rows(sessions)
    assert coupon.used_order_id is None and coupon.expired_at is not None


async def test_a_cancelled_order_refunds_what_was_paid_and_gives_the_coupon_back(
    wechat: Emulator, sessions, shop, clock: FrozenClock
) -> None:
    await topup(wechat, "o_a", "100")
    await give(sessions, clock, await make_campaign(sessions, clock))
    await say(wechat, "o_a", f"buy {shop}")
    clock.advance(timedelta(hours=48))
    assert await say(wechat, "o_a", "cancel 1") == (
        "Order #1 is cancelled: ¥48.00 refunded to your wallet; coupon #1 is yours again.\n"
        "Tea House's owner will see this when they next write."  # away for 48 hours
    )
    assert await balance(wechat, "o_a") == "100.00"
    assert await platform_balance(sessions) == BUDGET
    assert await escrow_balance(sessions) == 0
    assert await outbox(sessions, "o_a", "order_refund") == [
        "Order #1 is cancelled: ¥48.00 is back in your wallet; coupon #1 is yours again."
    ]
    assert (await say(wechat, "o_a", "coupons")).startswith("Your coupons (1):\n#1")
    assert "less coupon #1 ¥20.00" in await say(wechat, "o_a", f"buy {shop}")


async def test_a_cancelled_order_without_coupon_notifies_the_buyer(
    wechat: Emulator, sessions, shop, clock: FrozenClock
) -> None:
    await topup(wechat, "o_a", "100")
    await say(wechat, "o_a", f"buy {shop}")
    clock.advance(timedelta(hours=48))
    assert await say(wechat, "o_a", "cancel 1") == (
        "Order #1 is cancelled: ¥68.00 refunded to your wallet.\n"
        "Tea House's owner will see this when they next write."  # away for 48 hours
    )
    assert await outbox(sessions, "o_a", "order_refund") == [
        "Order #1 is cancelled: ¥68.00 is back in your wallet."
    ]


async def test_a_coupon_the_platform_cannot_fund_is_refused_and_changes_nothing(
    wechat: Emulator, sessions, shop, clock: FrozenClock
) -> None:
    await topup(wechat, "o_a", "100")
    await give(
        sessions,
        clock,
        await make_campaign(sessions, clock, amount_off_fen=BUDGET + 1, min_spend_fen=0),
    )
    pricey = await list_product(wechat, "o_tea", "Urn", "200", 1)
    await topup(wechat, "o_a", "200")
    transactions = await count(sessions, LedgerTransaction)
    assert await say(wechat, "o_a", f"buy {pricey}") == (
        "Coupon #1 (¥100.01 off) can't be honoured right now: the platform's coupon budget is "
        f'spent. Nothing was charged. Send "buy #{pricey} nocoupon" to buy at the full price.'
    )
    assert await count(sessions, Order) == 0
    assert await count(sessions, LedgerTransaction) == transactions
    assert (await coupon_rows(sessions))[0].used_order_id is None
    assert (await say(wechat, "o_a", f"buy {pricey} nocoupon")).startswith("Order #")


async def test_group_buys_take_no_coupon(
    wechat: Emulator, sessions, shop, clock: FrozenClock
) -> None:
    await say(wechat, "o_tea", f"groupprice {shop} 60 2")
    await topup(wechat, "o_a", "100")
    await give(sessions, clock, await make_campaign(sessions, clock))
    assert "paid ¥60.00" in await say(wechat, "o_a", f"group {shop}")
    assert (await coupon_rows(sessions))[0].used_order_id is None


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        (
            "buy 1 nocoupon 2",
            '"nocoupon" comes last\nUsage: buy <product id> [qty] [nocoupon] [from] [article id]',
        ),
        (
            "buy 1 2 3",
            "unexpected '3'\nUsage: buy <product id> [qty] [nocoupon] [from] [article id]",
        ),
        (
            "buy 1 2 coupon",
            "unexpected 'coupon'\nUsage: buy <product id> [qty] [nocoupon] [from] [article id]",
        ),
        (
            "buy 1 cheap",
            "[qty]: a whole number from 1 to 999\nUsage: buy <product id> [qty] [nocoupon] [from] [article id]",
        ),
        (
            "buy 1 1000 nocoupon",
            "[qty]: a whole number from 1 to 999\nUsage: buy <product id> [qty] [nocoupon] [from] [article id]",
        ),
        (
            "buy 1 2 nocoupon x",
            "unexpected 'x'\nUsage: buy <product id> [qty] [nocoupon] [from] [article id]",
        ),
        (
            "buy nocoupon",
            "<product id>: an id is a number such as #12\nUsage: buy <product id> [qty] [nocoupon] [from] [article id]",
        ),
        ("coupons all", "unexpected 'all'\nUsage: coupons"),
        ("buy 99 nocoupon", "There is no product #99."),
    ],
)
async def test_bad_arguments_get_their_reason_and_change_nothing(
    wechat: Emulator, sessions, shop, clock: FrozenClock, text: str, reply: str
) -> None:
    await topup(wechat, "o_a", "100")
    await give(sessions, clock, await make_campaign(sessions, clock))
    transactions = await count(sessions, LedgerTransaction)
    assert await say(wechat, "o_a", text) == reply
    assert await count(sessions, Order) == 0
    assert await count(sessions, LedgerTransaction) == transactions
    assert (await coupon_rows(sessions))[0].used_order_id is None
    assert await balance(wechat, "o_a") == "100.00"


# --- monthly coupons on the emulated clock ---


async def test_monthly_coupons_are_issued_once_a_month_by_the_clock(
    client: TestClient, wechat: Emulator, sessions, shop, clock: FrozenClock, config: Config
) -> None:
    await make_campaign(
        sessions,
        clock,
        name="Green monthly",
        occasion="monthly",
        level="green",
        min_spend_fen=0,
        amount_off_fen=500,
    )
    await make_campaign(sessions, clock, name="Gold monthly", occasion="monthly", level="gold")
    await topup(wechat, "o_gold", "500")
    await say(wechat, "o_gold", "pay TEA01 500")  # gold: its level-up coupon now
    await say(wechat, "o_green", "balance")
    await wechat.event("subscribe", fan="o_gone")
    await wechat.event("unsubscribe", fan="o_gone", create_time=wechat.now() + 1)
    headers = {"Authorization": f"Bearer {config.admin.token}"}

    async def advance(**body: int) -> list[dict[str, object]]:
        response = await client.post("/admin/api/clock/advance", json=body, headers=headers)
        assert response.status == 200
        ran = (await response.json())["ran"]
        return [r for r in ran if str(r["job"]).startswith("coupons.")]

    # o_tea (green, the store owner) and o_green get January's green coupon, o_gold the gold one.
    assert await advance(days=1) == [
        {"job": "coupons.issue_monthly", "at": "2026-01-02T04:00:00+00:00", "done": 3}
    ]
    assert await advance(days=1) == []
    assert await outbox(sessions, "o_green", "coupon_issued") == [
        'New coupon #3 "Green monthly": ¥5.00 off any order, valid until Feb 1, 2026 00:00. '
        '"buy" applies it by itself; "coupons" lists yours.\nTimes are China Time.'
    ]
    # Thirty days on, in time order: the gold welcome coupon ends, then at the month's start
    # in the account's time zone (Feb 1st 00:00 China Time, 16:00 UTC the day before)
    # January's coupons (valid through January 31st) end and February's are issued.
    ran = await advance(days=30)
    assert ran[0] == {"job": "coupons.expire_due", "at": "2026-01-31T04:00:00+00:00", "done": 1}
    assert sorted(ran[1:], key=lambda run: str(run["job"])) == [
        {"job": "coupons.expire_due", "at": "2026-01-31T16:00:00+00:00", "done": 3},
        {"job": "coupons.issue_monthly", "at": "2026-01-31T16:00:00+00:00", "done": 3},
    ]
    periods = sorted(
        (c.fan_id, c.period) for c in await coupon_rows(sessions) if c.period != "levelup"
    )
    fan_ids = {c.fan_id for c in await coupon_rows(sessions)}
    assert len(periods) == 6 and {p for _, p in periods} == {"2026-01", "2026-02"}
    async with sessions() as session:
        gone = (await session.exec(select(Fan.id).where(Fan.openid == "o_gone"))).one()
    assert gone not in fan_ids


# --- product cards in articles ---


@pytest.fixture
async def article_with_cards(sessions, clock: FrozenClock, shop) -> int:
    async with sessions() as session, session.begin():
        article = await articles.create_article(
            session, title="Brewing", digest="Eighty degrees.", author=None, now=clock.now()
        )
        await articles.add_product_card(session, article_id=article.id or 0, product_id=shop)
        return article.id or 0


async def test_read_names_the_product_cards_in_its_one_card_and_a_click_shows_them(
    wechat: Emulator, article_with_cards: int
) -> None:
    exchange = await wechat.say(f"read {article_with_cards}", fan="o_x")
    news = exchange.reply.reply
    assert isinstance(news, NewsReply) and len(news.articles) == 1
    assert 'In this article: #1 Longjing ¥68.00. Buy with "buy <product id> from #1".' in (
        news.articles[0].description
    )
    clicked = await wechat.event("CLICK", fan="o_x", event_key=f"read {article_with_cards}")
    news = clicked.reply.reply
    assert isinstance(news, NewsReply) and len(news.articles) == 2
    card = news.articles[1]
    assert card.title == "Longjing ¥68.00"
    assert card.url == "http://127.0.0.1:8080/products/1?article=1"
    assert card.description == (
        'Send "buy #1 from #1" to order it; your best coupon applies by itself.'
    )


async def test_the_article_page_shows_its_product_cards(
    client: TestClient, article_with_cards: int
) -> None:
    response = await client.get(f"/articles/{article_with_cards}")
    html = await response.text()
    assert response.status == 200
    assert 'href="http://127.0.0.1:8080/products/1?article=1">#1 Longjing</a>' in html
    assert "<code>buy #1 from #1</code>" in html


async def test_product_cards_refuse_unknown_and_repeated_products(
    sessions, clock: FrozenClock, article_with_cards: int
) -> None:
    async with sessions() as session:
        with pytest.raises(NotFound):
            await articles.add_product_card(session, article_id=article_with_cards, product_id=99)
        with pytest.raises(NotFound):
            await articles.add_product_card(session, article_id=99, product_id=1)
        with pytest.raises(BadArgument):
            await articles.add_product_card(session, article_id=article_with_cards, product_id=1)
