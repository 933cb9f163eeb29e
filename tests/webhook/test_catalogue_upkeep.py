"""A store owner looks after its catalogue from the chat, through the signed webhook: restock,
price (resales left below a supplier's new price are delisted and their owners told), delist
and relist; names of several words; refusals change nothing."""

from typing import Any

import pytest
from sqlmodel import col, func, select

from botstore.console.client import Emulator
from botstore.models import OutboxMessage, Product
from tests.webhook.test_deactivation import switch
from tests.webhook.westore import list_product, open_store, say, stock, topup


@pytest.fixture
async def shop(wechat: Emulator) -> None:
    """Tea House (o_tea) sells Green-tea #1 at 12.50 (stock 5, a group of 3 at 9.90); Book
    Corner (o_books, who speaks Chinese) resells it as #2 at 15, Corner Two (o_two) as #3 at
    20."""
    await open_store(wechat, "o_tea", "Tea House")
    await list_product(wechat, "o_tea", "Green-tea", "12.5", 5)
    await say(wechat, "o_tea", "groupprice 1 9.9 3")
    assert "已在 Book Corner" in await say(wechat, "o_books", "开店 Book Corner") + await say(
        wechat, "o_books", "分销 1 15"
    )
    await open_store(wechat, "o_two", "Corner Two")
    await say(wechat, "o_two", "resell 1 20")


async def products(sessions) -> list[tuple[Any, ...]]:
    async with sessions() as session:
        rows = await session.exec(
            select(Product.id, Product.price_fen, Product.stock, Product.listed).order_by(
                col(Product.id)
            )
        )
        return list(rows.all())


async def notices(sessions, openid: str) -> list[str]:
    async with sessions() as session:
        rows = await session.exec(
            select(OutboxMessage.payload)
            .where(OutboxMessage.openid == openid)
            .order_by(col(OutboxMessage.id))
        )
        return [payload["text"]["content"] for payload in rows.all()]


async def test_restock_adds_units_to_the_owners_product(wechat: Emulator, sessions, shop) -> None:
    assert await say(wechat, "o_tea", "restock #1 20") == (
        "Product #1 Green-tea: 20 more in stock, 25 in all."
    )
    assert await say(wechat, "o_tea", "补货 1 5") == "商品 #1 Green-tea：补货 5 件，现有库存 30。"
    assert await stock(sessions, 1) == 30


@pytest.mark.parametrize(
    ("fan", "text", "reply"),
    [
        ("o_books", "restock 1 5", "Only the store owner of product #1 can do that."),
        ("o_books", "restock 2 5", "Only the supplying store's owner of product #1 can do that."),
        ("o_tea", "restock 9 5", "There is no product #9."),
        (
            "o_tea",
            "restock 1 0",
            "<qty>: a whole number from 1 to 100000\nUsage: restock <product id> <qty>",
        ),
        (
            "o_tea",
            "restock 1 many",
            "<qty>: a whole number from 1 to 100000\nUsage: restock <product id> <qty>",
        ),
        (
            "o_tea",
            "restock 1 99999",
            '"99999" is not a valid quantity: the stock would pass 100000 (it is 5).',
        ),
        ("o_tea", "restock 1", "<qty> is missing\nUsage: restock <product id> <qty>"),
    ],
)
async def test_restock_refusals_change_nothing(
    wechat: Emulator, sessions, shop, fan: str, text: str, reply: str
) -> None:
    before = await products(sessions)
    assert await say(wechat, fan, text) == reply
    assert await products(sessions) == before


async def test_a_new_price_keeps_the_group_price_below_it(
    wechat: Emulator, sessions, shop
) -> None:
    assert await say(wechat, "o_tea", "price 1 9.9") == (
        "The price ¥9.90 must stay above the group price ¥9.90: lower that first with "
        '"groupprice #1 <price> <size>".'
    )
    assert await say(wechat, "o_books", "price 1 30") == (
        "Only the store owner of product #1 can do that."
    )
    assert await say(wechat, "o_tea", "price 1 0") == (
        "<price>: must be more than zero\nUsage: price <product id> <price>"
    )
    assert (await products(sessions))[0] == (1, 1250, 5, True)
    assert await say(wechat, "o_tea", "price 1 11") == (
        "Product #1 Green-tea now costs ¥11.00 (was ¥12.50)."
    )
    assert (await products(sessions))[0] == (1, 1100, 5, True)


