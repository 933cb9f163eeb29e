"""Catalogue upkeep racing buyers and resellers through the webhook (run on PostgreSQL too):
restocks lose no unit bought meanwhile, and a resale never stays listed below its supplier."""

import asyncio

import pytest
from aiohttp import web
from sqlmodel import select

from botstore.app import create_app
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import Order, Product
from tests.helpers import count
from tests.webhook.westore import list_product, open_store, say, stock, topup


@pytest.fixture
def app(config: Config, clock: FrozenClock) -> web.Application:
    # About stock and prices under contention, not the reply budget (see test_concurrency).
    patient = config.replace(server={"reply_budget_seconds": 60})
    return create_app(patient, clock=clock)


async def test_restocks_racing_buyers_lose_no_unit(wechat: Emulator, sessions) -> None:
    await open_store(wechat, "o_tea", "Tea House")
    await list_product(wechat, "o_tea", "Green-tea", "1", 5)
    buyers = [f"o_buyer_{n}" for n in range(20)]
    for buyer in buyers:
        await topup(wechat, buyer, "10")
    texts = [(buyer, "buy 1") for buyer in buyers] + [("o_tea", "restock 1 10")] * 5
    replies = await asyncio.gather(*(wechat.say(text, fan=fan) for fan, text in texts))
    assert all(reply.status == 200 for reply in replies)
    bought = sum(reply.content.startswith("Order #") for reply in replies)
    restocked = sum(reply.content.endswith("in all.") for reply in replies)
    assert restocked == 5
    assert await count(sessions, Order) == bought
    assert await stock(sessions, 1) == 5 + 50 - bought >= 0


async def test_a_resale_never_stays_listed_below_its_supplier(wechat: Emulator, sessions) -> None:
    await open_store(wechat, "o_tea", "Tea House")
    await list_product(wechat, "o_tea", "Green-tea", "10", 5)
    await open_store(wechat, "o_books", "Book Corner")
    await say(wechat, "o_books", "resell 1 12")
    for supplier_price, resale_price in [(13, 14), (15, 16), (20, 17), (21, 25), (30, 26)]:
        await asyncio.gather(
            wechat.say(f"price 1 {supplier_price}", fan="o_tea"),
            wechat.say(f"price 2 {resale_price}", fan="o_books"),
            wechat.say("relist 2", fan="o_books"),
        )
        async with sessions() as session:
            supplier, resale = (await session.exec(select(Product).order_by(Product.id))).all()
        assert supplier.price_fen == supplier_price * 100
        assert not resale.listed or resale.price_fen >= supplier.price_fen, (
            supplier_price,
            resale.price_fen,
        )
