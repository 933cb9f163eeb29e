"""Engines, sessions and migrations for SQLite (default) and PostgreSQL."""

import asyncio
import contextlib
import functools
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from functools import partial
from threading import Thread
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import aiosqlite
import orjson
from sqlalchemy import bindparam, event, make_url, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.util import await_
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.models import UTCDateTime
from botstore.paths import ALEMBIC_INI, MIGRATIONS

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

_T = TypeVar("_T")
_M = TypeVar("_M")
_R = TypeVar("_R", AsyncConnection, AsyncSession)

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
        connect_args = {"cached_statements": SQLITE_CACHED_STATEMENTS}
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
    # (SQLITE_BUSY). BEGIN IMMEDIATE makes writers wait for the lock up front instead (see
    # _InlineConnection), and a duplicate message wait for the first copy's commit. The recipe
    # is SQLAlchemy's own ("Serializable isolation / Savepoints / Transactional DDL" in the
    # SQLite dialect docs).
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        # Straight to the driver: every message begins two transactions.
        await_(connection.connection.driver_connection.call(_begin_immediate))


def _begin_immediate(connection: sqlite3.Connection) -> None:
    connection.execute("BEGIN IMMEDIATE")


def _one_trip_per_statement(engine: AsyncEngine) -> None:
    # aiosqlite runs sqlite3 on a thread of its own; SQLAlchemy's adapter makes four trips to it
    # per statement (open a cursor, execute, fetch, close), each a thread wake-up and an event
    # loop callback that cost more than the statement itself. Connections made here run each
    # statement on the event loop instead (see _InlineConnection). SQLAlchemy's own connect
    # arguments are kept ("do_connect" gets them).
    @event.listens_for(engine.sync_engine, "do_connect")
    def connect(dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        return dialect.loaded_dbapi.connect(*cargs, async_creator_fn=_connect, **cparams)


def _connect(database: str, *, iter_chunk_size: int = 64, **kwargs: Any) -> aiosqlite.Connection:
    # aiosqlite.connect() with our Connection class; like SQLAlchemy, don't let its thread keep
    # the interpreter alive at exit. SQLite's own busy handler would sleep on the event loop:
    # it is off (timeout 0), and _InlineConnection waits for the lock without blocking.
    kwargs.update(timeout=0, check_same_thread=False)
    connection = _InlineConnection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size)
    thread = connection if isinstance(connection, Thread) else connection._thread
    thread.daemon = True
    return connection


class _InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection that runs statements on the event loop, not on its thread.

    A statement of the webhook's hot path takes SQLite microseconds; the trip to aiosqlite's
    thread and back (a queue, a wake-up, a callback through the loop's self-pipe) cost more
    CPU than the statement and, under load, waited on the GIL. The thread stays for opening
    and closing the connection and for executemany, the batch jobs' 100,000-row writes, which
    would hold the loop too long.

    Never blocking the loop also means never sleeping in SQLite's busy handler: while another
    process holds the write lock, SQLITE_BUSY comes back at once and the statement is retried
    after an asyncio sleep (backing off to 50 ms), for as long as the busy timeout. A statement
    refused with SQLITE_BUSY did nothing, so running it again is what the busy handler does.
    """

    def cursor(self) -> "_OneTripCursor":  # type: ignore[override]
        return _OneTripCursor(self)

    async def call(self, fn: Callable[..., _T], *args: Any) -> _T:
        """`fn(the sqlite3 connection, *args)`, run on the loop like a statement; its errors
        as SQLAlchemy raises the driver's (OperationalError, IntegrityError, ...)."""
        try:
            return await self._run(fn, (self._connection, *args), {}, inline=True)
        except sqlite3.Error as error:
            raise DBAPIError.instance(None, None, error, sqlite3.Error) from error

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await self._run(fn, args, kwargs, inline=True)

    async def _run(self, fn: Any, args: Any, kwargs: Any, *, inline: bool) -> Any:
        deadline, pause = None, 0.001
        while True:
            try:
                if inline and self._connection is not None:
                    return fn(*args, **kwargs)
                return await super()._execute(fn, *args, **kwargs)
            except sqlite3.OperationalError as error:
                if getattr(error, "sqlite_errorcode", 0) & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
                loop = asyncio.get_running_loop()
                if deadline is None:
                    deadline = loop.time() + SQLITE_BUSY_TIMEOUT_MS / 1000
                if loop.time() + pause > deadline:
                    raise
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.05)


