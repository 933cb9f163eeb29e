"""WeStore shops through the webhook: open, list, browse, moments, group prices, resale."""

from datetime import timedelta

import pytest
from sqlmodel import select

from botstore.clock import FrozenClock
from botstore.console.client import Emulator
from botstore.models import LedgerTransaction, Product, Store
from botstore.seed import seed_demo
from botstore.wechat import NewsReply
from tests.helpers import count
from tests.webhook.westore import list_product, open_store, say


async def test_a_fan_opens_one_store_free(wechat: Emulator, sessions) -> None:
    reply = await say(wechat, "o_tea", "open Tea  House")
    assert reply.startswith('Your store #1 "Tea House" is open.')
    # A Chinese command word gets a Chinese reply.
    assert (
        await say(wechat, "o_tea", "开店 Another")
        == "你已经有店铺了：#1 Tea House。每人限开一家店。"
    )
    assert await count(sessions, Store) == 1
    assert await count(sessions, LedgerTransaction) == 0


async def test_open_needs_a_name_of_sensible_length(wechat: Emulator, sessions) -> None:
    assert await say(wechat, "o_tea", "open") == (
        "<store name> is missing\nUsage: open <store name>"
    )
    reply = await say(wechat, "o_tea", "open " + "x" * 61)
    assert reply.endswith("is not a valid store name: 1 to 60 printable characters.")
    assert await count(sessions, Store) == 0


async def test_list_adds_a_product_to_the_own_store(wechat: Emulator, sessions) -> None:
    await open_store(wechat, "o_tea", "Tea House")
    reply = await say(wechat, "o_tea", "list Green-tea 12.5 5")
    assert reply == (
        "Listed product #1 Green-tea at ¥12.50 (stock 5) in Tea House, and posted it to moments. "
        'Buyers send "buy #1".'
    )
    assert "（库存 1）" in await say(wechat, "o_tea", "上架 Cup 3")


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("list Tea 0 5", "<price>: must be more than zero\nUsage: list <name> <price> [stock]"),
        ("list Tea -1", "<price>: must be more than zero\nUsage: list <name> <price> [stock]"),
        ("list Tea", "<price> is missing\nUsage: list <name> <price> [stock]"),
        ("list Tea 5 x", '"x" is not a valid stock: a whole number from 0 to 100000.'),
        ("list Tea 5 100001", '"100001" is not a valid stock: a whole number from 0 to 100000.'),
        ("list Tea 5 -2", '"-2" is not a valid stock: a whole number from 0 to 100000.'),
        (
            "list " + "n" * 61 + " 5",
            f'"{"n" * 61}" is not a valid product name: 1 to 60 printable characters.',
        ),
    ],
)
async def test_list_refuses_bad_arguments(
    wechat: Emulator, sessions, text: str, reply: str
) -> None:
    await open_store(wechat, "o_tea", "Tea House")
    assert await say(wechat, "o_tea", text) == reply
    assert await count(sessions, Product) == 0


async def test_list_needs_a_store(wechat: Emulator, sessions) -> None:
    assert await say(wechat, "o_x", "list Tea 5") == (
        "You have no store yet. Open one: open <store name>"
    )
    assert await count(sessions, Product) == 0


async def test_stores_lists_every_store_with_the_index_page(wechat: Emulator) -> None:
    assert await say(wechat, "o_x", "stores") == "No stores yet. Open yours: open <store name>"
    await open_store(wechat, "o_tea", "Tea House")
    await open_store(wechat, "o_fruit", "Fruit Farm")
    await list_product(wechat, "o_tea", "Green-tea", "12.5", 5)
    assert await say(wechat, "o_x", "stores") == (
        "2 stores:\n#1 Tea House (1 product)\n#2 Fruit Farm (0 products)\n"
        'Send "store <id>" for one, or browse http://127.0.0.1:8080/stores'
    )
    assert await say(wechat, "o_x", "商店") == (
        "2 家店铺：\n#1 Tea House （1 件商品）\n#2 Fruit Farm （0 件商品）\n"
        '发送"店铺 <编号>"查看一家店，或浏览 http://127.0.0.1:8080/stores'
    )


