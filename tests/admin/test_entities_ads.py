"""Admin ad campaigns: create (budget funded from outside through the ledger), place in articles,
edit, add budget, pause and resume, refusals naming the field, and a campaign made in the admin
shown by `read`, clicked and settled through the real webhook and scheduler."""

import pytest
from aiohttp.test_utils import TestClient
from sqlmodel import select

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import Account, AccountKind, Ad
from botstore.services import articles
from tests.admin.test_entities import api, bearer, refused
from tests.clicks import ad_link_on_page, click, read_and_get_ad_link

AD = {
    "advertiser": "Noodle Bar",
    "title": "Hand-pulled noodles",
    "url": "https://example.com/noodles",
    "budget": "10",
    "cpm": "20",
    "cpc": "0.5",
    "article_ids": [1],
}


@pytest.fixture
async def two_articles(sessions, clock: FrozenClock) -> None:
    async with sessions() as session, session.begin():
        for title in ("First", "Second"):
            await articles.create_article(session, title=title, author=None, now=clock.now())


async def new_ad(client: TestClient, config: Config, **changes: object) -> dict:
    status, data = await api(client, config, "POST", "ads", {**AD, **changes})
    assert status == 201, data
    return data["ad"]


async def advertiser_balance(sessions, ad_id: int) -> int:
    async with sessions() as session:
        ad = await session.get(Ad, ad_id)
        assert ad is not None
        account = await session.get(Account, ad.advertiser_account_id)
        assert account is not None and account.kind == AccountKind.ADVERTISER
        return account.balance_fen


async def test_a_campaign_made_in_the_admin_is_shown_clicked_and_settled(
    client: TestClient, config: Config, wechat: Emulator, sessions, two_articles: None
) -> None:
    ad = await new_ad(client, config)
    assert (ad["budget_fen"], ad["cpm_fen"], ad["cpc_fen"], ad["article_ids"]) == (
        1000,
        2000,
        50,
        [1],
    )
    assert await advertiser_balance(sessions, ad["id"]) == 1000

    read = await wechat.say("read 1", fan="o_reader")
    assert "Sponsored by Noodle Bar: Hand-pulled noodles" in read.body
    assert "Sponsored" not in (await wechat.say("read 2", fan="o_reader")).body
    link = await ad_link_on_page(client, read)
    assert await click(client, link) == "https://example.com/noodles"
    # The click is charged at once; the impression when the scheduler settles.
    _, data = await api(client, config, "GET", "ads")
    assert (data["ads"][0]["clicks"], data["ads"][0]["spent_fen"]) == (1, 50)

    response = await client.post(
        "/admin/api/clock/advance", json={"hours": 1}, headers=bearer(config)
    )
    assert response.status == 200
    _, data = await api(client, config, "GET", "ads")
    (row,) = data["ads"]
    assert (row["impressions"], row["clicks"], row["spent_fen"]) == (1, 1, 2 + 50)
    assert await advertiser_balance(sessions, ad["id"]) == 1000 - 52


async def test_a_paused_ad_neither_shows_nor_counts_until_resumed(
    client: TestClient, config: Config, wechat: Emulator, two_articles: None
) -> None:
    ad = await new_ad(client, config)
    status, data = await api(client, config, "POST", f"ads/{ad['id']}/pause")
    assert (status, data["ad"]["active"]) == (200, False)
    assert "Sponsored" not in (await wechat.say("read 1", fan="o_reader")).body
    status, data = await api(client, config, "POST", f"ads/{ad['id']}/resume")
    assert (status, data["ad"]["active"], data["ad"]["impressions"]) == (200, True, 0)
    assert "Sponsored" in (await wechat.say("read 1", fan="o_reader")).body