class _OneTripCursor:
    """The part of aiosqlite's cursor that SQLAlchemy uses: each statement executed and its
    rows fetched in one call (on the loop; executemany on the connection's thread)."""

    def __init__(self, connection: _InlineConnection) -> None:
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

        connection = self._connection
        result = await connection._run(run, (connection._conn,), {}, inline=method == "execute")
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


@contextlib.asynccontextmanager
async def closing(resource: _R) -> AsyncIterator[_R]:
    """`async with resource` for an AsyncConnection or AsyncSession, closed as `close` does."""
    try:
        yield resource
    finally:
        await close(resource)


async def close(resource: AsyncConnection | AsyncSession) -> None:
    """Close `resource` as its `async with` exit does. That exit runs the close in a task of its
    own, shielded, so that a cancellation can't interrupt it half-way: two more turns of the
    event loop per close, and every message closes a connection and a session. On SQLite the
    close never waits (statements run on the loop: _InlineConnection), so no cancellation can
    reach it and it is awaited directly; elsewhere it is left to the exit."""
    bind = resource.bind if isinstance(resource, AsyncSession) else resource
    if bind is not None and bind.dialect.name == "sqlite":
        await resource.close()
    else:
        await resource.__aexit__(None, None, None)


async def sqlite_call(connection: AsyncConnection, fn: Callable[..., _T], *args: Any) -> _T:
    """Run `fn(sqlite3 connection, *args)` in `connection`'s transaction, on the driver.

    For the few statements every message runs (its dedup key, its log row): SQLAlchemy's
    execution of a statement costs several times SQLite's. `fn` must only run statements (the
    transaction is SQLAlchemy's), and may be run again while another process holds the lock.
    """
    # The pooled connection is at hand once the transaction has begun: no greenlet trip as
    # `await connection.get_raw_connection()` would make.
    return await connection.sync_connection.connection.driver_connection.call(fn, *args)


async def connection_of(session: AsyncSession) -> AsyncConnection:
    """`await session.connection()`, without its greenlet trip when the session is bound to a
    connection already in its transaction (the dispatcher's session for each message)."""
    bind = session.bind
    if isinstance(bind, AsyncConnection) and bind.in_transaction():
        return bind
    return await session.connection()


async def scalar(session: AsyncSession, statement: Any, **params: Any) -> Any:
    """The first column of `statement`'s first row, or None, in the session's transaction.

    For the reads every message makes (a balance, whether a conversation is open). On SQLite
    the statement, compiled once, goes straight to the driver; so only for columns SQLite
    returns as they are (integers, text), not dates or JSON.
    """
    connection = await connection_of(session)
    if connection.dialect.name != "sqlite":
        return (await connection.execute(statement, params)).scalar()
    sql, names = compiled_for_sqlite(statement, connection.dialect)
    return await sqlite_call(connection, _first_value, sql, tuple(params[n] for n in names))


async def rowcount(session: AsyncSession, statement: Any, **params: Any) -> int:
    """Run the UPDATE or DELETE `statement` in the session's transaction; the rows it changed.

    For the conditional UPDATEs of a purchase (stock, coupons): as `scalar`, compiled once and
    straight to the driver on SQLite. A Core statement: objects loaded in the session do not see
    the change, so callers must not read the columns it writes from them.
    """
    connection = await connection_of(session)
    if connection.dialect.name != "sqlite":
        return (await connection.execute(statement, params)).rowcount
    sql, names = compiled_for_sqlite(statement, connection.dialect)
    return await sqlite_call(connection, _changes, sql, tuple(params[n] for n in names))


