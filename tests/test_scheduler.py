"""The scheduler: background ticks, the CLI clock, a payout run killed midway, and one leader
among server processes on PostgreSQL."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from sqlalchemy import func
from sqlmodel import select

from bench.payouts import seed_holdings
from botstore.app import create_app
from botstore.clock import FrozenClock, SystemClock
from botstore.config import Config
from botstore.db import create_engine, migrate, session_factory
from botstore.keys import db_key, scheduler_key
from botstore.models import Account, Holding, OutboxMessage, Payout
from botstore.scheduler import template_renderer
from botstore.services import ledger
from tests.live import free_port
from tests.services.test_wealth import buy, make_product, rich_fan

ROOT = Path(__file__).resolve().parent.parent


async def test_the_background_tick_pays_what_fell_due(
    aiohttp_client, config: Config, clock: FrozenClock
) -> None:
    app = create_app(
        config.replace(scheduler={"tick_seconds": 0.05, "leader_retry_seconds": 0.05}),
        clock=clock,
    )
    client = await aiohttp_client(app)
    database = client.app[db_key]
    product_id = await make_product(database, clock)
    fan = await rich_fan(database, clock, "o_tick")
    holding = await buy(database, clock, fan, product_id, 10_000_00, "tick")
    assert client.app[scheduler_key].status()["leader"]

    clock.advance(timedelta(days=2))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        async with database() as session:
            paid = (
                await session.exec(select(Holding.paid_fen).where(Holding.id == holding.id))
            ).one()
        if paid == 200:
            break
        await asyncio.sleep(0.05)
    assert paid == 200


async def test_stopping_waits_for_the_background_job_in_flight(
    aiohttp_client, config: Config, clock: FrozenClock, monkeypatch
) -> None:
    """A heartbeat (or tick) holds a database connection: the app disposes of its engine only
    after stop(), so stop() must wait for it (a job cut off left a connection open)."""
    app = create_app(
        config.replace(scheduler={"tick_seconds": 3600, "leader_retry_seconds": 0.05}),
        clock=clock,
    )
    client = await aiohttp_client(app)
    scheduler = client.app[scheduler_key]
    reading, finished = asyncio.Event(), []

    async def slow_sync_clock() -> timedelta:
        async with scheduler.sessions() as session:
            await session.exec(select(func.count()).select_from(Holding))
            reading.set()
            await asyncio.sleep(0.3)
        finished.append(True)
        return timedelta()

    monkeypatch.setattr(scheduler, "sync_clock", slow_sync_clock)
    await asyncio.wait_for(reading.wait(), timeout=10)
    await scheduler.stop()
    assert finished == [True]


async def test_a_disabled_scheduler_still_advances_but_never_ticks(
    aiohttp_client, config: Config, clock: FrozenClock
) -> None:
    app = create_app(
        config.replace(scheduler={"enabled": False, "tick_seconds": 0.01}), clock=clock
    )
    client = await aiohttp_client(app)
    database = client.app[db_key]
    product_id = await make_product(database, clock)
    fan = await rich_fan(database, clock, "o_off")
    await buy(database, clock, fan, product_id, 10_000_00, "off")
    clock.advance(timedelta(days=1))
    await asyncio.sleep(0.2)
    assert client.app[scheduler_key].status() | {"jobs": []} == {
        "enabled": False,
        "leader": False,
        "pid": os.getpid(),
        "jobs": [],
    }
    async with database() as session:
        assert (await session.exec(select(func.count()).select_from(Payout))).one() == 0
    _, _, ran = await client.app[scheduler_key].advance(timedelta())
    assert [r.job for r in ran] == ["wealth.pay_dividends"]


def run_cli(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "botstore", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def test_the_cli_clock_shows_and_advances_the_shared_offset(tmp_path: Path) -> None:
    env = os.environ | {"BOTSTORE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/c.db"}
    assert run_cli(env, "migrate").returncode == 0
    shown = run_cli(env, "clock", "show")
    assert shown.returncode == 0 and "(offset 0:00:00)" in shown.stdout
    advanced = run_cli(env, "clock", "advance", "30d")
    assert advanced.returncode == 0, advanced.stderr
    assert "(offset 30 days, 0:00:00)" in advanced.stdout
    again = run_cli(env, "clock", "advance", "12h")
    assert "(offset 30 days, 12:00:00)" in again.stdout
    bad = run_cli(env, "clock", "advance", "3w")
    assert bad.returncode == 2
    assert bad.stderr == "botstore clock: '3w' is not <N>d or <N>h, e.g. 30d\n"


HOLDINGS = 3000
PERIODS_DUE = 2


async def _seed_due_holdings(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
        # Started two days and an hour ago by the wall clock the subprocess will read.
        started = SystemClock().now() - timedelta(days=PERIODS_DUE, hours=1)
        await seed_holdings(engine, holdings=HOLDINGS, started_at=started)
    finally:
        await engine.dispose()


async def _payout_state(url: str) -> tuple[int, list[int], list[int], int, int]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            payouts = (await session.exec(select(func.count()).select_from(Payout))).one()
            periods = (await session.exec(select(Holding.next_period))).all()
            wallets = (
                await session.exec(select(Account.balance_fen).where(Account.kind == "wallet"))
            ).all()
            outbox = (await session.exec(select(func.count()).select_from(OutboxMessage))).one()
            return payouts, list(periods), list(wallets), outbox, await ledger.imbalance(session)
    finally:
        await engine.dispose()


def _count_payouts(path: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(path, timeout=5) as connection:
            return connection.execute("SELECT count(*) FROM payout").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_a_payout_run_killed_midway_resumes_and_pays_every_holding_once(tmp_path: Path) -> None:
    path = tmp_path / "kill.db"
    url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(_seed_due_holdings(url))
    env = os.environ | {
        "BOTSTORE_DATABASE_URL": url,
        "BOTSTORE_SCHEDULER_BATCH_SIZE": "10",  # 10 holdings a transaction: many commits
    }
    total = HOLDINGS * PERIODS_DUE
    process = subprocess.Popen(
        [sys.executable, "-m", "botstore", "clock", "run"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while _count_payouts(path) < total // 5 and time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it could be killed"
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)

    payouts, _, _, outbox, imbalance = asyncio.run(_payout_state(url))
    assert 0 < payouts < total, "killed midway"
    # A batch is 10 holdings, each caught up to the instant being run (one or both periods,
    # depending on where the run was): only whole batches are kept.
    assert payouts % 10 == 0, "only whole batches were kept"
    assert outbox == payouts and imbalance == 0

    rerun = run_cli(env, "clock", "run")
    assert rerun.returncode == 0, rerun.stderr
    payouts, periods, wallets, outbox, imbalance = asyncio.run(_payout_state(url))
    assert payouts == outbox == total
    assert set(periods) == {PERIODS_DUE + 1}
    assert set(wallets) == {PERIODS_DUE * 100}  # 1.00 a day each, paid exactly once
    assert imbalance == 0
    assert run_cli(env, "clock", "run").stdout.count("wealth.pay_dividends") == 0


def _clock(port: int, token: str) -> dict[str, object] | None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/admin/api/clock", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
            return json.loads(response.read())
    except OSError:
        return None


def _wait(predicate, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


# On SQLite one process is the assumption: it always leads.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_one_of_two_servers_on_postgresql_runs_the_scheduler_and_another_takes_over(
    database_url: str, tmp_path: Path
) -> None:
    ports = [free_port(), free_port()]
    processes = []
    logs = []
    for index, port in enumerate(ports):
        env = os.environ | {
            "BOTSTORE_DATABASE_URL": database_url,
            "BOTSTORE_DATABASE_SEED_DEMO": "false",
            "BOTSTORE_SERVER_PORT": str(port),
            "BOTSTORE_ADMIN_TOKEN": "leadertest",
            "BOTSTORE_SCHEDULER_TICK_SECONDS": "0.2",
            "BOTSTORE_SCHEDULER_LEADER_RETRY_SECONDS": "0.2",
        }
        log = (tmp_path / f"serve{index}.log").open("w")
        logs.append(log)
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "botstore", "serve"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        assert _wait(lambda: all(_clock(port, "leadertest") for port in ports)), [
            (tmp_path / f"serve{i}.log").read_text() for i in range(2)
        ]
        time.sleep(1)  # a few leadership retries
        states = [_clock(port, "leadertest") for port in ports]
        leaders = [s["scheduler"]["leader"] for s in states]  # type: ignore[index]
        assert sorted(leaders) == [False, True]
        leader = leaders.index(True)
        assert states[leader]["scheduler"]["pid"] == processes[leader].pid  # type: ignore[index]

        os.kill(processes[leader].pid, signal.SIGKILL)
        processes[leader].wait(timeout=10)
        other = ports[1 - leader]
        assert _wait(
            lambda: (_clock(other, "leadertest") or {}).get("scheduler", {}).get("leader")
        )
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        for log in logs:
            log.close()


def test_each_notification_renders_from_its_own_values_only() -> None:
    """The renderer keeps one Jinja context per template: no render may see another's values."""
    render = template_renderer()
    values = {
        "product_name": "Steady 30",
        "holding_id": 7,
        "period": 3,
        "periods": 30,
        "amount_fen": 105,
        "paid_fen": 315,
        "locale": "en",  # the fan's language
    }
    assert render("notifications/dividend.txt", values) == (
        "Dividend ¥1.05 from Steady 30 (holding #7, 3/30) is in your wallet. Paid so far: ¥3.15."
    )
    assert render("notifications/dividend.txt", values | {"amount_fen": 7, "paid_fen": 7}) == (
        "Dividend ¥0.07 from Steady 30 (holding #7, 3/30) is in your wallet. Paid so far: ¥0.07."
    )
    # A fan who never chose a language reads the account's (config.toml: zh_CN).
    assert render("notifications/dividend.txt", values | {"locale": None}) == (
        "Steady 30 的分红 ¥1.05 已到账（持仓 #7，第 3/30 期）。累计已付：¥3.15。"
    )
    assert render("notifications/dividend.txt", values) == (
        "Dividend ¥1.05 from Steady 30 (holding #7, 3/30) is in your wallet. Paid so far: ¥3.15."
    )
    with pytest.raises(UndefinedError, match="product_name"):
        render(
            "notifications/dividend.txt", {k: v for k, v in values.items() if k != "product_name"}
        )
