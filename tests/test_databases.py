"""The tests' own databases (tests/databases.py): a PostgreSQL copy a test gave back is handed
to the next test as it would get a new one (also when reset in the background), and a copy whose
schema a test changed is dropped; a snapshot of either database restores into a fresh one."""

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import update
from sqlmodel import col, select

from botstore.clock import FrozenClock
from botstore.db import create_engine, session_factory
from botstore.models import Product
from botstore.seed import seed_demo
from tests.conftest import POSTGRES_URL
from tests.databases import (
    MAX_COPIES,
    Contents,
    PostgresDatabases,
    Snapshot,
    asyncpg_dsn,
    with_database,
)
from tests.helpers import digest

SIZES = (
    "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c "
    "WHERE c.relnamespace = 'public'::regnamespace ORDER BY c.relname"
)


async def connect(name: str) -> asyncpg.Connection:
    return await asyncpg.connect(asyncpg_dsn(with_database(POSTGRES_URL, name)))


async def state(name: str) -> tuple[Contents, list[tuple[str, int]]]:
    """The rows, sequences and table and index sizes of a database."""
    connection = await connect(name)
    try:
        return await Contents.read(connection), [
            tuple(row) for row in await connection.fetch(SIZES)
        ]
    finally:
        await connection.close()


async def seed(name: str) -> None:
    """What a test leaves in its copy: rows in most tables, sequences moved on."""
    engine = create_engine(with_database(POSTGRES_URL, name))
    try:
        async with session_factory(engine)() as session, session.begin():
            assert await seed_demo(session, now=FrozenClock().now())
    finally:
        await engine.dispose()


async def test_a_copy_given_back_is_handed_out_again_as_fresh_as_a_new_one(
    postgres_databases: PostgresDatabases,
) -> None:
    databases = postgres_databases
    used = await databases.take()
    # What a test leaves: rows in most tables, sequences moved on, and a connection (a killed
    # server's, say) holding an advisory lock, as the scheduler's leader does.
    await seed(used)
    left_open = await connect(used)
    await left_open.execute("SELECT pg_advisory_lock(42)")
    dirty, _ = await state(used)

    await databases.give_back(used)
    reused = await databases.take()
    new = await databases.copy()
    try:
        assert not await _alive(left_open), "the connection left open was ended"
        assert reused != used, "a reused copy goes under a new name (URL-keyed caches)"
        assert dirty != (await state(reused))[0]
        assert await state(reused) == await state(new)
        locked = await connect(reused)
        try:
            assert await locked.fetchval("SELECT pg_try_advisory_lock(42)")
        finally:
            await locked.close()
    finally:
        left_open.terminate()
        await databases.give_back(reused)
        await databases.give_back(new)


async def test_a_released_copy_is_reset_in_the_background_and_waited_for(
    postgres_databases: PostgresDatabases,
) -> None:
    """`release` (what the database_url fixture does after a test) resets the copy in another
    thread; with every copy of the process in use or being reset, `take` waits for the reset."""
    databases = postgres_databases
    for reset in list(databases.resetting):  # earlier tests' copies
        await asyncio.wrap_future(reset)
    held = []
    while databases.idle or len(databases.fingerprints) < MAX_COPIES:
        held.append(await databases.take())
    used = held.pop()
    await seed(used)
    dirty, _ = await state(used)

    databases.release(used)
    assert databases.resetting, "reset in the background"
    reused = await databases.take()
    new = await databases.copy()
    try:
        assert reused != used and reused not in held
        assert not databases.resetting, "take waited for the reset"
        assert dirty != (await state(reused))[0]
        assert await state(reused) == await state(new)
    finally:
        for name in (*held, reused, new):
            databases.release(name)


async def _alive(connection: asyncpg.Connection) -> bool:
    try:
        await connection.fetchval("SELECT 1")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        return False
    return True


@pytest.mark.parametrize(
    "change",
    [
        "ALTER TABLE fan ADD COLUMN test_only text",
        "CREATE INDEX ix_fan_test ON fan (openid)",
        "ALTER TABLE fan DROP CONSTRAINT uq_fan_openid",
        "CREATE TABLE scratch (id int)",
    ],
)
async def test_a_copy_whose_schema_a_test_changed_is_dropped(
    postgres_databases: PostgresDatabases, change: str
) -> None:
    databases = postgres_databases
    name = await databases.take()
    connection = await connect(name)
    try:
        await connection.execute(change)
    finally:
        await connection.close()
    dropped = databases.dropped

    await databases.give_back(name)

    assert databases.dropped == dropped + 1
    assert name not in databases.idle
    admin = await asyncpg.connect(asyncpg_dsn(POSTGRES_URL))
    try:
        assert not await admin.fetchval(
            "SELECT count(*) FROM pg_database WHERE datname = $1", name
        )
    finally:
        await admin.close()


async def test_a_snapshot_restored_into_a_fresh_database_holds_what_it_was_taken_from(
    database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Snapshot: a state a module builds once (tests/fuzz/test_json_bodies.py) handed to each
    of its tests in a fresh database."""
    now = FrozenClock().now()
    engine = create_engine(database_url)
    try:
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            assert await seed_demo(session, now=now)
            supplier = (await session.exec(select(Product).order_by(col(Product.id)))).first()
            assert supplier is not None
            session.add(
                Product(
                    store_id=supplier.store_id,
                    name="Resold",
                    price_fen=100,
                    supplier_product_id=supplier.id,
                    created_at=now,
                )
            )
        async with sessions() as session, session.begin():
            # On PostgreSQL the supplier's row moves past its resale listing's, which is
            # restored first (in physical order) and refers to it.
            await session.exec(
                update(Product).where(col(Product.id) == supplier.id).values(stock=7)
            )
        taken = await digest(sessions)
    finally:
        await engine.dispose()
    snapshot = await Snapshot.take(database_url)

    fresh_url, give_back = await fresh_database(database_url, request, tmp_path)
    try:
        await snapshot.restore(fresh_url)
        fresh = create_engine(fresh_url)
        try:
            assert await digest(session_factory(fresh)) == taken
            async with session_factory(fresh)() as session, session.begin():
                session.add(
                    Product(store_id=supplier.store_id, name="Next", price_fen=1, created_at=now)
                )
            # A duplicate key unless the sequences came back too.
        finally:
            await fresh.dispose()
    finally:
        await give_back()


async def fresh_database(
    like: str, request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[str, Callable[[], Awaitable[None]]]:
    """Another database of `like`'s kind, as a new test gets it; and how to give it back."""
    if like.startswith("sqlite"):
        path = tmp_path / "fresh.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}", _nothing
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    name = await databases.take()
    return with_database(POSTGRES_URL, name), lambda: databases.give_back(name)


async def _nothing() -> None:
    pass
