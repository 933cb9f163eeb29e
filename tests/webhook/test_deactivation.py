"""Stores, products, merchants and partner services the admin deactivated, through the signed
webhook: fans no longer see them, buying and paying are refused with nothing written, and what
was already sold is still shipped, completed, cancelled and refunded."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, update
from sqlmodel import col, select

from botstore.clock import FrozenClock
from botstore.console.client import Emulator
from botstore.models import (
    Account,
    Ad,
    AdKind,
    Conversation,
    Fan,
    GroupBuy,
    GroupMember,
    LedgerTransaction,
    Merchant,
    Order,
    PartnerService,
    Product,
    Store,
)
from botstore.money import Fen
from botstore.seed.offline import seed_offline
from botstore.services import articles, groups, stores, switches
from botstore.wechat import NewsReply
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

SWITCHABLE = {Store: "store", Product: "product", Merchant: "merchant", PartnerService: "partner"}


async def switch(sessions, model: Any, ident: int, *, active: bool) -> None:
    """What the admin's deactivate / activate buttons do (tests/admin covers the routes)."""
    async with sessions() as session, session.begin():
        await switches.set_active(session, model, ident, what=SWITCHABLE[model], active=active)


async def money_and_goods(sessions) -> dict[str, Any]:
    """Every balance and stock, and the rows a purchase or payment writes: equal before and after
    a refusal."""
    async with sessions() as session:
        out: dict[str, Any] = {
            "balances": sorted(
                (await session.exec(select(Account.id, Account.balance_fen))).all()
            ),
            "stock": sorted((await session.exec(select(Product.id, Product.stock))).all()),
        }
        for table in (Order, LedgerTransaction, GroupBuy, GroupMember, Conversation):
            statement = select(func.count()).select_from(table)
            out[table.__tablename__] = (await session.exec(statement)).one()
    return out


@pytest.fixture
async def tea(wechat: Emulator) -> int:
    """Tea House (o_tea, store #1) lists Green-tea #1 at 12.50 with stock 5, and Cup #2 at 3;
    o_buyer has 100."""
    await open_store(wechat, "o_tea", "Tea House")
    product_id = await list_product(wechat, "o_tea", "Green-tea", "12.5", 5)
    await list_product(wechat, "o_tea", "Cup", "3", 9)
    await topup(wechat, "o_buyer", "100")
    return product_id


async def test_a_deactivated_store_is_hidden_and_refuses_buyers_with_nothing_written(
    wechat: Emulator, sessions, tea: int
) -> None:
    await open_store(wechat, "o_books", "Book Corner")
    await switch(sessions, Store, 1, active=False)

    listed = await say(wechat, "o_buyer", "stores")
    assert "Tea House" not in listed and "#2 Book Corner (0 products)" in listed
    assert "Green-tea" not in await say(wechat, "o_buyer", "moments")
    closed = "Store #1 (Tea House) is closed: the account has deactivated it."
    assert await say(wechat, "o_buyer", "store 1") == closed
    before = await money_and_goods(sessions)
    assert await say(wechat, "o_buyer", f"buy {tea} 2") == closed
    assert await say(wechat, "o_buyer", "buy 2") == closed
    assert await money_and_goods(sessions) == before
    assert await balance(wechat, "o_buyer") == "100.00"

    await switch(sessions, Store, 1, active=True)
    assert (await say(wechat, "o_buyer", f"buy {tea} 2")).startswith("Order #1: 2 x product #1")
    assert await stock(sessions, tea) == 3


async def test_a_product_deactivated_while_a_purchase_runs_is_not_sold(
    wechat: Emulator, sessions, tea: int, monkeypatch
) -> None:
    """The admin's deactivation commits between the buyer's check and the stock update (as it
    can on PostgreSQL): the conditional stock update itself refuses."""
    checked = stores.listing_on_sale

    async def check_then_deactivate(session, product_id, fan=None):
        listing = await checked(session, product_id, fan)
        await session.exec(update(Product).where(col(Product.id) == tea).values(active=False))
        return listing

    monkeypatch.setattr(stores, "listing_on_sale", check_then_deactivate)
    before = await money_and_goods(sessions)
    refused = await say(wechat, "o_buyer", f"buy {tea} 2")
    assert refused == "Product #1 (Green-tea) is not on sale: the account has deactivated it."
    assert await money_and_goods(sessions) == before


