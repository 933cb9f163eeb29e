"""The rest of issue 15's notices, through the signed webhook: a supplier's delist and relist tell
its resellers; the fan whose command held a notice for someone away is told who will see it;
dividend, maturity and coupon notices wait outside WeChat's 48-hour window like the others;
monthly coupons follow the account's months (`wallet.timezone`)."""

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.keys import scheduler_key
from botstore.models import Coupon, Fan, OutboxMessage
from botstore.seed.wealth import seed_wealth_products
from botstore.services import coupons, ledger, notices, users
from tests.admin.test_entities import api
from tests.webhook.westore import first_id, list_product, open_store, say, topup

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def config(config: Config) -> Config:
    return config.replace(server={"reply_budget_seconds": 60})


async def sent(sessions: Sessions, openid: str, reason: str) -> list[str]:
    """The texts pushed to the fan for `reason` (not held), oldest first."""
    return [text for text, waiting in await told(sessions, openid, reason) if not waiting]


async def told(sessions: Sessions, openid: str, reason: str) -> list[tuple[str, bool]]:
    """Every notice of `reason` to the fan, with whether it is held."""
    async with sessions() as session:
        rows = await session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.openid == openid, OutboxMessage.reason == reason)
            .order_by(col(OutboxMessage.id))
        )
        return [(row.payload["text"]["content"], row.waiting) for row in rows.all()]


async def counted(sessions: Sessions, openid: str) -> int:
    async with sessions() as session:
        fan = (await session.exec(select(Fan).where(Fan.openid == openid))).one()
        return fan.waiting_notices


async def advance(client: TestClient, hours: int) -> None:
    await client.app[scheduler_key].advance(timedelta(hours=hours))


@pytest.fixture
async def resold(wechat: Emulator) -> tuple[int, int]:
    """Tea House (o_tea) sells Green-tea at ¥12.50; Book Corner (o_aff, Chinese) resells it at
    ¥15.00. Returns (product, resale)."""
    await open_store(wechat, "o_tea", "Tea House")
    product = await list_product(wechat, "o_tea", "Green-tea", "12.5", 5)
    await open_store(wechat, "o_aff", "Book Corner")
    resale = first_id(await say(wechat, "o_aff", f"resell {product} 15"))
    assert (await say(wechat, "o_aff", "语言 中文")).startswith("从现在起")
    return product, resale


# --- a supplier's delist and relist tell its resellers ---


async def test_delist_and_relist_tell_each_reseller_in_their_language(
    wechat: Emulator, sessions: Sessions, resold: tuple[int, int]
) -> None:
    product, resale = resold
    await say(wechat, "o_tea", f"delist {product}")
    assert await sent(sessions, "o_aff", "resale_delisted") == [
        f"你分销的商品 #{resale} Green-tea 已下架：Tea House 下架了商品 #{product}。"
        "对方重新上架后即恢复销售；已付款的订单照常发货。"
    ]
    # Delisting again changes nothing and tells no one again.
    await say(wechat, "o_tea", f"delist {product}")
    assert len(await sent(sessions, "o_aff", "resale_delisted")) == 1
    await say(wechat, "o_tea", f"relist {product}")
    assert await sent(sessions, "o_aff", "resale_relisted") == [
        f"你分销的商品 #{resale} Green-tea 已恢复销售，售价 ¥15.00："
        f"Tea House 重新上架了商品 #{product}。"
    ]
    await topup(wechat, "o_buyer", "100")
    assert (await say(wechat, "o_buyer", f"buy {resale}")).startswith("Order #1")


async def test_a_resale_its_owner_took_off_sale_is_not_told(
    wechat: Emulator, sessions: Sessions, resold: tuple[int, int]
) -> None:
    product, resale = resold
    await say(wechat, "o_aff", f"下架 {resale}")
    await say(wechat, "o_tea", f"delist {product}")
    await say(wechat, "o_tea", f"relist {product}")
    assert await told(sessions, "o_aff", "resale_delisted") == []
    assert await told(sessions, "o_aff", "resale_relisted") == []


