"""The emulated mini-program pages: stores index, a store, a product; 404 and 400."""

import pytest
from aiohttp.test_utils import TestClient

from botstore.console.client import Emulator
from botstore.seed import seed_demo
from tests.webhook.westore import list_product, open_store, say


@pytest.fixture
async def shop(wechat: Emulator, sessions) -> None:
    await open_store(wechat, "o_tea", "Tea <b>House</b>")
    await list_product(wechat, "o_tea", "Green-tea", "12.5", 5)
    await say(wechat, "o_tea", "groupprice 1 9.9 3")
    await open_store(wechat, "o_aff", "Book Corner")
    await say(wechat, "o_aff", "resell 1 15")


async def get(client: TestClient, path: str) -> tuple[int, str, str]:
    response = await client.get(path)
    return response.status, response.content_type, await response.text()


async def test_the_stores_index_lists_every_store(client: TestClient, shop) -> None:
    status, content_type, html = await get(client, "/stores")
    assert (status, content_type) == (200, "text/html")
    assert 'name="viewport"' in html
    assert 'href="http://127.0.0.1:8080/stores/1">#1 Tea &lt;b&gt;House&lt;/b&gt;</a>' in html
    assert "#2 Book Corner" in html and "store #2" in html


async def test_a_store_page_shows_its_products_and_the_buy_command(
    client: TestClient, shop
) -> None:
    status, _, html = await get(client, "/stores/1")
    assert status == 200
    assert "<b>House</b>" not in html  # escaped
    assert "#1 Green-tea" in html and "¥12.50" in html and "5 in stock" in html
    assert "<code>buy #1</code>" in html
    # Listed in chat with no image: its name's card (GT for Green-tea).
    assert '<img src="http://127.0.0.1:8080/images/cards/' in html and "/GT.svg" in html
    status, _, html = await get(client, "/stores/2")
    assert "Resold from Tea &lt;b&gt;House&lt;/b&gt;" in html and "<code>buy #2</code>" in html


async def test_a_product_page_shows_price_stock_group_and_resale(client: TestClient, shop) -> None:
    status, _, html = await get(client, "/products/1")
    assert status == 200
    assert "<code>buy #1</code>" in html and "<code>group #1</code>" in html
    assert "3 fans pay" in html and "¥9.90" in html
    status, _, html = await get(client, "/products/2")
    assert status == 200
    assert "¥15.00" in html and "supplied and shipped by" in html and "5 in stock" in html


async def test_demo_products_show_their_images(client: TestClient, sessions, clock) -> None:
    async with sessions() as session, session.begin():
        await seed_demo(session, now=clock.now())
    status, _, html = await get(client, "/products/1")
    # botstore's own name card, absolute with the server's public URL: no internet needed.
    assert status == 200 and '<img class="hero" src="http://127.0.0.1:8080/images/cards/' in html


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/stores/99", 404, "no store #99"),
        ("/products/99", 404, "no product #99"),
        ("/stores/abc", 400, "a store id is a number, not 'abc'"),
        ("/products/-1", 400, "a product id is a number, not '-1'"),
        ("/products/99999999999", 400, "a product id is a number, not '99999999999'"),
    ],
)
async def test_unknown_and_bad_ids_get_a_plain_reason(
    client: TestClient, shop, path: str, status: int, text: str
) -> None:
    got, content_type, body = await get(client, path)
    assert (got, content_type, body) == (status, "text/plain", text)


async def test_an_empty_index_says_how_to_open_a_store(client: TestClient) -> None:
    status, _, html = await get(client, "/stores")
    assert status == 200 and "open &lt;store name&gt;" in html