async def test_store_is_one_card_linking_to_its_page(wechat: Emulator) -> None:
    await open_store(wechat, "o_tea", "Tea House")
    await list_product(wechat, "o_tea", "Green-tea", "12.5", 5)
    await list_product(wechat, "o_tea", "Cup", "3", 0)
    exchange = await wechat.say("store #1", fan="o_x")
    assert exchange.reply is not None
    news = exchange.reply.reply
    assert isinstance(news, NewsReply) and len(news.articles) == 1
    card = news.articles[0]
    assert card.title == "Tea House"
    assert card.url == "http://127.0.0.1:8080/stores/1"
    assert card.description == (
        '#1 Green-tea ¥12.50\n#2 Cup ¥3.00 (sold out)\nBuy with "buy <product id>".'
    )


async def test_store_refuses_an_unknown_id(wechat: Emulator) -> None:
    assert await say(wechat, "o_x", "店铺 99") == "没有店铺 #99。"
    assert await say(wechat, "o_x", "store 99") == "There is no store #99."
    assert await say(wechat, "o_x", "store tea") == (
        "<store id>: an id is a number such as #12\nUsage: store <store id>"
    )


async def test_moments_shows_the_newest_posts_first(wechat: Emulator, clock: FrozenClock) -> None:
    assert await say(wechat, "o_x", "moments") == (
        "No posts yet. List a product: list <name> <price> [stock]"
    )
    await open_store(wechat, "o_tea", "Tea House")
    await open_store(wechat, "o_fruit", "Fruit Farm")
    await list_product(wechat, "o_tea", "Green-tea", "12.5", 5)
    clock.advance(timedelta(minutes=5))
    await list_product(wechat, "o_fruit", "Mango", "20", 5)
    clock.advance(timedelta(minutes=5))
    await say(wechat, "o_fruit", "resell 1 15")
    assert await say(wechat, "o_x", "moments") == (
        "Moments, newest first:\n"
        "Jan 1, 2026 12:10 Fruit Farm: #3 Green-tea ¥15.00 (resold from Tea House)\n"
        "Jan 1, 2026 12:05 Fruit Farm: #2 Mango ¥20.00\n"
        "Jan 1, 2026 12:00 Tea House: #1 Green-tea ¥12.50\n"
        "Times are China Time."  # the account's zone (wallet.timezone), named once
    )
    assert await say(wechat, "o_x", "朋友圈") == (
        "朋友圈（最新在前）：\n"
        "2026年1月1日 12:10 Fruit Farm: #3 Green-tea ¥15.00 （分销自 Tea House）\n"
        "2026年1月1日 12:05 Fruit Farm: #2 Mango ¥20.00\n"
        "2026年1月1日 12:00 Tea House: #1 Green-tea ¥12.50\n"
        "时间均为中国时间。"
    )


async def test_moments_keeps_the_ten_newest(wechat: Emulator, clock: FrozenClock) -> None:
    await open_store(wechat, "o_tea", "Tea House")
    for n in range(12):
        clock.advance(timedelta(seconds=1))
        await list_product(wechat, "o_tea", f"Tea{n}", "1", 1)
    lines = (await say(wechat, "o_x", "moments")).splitlines()
    assert len(lines) == 12
    assert lines[1].endswith("#12 Tea11 ¥1.00") and lines[-2].endswith("#3 Tea2 ¥1.00")


async def test_the_owner_sets_a_group_price_below_the_normal_one(wechat: Emulator) -> None:
    await open_store(wechat, "o_tea", "Tea House")
    await open_store(wechat, "o_fruit", "Fruit Farm")
    await list_product(wechat, "o_tea", "Green-tea", "12.5", 5)
    assert await say(wechat, "o_tea", "groupprice 1 9.9 3") == (
        "Product #1 Green-tea: 3 fans together pay ¥9.90 each (normal price ¥12.50). "
        'Anyone starts a group with "group #1".'
    )
    assert await say(wechat, "o_tea", "团购价 1 12.5 3") == "拼团价 ¥12.50 必须低于原价 ¥12.50。"
    assert await say(wechat, "o_tea", "groupprice 1 9 1") == (
        '"1" is not a valid group size: a whole number from 2 to 100.'
    )
    assert await say(wechat, "o_fruit", "groupprice 1 9 3") == (
        "Only the store owner of product #1 can do that."
    )
    assert await say(wechat, "o_tea", "groupprice 7 9 3") == "There is no product #7."