async def test_the_owner_of_a_deactivated_store_is_told_and_can_still_ship_what_was_sold(
    wechat: Emulator, sessions, tea: int
) -> None:
    await say(wechat, "o_buyer", f"buy {tea} 2")
    await switch(sessions, Store, 1, active=False)

    own = (
        "Your store #1 (Tea House) has been deactivated by the account: you can't list, resell "
        "or price products until it is active again. Your orders can still be shipped."
    )
    assert await say(wechat, "o_tea", "list Pot 20 1") == own
    assert await say(wechat, "o_tea", f"groupprice {tea} 10 2") == own
    assert await say(wechat, "o_tea", "store 1") == own
    # The store stays the owner's: no second one to get round the switch.
    assert (await say(wechat, "o_tea", "open Other")).startswith("You already have a store")
    assert await stock(sessions, tea) == 3

    assert (await say(wechat, "o_tea", "ship 1")).startswith("Order #1")
    assert (await say(wechat, "o_buyer", "received 1")).startswith("Order #1")
    async with sessions() as session:
        order = await session.get(Order, 1)
        assert order is not None and order.status == "completed"
    assert await store_balance(sessions, "o_tea") == 2500
    assert await escrow_balance(sessions) == 0


async def test_a_paid_order_of_a_deactivated_product_can_still_be_cancelled_and_refunded(
    wechat: Emulator, sessions, clock: FrozenClock, tea: int
) -> None:
    await say(wechat, "o_buyer", f"buy {tea} 2")
    await switch(sessions, Product, tea, active=False)
    await switch(sessions, Store, 1, active=False)
    clock.advance(timedelta(hours=48))
    assert await say(wechat, "o_buyer", "cancel 1") == (
        "Order #1 is cancelled: ¥25.00 refunded to your wallet.\n"
        "Tea House's owner will see this when they next write."  # away for 48 hours
    )
    assert await balance(wechat, "o_buyer") == "100.00"
    assert await stock(sessions, tea) == 5
    assert await escrow_balance(sessions) == 0


async def test_a_deactivated_product_is_hidden_and_refused_while_its_store_sells_on(
    wechat: Emulator, sessions, client, tea: int
) -> None:
    await switch(sessions, Product, tea, active=False)

    assert "#1 Tea House (1 product)" in await say(wechat, "o_buyer", "stores")
    exchange = await wechat.say("store 1", fan="o_buyer")
    card = exchange.reply.reply.articles[0]  # type: ignore[union-attr]
    assert "Green-tea" not in card.description and "#2 Cup" in card.description
    moments = await say(wechat, "o_buyer", "moments")
    assert "Green-tea" not in moments and "Cup" in moments
    page = await client.get(f"/products/{tea}")
    assert (page.status, await page.text()) == (404, "product #1 is deactivated")
    assert "Green-tea" not in await (await client.get("/stores/1")).text()

    refused = "Product #1 (Green-tea) is not on sale: the account has deactivated it."
    before = await money_and_goods(sessions)
    assert await say(wechat, "o_buyer", f"buy {tea}") == refused
    assert await say(wechat, "o_buyer", f"group {tea}") == refused
    assert await money_and_goods(sessions) == before
    assert (await say(wechat, "o_buyer", "buy 2")).startswith("Order #1: 1 x product #2")

    await switch(sessions, Product, tea, active=True)
    assert (await client.get(f"/products/{tea}")).status == 200
    assert (await say(wechat, "o_buyer", f"buy {tea}")).startswith("Order #2: 1 x product #1")


