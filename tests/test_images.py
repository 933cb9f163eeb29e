"""Works offline, looks right: every demo picture (stores, products, articles, the ad, news cards)
is botstore's own name card, served by botstore with caching headers; the pages, the admin and
the console have a favicon."""

import re
import struct
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient
from sqlmodel import select

from botstore import images
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import Ad, Article, Product, Store
from botstore.seed import seed_demo
from botstore.wechat import NewsReply
from tests.admin.test_entities import api
from tests.webhook.westore import open_store, say

BASE = "http://127.0.0.1:8080"  # the test config's server.base_url (port 8080)


@pytest.fixture
async def demo(sessions, clock) -> None:
    async with sessions() as session, session.begin():
        assert await seed_demo(session, now=clock.now())


@pytest.mark.parametrize(
    ("name", "initials"),
    [
        ("Big Mug", "BM"),
        ("Tea House", "TH"),
        ("Green-tea", "GT"),
        ("Kiwi 12 pieces", "KP"),
        ("The Three-Body Problem", "TT"),
        ("小明茶馆", "小明"),
        ("Tea 小馆", "T小"),
        ("2046", "2"),
        ("¡¡!!", "#"),
    ],
)
def test_a_card_shows_the_names_initials(name: str, initials: str) -> None:
    assert images.initials(name) == initials
    assert images.card_path(name) == images.card_path(name)  # the same color every time


async def fetch(client: TestClient, url: str, **headers: str):
    """GET a picture the way a fan's client does, by the absolute URL a page or card gave."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE, url
    return await client.get(parts.path, headers=headers)


async def test_a_card_is_an_svg_cached_for_good(client: TestClient) -> None:
    response = await client.get(images.card_path("小明茶馆"))
    assert response.status == 200
    assert response.content_type == "image/svg+xml"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    svg = await response.text()
    assert svg.startswith("<svg ") and ">小明</text>" in svg
    again = await client.get(
        images.card_path("小明茶馆"), headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status == 304 and await again.read() == b""


@pytest.mark.parametrize(
    "path",
    [
        "/images/cards/360/A.svg",
        "/images/cards/-1/A.svg",
        "/images/cards/x/A.svg",
        "/images/cards/12/ABC.svg",
        "/images/cards/12/%20.svg",
    ],
)
async def test_a_card_outside_the_drawing_is_404(client: TestClient, path: str) -> None:
    assert (await client.get(path)).status == 404


async def test_a_cards_text_is_escaped(client: TestClient) -> None:
    svg = await (await client.get("/images/cards/7/%3C%26.svg")).text()
    assert "&lt;&amp;</text>" in svg and "<&" not in svg


async def test_the_demo_data_points_at_botstores_own_pictures(sessions, demo) -> None:
    async with sessions() as session:
        pictures = [
            *(await session.exec(select(Store.cover_url))).all(),
            *(await session.exec(select(Product.image_url))).all(),
            *(await session.exec(select(Article.cover_url))).all(),
            *(await session.exec(select(Ad.pic_url))).all(),
        ]
    assert len(pictures) == 3 + 9 + 3 + 1
    assert all(picture.startswith("/images/cards/") for picture in pictures), pictures


@pytest.mark.parametrize(
    "page", ["/stores", "/stores/1", "/stores/3", "/products/1", "/articles", "/articles/2"]
)
async def test_every_picture_on_the_pages_is_served_here(
    client: TestClient, demo, page: str
) -> None:
    html = await (await client.get(page)).text()
    sources = re.findall(r'<img[^>]* src="([^"]+)"', html)
    assert sources, html
    for source in sources:
        response = await fetch(client, source)
        assert (response.status, response.content_type) == (200, "image/svg+xml"), source
    assert f'<link rel="icon" href="{BASE}/favicon.svg" type="image/svg+xml">' in html


async def test_news_cards_carry_an_absolute_picture_a_client_can_fetch(
    client: TestClient, wechat: Emulator, demo
) -> None:
    for command in ("store 1", "articles", "read 2"):
        exchange = await wechat.say(command, fan="o_reader")
        assert exchange.reply is not None
        news = exchange.reply.reply
        assert isinstance(news, NewsReply), command
        (card,) = news.articles
        assert card.pic_url.startswith(f"{BASE}/images/cards/"), (command, card)
        assert (await fetch(client, card.pic_url)).status == 200
    # A menu click's reply carries the article's product cards too, each with its picture.
    exchange = await wechat.event("CLICK", fan="o_reader", event_key="read 2")
    assert exchange.reply is not None
    articles = exchange.reply.reply.articles
    assert len(articles) > 1
    assert all(a.pic_url.startswith(f"{BASE}/images/cards/") for a in articles)


async def test_a_product_listed_in_chat_shows_its_card(
    client: TestClient, wechat: Emulator
) -> None:
    await open_store(wechat, "o_tea", "小明茶馆")
    await say(wechat, "o_tea", "上架 “大号 马克杯” 30 5")
    exchange = await wechat.say("store 1", fan="o_x")
    (card,) = exchange.reply.reply.articles
    assert card.pic_url == BASE + images.card_path("大号 马克杯")
    svg = await (await fetch(client, card.pic_url)).text()
    assert ">大号</text>" in svg


async def test_the_admin_keeps_a_local_picture_on_edit(
    client: TestClient, config: Config, sessions, demo
) -> None:
    status, data = await api(client, config, "GET", "products?store_id=1")
    product = data["products"][0]
    status, data = await api(
        client,
        config,
        "PATCH",
        f"products/{product['id']}",
        {"image_url": product["image_url"], "name": "Longjing tea"},
    )
    assert status == 200, data
    assert data["product"]["image_url"] == product["image_url"]
    status, data = await api(client, config, "PATCH", "products/1", {"image_url": "//evil/x"})
    assert status == 400 and data["field"] == "image_url"


async def test_the_favicon(client: TestClient, config: Config) -> None:
    ico = await client.get("/favicon.ico")
    assert (ico.status, ico.content_type) == (200, "image/x-icon")
    assert "max-age" in ico.headers["Cache-Control"]
    body = await ico.read()
    reserved, kind, count = struct.unpack("<HHH", body[:6])
    width, height, *_, size, offset = struct.unpack("<BBBBHHII", body[6:22])
    assert (reserved, kind, count, width, height) == (0, 1, 1, 32, 32)
    assert body[offset : offset + 8] == b"\x89PNG\r\n\x1a\n" and offset + size == len(body)
    svg = await client.get("/favicon.svg")
    assert (svg.status, svg.content_type) == (200, "image/svg+xml")
    login = await (await client.get("/admin/login")).text()
    assert '<link rel="icon" href="/favicon.svg" type="image/svg+xml">' in login
    console = await (await client.get("/console")).text()
    assert 'rel="icon"' in console
    services = await (await client.get("/services")).text()
    assert '<link rel="icon" href="/favicon.svg" type="image/svg+xml">' in services