async def test_resell_lists_a_resale_at_least_at_the_supplier_price(wechat: Emulator) -> None:
    await open_store(wechat, "o_tea", "Tea House")
    await open_store(wechat, "o_aff", "Book Corner")
    await list_product(wechat, "o_tea", "Green-tea", "12.5", 5)
    assert await say(wechat, "o_aff", "resell 1 12.49") == (
        "The resale price ¥12.49 is below the supplier's ¥12.50: resell at ¥12.50 or more."
    )
    assert await say(wechat, "o_aff", "分销 #1 15") == (
        "已在 Book Corner 上架商品 #2 Green-tea，价格 ¥15.00，由 Tea House 供货"
        "（商品 #1，供货价 ¥12.50）。每卖出一件你赚 ¥2.50。"
    )
    assert await say(wechat, "o_aff", "resell 1 16") == (
        "You already resell product #1: it is #2 in your store."
    )
    assert await say(wechat, "o_tea", "resell 2 20") == (
        "Product #1 is from your own store: you can't resell it."
    )
    assert await say(wechat, "o_nostore", "resell 1 20") == (
        "You have no store yet. Open one: open <store name>"
    )
    assert await say(wechat, "o_aff", "resell 9 20") == "There is no product #9."


async def test_a_resale_of_a_resale_resolves_to_the_supplier(wechat: Emulator, sessions) -> None:
    await open_store(wechat, "o_tea", "Tea House")
    await open_store(wechat, "o_aff", "Book Corner")
    await open_store(wechat, "o_aff2", "Corner Two")
    await list_product(wechat, "o_tea", "Green-tea", "12.5", 5)
    await say(wechat, "o_aff", "resell 1 15")
    # Below the affiliate's price but above the supplier's: allowed, the margin is its own.
    reply = await say(wechat, "o_aff2", "resell 2 13")
    assert reply.endswith(
        "supplied by Tea House (product #1 at ¥12.50). You earn ¥0.50 per unit sold."
    )
    async with sessions() as session:
        resale = await session.get(Product, 3)
        assert resale is not None and resale.supplier_product_id == 1 and resale.stock == 0


async def test_demo_data_lets_a_new_fan_try_the_shop(
    wechat: Emulator, sessions, clock: FrozenClock
) -> None:
    async with sessions() as session, session.begin():
        assert await seed_demo(session, now=clock.now())
    listing = await say(wechat, "o_new", "stores")
    assert listing.startswith("3 stores:")
    assert "Tea House" in listing and "Fruit Farm" in listing and "Book Corner" in listing
    moments = await say(wechat, "o_new", "moments")
    assert "(resold from Tea House)" in moments
    await say(wechat, "o_new", "topup 500")
    async with sessions() as session:
        products = (await session.exec(select(Product))).all()
    group_product = next(p for p in products if p.group_price_fen)
    assert "You are in group" in await say(wechat, "o_new", f"group {group_product.id}")
    resale = next(p for p in products if p.supplier_product_id)
    assert (await say(wechat, "o_new", f"buy {resale.id}")).startswith("Order #")


@pytest.mark.parametrize(
    ("server", "base"),
    [
        ({"port": 9000}, "http://127.0.0.1:9000"),  # BOTSTORE_SERVER_PORT / serve --port
        ({"host": "localhost", "port": 8099}, "http://localhost:8099"),
        ({"port": 9000, "public_url": "https://shop.example.com/"}, "https://shop.example.com"),
    ],
)
async def test_links_follow_the_servers_port_unless_a_public_url_is_set(
    aiohttp_client, config, clock: FrozenClock, server: dict, base: str
) -> None:
    from botstore.app import create_app

    settings = config.replace(server=server)
    client = await aiohttp_client(create_app(settings, clock=clock))
    wechat = Emulator(client, settings.wechat.path, settings.wechat, clock=clock)
    await open_store(wechat, "o_tea", "Tea House")
    assert (await say(wechat, "o_x", "stores")).endswith(f"or browse {base}/stores")
    exchange = await wechat.say("store #1", fan="o_x")
    assert exchange.reply is not None
    assert exchange.reply.reply.articles[0].url == f"{base}/stores/1"