def _changes(connection: sqlite3.Connection, sql: str, parameters: tuple[Any, ...]) -> int:
    return connection.execute(sql, parameters).rowcount


@functools.lru_cache(maxsize=256)  # a handful of statements per engine
def compiled_for_sqlite(statement: Any, dialect: Any) -> tuple[str, tuple[str, ...]]:
    """`statement`'s SQL for SQLite's driver and the names of its parameters, in order;
    compiled once (for `sqlite_call` functions that run Core statements)."""
    compiled = statement.compile(dialect=dialect)
    return compiled.string, tuple(compiled.positiontup or ())


def _first_value(connection: sqlite3.Connection, sql: str, parameters: tuple[Any, ...]) -> Any:
    row = connection.execute(sql, parameters).fetchone()
    return None if row is None else row[0]


async def get(session: AsyncSession, model: type[_M], ident: Any) -> _M | None:
    """`session.get(model, ident)`: the object already in the session, else its row read with
    a Core statement (on SQLite straight from the driver) and put into the session as the ORM's
    loader fills an instance (`load`). For the hot path's loads by primary key."""
    known = _in_session(session, model, ident)
    if known is not None:
        return known
    return await load(session, model, "id", ident)


def _in_session(session: AsyncSession, model: type[_M], ident: Any) -> _M | None:
    """The session's object of `model` with primary key `ident`, if it has one."""
    identity = model.__mapper__.identity_key_from_primary_key((ident,))  # type: ignore[attr-defined]
    return session.sync_session.identity_map.get(identity)  # type: ignore[no-any-return]


async def load(session: AsyncSession, model: type[_M], column: str, value: Any) -> _M | None:
    """The `model` whose unique `column` is `value`, as `session.exec(select(model).where(...))`
    gives it: an object of the session, persistent, its changes flushed as the ORM's are (the
    same object if the session has it already).

    Every message loads a few rows (its fan, a product, a store), and the ORM's query machinery
    cost several times the statement. So the row is read with a Core statement, compiled once,
    and the instance filled as the ORM's loader does. Only for models without relationships,
    as all of botstore's are.
    """
    if any(isinstance(pending, model) for pending in session.new):
        await session.flush()  # the ORM's query would find a pending one: it flushes first
    connection = await connection_of(session)
    dialect = connection.dialect
    loader = _row_loader(model.__table__, column, dialect)  # type: ignore[attr-defined]
    if dialect.name == "sqlite":
        row = await sqlite_call(connection, _first_row, loader.sql, (value,))
        if row is None:
            return None
        values = {
            key: (decode(stored) if decode else stored)
            for key, decode, stored in zip(loader.keys, loader.decoders, row, strict=True)
        }
    else:
        found = (await connection.execute(loader.statement, {"value": value})).first()
        if found is None:
            return None
        values = dict(zip(loader.keys, found, strict=True))
    known = _in_session(session, model, values["id"])
    if known is not None:  # loaded earlier in this session: the same object, as the ORM gives
        return known
    instance = model.__mapper__.class_manager.new_instance()  # type: ignore[attr-defined]
    instance.__dict__.update(values)
    make_transient_to_detached(instance)  # what was just read is its committed state
    session.add(instance)  # persistent: changes to it are flushed as the ORM's are
    return instance  # type: ignore[no-any-return]


