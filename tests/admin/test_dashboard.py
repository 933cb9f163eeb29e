"""The dashboard: figures after real signed messages, as JSON and as a page with SVG charts."""

from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func
from sqlmodel import select

from botstore import models
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.seed import seed_demo
from tests.clicks import click, read_and_get_ad_link


@pytest.fixture
def auth(config: Config) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.admin.token}"}


async def dashboard(client: TestClient, auth: dict[str, str]) -> dict:
    response = await client.get("/admin/api/dashboard", headers=auth)
    assert response.status == 200
    return await response.json()


async def test_an_empty_account(client: TestClient, auth: dict[str, str]) -> None:
    data = await dashboard(client, auth)
    assert data["fans"] == data["messages_24h"] == data["orders"] == data["gmv_fen"] == 0
    assert len(data["messages_per_hour"]) == 24
    assert len(data["orders_per_day"]) == 14
    assert data["messages_per_hour"][-1]["start"] == "2026-01-01T04:00:00+00:00"
    assert data["coupons_issued"] == data["coupons_used"] == 0
    page = await client.get("/admin/", headers=auth)
    assert page.status == 200
    assert "<svg" in await page.text()


async def test_figures_after_signed_messages(
    client: TestClient,
    auth: dict[str, str],
    wechat: Emulator,
    sessions,
    clock: FrozenClock,
) -> None:
    async with sessions() as session, session.begin():
        await seed_demo(session, now=clock.now())
    # 04:00: one fan follows, shops, tips, reads an article with an ad, clicks it, invests.
    await wechat.event("subscribe", fan="o_dash")
    for text in ["topup 500", "buy 1", "tip 1 5"]:
        assert (await wechat.say(text, fan="o_dash")).status == 200
    await click(client, await read_and_get_ad_link(wechat, client, "o_dash", 1))
    assert (await wechat.say("invest 1 100", fan="o_dash")).status == 200
    # 05:00: another follows and says something the bot doesn't know.
    clock.advance(timedelta(hours=1))
    await wechat.event("subscribe", fan="o_other")
    await wechat.say("hello there", fan="o_other")

    data = await dashboard(client, auth)
    async with sessions() as session:
        fans = (await session.exec(select(func.count()).select_from(models.Fan))).one()
    assert data["fans"] == fans  # the demo's store owners are fans too
    # Every fan follows: the demo's owners and o_dash/o_other never unfollowed (user/get's rule).
    assert data["fans_subscribed"] == fans
    assert data["messages_24h"] == 8
    hours = {bucket["start"]: bucket["count"] for bucket in data["messages_per_hour"]}
    assert hours["2026-01-01T04:00:00+00:00"] == 6
    assert hours["2026-01-01T05:00:00+00:00"] == 2
    assert sum(hours.values()) == 8
    assert (data["orders"], data["orders_by_status"], data["gmv_fen"]) == (1, {"paid": 1}, 6800)
    assert data["orders_per_day"][-1] == {
        "start": "2026-01-01T00:00:00+00:00",
        "count": 1,
        "amount_fen": 6800,
    }
    assert (data["tips"], data["tips_fen"]) == (1, 500)
    # The click is charged as it happens; the impression waits for settlement.
    assert (data["ad_impressions"], data["ad_clicks"], data["ad_revenue_fen"]) == (1, 1, 50)
    assert (data["dividends"], data["dividends_fen"]) == (0, 0)

    # A day later: the first dividend is paid and the ad's costs are settled.
    advance = await client.post("/admin/api/clock/advance", json={"days": 1}, headers=auth)
    assert advance.status == 200
    data = await dashboard(client, auth)
    # 100 yuan at 3.65% a year: 1 fen a day; one impression at 20 yuan CPM plus one 0.50 click.
    assert (data["dividends"], data["dividends_fen"]) == (1, 1)
    assert data["ad_revenue_fen"] == 2 + 50
    assert data["messages_24h"] == 0  # the messages are more than 24 h old now
    async with sessions() as session:
        issued = (await session.exec(select(func.count()).select_from(models.Coupon))).one()
    assert data["coupons_issued"] == issued
    assert data["coupons_used"] == 0

    html = await (await client.get("/admin/", headers=auth)).text()
    assert "¥68.00" in html and "¥5.00" in html and "¥0.52" in html
    assert html.count("<svg") == 2
    assert "<title>01-01: 68.00</title>" in html  # the GMV chart's bar of the first day