async def test_a_refused_delist_tells_no_one(
    wechat: Emulator, sessions: Sessions, resold: tuple[int, int]
) -> None:
    product, _ = resold
    assert "store owner" in await say(wechat, "o_aff", f"delist {product}")
    assert await told(sessions, "o_aff", "resale_delisted") == []


# --- the actor's reply says a notice is held ---


async def test_the_actor_is_told_who_will_see_a_held_notice(
    wechat: Emulator, sessions: Sessions, client: TestClient, resold: tuple[int, int]
) -> None:
    product, resale = resold
    await topup(wechat, "o_buyer", "100")
    # Everyone wrote just now: notices go out and the reply says nothing more.
    assert (await say(wechat, "o_buyer", f"buy {product}")).endswith("after delivery.")
    await advance(client, 49)
    # The reseller last wrote 49 hours ago: the delisting notice waits, and its supplier's owner
    # reads, in their own language, that Book Corner's owner will see it when they next write.
    reply = await say(wechat, "o_tea", f"price {product} 16")
    assert reply.splitlines()[-1] == "Book Corner's owner will see this when they next write."
    assert [waiting for _, waiting in await told(sessions, "o_aff", "resale_delisted")] == [True]
    # A Chinese actor reads it in Chinese; a buyer away is named by nickname, else openid.
    assert (await say(wechat, "o_tea", "发货 1")).splitlines()[-1] == (
        "o_buyer 下次发消息时会看到这条通知。"
    )
    # Once the reseller has written, nothing is held and no line is added.
    await say(wechat, "o_aff", "余额")
    assert await counted(sessions, "o_aff") == 0
    assert await say(wechat, "o_tea", f"delist {product}") == (
        f"Product #{product} Green-tea is off sale: fans no longer see or buy it, nor its "
        f'resales; paid orders still ship. Send "relist #{product}" to sell it again.'
    )
    assert await counted(sessions, "o_aff") == 0


# --- batch notices wait outside the window ---


@pytest.fixture
async def products(sessions: Sessions, clock: FrozenClock) -> None:
    async with sessions() as session, session.begin():
        await seed_wealth_products(session, now=clock.now())


async def test_dividends_and_maturity_wait_for_a_holder_away_and_arrive_when_they_write(
    wechat: Emulator, sessions: Sessions, client: TestClient, products: None
) -> None:
    await say(wechat, "o_a", "topup 1000")
    await say(wechat, "o_a", "invest #1 1000")
    await advance(client, 24 * 3)
    # Day 1's dividend went out (o_a wrote a day before); days 2 and 3 fell outside the window.
    assert [waiting for _, waiting in await told(sessions, "o_a", "dividend")] == [
        False,
        True,
        True,
    ]
    assert await counted(sessions, "o_a") == 2
    await say(wechat, "o_a", "balance")
    delivered = await sent(sessions, "o_a", "dividend")
    assert len(delivered) == 3 and await counted(sessions, "o_a") == 0
    assert delivered[1].startswith("Dividend ¥0.10 from Daily Dividend 30 (holding #1, 2/30)")
    await advance(client, 24 * 30)
    # Day 4's went out (o_a wrote a day before); the rest, and the maturity, wait.
    assert [waiting for _, waiting in await told(sessions, "o_a", "maturity")] == [True]
    assert await counted(sessions, "o_a") == 26 + 1
    await say(wechat, "o_a", "holdings")
    assert len(await sent(sessions, "o_a", "maturity")) == 1
    assert len(await sent(sessions, "o_a", "dividend")) == 30
    assert await counted(sessions, "o_a") == 0
    async with sessions() as session:
        assert await ledger.imbalance(session) == 0