async def test_a_supplier_raising_its_price_delists_the_resales_below_it_and_tells_them(
    wechat: Emulator, sessions, shop
) -> None:
    reply = await say(wechat, "o_tea", "price 1 16")
    assert reply == (
        "Product #1 Green-tea now costs ¥16.00 (was ¥12.50).\n"
        "1 resale was below the new price: it is off sale, and its store was told.\n"
        "#2 in Book Corner at ¥15.00"
    )
    assert [row[3] for row in await products(sessions)] == [True, False, True]
    # Told in its own language (it spoke Chinese), as a customer-service message.
    assert await notices(sessions, "o_books") == [
        "你分销的商品 #2 Green-tea 已下架：Tea House 把价格调到了 ¥16.00，高于你的 ¥15.00。"
        '想继续卖，先发送"改价 #2 <价格>"（至少 ¥16.00），再发送"重新上架 #2"。'
    ]
    assert await notices(sessions, "o_two") == []
    # Fans no longer see or buy it; the resale above the new price still sells.
    assert "#2 Green-tea" not in await say(wechat, "o_x", "moments")
    await topup(wechat, "o_x", "100")
    assert await say(wechat, "o_x", "buy 2") == (
        "Product #2 (Green-tea) is not on sale: its store took it off the shelf."
    )
    assert (await say(wechat, "o_x", "buy 3")).startswith("Order #1:")
    # The reseller can't relist it below the supplier, nor price it there; at ¥16 it can.
    assert await say(wechat, "o_books", "relist 2") == (
        'Resale #2 costs ¥15.00, below its supplier\'s ¥16.00: send "price #2 16.00" or more first.'
    )
    assert await say(wechat, "o_books", "price 2 15.5") == (
        "The price ¥15.50 is below the supplier's ¥16.00: ask ¥16.00 or more."
    )
    assert await say(wechat, "o_books", "price 2 16") == (
        "Product #2 Green-tea now costs ¥16.00 (was ¥15.00)."
    )
    assert await say(wechat, "o_books", "relist 2") == (
        "Product #2 Green-tea is on sale again at ¥16.00."
    )
    assert (await say(wechat, "o_x", "buy 2")).startswith("Order #2:")


async def test_a_chinese_price_change_tells_an_english_reseller_in_english(
    wechat: Emulator, sessions, shop
) -> None:
    reply = await say(wechat, "o_tea", "改价 1 25")
    assert reply.startswith("商品 #1 Green-tea 现价 ¥25.00（原价 ¥12.50）。\n")
    assert "#3 在 Corner Two，¥20.00" in reply
    (notice,) = await notices(sessions, "o_two")
    assert notice.startswith("Your resale #3 Green-tea is off sale: Tea House raised its price")


async def test_delist_and_relist(wechat: Emulator, sessions, shop) -> None:
    assert await say(wechat, "o_books", "delist 1") == (
        "Only the store owner of product #1 can do that."
    )
    assert await say(wechat, "o_tea", "delist #1") == (
        "Product #1 Green-tea is off sale: fans no longer see or buy it, nor its resales; paid "
        'orders still ship. Send "relist #1" to sell it again.'
    )
    assert await say(wechat, "o_tea", "下架 1") == (
        '商品 #1 Green-tea 已经下架了。发送"重新上架 #1"重新开卖。'
    )
    await topup(wechat, "o_x", "100")
    # Neither it nor its resales sell; its page is gone; the stores show no products.
    assert await say(wechat, "o_x", "buy 1") == (
        "Product #1 (Green-tea) is not on sale: its store took it off the shelf."
    )
    assert await say(wechat, "o_x", "buy 3") == (
        "Product #3 (Green-tea) is not on sale: its store took it off the shelf."
    )
    assert await say(wechat, "o_x", "group 1") == (
        "Product #1 (Green-tea) is not on sale: its store took it off the shelf."
    )
    assert "(0 products)" in await say(wechat, "o_x", "stores")
    assert await say(wechat, "o_tea", "groupprice 1 9 3") == (
        'You took product #1 (Green-tea) off sale. Send "relist #1" to sell it again.'
    )
    assert await say(wechat, "o_books", "relist 2") == (
        "Product #2 Green-tea is on sale already.\n"
        "Fans see it once Tea House sells product #1 again."
    )
    assert await say(wechat, "o_tea", "重新上架 1") == "商品 #1 Green-tea 重新上架，售价 ¥12.50。"
    assert (await say(wechat, "o_x", "buy 3")).startswith("Order #1:")


