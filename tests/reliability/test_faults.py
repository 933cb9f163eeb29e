"""Faults: a server killed with SIGKILL under load and started again on the same database, and
the database cut off for a moment. Nothing is lost or done twice; the webhook answers 503 with
its reason while the database is away and serves again without a restart once it is back.

A payout run killed midway is tested in tests/test_scheduler.py
(test_a_payout_run_killed_midway_resumes_and_pays_every_holding_once), and the scheduler's
leader dying on PostgreSQL in test_one_of_two_servers_on_postgresql_runs_the_scheduler_and_...
"""

import asyncio
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from random import Random

import pytest
from aiohttp import web
from sqlalchemy import make_url, text

import botstore.db
from botstore.app import create_app
from botstore.clock import FrozenClock, wall_now
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.db import create_engine
from handlers import ROUTERS
from tests.conftest import POSTGRES_URL
from tests.databases import assert_money_invariants
from tests.helpers import probe
from tests.live import LiveServer
from tests.reliability.load import (
    Account,
    Mix,
    Results,
    check_exactly_once,
    check_replies,
    check_stock,
    client_session,
    report,
    send_all,
    server_settings,
    setup_shops,
    stock_levels,
    summary,
    with_retries,
)

SEED = 7007
MESSAGES = int(os.environ.get("BOTSTORE_FAULT_MESSAGES", "1200"))
UNAVAILABLE = "database unavailable, try again"


async def kill_and_restart(
    server: LiveServer, results: Results, up: asyncio.Event, at: list[int]
) -> list[int]:
    """SIGKILL the server once `at[i]` sends were answered and start it again on the same port
    and database; returns how many sends had got no answer by each restart."""
    failed = []
    for threshold in at:
        while results.sent - results.failed < threshold:  # noqa: ASYNC110 (a counter to poll)
            await asyncio.sleep(0.01)
        up.clear()
        await asyncio.to_thread(server.kill)
        await asyncio.to_thread(server.start)
        failed.append(results.failed)
        up.set()
    return failed


