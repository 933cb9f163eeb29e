"""`botstore serve --workers N`: N processes on one port over PostgreSQL, one scheduler leader,
stopped together; refused on SQLite."""

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from botstore.cli import main
from botstore.console.client import Emulator
from botstore.db import create_engine
from tests.conftest import assert_money_invariants
from tests.live import LiveServer
from tests.reliability.load import Account, client_session, server_settings


def test_several_workers_on_sqlite_are_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOTSTORE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/w.db")
    assert main(["serve", "--workers", "2"]) == 2
    error = capsys.readouterr().err
    assert "server.workers: 2 workers need PostgreSQL (database.url)" in error
    assert not (tmp_path / "w.db").exists()


@pytest.fixture
async def two_workers(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """`serve` with two workers on the test's PostgreSQL database, both serving; stopped after
    the test, and no worker left behind."""
    server = LiveServer(tmp_path, **server_settings(database_url, BOTSTORE_SERVER_WORKERS="2"))
    server.start()
    workers = []
    try:
        await asyncio.to_thread(server.wait_listening, 2)
        workers = server.workers()
        yield server
    finally:
        await asyncio.to_thread(server.stop)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_workers_share_the_port_elect_one_scheduler_and_stop_together(
    database_url: str, two_workers: LiveServer
) -> None:
    server = two_workers
    workers = server.workers()
    assert len(workers) == 2
    try:
        async with client_session() as http:
            wechat = Emulator(http, server.url, Account())
            fans = [f"o_w{n}" for n in range(24)]
            topped = await asyncio.gather(
                *(wechat.say("topup 2", fan=fan, msg_id=n) for n, fan in enumerate(fans))
            )
            assert {reply.content for reply in topped} == {"Topped up ¥2.00. Balance: ¥2.00"}
            # Each fan's retry, on whichever worker it lands, gets the first reply only.
            again = await asyncio.gather(
                *(wechat.say("topup 2", fan=fan, msg_id=n) for n, fan in enumerate(fans))
            )
            assert [r.content for r in again] == [r.content for r in topped]
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                leaders = await connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        "AND database = (SELECT oid FROM pg_database "
                        "WHERE datname = current_database())"
                    )
                )
                assert leaders.scalar_one() == 1
        finally:
            await engine.dispose()
    finally:
        await asyncio.to_thread(server.stop)
    assert server.process is not None and server.process.returncode == 0
    assert not await asyncio.to_thread(alive, workers)
    await assert_money_invariants(database_url)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_worker_dying_stops_the_others_with_an_error(two_workers: LiveServer) -> None:
    server = two_workers
    first, second = server.workers()
    os.kill(first, signal.SIGKILL)
    assert server.process is not None
    assert await asyncio.to_thread(server.process.wait, 60) == 1
    assert not await asyncio.to_thread(alive, [second])
    assert "exited with code -9; stopping the others" in server.log_path.read_text()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_workers_of_a_killed_server_stop_instead_of_serving_on(
    two_workers: LiveServer,
) -> None:
    server = two_workers
    workers = server.workers()
    await asyncio.to_thread(server.kill)
    for _ in range(600):
        if not await asyncio.to_thread(alive, workers):
            break
        await asyncio.sleep(0.05)
    assert not await asyncio.to_thread(alive, workers)
    assert "is gone; stopping this worker" in server.log_path.read_text()


def alive(pids: list[int]) -> bool:
    return any(Path(f"/proc/{pid}").exists() for pid in pids)
