"""Engines, sessions and migrations for SQLite (default) and PostgreSQL."""

import json
import sqlite3
from functools import partial
from threading import Thread
from typing import Any

import aiosqlite
import orjson
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.paths import ALEMBIC_INI, MIGRATIONS

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Compiled statements kept per engine (SQLAlchemy's default is 500) and prepared statements per
# SQLite connection (pysqlite's default is 128). The defaults made a served process grow from
# 105 MB to 146 MB over 20,000 mixed messages, and still grow; these held it at 128 MB with the
# same throughput (bench/memory.py, bench/RESULTS.md).
QUERY_CACHE_SIZE = 100
SQLITE_CACHED_STATEMENTS = 32


def json_dumps(value: Any) -> str:
    """JSON columns' serializer: orjson, ten times faster than json.dumps, which still writes
    what orjson refuses (integers past 64 bits, lone surrogates). Both read back the same."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; on SQLite every transaction takes the write lock up front, and the
    transactions of one process queue in order for its single connection."""
    kwargs.setdefault("json_serializer", json_dumps)
    if url.startswith("sqlite"):
        # SQLite runs one write transaction at a time anyway. With several connections the
        # others wait in SQLite's busy handler, which sleeps and retries with back-off, not in
        # order: under load a few messages starved for seconds, past the reply budget. One
        # connection makes the process's transactions wait in the pool's FIFO queue instead,
        # as long as the busy timeout; BEGIN IMMEDIATE still orders them against other processes.
        # So never hold a connection (a session mid-transaction, an engine.connect()) while
        # waiting for another transaction of the same engine: that waits out pool_timeout, as it
        # waited out the busy timeout before.
        options: dict[str, Any] = {
            "pool_size": 1,
            "max_overflow": 0,
            "pool_timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
        }
        if is_memory(url):
            options = {}  # SQLAlchemy gives in-memory databases a single static connection
        connect_args = {
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            "cached_statements": SQLITE_CACHED_STATEMENTS,
        }
        engine = create_async_engine(
            url,
            connect_args=connect_args,
            query_cache_size=QUERY_CACHE_SIZE,
            **(options | kwargs),
        )
        _serialize_sqlite_transactions(engine)
        _one_trip_per_statement(engine)
        return engine
    return create_async_engine(
        url, pool_size=20, max_overflow=20, query_cache_size=QUERY_CACHE_SIZE, **kwargs
    )


def is_memory(url: str) -> bool:
    database = make_url(url).database
    return not database or database == ":memory:" or "mode=memory" in url


def _serialize_sqlite_transactions(engine: AsyncEngine) -> None:
    # pysqlite's deferred BEGIN lets two transactions read, then deadlock upgrading to write
    # (SQLITE_BUSY). BEGIN IMMEDIATE queues writers in SQLite's busy handler instead, and makes
    # a duplicate message wait for the first copy's commit. The recipe is SQLAlchemy's own
    # ("Serializable isolation / Savepoints / Transactional DDL" in the SQLite dialect docs).
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _one_trip_per_statement(engine: AsyncEngine) -> None:
    # aiosqlite runs sqlite3 on a thread of its own; SQLAlchemy's adapter makes four trips to it
    # per statement (open a cursor, execute, fetch, close), each a thread wake-up and an event
    # loop callback that cost more than the statement itself. Connections made here do the
    # four in one trip. SQLAlchemy's own connect arguments are kept ("do_connect" gets them).
    @event.listens_for(engine.sync_engine, "do_connect")
    def connect(dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        return dialect.loaded_dbapi.connect(*cargs, async_creator_fn=_connect, **cparams)


def _connect(database: str, *, iter_chunk_size: int = 64, **kwargs: Any) -> aiosqlite.Connection:
    # aiosqlite.connect() with our Connection class; like SQLAlchemy, don't let its thread keep
    # the interpreter alive at exit.
    connection = _OneTripConnection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size)
    thread = connection if isinstance(connection, Thread) else connection._thread
    thread.daemon = True
    return connection


class _OneTripConnection(aiosqlite.Connection):
    def cursor(self) -> "_OneTripCursor":  # type: ignore[override]
        return _OneTripCursor(self)


class _OneTripCursor:
    """The part of aiosqlite's cursor that SQLAlchemy uses; rows are fetched with the execute."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self._rows: list[Any] = []
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> "_OneTripCursor":
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = ()) -> "_OneTripCursor":
        await self._run("execute", sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Any) -> "_OneTripCursor":
        await self._run("executemany", sql, parameters)
        return self

    async def _run(self, method: str, sql: str, parameters: Any) -> None:
        def run(connection: sqlite3.Connection) -> tuple[Any, list[Any], int, int | None]:
            cursor = connection.cursor()
            try:
                getattr(cursor, method)(sql, parameters)
                # RETURNING rows are counted as they are fetched: fetch before rowcount.
                rows = cursor.fetchall() if cursor.description else []
                return cursor.description, rows, cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        result = await self._connection._execute(run, self._connection._conn)
        self.description, self._rows, self.rowcount, self.lastrowid = result

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = self.arraysize if size is None else size
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []


def insert_or_skip(dialect_name: str, table: Any, *, unique: list[str]) -> Any:
    """INSERT that does nothing when a row with the same `unique` columns exists (rowcount 0).

    On PostgreSQL it first waits for an uncommitted insert of the same key to end, which is what
    makes a duplicate wait for the first copy.
    """
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=unique)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def alembic_config() -> AlembicConfig:
    config = AlembicConfig(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to `revision` inside the running event loop."""

    def upgrade(connection: Connection) -> None:
        config = alembic_config()
        # Alembic's connection sharing: env.py uses this connection instead of making its own.
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)
