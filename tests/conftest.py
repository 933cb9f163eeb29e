"""Fixtures: the real app on a migrated SQLite file, or a fresh PostgreSQL database when
BOTSTORE_TEST_POSTGRES_URL is set, driven through a signing WeChat emulator."""

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from xdist.scheduler import LoadScopeScheduling

from botstore.admin.auth import limiter_key
from botstore.app import create_app
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.db import create_engine, migrate, session_factory
from botstore.keys import db_key
from tests.databases import PostgresDatabases, assert_money_invariants, with_database

POSTGRES_URL = os.environ.get("BOTSTORE_TEST_POSTGRES_URL", "")
NO_POSTGRES = (
    "PostgreSQL tests need a server: install PostgreSQL (apt-get install postgresql) and set "
    "BOTSTORE_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Heavy tests first: under pytest-xdist they start at once, each on a worker of its own,
    while the others share out the rest, instead of one starting last and running alone."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)


class ModulesAndReliabilityTests(LoadScopeScheduling):
    """pytest-xdist's loadscope (`make test`): a module's tests run together on one worker, as
    in a serial run, so a module-scoped live server starts once; but each test of
    tests/reliability/ is a unit of its own, so that the soak of each database runs on its own
    worker. Units go out in collection order (--no-loadscope-reorder): heavy tests first."""

    def _split_scope(self, nodeid: str) -> str:
        if nodeid.startswith("tests/reliability/"):
            return nodeid
        return super()._split_scope(nodeid)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadScopeScheduling | None:
    if config.getvalue("dist") != "loadscope":
        return None  # another --dist asked for on the command line
    return ModulesAndReliabilityTests(config, log)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per test process; each test gets a copy (migrating costs
    ~1 s). Under pytest-xdist each worker has its own tmp_path_factory, so its own template."""
    path = tmp_path_factory.mktemp("template") / "botstore.db"
    _run(_migrate_url(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    """A PostgreSQL database migrated once per test process (names are random, so xdist
    workers never share one), and the copies of it handed to tests (tests/databases.py)."""
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: " + NO_POSTGRES)
        pytest.skip(NO_POSTGRES)
    databases = PostgresDatabases(POSTGRES_URL)
    try:
        _run(databases.create_template(_migrate_url))
        yield databases
    finally:
        _run(databases.drop_all())


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


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database of each engine, as fresh as a new copy of the template."""
    if request.param == "sqlite":
        path = tmp_path / "botstore.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite+aiosqlite:///{path}"
        yield url
        await assert_money_invariants(url)
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    name = await databases.take()
    try:
        url = with_database(POSTGRES_URL, name)
        yield url
        await assert_money_invariants(url)
    finally:
        databases.release(name)  # reset while the next test runs (tests/databases.py)


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
            # The suite talks English to fans who have typed nothing yet (welcome, unknown text);
            # tests/i18n covers the platform's zh_CN default.
            "language": "en",
        },
        # Past the budget a reply goes out as "success" and a customer-service message: on a
        # loaded machine a PostgreSQL message sometimes took longer than WeChat's 4.5 s, and a
        # test read "success". The suite checks behaviour, not timing; the budget's own tests
        # (tests/webhook/test_dedup.py) set theirs.
        server={"reply_budget_seconds": 60},
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
