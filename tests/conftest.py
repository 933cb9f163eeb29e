"""Fixtures: the real app on a migrated SQLite file, or a fresh PostgreSQL database when
BOTSTORE_TEST_POSTGRES_URL is set, driven through a signing WeChat emulator."""

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.admin.auth import limiter_key
from botstore.app import create_app
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.db import create_engine, migrate, session_factory
from botstore.keys import db_key
from botstore.models import Account, AccountKind, LedgerEntry
from botstore.services import ledger

POSTGRES_URL = os.environ.get("BOTSTORE_TEST_POSTGRES_URL", "")
NO_POSTGRES = (
    "PostgreSQL tests need a server: install PostgreSQL (apt-get install postgresql) and set "
    "BOTSTORE_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per run; each test gets a copy (migrating costs ~1 s)."""
    path = tmp_path_factory.mktemp("template") / "botstore.db"
    _run(_migrate_url(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database migrated once per run: each test's database is a copy of it."""
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: " + NO_POSTGRES)
        pytest.skip(NO_POSTGRES)
    name = f"botstore_template_{secrets.token_hex(6)}"
    _run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        _run(_migrate_url(_with_database(POSTGRES_URL, name)))
        yield name
    finally:
        _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    # In a thread of its own: the first test asking for a template is inside a running loop.
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, coroutine).result()


async def _migrate_url(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()  # a template database must have no connections left


async def _admin(*statements: str) -> None:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database of each engine, dropped afterwards."""
    if request.param == "sqlite":
        path = tmp_path / "botstore.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite+aiosqlite:///{path}"
        yield url
        await assert_money_invariants(url)
        return
    template = request.getfixturevalue("postgres_template")
    name = f"botstore_test_{secrets.token_hex(6)}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        url = _with_database(POSTGRES_URL, name)
        yield url
        await assert_money_invariants(url)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def assert_money_invariants(url: str) -> None:
    """After every database test: the ledger balances and no account but the outside is negative."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            assert await ledger.imbalance(session) == 0, "ledger entries do not sum to zero"
            negative = (
                await session.exec(
                    select(Account).where(
                        Account.kind != AccountKind.OUTSIDE, Account.balance_fen < 0
                    )
                )
            ).all()
            assert not negative, f"negative balances: {negative}"
            total = (
                await session.exec(select(func.coalesce(func.sum(Account.balance_fen), 0)))
            ).one()
            assert total == 0, "account balances do not sum to zero"
            moved = (
                select(LedgerEntry.account_id, func.sum(LedgerEntry.amount_fen).label("fen"))
                .group_by(LedgerEntry.account_id)
                .subquery()
            )
            drifted = (
                await session.exec(
                    select(Account.id)
                    .outerjoin(moved, moved.c.account_id == Account.id)
                    .where(Account.balance_fen != func.coalesce(moved.c.fen, 0))
                )
            ).all()
            assert not drifted, f"balances that differ from their entries: accounts {drifted}"
    finally:
        await engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def config(database_url: str) -> Config:
    return Config().replace(
        database={"url": database_url, "seed_demo": False},
        wechat={
            "token": "AAAAA",
            "app_id": "wxba5fad812f8e6fb9",
            "encoding_aes_key": "A" * 43,
            "account_id": "gh_97417a04a28d",
            "mode": "compatible",
        },
        server={"reply_budget_seconds": 4.5},
    )


@pytest.fixture
def app(config: Config, clock: FrozenClock) -> web.Application:
    return create_app(config, clock=clock)


@pytest.fixture
async def client(aiohttp_client: object, app: web.Application) -> TestClient:
    return await aiohttp_client(app)  # type: ignore[operator]


@pytest.fixture
def unlimited_token_tries(client: TestClient) -> None:
    """For tests that sweep every route with wrong tokens: past admin.failed_signins_per_minute
    the sign-in limiter answers 429 instead of 401 (tests/admin/test_signin_limit.py)."""
    client.app[limiter_key].per_minute = 0


@pytest.fixture
def sessions(client: TestClient) -> async_sessionmaker[AsyncSession]:
    """Sessions on the app's own database, for checking what it stored."""
    return client.app[db_key]


@pytest.fixture
def sessions_of() -> Callable[[web.Application], async_sessionmaker[AsyncSession]]:
    """Sessions on the database of an app a test made itself."""
    return lambda app: app[db_key]


@pytest.fixture
def wechat(client: TestClient, config: Config, clock: FrozenClock) -> Emulator:
    """Signs (and, if asked, encrypts) like the real WeChat server."""
    return Emulator(client, config.wechat.path, config.wechat, clock=clock)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a migrated database, without the web app (for service tests)."""
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()
