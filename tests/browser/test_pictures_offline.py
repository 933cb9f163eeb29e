"""With no internet (the browser may reach botstore only), the demo's pages and the console's
news cards show real pictures: every <img> loads, drawn by botstore."""

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from botstore.app import create_app
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.keys import db_key
from botstore.seed import seed_demo
from tests.browser.conftest import IN_THE_BROWSERS_LOOP, browser_fixture
from tests.live import free_port

try:
    from playwright.async_api import expect
except ImportError:  # the browser fixture skips (under CI: fails), saying what to install
    expect = None

pytestmark = [
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    IN_THE_BROWSERS_LOOP,
]


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def app(config: Config, clock: FrozenClock, port: int) -> web.Application:
    # The public URL the pictures are made absolute with is this very server.
    local = config.replace(server={"public_url": f"http://127.0.0.1:{port}"})
    return create_app(local, clock=clock)


@browser_fixture
async def server(app: web.Application, clock: FrozenClock, port: int) -> AsyncIterator[TestServer]:
    async with TestServer(app, host="127.0.0.1", port=port) as started:
        async with app[db_key]() as session, session.begin():
            await seed_demo(session, now=clock.now())
        yield started


def here(server: TestServer) -> str:
    return f"127.0.0.1:{server.port}"


async def offline(browser: Any, server: TestServer) -> tuple[Any, list[str]]:
    """A page whose every request to another host is aborted (and noted)."""
    context = await browser.new_context(base_url=str(server.make_url("")))
    elsewhere: list[str] = []

    async def only_botstore(route: Any) -> None:
        if urlsplit(route.request.url).netloc == here(server):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    await context.route("**/*", only_botstore)
    return await context.new_page(), elsewhere


async def all_drawn(page: Any) -> list[str]:
    """The pictures of the page that did not load (none, when all is well)."""
    images = page.locator("img")
    await expect(images.first).to_be_visible()
    return await page.evaluate(
        "() => Promise.all([...document.images].map((img) => img.decode()"
        ".then(() => img.naturalWidth > 0 ? null : img.src, () => img.src)))"
        ".then((failed) => failed.filter(Boolean))"
    )


@pytest.mark.parametrize("path", ["/stores", "/stores/1", "/products/1", "/articles/2"])
async def test_the_pages_show_their_pictures_offline(
    browser: Any, server: TestServer, path: str
) -> None:
    page, elsewhere = await offline(browser, server)
    await page.goto(path)
    assert await all_drawn(page) == []
    assert elsewhere == []


async def test_the_consoles_news_card_shows_its_picture_offline(
    browser: Any, server: TestServer
) -> None:
    page, elsewhere = await offline(browser, server)
    await page.goto("/console")
    await page.locator("body[data-ready=true]").wait_for()
    phone = page.get_by_test_id("phone-o_console_fan_0001")
    await phone.get_by_test_id("message").fill("store 1")
    await phone.get_by_test_id("message").press("Enter")
    cover = phone.get_by_test_id("news-card").last.locator("img")
    await expect(cover).to_be_visible()
    assert await cover.evaluate("(img) => img.decode().then(() => img.naturalWidth)") > 0
    assert (await cover.get_attribute("src")).startswith(f"http://{here(server)}/images/cards/")
    assert elsewhere == []
