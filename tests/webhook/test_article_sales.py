"""Sales per article: a purchase made from an article's product card (`buy #1 from #2`, which
the card's link and the product page it opens name) is credited to the article; its page and
the admin's article list and JSON show the orders and ¥ amount, cancelled orders left out."""

from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlmodel import select

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import Order
from botstore.seed import seed_demo
from tests.admin.test_auth import bearer, sign_in
from tests.clicks import path_of
from tests.webhook.test_articles import Sessions
from tests.webhook.westore import balance, say, stock, topup

LONGJING, JASMINE, CUPS = 1, 2, 3  # the demo's Tea House; article #2 shows Longjing and cups


async def seeded(sessions: Sessions, clock: FrozenClock) -> None:
    async with sessions() as session, session.begin():
        await seed_demo(session, now=clock.now())


async def article_json(client: TestClient, config: Config, article_id: int) -> dict:
    response = await client.get(f"/admin/api/articles/{article_id}", headers=bearer(config))
    assert response.status == 200
    return (await response.json())["article"]


async def orders_of(sessions: Sessions) -> list[Order]:
    async with sessions() as session:
        return list((await session.exec(select(Order).order_by(Order.id))).all())


async def test_a_purchase_from_a_product_card_is_credited_to_its_article(
    wechat: Emulator, client: TestClient, config: Config, sessions: Sessions, clock: FrozenClock
) -> None:
    await seeded(sessions, clock)
    await topup(wechat, "o_buyer", "500")
    # The menu's `read 2` answers with the article and its product cards, each linking to the
    # product's page with the article; the page says how to buy crediting it.
    clicked = await wechat.event("CLICK", fan="o_buyer", event_key="read 2")
    cards = clicked.reply.reply.articles  # type: ignore[union-attr]
    assert [card.url for card in cards[1:]] == [
        f"http://127.0.0.1:8080/products/{LONGJING}?article=2",
        f"http://127.0.0.1:8080/products/{CUPS}?article=2",
    ]
    page = await (await client.get(path_of(cards[1].url))).text()
    assert f"<code>buy #{LONGJING} from #2</code>" in page
    assert f"<code>buy #{LONGJING} 2 from #2</code>" in page
    # Without the article, or with one that shows no such card, the page says the plain buy.
    for plain in (f"/products/{LONGJING}", f"/products/{LONGJING}?article=3"):
        page = await (await client.get(plain)).text()
        assert f"<code>buy #{LONGJING}</code>" in page and "from #" not in page

    reply = await say(wechat, "o_buyer", f"buy #{LONGJING} from #2")
    assert reply.startswith(f"Order #1: 1 x product #{LONGJING}")
    reply = await say(wechat, "o_buyer", f"购买 {CUPS} 2 不用券 来自 2")
    assert reply.startswith("订单 #2") or reply.startswith("Order #2"), reply
    await say(wechat, "o_buyer", f"buy {JASMINE}")  # not from an article
    orders = await orders_of(sessions)
    assert [(o.product_id, o.article_id) for o in orders] == [
        (LONGJING, 2),
        (CUPS, 2),
        (JASMINE, None),
    ]
    total = orders[0].total_fen + orders[1].total_fen
    assert orders[1].total_fen == 2 * 12000

    row = await article_json(client, config, 2)
    assert (row["sales"], row["sales_fen"]) == (2, total)
    response = await client.get("/admin/api/articles", headers=bearer(config))
    listed = {a["id"]: a for a in (await response.json())["articles"]}
    assert (listed[1]["sales"], listed[1]["sales_fen"]) == (0, 0)
    assert listed[2]["product_ids"] == [LONGJING, CUPS]
    article_page = await (await client.get("/articles/2")).text()
    assert f'2 orders from this article, <span class="price">¥{total / 100:.2f}</span>' in (
        article_page
    )
    await sign_in(client, config)
    admin_page = await (await client.get("/admin/articles")).text()
    assert f'<td class="sales">2 · ¥{total / 100:.2f}</td>' in admin_page

    # A cancelled order is refunded: it no longer counts among the article's sales.
    clock.advance(timedelta(hours=49))
    assert (await say(wechat, "o_buyer", "cancel 1")).startswith("Order #1")
    row = await article_json(client, config, 2)
    assert (row["sales"], row["sales_fen"]) == (1, orders[1].total_fen)


async def test_a_sale_credited_to_an_article_without_that_card_is_refused_with_nothing_written(
    wechat: Emulator, client: TestClient, config: Config, sessions: Sessions, clock: FrozenClock
) -> None:
    await seeded(sessions, clock)
    await topup(wechat, "o_buyer", "500")
    assert await say(wechat, "o_buyer", f"buy {LONGJING} from 3") == (
        f'"#3" is not a valid article: it shows no card of product #{LONGJING}.'
    )
    assert await say(wechat, "o_buyer", f"buy {LONGJING} from 99") == "There is no article #99."
    assert await say(wechat, "o_buyer", f"buy {LONGJING} from") == (
        "[article id] is missing\nUsage: buy <product id> [qty] [nocoupon] [from] [article id]"
    )
    reply = await say(wechat, "o_buyer", f"buy {LONGJING} from two")
    assert reply.startswith("[article id]: an id is a number such as #12")
    # No order, stock or money moved.
    assert await orders_of(sessions) == []
    assert await balance(wechat, "o_buyer") == "500.00"
    assert await stock(sessions, LONGJING) == 50
    assert (await article_json(client, config, 3))["sales"] == 0


async def test_the_pages_say_it_in_chinese(
    wechat: Emulator, client: TestClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seeded(sessions, clock)
    await topup(wechat, "o_buyer", "500")
    await say(wechat, "o_buyer", f"购买 {LONGJING} 来自 2")
    zh = {"Accept-Language": "zh-CN"}
    page = await (await client.get(f"/products/{LONGJING}?article=2", headers=zh)).text()
    assert f"<code>购买 #{LONGJING} 来自 #2</code>" in page
    page = await (await client.get("/articles/2", headers=zh)).text()
    assert '本文带来 1 笔订单，共 <span class="price">¥68.00</span>' in page
    assert f"<code>购买 #{LONGJING} 来自 #2</code>" in page