async def insert(session: AsyncSession, instance: _M) -> _M:
    """`session.add(instance)` and a flush of it alone, for a new object of a model without
    relationships: one INSERT ... RETURNING its id, compiled once (on SQLite straight to the
    driver), and the object put into the session as `load` puts a row read, persistent, its
    later changes flushed as the ORM's are. The unit of work's flush cost several times the
    statement (every purchase inserts its order). What the row refers to must be in the
    database already: nothing else pending in the session is flushed first. Every column but
    the id is written as the object holds it: a None is NULL, never a server default."""
    mapper = instance.__mapper__  # type: ignore[attr-defined]
    connection = await connection_of(session)
    dialect = connection.dialect
    inserter = _row_inserter(mapper.local_table, dialect)
    values = [getattr(instance, key) for key in inserter.keys]
    if dialect.name == "sqlite":
        parameters = tuple(
            encode(value) if encode and value is not None else value
            for encode, value in zip(inserter.encoders, values, strict=True)
        )
        new_id = await sqlite_call(connection, _first_value, inserter.sql, parameters)
    else:
        parameters_by_name = dict(zip(inserter.keys, values, strict=True))
        result = await connection.execute(inserter.statement, parameters_by_name)
        new_id = result.scalar_one()
    instance.__dict__["id"] = new_id
    make_transient_to_detached(instance)  # what was just written is its committed state
    session.add(instance)
    return instance


class _RowInserter(NamedTuple):
    statement: Any  # INSERT every column but the id, RETURNING the id
    sql: str  # SQLite's: the statement compiled once
    keys: tuple[str, ...]
    encoders: tuple[Callable[[Any], Any] | None, ...]  # Python -> SQLite's stored values


@functools.lru_cache(maxsize=64)  # a few tables per dialect
def _row_inserter(table: Any, dialect: Any) -> _RowInserter:
    columns = [c for c in table.c if c.key != "id"]
    keys = tuple(c.key for c in columns)
    statement = (
        table.insert().values({c.key: bindparam(c.key) for c in columns}).returning(table.c.id)
    )
    if dialect.name != "sqlite":  # SQLAlchemy's execution encodes the values
        return _RowInserter(statement, "", keys, ())
    sql, names = compiled_for_sqlite(statement, dialect)
    assert names == keys, (names, keys)  # the parameters in column order
    encoders = tuple(c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns)
    return _RowInserter(statement, sql, keys, encoders)


class _RowLoader(NamedTuple):
    statement: Any  # SELECT every column WHERE `column` = :value
    sql: str  # SQLite's: the statement compiled once
    keys: tuple[str, ...]
    decoders: tuple[Callable[[Any], Any] | None, ...]  # SQLite's stored values -> Python


@functools.lru_cache(maxsize=64)  # a few tables and columns per dialect
def _row_loader(table: Any, column: str, dialect: Any) -> _RowLoader:
    configure_mappers()  # the instrumentation new_instance() relies on
    columns = list(table.c)
    statement = select(*columns).where(table.c[column] == bindparam("value"))
    keys = tuple(c.key for c in columns)
    if dialect.name != "sqlite":  # SQLAlchemy's result decodes the row
        return _RowLoader(statement, "", keys, ())
    return _RowLoader(
        statement,
        compiled_for_sqlite(statement, dialect)[0],
        keys,
        tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns),
    )


def _first_row(connection: sqlite3.Connection, sql: str, parameters: tuple[Any, ...]) -> Any:
    return connection.execute(sql, parameters).fetchone()


@functools.lru_cache(maxsize=64)  # one per engine
def sqlite_datetime(dialect: Any) -> Callable[[datetime], Any]:
    """A UTC datetime as SQLAlchemy writes it to SQLite (for `sqlite_call` parameters)."""
    return UTCDateTime()._cached_bind_processor(dialect)


def insert_or_skip(dialect_name: str, table: Any, *, unique: list[str] | None) -> Any:
    """INSERT that does nothing when a row with the same `unique` columns exists (rowcount 0);
    with None, when it would break any of the table's unique constraints.

    On PostgreSQL it first waits for an uncommitted insert of the same key to end, which is what
    makes a duplicate wait for the first copy.
    """
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=unique)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def alembic_config() -> "AlembicConfig":
    # Alembic (with Mako and Pygments, 11 MB) is imported only to migrate: `serve` migrates in
    # a process of its own (cli.prepare_database), so the server never loads it.
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to `revision` inside the running event loop."""

    from alembic import command

    def upgrade(connection: Connection) -> None:
        config = alembic_config()
        # Alembic's connection sharing: env.py uses this connection instead of making its own.
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)