async def test_issued_coupons_wait_for_fans_away(
    wechat: Emulator, sessions: Sessions, client: TestClient, config: Config, clock: FrozenClock
) -> None:
    await say(wechat, "o_away", "balance")
    clock.advance(timedelta(hours=49))
    await say(wechat, "o_here", "balance")
    async with sessions() as session, session.begin():
        campaign = await coupons.create_campaign(
            session,
            name="Welcome",
            occasion="manual",
            amount_off_fen=500,
            valid_days=30,
            now=clock.now(),
        )
    status, data = await api(client, config, "POST", f"coupons/{campaign.id}/issue")
    assert (status, data["issued"]) == (200, 2)
    assert [waiting for _, waiting in await told(sessions, "o_here", "coupon_issued")] == [False]
    assert [waiting for _, waiting in await told(sessions, "o_away", "coupon_issued")] == [True]
    assert await counted(sessions, "o_away") == 1
    await say(wechat, "o_away", "coupons")
    [text] = await sent(sessions, "o_away", "coupon_issued")
    assert text.startswith("New coupon #") and '"Welcome"' in text


# --- monthly coupons follow the account's months ---


async def test_a_monthly_coupon_follows_the_accounts_month(
    wechat: Emulator, sessions: Sessions, client: TestClient, config: Config, clock: FrozenClock
) -> None:
    # Jan 31st 17:00 UTC is already February 1st, 01:00, China Time (the account's zone).
    clock.advance(datetime(2026, 1, 31, 17, tzinfo=UTC) - clock.now())
    await say(wechat, "o_a", "balance")
    async with sessions() as session, session.begin():
        campaign = await coupons.create_campaign(
            session,
            name="Monthly",
            occasion="monthly",
            amount_off_fen=500,
            valid_days=30,
            now=clock.now(),
        )
    status, data = await api(client, config, "POST", f"coupons/{campaign.id}/issue")
    assert (status, data["issued"]) == (200, 1)
    async with sessions() as session:
        coupon = (await session.exec(select(Coupon))).one()
    assert coupon.period == "2026-02"
    # February 1st 00:00 through the end of February 28th, China Time.
    assert (coupon.valid_from, coupon.valid_to) == (
        datetime(2026, 1, 31, 16, tzinfo=UTC),
        datetime(2026, 2, 28, 16, tzinfo=UTC),
    )
    [text] = await sent(sessions, "o_a", "coupon_issued")
    assert "valid until Mar 1, 2026 00:00" in text


async def test_the_batch_jobs_window_agrees_with_a_single_notices(
    wechat: Emulator, sessions: Sessions, clock: FrozenClock
) -> None:
    """`notices.reachable` (SQL, for the batches) decides as `users.can_reach` (one fan)."""
    await say(wechat, "o_old", "balance")  # 49 hours before the check
    clock.advance(timedelta(hours=2))
    await say(wechat, "o_recent", "balance")  # 47 hours before
    await wechat.event("subscribe", fan="o_gone")
    await wechat.event("unsubscribe", fan="o_gone", create_time=wechat.now() + 1)
    clock.advance(timedelta(hours=47) - timedelta(seconds=61))
    await wechat.event("CLICK", fan="o_clicked", event_key="balance")  # 61 seconds before
    clock.advance(timedelta(seconds=31))
    await wechat.event("CLICK", fan="o_click", event_key="balance")  # 30 seconds before
    await wechat.event(  # opens no window
        "LOCATION", fan="o_where", extra={"Latitude": "1", "Longitude": "2", "Precision": "5"}
    )
    clock.advance(timedelta(seconds=30))
    now = clock.now()
    async with sessions() as session:
        rows = (await session.exec(select(Fan, notices.reachable(now)))).all()
        single = {fan.openid: await users.can_reach(session, fan, now=now) for fan, _ in rows}
    batch = {fan.openid: bool(reachable) for fan, reachable in rows}
    assert batch == single
    assert {openid for openid, reachable in batch.items() if reachable} == {
        "o_recent",
        "o_click",
    }
