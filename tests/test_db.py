"""The SQLite engine: one connection per process, transactions queued in arrival order,
statements run on the event loop (waiting for another process's lock without blocking it) with
the cursor results DB-API code expects; and JSON columns on both engines."""

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from botstore.db import close, closing, create_engine, session_factory
from botstore.models import AccountSetting


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)"))
    yield engine
    await engine.dispose()


async def test_transactions_of_one_process_run_one_at_a_time_in_arrival_order(
    engine: AsyncEngine,
) -> None:
    started: list[int] = []
    inside = 0

    async def write(number: int) -> None:
        nonlocal inside
        async with engine.begin() as connection:
            inside += 1
            assert inside == 1, "two transactions at once"
            started.append(number)
            await connection.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": number})
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(write(number) for number in range(40)))

    # Not in SQLite's busy handler, which retries with back-off in no particular order.
    assert started == list(range(40))


async def test_statements_run_on_the_event_loop_and_executemany_on_the_thread(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    original = sqlite3.Cursor.execute

    class Recording(sqlite3.Cursor):
        def execute(self, *args: object) -> sqlite3.Cursor:
            threads.append(threading.current_thread().name)
            return original(self, *args)

        def executemany(self, *args: object) -> sqlite3.Cursor:
            threads.append(threading.current_thread().name)
            return super().executemany(*args)

    async with engine.begin() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        monkeypatch.setattr(raw, "_connection", _CursorFactory(raw._connection, Recording))
        rows = (await connection.execute(text("SELECT 1 UNION ALL SELECT 2"))).all()
        await connection.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": 1}, {"v": 2}])
        monkeypatch.undo()

    assert rows == [(1,), (2,)]
    loop_thread = threading.current_thread().name
    assert threads[0] == loop_thread
    assert threads[1] != loop_thread


class _CursorFactory:
    """A sqlite3 connection whose cursors are of the given class."""

    def __init__(self, connection: sqlite3.Connection, cursor_class: type) -> None:
        self._connection = connection
        self._cursor_class = cursor_class

    def cursor(self) -> sqlite3.Cursor:
        return self._connection.cursor(self._cursor_class)

    def __getattr__(self, name: str) -> object:
        return getattr(self._connection, name)


async def test_waiting_for_another_process_s_write_lock_does_not_block_the_loop(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def write() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (v) VALUES (1)"))

    ticker = asyncio.create_task(tick())
    writer = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    assert not writer.done()  # still waiting for the lock...
    assert ticks >= 10  # ...while the loop went on
    other.execute("COMMIT")
    await asyncio.wait_for(writer, 5)
    ticker.cancel()
    other.close()
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 1


async def test_closing_a_connection_and_its_session_never_yields_to_the_loop(
    engine: AsyncEngine,
) -> None:
    # db.close skips the shielded task SQLAlchemy's `async with` exit closes in (every message
    # closes both): safe only because nothing in the close waits, so no cancellation can land
    # half-way and leave the pool's one connection checked out.
    loop_turned = asyncio.Event()
    connection = await engine.connect()
    session = session_factory(engine)(bind=connection)
    async with session.begin():
        await session.exec(text("INSERT INTO t (v) VALUES (1)"))  # type: ignore[call-overload]
    asyncio.get_running_loop().call_soon(loop_turned.set)
    await close(session)
    await close(connection)
    assert not loop_turned.is_set()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    async with closing(await engine.connect()) as again:  # and the connection is reusable
        assert (await again.execute(text("SELECT v FROM t"))).scalar_one() == 1


async def test_the_cursor_reports_rows_rowcount_and_lastrowid(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO t (v) VALUES (7)"))
        assert inserted.lastrowid == 1
        many = await connection.execute(
            text("INSERT INTO t (v) VALUES (:v)"), [{"v": v} for v in range(8, 12)]
        )
        assert many.rowcount == 4
        returned = await connection.execute(
            text("INSERT INTO t (v) VALUES (20), (21) RETURNING id, v")
        )
        assert sorted(returned.all()) == [(6, 20), (7, 21)]
        updated = await connection.execute(text("UPDATE t SET v = v + 1 WHERE v >= 10"))
        assert updated.rowcount == 4
        missed = await connection.execute(text("UPDATE t SET v = 0 WHERE id = 99"))
        assert missed.rowcount == 0
        streamed = await connection.stream(text("SELECT v FROM t ORDER BY id"))
        values = [row.v async for row in streamed]
    assert values == [7, 8, 9, 11, 12, 21, 22]


@pytest.mark.parametrize(
    "value",
    [
        {"text": "¥1.00 到账", "nested": {"list": [1, "two", None, True]}},
        {"big": 2**70, "negative": -(2**70)},  # past orjson's 64 bits: json.dumps writes it
        {"lone surrogate": "\ud800"},  # orjson refuses it too
    ],
    ids=["unicode", "big-integers", "surrogate"],
)
async def test_json_columns_keep_every_value_json_can_write(database, value) -> None:
    async with database() as session, session.begin():
        session.add(
            AccountSetting(name="x", value=value, updated_at=datetime(2026, 1, 1, tzinfo=UTC))
        )
    async with database() as session:
        stored = await session.get(AccountSetting, "x")
    assert stored is not None and stored.value == value
