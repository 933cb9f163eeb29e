"""Helpers of the WeStore tests: chat shortcuts and balance lookups."""

import re

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.console.client import Emulator
from botstore.models import Account, AccountKind, Fan, Product, Store


async def say(wechat: Emulator, fan: str, text: str, **kwargs: object) -> str:
    exchange = await wechat.say(text, fan=fan, **kwargs)
    assert exchange.status == 200, exchange.body
    return exchange.content


def first_id(reply: str) -> int:
    match = re.search(r"#(\d+)", reply)
    assert match, reply
    return int(match.group(1))


async def open_store(wechat: Emulator, owner: str, name: str) -> int:
    reply = await say(wechat, owner, f"open {name}")
    assert "is open" in reply, reply
    return first_id(reply)


async def list_product(wechat: Emulator, owner: str, name: str, price: str, stock: int) -> int:
    reply = await say(wechat, owner, f"list {name} {price} {stock}")
    assert reply.startswith("Listed product"), reply
    return first_id(reply)


async def topup(wechat: Emulator, fan: str, amount: str) -> None:
    assert (await say(wechat, fan, f"topup {amount}")).startswith("Topped up")


async def balance(wechat: Emulator, fan: str) -> str:
    # The first line: a store owner's balance goes on with the store's earnings.
    return (await say(wechat, fan, "balance")).splitlines()[0].removeprefix("Your balance: ¥")


async def store_balance(sessions: async_sessionmaker[AsyncSession], owner: str) -> int:
    async with sessions() as session:
        statement = (
            select(Account.balance_fen)
            .join(Store, Store.account_id == Account.id)
            .join(Fan, Fan.id == Store.owner_fan_id)
            .where(Fan.openid == owner)
        )
        return (await session.exec(statement)).one()


async def escrow_balance(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        statement = select(Account.balance_fen).where(Account.kind == AccountKind.ESCROW)
        return (await session.exec(statement)).one()


async def stock(sessions: async_sessionmaker[AsyncSession], product_id: int) -> int:
    async with sessions() as session:
        product = await session.get(Product, product_id)
        assert product is not None
        return product.stock