async def test_edits_move_the_ad_and_prices_freeze_after_the_first_impression(
    client: TestClient, config: Config, wechat: Emulator, sessions, two_articles: None
) -> None:
    ad = await new_ad(client, config, article_ids=[])
    path = f"ads/{ad['id']}"
    status, data = await api(
        client,
        config,
        "PATCH",
        path,
        {"cpm": "0", "cpc": "1", "article_ids": [2], "title": "Noodles"},
    )
    assert status == 200, data
    assert (data["ad"]["cpm_fen"], data["ad"]["cpc_fen"], data["ad"]["article_ids"]) == (
        0,
        100,
        [2],
    )
    assert "Sponsored by Noodle Bar: Noodles" in (await wechat.say("read 2", fan="o_r")).body
    await refused(client, config, sessions, "PATCH", path, {"cpc": "2"}, "cpc")
    await refused(client, config, sessions, "PATCH", path, {"article_ids": [2, 9]}, "article_ids")
    await refused(client, config, sessions, "PATCH", path, {"url": "nope"}, "url")
    await refused(client, config, sessions, "PATCH", path, {"budget": "5"}, "budget")

    status, data = await api(client, config, "POST", f"{path}/budget", {"amount": "2.5"})
    assert (status, data["ad"]["budget_fen"]) == (200, 1250)
    assert await advertiser_balance(sessions, ad["id"]) == 1250
    await refused(client, config, sessions, "POST", f"{path}/budget", {"amount": "0"}, "amount")
    status, data = await api(client, config, "POST", "ads/99/pause")
    assert (status, data["error"]) == (404, "no ad #99")


async def test_an_ad_whose_budget_is_spent_resumes_only_with_more_budget(
    client: TestClient, config: Config, wechat: Emulator, sessions, two_articles: None
) -> None:
    ad = await new_ad(client, config, budget="0.5", cpm="0", cpc="0.5")
    await click(client, await read_and_get_ad_link(wechat, client, "o_r", 1))
    _, data = await api(client, config, "GET", "ads")
    assert (data["ads"][0]["active"], data["ads"][0]["spent_fen"]) == (False, 50)
    await refused(client, config, sessions, "POST", f"ads/{ad['id']}/resume", None, "active")
    await api(client, config, "POST", f"ads/{ad['id']}/budget", {"amount": "1"})
    status, data = await api(client, config, "POST", f"ads/{ad['id']}/resume")
    assert (status, data["ad"]["active"]) == (200, True)


async def test_a_product_ad_links_to_the_product_page(
    client: TestClient, config: Config, wechat: Emulator, two_articles: None
) -> None:
    await wechat.say("open Shop", fan="o_owner")
    await wechat.say("list Tea 5 3", fan="o_owner")
    body = {**AD, "kind": "product", "product_id": 1}
    del body["url"]
    status, data = await api(client, config, "POST", "ads", body)
    assert status == 201, data
    assert data["ad"]["kind"] == "product"
    assert data["ad"]["url"].endswith("/products/1")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"advertiser": ""}, "advertiser"),
        ({"advertiser": "a" * 61}, "advertiser"),
        ({"kind": "banner"}, "kind"),
        ({"kind": "product"}, "product_id"),
        ({"kind": "product", "product_id": 5}, "product_id"),
        ({"product_id": 1}, "product_id"),
        ({"title": ""}, "title"),
        ({"url": "ftp://example.com"}, "url"),
        ({"pic_url": "x"}, "pic_url"),
        ({"budget": "0"}, "budget"),
        ({"budget": None}, "budget"),
        ({"budget": "10000001"}, "budget"),
        ({"cpm": "-1"}, "cpm"),
        ({"cpm": "0", "cpc": "0"}, "cpm"),
        ({"cpc": "0.001"}, "cpc"),
        ({"article_ids": [3]}, "article_ids"),
        ({"article_ids": "1, x"}, "article_ids"),
        ({"article_ids": [0]}, "article_ids"),
        ({"slot": 1}, "slot"),
    ],
)
async def test_bad_campaigns_are_refused_naming_the_field(
    client: TestClient, config: Config, sessions, two_articles: None, changes: dict, field: str
) -> None:
    body = {**AD, **changes}
    for name in [name for name, value in changes.items() if value is None]:
        del body[name]
    await refused(client, config, sessions, "POST", "ads", body, field)
    async with sessions() as session:
        assert (await session.exec(select(Ad))).all() == []