async def test_an_owner_cannot_relist_what_the_admin_deactivated(
    wechat: Emulator, sessions, shop
) -> None:
    await say(wechat, "o_tea", "delist 1")
    await switch(sessions, Product, 1, active=False)
    assert await say(wechat, "o_tea", "relist 1") == (
        "Product #1 (Green-tea) is not on sale: the account has deactivated it."
    )
    assert (await products(sessions))[0][3] is False


async def test_a_delisted_product_has_no_page(client, wechat: Emulator, shop) -> None:
    await say(wechat, "o_tea", "delist 1")
    response = await client.get("/products/1")
    assert (response.status, await response.text()) == (404, "product #1 is not on sale")


@pytest.mark.parametrize(
    ("text", "name", "price", "stock"),
    [
        ('list "Big Mug" 30 5', "Big Mug", 3000, 5),
        ("list “Big  Mug” 30", "Big Mug", 3000, 1),
        ("上架 “大 马克杯”30 2", "大 马克杯", 3000, 2),
        ("list 「Tea cup」 8", "Tea cup", 800, 1),
        ('list 30 5 "Big Mug"', "Big Mug", 3000, 5),
        ("list 30 Big Mug", "Big Mug", 3000, 1),
        ("list 30 5 Big Mug", "Big Mug", 3000, 5),
        ("list 1984 45 3", "1984", 4500, 3),
        ("list Tea 30", "Tea", 3000, 1),
    ],
)
async def test_list_takes_names_of_several_words(
    wechat: Emulator, sessions, text: str, name: str, price: int, stock: int
) -> None:
    await open_store(wechat, "o_tea", "Tea House")
    assert await say(wechat, "o_tea", text) != ""
    async with sessions() as session:
        product = (await session.exec(select(Product))).one()
    assert (product.name, product.price_fen, product.stock) == (name, price, stock)
    # Listed in chat, it gets its name's card.
    assert product.image_url.startswith("/images/cards/")


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        (
            "list Big Mug 30",
            '<name>: put a name of several words in quotes, e.g. "Big Mug"\n'
            "Usage: list <name> <price> [stock]",
        ),
        (
            "list Green tea 12.5 20",
            '<name>: put a name of several words in quotes, e.g. "Big Mug"\n'
            "Usage: list <name> <price> [stock]",
        ),
        (
            "上架 大 马克杯 30",
            "<名称>：名称有多个词时请加引号，例如 “大号 马克杯”\n用法：上架 <名称> <价格> [库存]",
        ),
        (
            'list "Big Mug 30',
            "<name>: the name's closing quote is missing\nUsage: list <name> <price> [stock]",
        ),
        ('list "Big Mug"', "<price> is missing\nUsage: list <name> <price> [stock]"),
        ('list "Big Mug" 30 5 6', "unexpected '6'\nUsage: list <name> <price> [stock]"),
        ("list Tea abc", None),
    ],
)
async def test_list_blames_the_name_when_it_has_several_unquoted_words(
    wechat: Emulator, sessions, text: str, reply: str | None
) -> None:
    await open_store(wechat, "o_tea", "Tea House")
    got = await say(wechat, "o_tea", text)
    if reply is None:  # one word and no price: the price is to blame, as before
        assert got.startswith("<price>:")
    else:
        assert got == reply
    async with sessions() as session:
        assert (await session.exec(select(func.count()).select_from(Product))).one() == 0
