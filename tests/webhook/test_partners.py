"""Partner services through the webhook: the catalog card, the page it links to, and paying a
partner with the platform's commission in the same transaction."""

import asyncio

import pytest
from aiohttp.test_utils import TestClient
from sqlmodel import select

from botstore.clock import FrozenClock
from botstore.console.client import Emulator
from botstore.models import Account, AccountKind, LedgerEntry, LedgerTransaction, PartnerService
from botstore.seed.offline import seed_offline
from botstore.services import partners
from botstore.wechat import NewsReply
from tests.helpers import count


@pytest.fixture
async def demo(sessions, clock: FrozenClock) -> None:
    async with sessions() as session, session.begin():
        await seed_offline(session, now=clock.now())


async def add_service(sessions, clock: FrozenClock, *, commission_bps: int) -> int:
    async with sessions() as session, session.begin():
        service = await partners.create(
            session,
            name=f"Test {commission_bps}",
            category="test",
            description="a test partner",
            app_id="wxtest",
            commission_bps=commission_bps,
            now=clock.now(),
        )
        assert service.id is not None
        return service.id


async def balances(sessions, service_id: int) -> tuple[int, int]:
    """(partner, platform) balances."""
    async with sessions() as session:
        service = await session.get(PartnerService, service_id)
        assert service is not None
        partner = await session.get(Account, service.account_id)
        platform = (
            await session.exec(select(Account).where(Account.kind == AccountKind.PLATFORM))
        ).one()
        assert partner is not None
        return partner.balance_fen, platform.balance_fen


async def test_services_is_one_card_linking_to_the_services_page(
    wechat: Emulator, client: TestClient, demo: None
) -> None:
    exchange = await wechat.say("services", fan="o_a")
    assert exchange.reply is not None
    news = exchange.reply.reply
    assert isinstance(news, NewsReply) and len(news.articles) == 1
    card = news.articles[0]
    assert card.title == "Partner services (4)"
    assert card.description.splitlines() == [
        "#1 Swift Ride - Ride hailing across the city",
        "#2 Orange Bike - Shared bikes, pay per ride",
        "#3 Harbour Hotels - Hotel rooms tonight",
        "#4 TopUp Mobile - Phone credit recharge",
        'Pay with "use <service id> <amount>".',
    ]
    assert card.url == "http://127.0.0.1:8080/services"
    assert (await wechat.say("服务", fan="o_a")).raw.count("<item>") == 1

    page = await client.get("/services")
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.text()
    for text in ["#1 Swift Ride", "platform commission 8%", "#4 TopUp Mobile", "1.5%", "use 3"]:
        assert text in html


async def test_services_without_any_says_so(wechat: Emulator) -> None:
    assert (await wechat.say("services", fan="o_a")).content == "No partner services yet."


async def test_use_pays_the_partner_and_the_platform_keeps_its_commission(
    wechat: Emulator, sessions, demo: None
) -> None:
    await wechat.say("topup 100", fan="o_a")
    reply = await wechat.say("use 1 25", fan="o_a")  # 8%
    assert reply.content == (
        "Paid ¥25.00 to Swift Ride (#1), of which ¥2.00 platform commission. Balance: ¥75.00"
    )
    assert await balances(sessions, 1) == (2300, 200)
    async with sessions() as session:
        txn = (
            await session.exec(
                select(LedgerTransaction).where(LedgerTransaction.kind == "partner_use")
            )
        ).one()
        legs = (
            await session.exec(select(LedgerEntry).where(LedgerEntry.transaction_id == txn.id))
        ).all()
    assert sorted(leg.amount_fen for leg in legs) == [-2500, 200, 2300]


@pytest.mark.parametrize(
    ("commission_bps", "amount", "partner_fen", "commission_fen"),
    [
        (150, "0.66", 66, 0),  # 0.99 fen rounds down to nothing
        (150, "0.67", 66, 1),  # 1.005 fen rounds down to 1
        (150, "13.33", 1314, 19),  # 19.995 fen rounds down to 19
        (800, "0.01", 1, 0),
        (0, "5", 500, 0),  # no commission leg
        (10000, "5", 0, 500),  # no partner leg
    ],
)
async def test_commission_rounds_down_to_the_fen(
    wechat: Emulator,
    sessions,
    clock: FrozenClock,
    commission_bps: int,
    amount: str,
    partner_fen: int,
    commission_fen: int,
) -> None:
    service_id = await add_service(sessions, clock, commission_bps=commission_bps)
    await wechat.say("topup 100", fan="o_a")
    assert (await wechat.say(f"use {service_id} {amount}", fan="o_a")).content.startswith("Paid")
    assert await balances(sessions, service_id) == (partner_fen, commission_fen)
    assert partners.commission_of(partner_fen + commission_fen, commission_bps) == commission_fen


async def test_a_retried_use_message_pays_once(wechat: Emulator, sessions, demo: None) -> None:
    await wechat.say("topup 100", fan="o_a")
    first = await wechat.say("使用 #3 199.99", fan="o_a", msg_id=9)
    retry = await wechat.say("使用 #3 199.99", fan="o_a", msg_id=9)
    assert retry.raw == first.raw
    assert first.content.startswith("余额不足")
    await wechat.say("topup 200", fan="o_a")
    first = await wechat.say("use 3 199.99", fan="o_a", msg_id=10)
    retry = await wechat.say("use 3 199.99", fan="o_a", msg_id=10)
    assert retry.raw == first.raw
    # 12% of 19999 fen is 2399.88 fen: the platform keeps 2399.
    assert await balances(sessions, 3) == (17600, 2399)
    assert (await wechat.say("balance", fan="o_a")).content == "Your balance: ¥100.01"


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("use 99 5", "There is no partner service #99."),
        ("use 1 0", "<amount>: must be more than zero\nUsage: use <service id> <amount>"),
        ("use 1 -2", "<amount>: must be more than zero\nUsage: use <service id> <amount>"),
        (
            "use x 2",
            "<service id>: an id is a number such as #12\nUsage: use <service id> <amount>",
        ),
        ("use 1", "<amount> is missing\nUsage: use <service id> <amount>"),
    ],
)
async def test_use_with_bad_arguments_moves_nothing(
    wechat: Emulator, sessions, demo: None, text: str, reply: str
) -> None:
    await wechat.say("topup 10", fan="o_a")
    assert (await wechat.say(text, fan="o_a")).content == reply
    assert await count(sessions, LedgerTransaction) == 1


async def test_concurrent_uses_never_overdraw(wechat: Emulator, sessions, demo: None) -> None:
    await wechat.say("topup 10", fan="o_a")
    exchanges = await asyncio.gather(*(wechat.say("use 2 3", fan="o_a") for _ in range(10)))
    assert sum(e.content.startswith("Paid ¥3.00") for e in exchanges) == 3
    # 5% of 3 yuan is 15 fen, three times.
    assert await balances(sessions, 2) == (3 * 285, 3 * 15)
