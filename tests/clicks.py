"""Following an ad as a fan does: `read` through the webhook, the card's link to the article
page, and the page's link to the ad's click redirect."""

import html
import re
from urllib.parse import urlsplit

from aiohttp.test_utils import TestClient

from botstore.console.client import Emulator, Exchange

_AD_LINK = re.compile(r'href="([^"]*/ads/\d+/click[^"]*)"')


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def ad_link_on_page(client: TestClient, exchange: Exchange) -> str:
    """The path and query of the ad link on the page the read's news card opens."""
    assert exchange.reply is not None
    card = exchange.reply.reply.articles[0]  # type: ignore[union-attr]
    response = await client.get(path_of(card.url))
    assert response.status == 200
    found = _AD_LINK.search(await response.text())
    assert found is not None, "the page shows no ad"
    return path_of(html.unescape(found.group(1)))


async def read_and_get_ad_link(
    wechat: Emulator, client: TestClient, fan: str, article_id: int
) -> str:
    """`read <article_id>` as `fan`, then the ad link of the page the card opens."""
    return await ad_link_on_page(client, await wechat.say(f"read {article_id}", fan=fan))


async def click(client: TestClient, path: str) -> str:
    """Open an ad link; where it redirects."""
    response = await client.get(path, allow_redirects=False)
    assert response.status == 302
    return response.headers["Location"]
