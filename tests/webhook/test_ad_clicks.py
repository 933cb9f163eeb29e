"""Ad clicks that a script can't drain: only the signed link `read` hands a fan with an
impression charges, once per impression and per fan's daily allowance, at once, in one
balanced ledger transaction, never past the budget, also under concurrent clicks."""

import asyncio
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from aiohttp.test_utils import TestClient
from sqlmodel import select

from botstore.app import create_app
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.keys import db_key
from botstore.models import AdClick, LedgerEntry, LedgerTransaction
from tests.clicks import click, path_of, read_and_get_ad_link
from tests.helpers import count, digest
from tests.webhook.test_articles import (
    Sessions,
    add_ad,
    add_article,
    advertiser_balance,
    get_ad,
    platform_balance,
)

TARGET = "https://example.com/mango"


async def ad_in_article(sessions: Sessions, clock: FrozenClock, **prices: int) -> int:
    ad_id = await add_ad(sessions, clock, **({"budget": 1000, "cpm": 0, "cpc": 50} | prices))
    await add_article(sessions, clock, ad_id=ad_id)
    return ad_id


def with_query(path: str, **changes: str) -> str:
    parts = urlsplit(path)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()} | changes
    return f"{parts.path}?{urlencode(query)}"


async def test_the_link_read_hands_the_fan_charges_one_click_in_one_ledger_transaction(
    wechat: Emulator, client: TestClient, sessions: Sessions, clock: FrozenClock
) -> None:
    ad_id = await ad_in_article(sessions, clock)
    link = await read_and_get_ad_link(wechat, client, "o_fan", 1)
    assert parse_qs(urlsplit(link).query)["openid"] == ["o_fan"]

    assert await click(client, link) == TARGET
    assert await platform_balance(sessions) == 50
    assert await advertiser_balance(sessions, ad_id) == 1000 - 50
    ad = await get_ad(sessions, ad_id)
    assert (ad.clicks, ad.settled_clicks, ad.spent_fen) == (1, 1, 50)
    async with sessions() as session:
        (record,) = (await session.exec(select(AdClick))).all()
        assert (record.impression, record.slot, record.amount_fen) == (1, 1, 50)
        txn = await session.get(LedgerTransaction, record.transaction_id)
        assert txn is not None and txn.kind == "ad_revenue"
        legs = (
            await session.exec(select(LedgerEntry).where(LedgerEntry.transaction_id == txn.id))
        ).all()
        assert sorted(leg.amount_fen for leg in legs) == [-50, 50]

    # The same link again (a reload, a script replaying it): redirected, charged nothing.
    before = await digest(sessions)
    for _ in range(5):
        assert await click(client, link) == TARGET
    assert await digest(sessions) == before


async def test_unsigned_forged_expired_and_other_fans_hits_redirect_and_charge_nothing(
    wechat: Emulator, client: TestClient, sessions: Sessions, clock: FrozenClock
) -> None:
    ad_id = await ad_in_article(sessions, clock)
    link = await read_and_get_ad_link(wechat, client, "o_fan", 1)
    await wechat.say("read 1", fan="o_other")  # another fan, who has a link of their own
    sig = parse_qs(urlsplit(link).query)["sig"][0]
    forged_sig = ("0" if sig[0] != "0" else "1") + sig[1:]
    before = await digest(sessions)
    hits = [
        f"/ads/{ad_id}/click",  # what 120 curls sent
        f"/ads/{ad_id}/click?openid=o_fan",
        with_query(link, sig=forged_sig),
        with_query(link, impression="2"),  # o_other's impression under o_fan's signature
        with_query(link, openid="o_other"),  # o_fan's link opened as o_other
        with_query(link, expires=str(int(clock.now().timestamp()) + 10**6)),
        with_query(link, impression="²"),
        f"/ads/{ad_id}/click?openid=o_fan&impression=1&expires=9&sig=" + "g" * 64,
    ]
    for hit in hits:
        assert await click(client, hit) == TARGET, hit
    assert await digest(sessions) == before  # no click, no ledger row, nothing
    # The signature names the ad too: o_fan's link is no good for another ad.
    other_ad = await ad_in_article(sessions, clock)
    await wechat.say("read 2", fan="o_fan")  # o_fan has an impression of it as well
    before = await digest(sessions)
    assert await click(client, link.replace(f"/ads/{ad_id}/", f"/ads/{other_ad}/")) == TARGET
    assert await digest(sessions) == before

    clock.advance(timedelta(hours=24))  # the link lives ad_link_valid_hours (24)
    assert await click(client, link) == TARGET
    assert await digest(sessions) == before
    assert (await get_ad(sessions, ad_id)).clicks == 0


