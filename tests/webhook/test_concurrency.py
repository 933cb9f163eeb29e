"""Many concurrent top-ups and spends on one wallet through the webhook."""

import asyncio
import random

import pytest
from aiohttp import web
from sqlalchemy import func
from sqlmodel import select

from botstore.app import create_app
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import Account
from botstore.services import ledger
from handlers import ROUTERS
from tests.helpers import probe


@pytest.fixture
def app(config: Config, clock: FrozenClock) -> web.Application:
    # This test is about money under contention, not the reply budget: on a loaded machine 200
    # queued requests may exceed 4.5 s, and a late reply would go to the outbox instead.
    patient = config.replace(server={"reply_budget_seconds": 60})
    return create_app(patient, clock=clock, routers=[*ROUTERS, probe])


async def test_200_concurrent_topups_and_spends_leave_the_ledger_balanced(
    wechat: Emulator, sessions
) -> None:
    rng = random.Random(7)
    commands = ["topup 3"] * 100 + ["spend 5"] * 100
    rng.shuffle(commands)
    exchanges = await asyncio.gather(*(wechat.say(text, fan="o_busy") for text in commands))

    assert all(exchange.status == 200 for exchange in exchanges)
    topped = sum(e.content.startswith("Topped up") for e in exchanges)
    spent = sum(e.content.startswith("spent") for e in exchanges)
    refused = sum(e.content.startswith("Not enough money") for e in exchanges)
    assert topped == 100
    assert spent + refused == 100
    async with sessions() as session:
        assert await ledger.imbalance(session) == 0
        total = (await session.exec(select(func.sum(Account.balance_fen)))).one()
        assert total == 0
        lowest = (
            await session.exec(
                select(func.min(Account.balance_fen)).where(Account.kind != "outside")
            )
        ).one()
        assert lowest >= 0
    expected = 300 * topped - 500 * spent
    assert (
        await wechat.say("balance", fan="o_busy")
    ).content == f"Your balance: ¥{expected // 100}.{expected % 100:02d}"