@pytest.mark.heavy
async def test_a_server_killed_under_load_loses_nothing_and_does_nothing_twice(
    database_url: str, tmp_path: Path
) -> None:
    report(f"fault seed: {SEED}")
    rng = Random(SEED)
    server = LiveServer(tmp_path, **server_settings(database_url))
    server.start()
    results = Results()
    try:
        async with client_session() as http:
            wechat = Emulator(http, server.url, Account())
            mix = Mix(rng, fans=100, product_ids=[], start=int(wall_now().timestamp()))
            mix.product_ids = await setup_shops(wechat, mix, results)
            initial_stock = await stock_levels(database_url)
            originals = mix.first_topups()
            originals += mix.messages(round(MESSAGES / 1.1) - len(originals))
            items = with_retries(rng, originals, 0.1)

            started = time.perf_counter()
            up = asyncio.Event()
            up.set()
            kills = asyncio.create_task(
                kill_and_restart(server, results, up, [len(items) // 3, 2 * len(items) // 3])
            )
            # What gets no reply is sent again, with the same MsgId / CreateTime, once the
            # server is back: the platform's retries.
            await send_all(wechat, items, rng, results, concurrency=(16, 32, 64), server_up=up)
            failed_at_restarts = await kills
            report(summary(results, time.perf_counter() - started))
            report(f"sends without an answer by each restart: {failed_at_restarts}")
            assert 0 < failed_at_restarts[0] < failed_at_restarts[1], "a kill interrupted nothing"
    finally:
        server.stop()

    check_replies(results)
    kinds = await check_exactly_once(database_url, results)
    await check_stock(database_url, initial_stock)
    await assert_money_invariants(database_url)
    report(f"money moved by {kinds}")
    assert kinds.get("Topped", 0) and kinds.get("Order", 0), kinds


# --- the database briefly unavailable ---------------------------------------------------------


async def kept(database_url: str, fan: str, msg_ids: range) -> list[str]:
    """What the database holds of these messages: log rows, dedup keys, ledger transactions."""
    ours = {f"msg:{fan}:{msg_id}" for msg_id in msg_ids}
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT dedup_key FROM inbound_message"))
            claimed = await connection.execute(text("SELECT key FROM processed_message"))
            moved = await connection.execute(text("SELECT key FROM ledger_transaction"))
            keys = [row[0] for result in (rows, claimed, moved) for row in result]
            return [key for key in keys if key in ours or key.rsplit(":", 1)[0] in ours]
    finally:
        await engine.dispose()


def patient(config: Config) -> Config:
    # The reply budget is not what this is about: a reply past it would go to the outbox.
    return config.replace(server={"reply_budget_seconds": 60})


@asynccontextmanager
async def postgres_cut_off(database_url: str) -> AsyncIterator[None]:
    """No new connections to the test's own database, and its open ones terminated."""
    name = make_url(database_url).database
    assert name and name.startswith("botstore_test_"), "only ever the fixture's own database"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        yield
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        await admin.dispose()


async def wait_for_open_transaction(database_url: str) -> None:
    """Until a connection of the app sits inside a transaction (the slow handler's)."""
    name = make_url(database_url).database
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            for _ in range(600):
                found = await connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = :name AND state = 'idle in transaction'"
                    ),
                    {"name": name},
                )
                if found.scalar_one():
                    return
                await asyncio.sleep(0.05)
        raise AssertionError("the slow handler never opened its transaction")
    finally:
        await admin.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_postgres_cut_off_gets_503_and_recovers_without_a_restart(
    database_url: str, config: Config, clock: FrozenClock, aiohttp_client
) -> None:
    app = create_app(patient(config), clock=clock, routers=[*ROUTERS, probe])
    wechat = Emulator(await aiohttp_client(app), "/wechat", config.wechat, clock=clock)
    assert (await wechat.say("topup 10", fan="o_a")).content.startswith("Topped up")

    # One message is accepted (its key and log row committed) and mid-handling when the cut
    # comes.
    slow = asyncio.create_task(wechat.say("slow 3", fan="o_a", msg_id=500))
    await wait_for_open_transaction(database_url)
    async with postgres_cut_off(database_url):
        refused = [await slow]
        refused += [await wechat.say("topup 5", fan="o_a", msg_id=501 + n) for n in range(3)]
    assert [(r.status, r.body) for r in refused] == [(503, UNAVAILABLE)] * 4

    # Nothing of the refused ones was kept: no log row, no dedup key, no money. The accepted
    # one keeps its log row and key (still accepted), but moved no money.
    assert await kept(database_url, "o_a", range(501, 504)) == []
    assert await kept(database_url, "o_a", range(500, 501)) == ["msg:o_a:500", "msg:o_a:500"]

    # Back without a restart: the platform's retries run once each, new messages run.
    assert (await wechat.say("slow 0", fan="o_a", msg_id=500)).content == "done slowly"
    for n in range(3):
        retried = await wechat.say("topup 5", fan="o_a", msg_id=501 + n)
        assert retried.content.startswith("Topped up ¥5.00"), retried.describe()
    assert (await wechat.say("balance", fan="o_a")).content == "Your balance: ¥26.00"


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # The app waits this long for SQLite's write lock (and for its one pooled connection).
    monkeypatch.setattr(botstore.db, "SQLITE_BUSY_TIMEOUT_MS", 300)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_locked_gets_503_and_recovers_without_a_restart(
    database_url: str, config: Config, clock: FrozenClock, aiohttp_client, short_busy_timeout
) -> None:
    app: web.Application = create_app(patient(config), clock=clock)
    wechat = Emulator(await aiohttp_client(app), "/wechat", config.wechat, clock=clock)
    assert (await wechat.say("topup 10", fan="o_a")).content.startswith("Topped up")

    # Another process holds the write lock past the busy timeout.
    holder = sqlite3.connect(make_url(database_url).database or "", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        refused = [await wechat.say("topup 5", fan="o_a", msg_id=501 + n) for n in range(3)]
        refused += await asyncio.gather(
            *(wechat.say("topup 5", fan="o_b", msg_id=601 + n) for n in range(3))
        )
    finally:
        holder.rollback()
        holder.close()
    assert [(r.status, r.body) for r in refused] == [(503, UNAVAILABLE)] * 6

    assert await kept(database_url, "o_a", range(501, 504)) == []
    assert await kept(database_url, "o_b", range(601, 604)) == []

    for n in range(3):
        retried = await wechat.say("topup 5", fan="o_a", msg_id=501 + n)
        assert retried.content.startswith("Topped up ¥5.00"), retried.describe()
    assert (await wechat.say("balance", fan="o_a")).content == "Your balance: ¥25.00"
    assert (await wechat.say("balance", fan="o_b")).content == "Your balance: ¥0.00"