async def test_a_fan_is_charged_once_per_ad_and_day_and_again_the_next_day(
    wechat: Emulator, client: TestClient, sessions: Sessions, clock: FrozenClock
) -> None:
    ad_id = await ad_in_article(sessions, clock)
    first = await read_and_get_ad_link(wechat, client, "o_fan", 1)
    second = await read_and_get_ad_link(wechat, client, "o_fan", 1)  # a second impression
    assert first != second
    await click(client, first)
    await click(client, second)
    assert (await get_ad(sessions, ad_id)).clicks == 1
    # Another fan's click the same day counts: the allowance is per fan.
    await click(client, await read_and_get_ad_link(wechat, client, "o_other", 1))
    assert (await get_ad(sessions, ad_id)).clicks == 2

    # 12:00 in Shanghai (wallet.timezone) now; 13 hours on is the next day there.
    clock.advance(timedelta(hours=13))
    await click(client, second)  # still valid, and a new day's allowance
    await click(client, await read_and_get_ad_link(wechat, client, "o_fan", 1))
    ad = await get_ad(sessions, ad_id)
    assert (ad.clicks, ad.spent_fen) == (3, 150)
    assert await advertiser_balance(sessions, ad_id) == 1000 - 150
    async with sessions() as session:
        days = [(c.day, c.slot) for c in (await session.exec(select(AdClick))).all()]
    assert sorted(days) == [("2026-01-01", 1), ("2026-01-01", 1), ("2026-01-02", 1)]


async def test_the_daily_allowance_is_configurable(
    aiohttp_client: Any, config: Config, clock: FrozenClock
) -> None:
    app = create_app(config.replace(articles={"ad_clicks_per_fan_per_day": 2}), clock=clock)
    client: TestClient = await aiohttp_client(app)
    wechat = Emulator(client, config.wechat.path, config.wechat, clock=clock)
    sessions = app[db_key]
    ad_id = await ad_in_article(sessions, clock)
    links = [await read_and_get_ad_link(wechat, client, "o_fan", 1) for _ in range(3)]
    for link in links:
        await click(client, link)
    ad = await get_ad(sessions, ad_id)
    assert (ad.clicks, ad.spent_fen) == (2, 100)


async def test_concurrent_clicks_charge_each_link_once_and_never_past_the_budget(
    wechat: Emulator, client: TestClient, sessions: Sessions, clock: FrozenClock
) -> None:
    # ¥1.20 of budget at ¥0.50 a click: two whole clicks and ¥0.20 of a third, then nothing.
    ad_id = await ad_in_article(sessions, clock, budget=120)
    fans = [f"o_fan_{n}" for n in range(6)]
    links = [await read_and_get_ad_link(wechat, client, fan, 1) for fan in fans]
    # Each link opened four times at once, all of them together.
    hits = [click(client, link) for link in links for _ in range(4)]
    assert set(await asyncio.gather(*hits)) == {TARGET}

    ad = await get_ad(sessions, ad_id)
    assert (ad.clicks, ad.spent_fen, ad.active) == (3, 120, False)
    assert await advertiser_balance(sessions, ad_id) == 0
    assert await platform_balance(sessions) == 120
    assert await count(sessions, AdClick) == 3
    async with sessions() as session:
        charged = sorted(c.amount_fen for c in (await session.exec(select(AdClick))).all())
    assert charged == [20, 50, 50]


async def test_concurrent_copies_of_one_link_charge_once(
    wechat: Emulator, client: TestClient, sessions: Sessions, clock: FrozenClock
) -> None:
    ad_id = await ad_in_article(sessions, clock)
    link = await read_and_get_ad_link(wechat, client, "o_fan", 1)
    await asyncio.gather(*(click(client, link) for _ in range(12)))
    assert (await get_ad(sessions, ad_id)).clicks == 1
    assert await advertiser_balance(sessions, ad_id) == 1000 - 50
    assert await count(sessions, AdClick) == 1


async def test_the_article_page_hands_on_only_well_formed_link_fields(
    wechat: Emulator, client: TestClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await ad_in_article(sessions, clock)
    exchange = await wechat.say("read 1", fan="o_fan")
    card_url = exchange.reply.reply.articles[0].url  # type: ignore[union-attr]
    page = path_of(card_url)
    html = await (await client.get(with_query(page, sig="<script>"))).text()
    assert "<script>" not in html and "sig=" not in html
    assert 'href="http://127.0.0.1:8080/ads/1/click?openid=o_fan"' in html
    html = await (await client.get(page)).text()
    assert "impression=1&amp;expires=" in html and "&amp;sig=" in html