async def test_a_resale_of_a_deactivated_supplier_product_cannot_be_bought_or_resold(
    wechat: Emulator, sessions, tea: int
) -> None:
    await open_store(wechat, "o_aff", "Book Corner")
    resale = first_id(await say(wechat, "o_aff", f"resell {tea} 15"))
    await switch(sessions, Product, tea, active=False)

    assert "Green-tea" not in await say(wechat, "o_buyer", "moments")
    assert "#2 Book Corner (0 products)" in await say(wechat, "o_buyer", "stores")
    await open_store(wechat, "o_other", "Corner Two")
    before = await money_and_goods(sessions)
    assert await say(wechat, "o_buyer", f"buy {resale}") == (
        f"Product #{resale} (Green-tea) is not on sale: the account has deactivated it."
    )
    assert await say(wechat, "o_other", f"resell {tea} 16") == (
        "Product #1 (Green-tea) is not on sale: the account has deactivated it."
    )
    assert await money_and_goods(sessions) == before  # stock lists every product: none added

    # The supplier's store off works the same way: the resale can't promise its stock.
    await switch(sessions, Product, tea, active=True)
    await switch(sessions, Store, 1, active=False)
    before = await money_and_goods(sessions)
    assert (await say(wechat, "o_buyer", f"buy {resale}")).endswith("has deactivated it.")
    assert await money_and_goods(sessions) == before


async def test_joining_a_group_of_a_deactivated_product_is_refused_and_the_group_refunds(
    wechat: Emulator, sessions, clock: FrozenClock, tea: int
) -> None:
    await say(wechat, "o_tea", f"groupprice {tea} 10 2")
    assert (await say(wechat, "o_buyer", f"group {tea}")).startswith("You are in group #1")
    await topup(wechat, "o_second", "50")
    await switch(sessions, Product, tea, active=False)

    before = await money_and_goods(sessions)
    assert await say(wechat, "o_second", "join 1") == (
        "Product #1 (Green-tea) is not on sale: the account has deactivated it."
    )
    assert await money_and_goods(sessions) == before
    assert await balance(wechat, "o_second") == "50.00"

    clock.advance(timedelta(hours=24))
    async with sessions() as session, session.begin():
        failed = await groups.expire_due(session, now=clock.now())
    assert [group.id for group in failed] == [1]
    assert await balance(wechat, "o_buyer") == "100.00"
    assert await stock(sessions, tea) == 5


async def test_an_article_shows_no_card_of_a_deactivated_product(
    wechat: Emulator, sessions, client, clock: FrozenClock, tea: int
) -> None:
    async with sessions() as session, session.begin():
        article = await articles.create_article(
            session, title="Brewing", digest="Eighty degrees.", author=None, now=clock.now()
        )
        for product_id in (tea, 2):
            await articles.add_product_card(
                session, article_id=article.id or 0, product_id=product_id
            )
    await switch(sessions, Product, tea, active=False)

    clicked = await wechat.event("CLICK", fan="o_x", event_key=f"read {article.id}")
    news = clicked.reply.reply  # type: ignore[union-attr]
    assert isinstance(news, NewsReply)
    assert [card.title for card in news.articles[1:]] == ["Cup ¥3.00"]
    html = await (await client.get(f"/articles/{article.id}")).text()
    assert "Cup" in html and "Green-tea" not in html


async def test_a_product_ad_of_a_deactivated_product_neither_shows_nor_charges(
    wechat: Emulator, sessions, client, clock: FrozenClock, tea: int
) -> None:
    async with sessions() as session, session.begin():
        ad = await articles.create_campaign(
            session,
            advertiser="Tea House",
            title="Green-tea",
            url="https://example.com/tea",
            budget=Fen(1000),
            cpm=Fen(1000),
            cpc=Fen(50),
            kind=AdKind.PRODUCT,
            product_id=tea,
            now=clock.now(),
        )
        article = await articles.create_article(
            session,
            title="Brewing",
            digest="Eighty degrees.",
            author=None,
            ad_id=ad.id,
            now=clock.now(),
        )
    await switch(sessions, Product, tea, active=False)

    read = await wechat.say(f"read {article.id}", fan="o_x")
    assert "Sponsored" not in read.reply.reply.articles[0].description  # type: ignore[union-attr]
    assert "Green-tea" not in await (await client.get(f"/articles/{article.id}")).text()
    clicked = await client.get(f"/ads/{ad.id}/click?openid=o_x", allow_redirects=False)
    assert clicked.status == 302
    async with sessions() as session:
        counted = await session.get(Ad, ad.id)
        assert counted is not None and (counted.impressions, counted.clicks) == (0, 0)

    await switch(sessions, Product, tea, active=True)
    read = await wechat.say(f"read {article.id}", fan="o_x")
    assert "Sponsored by Tea House" in read.reply.reply.articles[0].description  # type: ignore[union-attr]


