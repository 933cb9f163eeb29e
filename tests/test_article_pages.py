"""The article pages and the ad click redirect: index, one article, 302, 404 and 400."""

from aiohttp.test_utils import TestClient

from botstore.clock import FrozenClock
from botstore.keys import db_key
from botstore.models import Ad
from botstore.seed import seed_demo


async def get(client: TestClient, path: str) -> tuple[int, str]:
    response = await client.get(path, allow_redirects=False)
    return response.status, await response.text()


async def seeded(client: TestClient, clock: FrozenClock) -> None:
    async with client.app[db_key]() as session, session.begin():
        await seed_demo(session, now=clock.now())


async def clicks(client: TestClient) -> int:
    async with client.app[db_key]() as session:
        ad = await session.get(Ad, 1)
        assert ad is not None
        return ad.clicks


async def test_the_index_lists_the_demo_articles(client: TestClient, clock: FrozenClock) -> None:
    status, html = await get(client, "/articles")
    assert status == 200 and "No articles yet." in html
    await seeded(client, clock)
    status, html = await get(client, "/articles")
    assert status == 200
    assert 'href="http://127.0.0.1:8080/articles/3">#3 Autumn sale next week</a>' in html
    assert "#1 Welcome to botstore" in html and "<code>read #2</code>" in html


async def test_an_article_page_shows_body_tips_and_the_ad_slot(
    client: TestClient, clock: FrozenClock
) -> None:
    await seeded(client, clock)
    status, html = await get(client, "/articles/2?openid=o_x")
    assert status == 200
    assert "How we brew Longjing" in html and "<p>Eighty degrees" in html
    assert "0 tips" in html and "¥0.00" in html and "<code>tip #2 &lt;amount&gt;</code>" in html
    assert "Sponsored · Fruit Farm" in html
    assert 'href="http://127.0.0.1:8080/ads/1/click?openid=o_x"' in html
    status, html = await get(client, "/articles/3")
    assert status == 200 and "Sponsored" not in html


async def test_an_unsigned_click_redirects_and_counts_nothing(
    client: TestClient, clock: FrozenClock
) -> None:
    # Signed links (from `read`) are tested through the webhook: tests/webhook/test_ad_clicks.py.
    await seeded(client, clock)
    response = await client.get("/ads/1/click?openid=o_x", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "https://example.com/fruit-farm"
    assert await clicks(client) == 0


async def test_unknown_ids_are_404_and_non_numbers_400(
    client: TestClient, clock: FrozenClock
) -> None:
    await seeded(client, clock)
    assert (await get(client, "/articles/99"))[0] == 404
    assert (await get(client, "/ads/99/click"))[0] == 404
    assert (await get(client, "/articles/abc"))[0] == 400
    assert (await get(client, "/ads/x1/click?openid=o"))[0] == 400
    assert await clicks(client) == 0