@pytest.fixture
async def offline(sessions, clock: FrozenClock) -> None:
    """The demo merchants (TEA01 Lotus Tea House...) and partner services (#1 Swift Ride...)."""
    async with sessions() as session, session.begin():
        await seed_offline(session, now=clock.now())


async def merchant_id(sessions, code: str) -> int:
    async with sessions() as session:
        merchant = (await session.exec(select(Merchant).where(Merchant.code == code))).one()
        assert merchant.id is not None
        return merchant.id


async def test_a_deactivated_merchant_takes_no_payment_by_code_or_scan(
    wechat: Emulator, sessions, offline: None
) -> None:
    await topup(wechat, "o_diner", "100")
    await switch(sessions, Merchant, await merchant_id(sessions, "TEA01"), active=False)

    refused = (
        "Lotus Tea House (TEA01) is not taking payments: the account has deactivated this "
        "merchant. Nothing was paid."
    )
    before = await money_and_goods(sessions)
    assert await say(wechat, "o_diner", "pay TEA01 25") == refused
    scanned = await wechat.event(
        "SCAN", fan="o_diner", event_key="merchant_TEA01", extra={"Ticket": "t"}
    )
    assert scanned.content == refused
    assert await money_and_goods(sessions) == before  # no payment conversation either
    assert await balance(wechat, "o_diner") == "100.00"
    assert (await say(wechat, "o_diner", "pay NOODLE 5")).startswith("Paid ¥5.00")


async def test_a_follow_through_a_deactivated_merchants_code_is_kept_and_welcomed(
    wechat: Emulator, sessions, offline: None
) -> None:
    await switch(sessions, Merchant, await merchant_id(sessions, "TEA01"), active=False)
    welcome = await wechat.event(
        "subscribe", fan="o_new", event_key="qrscene_merchant_TEA01", extra={"Ticket": "t"}
    )
    assert "Lotus Tea House" not in welcome.content and "help" in welcome.content
    async with sessions() as session:
        fan = (await session.exec(select(Fan).where(Fan.openid == "o_new"))).one()
        assert fan.subscribed and fan.subscribe_scene == "merchant_TEA01"
        assert (await session.exec(select(Conversation))).all() == []


async def test_a_merchant_deactivated_after_the_scan_refuses_the_amount(
    wechat: Emulator, sessions, offline: None
) -> None:
    await topup(wechat, "o_diner", "100")
    await wechat.event("SCAN", fan="o_diner", event_key="merchant_TEA01", extra={"Ticket": "t"})
    await switch(sessions, Merchant, await merchant_id(sessions, "TEA01"), active=False)
    before = await money_and_goods(sessions)
    assert (await say(wechat, "o_diner", "18.5")).endswith("Nothing was paid.")
    assert await money_and_goods(sessions) == before
    # "cancel" still ends the payment the fan started.
    assert await say(wechat, "o_diner", "cancel") == (
        "Payment to Lotus Tea House cancelled. Nothing was charged."
    )
    assert await balance(wechat, "o_diner") == "100.00"


async def test_a_deactivated_partner_service_is_hidden_and_takes_no_payment(
    wechat: Emulator, sessions, client, offline: None
) -> None:
    await topup(wechat, "o_rider", "100")
    await switch(sessions, PartnerService, 1, active=False)

    card = (await wechat.say("services", fan="o_rider")).reply.reply.articles[0]  # type: ignore[union-attr]
    assert card.title == "Partner services (3)" and "Swift Ride" not in card.description
    assert "Swift Ride" not in await (await client.get("/services")).text()
    before = await money_and_goods(sessions)
    assert await say(wechat, "o_rider", "use 1 25") == (
        "Partner service #1 (Swift Ride) is not available: the account has deactivated it. "
        "Nothing was paid."
    )
    assert await money_and_goods(sessions) == before

    await switch(sessions, PartnerService, 1, active=True)
    assert (await say(wechat, "o_rider", "use 1 25")).startswith("Paid ¥25.00 to Swift Ride")
