"""The tests' databases: the money invariants checked after each test, and the PostgreSQL
databases handed to tests, each as it was when freshly copied from the migrated template.

Copying a PostgreSQL database per test (CREATE DATABASE ... TEMPLATE) and dropping it afterwards
cost 0.5-1.5 s a test, nearly all in the checkpoint every DROP DATABASE forces. So each test
process keeps its copies: after a test its copy is put back as the template left it (its tables
emptied, the migrations' rows and the sequences restored) and the next test gets it. A copy whose
schema a test changed (the migration tests) is dropped instead, as is one that fails to reset.

The reset itself (0.3-0.7 s: TRUNCATE rebuilds every index of the tables it empties, and each new
index file is fsynced) waits on the disk, not on a core: so after a test its copy is reset in a
thread of the process's own (`release`), while the next test runs on another copy, and `take`
waits for a reset only when all of a process's copies (MAX_COPIES) are being reset.

A state that costs a module more to build than its tests cost to run can be built once and
handed to each test in its fresh database (`Snapshot`).
"""

import asyncio
import graphlib
import secrets
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy import make_url

from botstore.models import AccountKind


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# --- the money invariants ---------------------------------------------------------------------

IMBALANCE = "SELECT coalesce(sum(amount_fen), 0) FROM ledger_entry"
TOTAL = "SELECT coalesce(sum(balance_fen), 0) FROM account"
NEGATIVE = (
    f"SELECT id, kind, balance_fen FROM account "
    f"WHERE kind <> '{AccountKind.OUTSIDE}' AND balance_fen < 0 ORDER BY id"
)
DRIFTED = (
    "SELECT a.id FROM account a LEFT JOIN "
    "(SELECT account_id, sum(amount_fen) AS fen FROM ledger_entry GROUP BY account_id) m "
    "ON m.account_id = a.id WHERE a.balance_fen <> coalesce(m.fen, 0) ORDER BY a.id"
)


async def assert_money_invariants(url: str) -> None:
    """After every database test: the ledger balances and no account but the outside is negative.

    Plain SQL through the driver: a SQLAlchemy engine per check cost more than the check."""
    if url.startswith("sqlite"):
        path = make_url(url).database or ""
        with closing(sqlite3.connect(path)) as connection:
            imbalance, total = (connection.execute(q).fetchone()[0] for q in (IMBALANCE, TOTAL))
            negative = connection.execute(NEGATIVE).fetchall()
            drifted = [row[0] for row in connection.execute(DRIFTED)]
    else:
        connection = await asyncpg.connect(asyncpg_dsn(url))
        try:
            imbalance = await connection.fetchval(IMBALANCE)
            total = await connection.fetchval(TOTAL)
            negative = [tuple(row) for row in await connection.fetch(NEGATIVE)]
            drifted = [row[0] for row in await connection.fetch(DRIFTED)]
        finally:
            await connection.close()
    assert imbalance == 0, "ledger entries do not sum to zero"
    assert not negative, f"negative balances (id, kind, fen): {negative}"
    assert total == 0, "account balances do not sum to zero"
    assert not drifted, f"balances that differ from their entries: accounts {drifted}"


# --- PostgreSQL -------------------------------------------------------------------------------

# What DDL, ALTER DATABASE or a prepared transaction would change in a database's catalogs: new
# rows, new row versions (xmin), other definitions. Filling and emptying tables changes none of it
# (TRUNCATE gives pg_class rows new row versions, hence no xmin there; nor for pg_database, which
# each reuse renames). Objects from 16384 up are the database's own, not the system's.
SCHEMA_FINGERPRINT = """
SELECT md5(string_agg(entry, ',' ORDER BY entry)) FROM (
    SELECT concat_ws(' ', 'class', oid, relname, relnamespace, reltype, relowner, relam,
        relkind, relpersistence, relnatts, relchecks, relhasrules, relhastriggers,
        relrowsecurity, relforcerowsecurity, relreplident, relispartition, reloptions, relacl)
        FROM pg_class WHERE oid >= 16384
    UNION ALL SELECT concat_ws(' ', 'attribute', attrelid, attnum, xmin)
        FROM pg_attribute WHERE attrelid >= 16384
    UNION ALL SELECT concat_ws(' ', 'default', oid, xmin) FROM pg_attrdef
    UNION ALL SELECT concat_ws(' ', 'constraint', oid, xmin) FROM pg_constraint
        WHERE oid >= 16384
    UNION ALL SELECT concat_ws(' ', 'index', indexrelid, xmin) FROM pg_index
        WHERE indexrelid >= 16384
    UNION ALL SELECT concat_ws(' ', 'trigger', oid, xmin) FROM pg_trigger
    UNION ALL SELECT concat_ws(' ', 'type', oid, xmin) FROM pg_type WHERE oid >= 16384
    UNION ALL SELECT concat_ws(' ', 'function', oid, xmin) FROM pg_proc WHERE oid >= 16384
    UNION ALL SELECT concat_ws(' ', 'schema', oid, xmin) FROM pg_namespace
    UNION ALL SELECT concat_ws(' ', 'rule', oid, xmin) FROM pg_rewrite WHERE oid >= 16384
    UNION ALL SELECT concat_ws(' ', 'sequence', seqrelid, xmin) FROM pg_sequence
        WHERE seqrelid >= 16384
    UNION ALL SELECT concat_ws(' ', 'enum', oid, xmin) FROM pg_enum
    UNION ALL SELECT concat_ws(' ', 'extension', oid, xmin) FROM pg_extension
    UNION ALL SELECT concat_ws(' ', 'policy', oid, xmin) FROM pg_policy
    UNION ALL SELECT concat_ws(' ', 'event trigger', oid, xmin) FROM pg_event_trigger
    UNION ALL SELECT concat_ws(' ', 'large object', oid) FROM pg_largeobject_metadata
    UNION ALL SELECT concat_ws(' ', 'database', oid, datdba, encoding, datistemplate,
        datallowconn, datconnlimit, dattablespace, datacl) FROM pg_database
        WHERE datname = current_database()
    UNION ALL SELECT concat_ws(' ', 'settings', s.xmin) FROM pg_db_role_setting s
        JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = current_database()
    UNION ALL SELECT concat_ws(' ', 'prepared', gid) FROM pg_prepared_xacts
        WHERE database = current_database()
) AS catalog(entry)
"""
TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
SEQUENCES = "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"
# A table never written to has no pages (as every empty table of a fresh copy): only the others
# need emptying.
WRITTEN = (
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
    "AND pg_relation_size(format('%I.%I', schemaname, tablename)::regclass) > 0"
)
REFERENCES = (
    "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
    "WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
)
OTHER_SESSIONS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid()"
)


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Contents:
    """What the migrations put in a fresh database besides the schema."""

    tables: tuple[str, ...]
    rows: dict[str, str]  # table: its rows as a JSON array, in physical order
    sequences: dict[str, tuple[int, bool]]  # sequence: (last_value, is_called)

    @classmethod
    async def read(cls, connection: asyncpg.Connection) -> "Contents":
        tables = tuple(row[0] for row in await connection.fetch(TABLES))
        references = [
            (table.strip('"'), referenced.strip('"'))
            for table, referenced in await connection.fetch(REFERENCES)
        ]
        order = graphlib.TopologicalSorter({table: set() for table in tables})
        for table, referenced in references:
            if table != referenced:
                order.add(table, referenced)
        # Referenced tables first: `restore` inserts in this order, a statement a table, and
        # each statement's references are checked as it ends (so a table's rows may refer to
        # one another in any order).
        rows = {}
        for table in order.static_order():
            found = await connection.fetchval(
                f"SELECT json_agg(t ORDER BY t.ctid)::text FROM {quoted(table)} t"
            )
            if found is not None:
                rows[table] = found
        sequences = {}
        for (sequence,) in await connection.fetch(SEQUENCES):
            state = await connection.fetchrow(
                f"SELECT last_value, is_called FROM {quoted(sequence)}"
            )
            sequences[sequence] = (state["last_value"], state["is_called"])
        return cls(tables, rows, sequences)

    async def restore(self, connection: asyncpg.Connection) -> None:
        """Empty what was written and put the rows and sequences read back, in one
        transaction (TRUNCATE gives the tables fresh, empty files, as in a new copy)."""
        written = {row[0] for row in await connection.fetch(WRITTEN)} | set(self.rows)
        async with connection.transaction():
            # No wait for the disk at commit: a crash loses the test run anyway.
            await connection.execute("SET LOCAL synchronous_commit = off")
            # CASCADE: also the tables that reference these, which TRUNCATE requires.
            await connection.execute(
                "TRUNCATE " + ", ".join(map(quoted, sorted(written))) + " CASCADE"
            )
            for table, rows in self.rows.items():
                await connection.execute(
                    f"INSERT INTO {quoted(table)} OVERRIDING SYSTEM VALUE "
                    f"SELECT * FROM json_populate_recordset(NULL::{quoted(table)}, $1::json)",
                    rows,
                )
            await connection.execute(
                "SELECT "
                + ", ".join(
                    f"setval('{quoted(sequence)}', {value}, {called})"
                    for sequence, (value, called) in self.sequences.items()
                )
            )


# --- a state built once and handed to many tests ----------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """A database's whole contents at one moment: a SQLite file's bytes, or PostgreSQL's rows
    and sequences (the schema is the template's on both)."""

    sqlite: bytes | None = None
    postgres: Contents | None = None

    @classmethod
    async def take(cls, url: str) -> "Snapshot":
        """What `url` holds now, committed (a server may still be connected to it)."""
        if url.startswith("sqlite"):
            with closing(sqlite3.connect(make_url(url).database or "")) as connection:
                image = bytearray(connection.serialize())
            # Marked a rollback-journal file, not WAL: `restore` opens it in memory, where WAL
            # can't be (the server turns WAL on again as it connects).
            image[18:20] = b"\x01\x01"
            return cls(sqlite=bytes(image))
        connection = await asyncpg.connect(asyncpg_dsn(url))
        try:
            return cls(postgres=await Contents.read(connection))
        finally:
            await connection.close()

    async def restore(self, url: str) -> None:
        """Make the database of `url`, to which nothing is connected, hold this again."""
        if self.sqlite is not None:
            with (
                closing(sqlite3.connect(":memory:")) as source,
                closing(sqlite3.connect(make_url(url).database or "")) as target,
            ):
                source.deserialize(self.sqlite)
                source.backup(target)
            return
        assert self.postgres is not None
        connection = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await self.postgres.restore(connection)
        finally:
            await connection.close()


# Copies a test process keeps: one a test uses, the others being reset or ready for the next.
MAX_COPIES = 3


@dataclass
class PostgresDatabases:
    """One test process's migrated template and the copies of it it hands to tests."""

    url: str  # BOTSTORE_TEST_POSTGRES_URL: the server, and a database to run CREATE DATABASE in
    template: str = field(default_factory=lambda: f"botstore_template_{secrets.token_hex(6)}")
    contents: Contents | None = None
    idle: list[str] = field(default_factory=list)  # copies as fresh as a new one
    fingerprints: dict[str, str] = field(default_factory=dict)  # copy: its schema when new
    dropped: int = 0  # copies dropped after a test (changed schema, or failed to reset)
    resetting: list["Future[None]"] = field(default_factory=list)  # released copies' resets
    lock: threading.Lock = field(default_factory=threading.Lock)  # the above, across threads
    resetter: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(
            max_workers=MAX_COPIES - 1, thread_name_prefix="postgres-reset"
        )
    )

    async def create_template(self, migrate_url: Callable[[str], Awaitable[None]]) -> None:
        await self._admin(f"CREATE DATABASE {quoted(self.template)}")
        await migrate_url(with_database(self.url, self.template))
        connection = await asyncpg.connect(asyncpg_dsn(with_database(self.url, self.template)))
        try:
            self.contents = await Contents.read(connection)
        finally:
            await connection.close()  # a template must have no connections to be copied

    async def take(self) -> str:
        """A database as the migrations left it: an idle copy, or a new one while the process
        has fewer than MAX_COPIES, or else the first copy whose reset ends."""
        while True:
            self._reaped()
            with self.lock:
                if self.idle:
                    return self.idle.pop()
                copies = len(self.fingerprints)
            if not self.resetting or copies < MAX_COPIES:
                return await self.copy()
            await asyncio.wrap_future(self.resetting[0])  # the oldest: the first to end

    def release(self, name: str) -> None:
        """After a test: `give_back` its copy in a thread of its own (on an event loop of its
        own: the test's closes with the test), so that the next test need not wait for it."""
        self.resetting.append(self.resetter.submit(asyncio.run, self.give_back(name)))

    def _reaped(self) -> None:
        """Forget the resets that ended; one that raised (none of the errors `give_back` turns
        into a drop) raises here, in the next test to ask for a copy, rather than nowhere."""
        ended = [reset for reset in self.resetting if reset.done()]
        self.resetting = [reset for reset in self.resetting if not reset.done()]
        for reset in ended:
            reset.result()

    async def copy(self) -> str:
        """A new copy of the template."""
        name = self._new_name()
        await self._admin(f"CREATE DATABASE {quoted(name)} TEMPLATE {quoted(self.template)}")
        connection = await self._connect(name)
        try:
            fingerprint = await connection.fetchval(SCHEMA_FINGERPRINT)
            with self.lock:
                self.fingerprints[name] = fingerprint
        finally:
            await connection.close()
        return name

    async def give_back(self, name: str) -> None:
        """After a test: reset its copy for the next one, or drop it if its schema changed.

        The copy goes back under a new name: caches of the process keyed by a database's URL
        (keyword rules, say) must not carry one test's data into the next test's database."""
        try:
            connection = await self._connect(name)
            try:
                await self._end_other_sessions(connection)
                if await connection.fetchval(SCHEMA_FINGERPRINT) != self.fingerprints[name]:
                    raise SchemaChanged(name)
                assert self.contents is not None
                await self.contents.restore(connection)
            finally:
                await connection.close()
            renamed = self._new_name()
            await self._admin(
                # Not worth a wait for the disk: a crash loses the test run anyway.
                "SET synchronous_commit = off; "
                f"ALTER DATABASE {quoted(name)} RENAME TO {quoted(renamed)}"
            )
        except (SchemaChanged, OSError, asyncpg.PostgresError):
            await self.drop(name)
            with self.lock:
                self.dropped += 1
        else:
            with self.lock:
                self.fingerprints[renamed] = self.fingerprints.pop(name)
                self.idle.append(renamed)

    async def drop(self, name: str) -> None:
        with self.lock:
            self.fingerprints.pop(name, None)
        await self._admin(f"DROP DATABASE IF EXISTS {quoted(name)} WITH (FORCE)")

    async def drop_all(self) -> None:
        for reset in self.resetting:
            await asyncio.wrap_future(reset)
        self.resetter.shutdown()
        self._reaped()
        # At once: each DROP DATABASE waits for a checkpoint, and requests made meanwhile share one.
        await asyncio.gather(*map(self.drop, list(self.fingerprints)))
        self.idle.clear()
        await self._admin(f"DROP DATABASE IF EXISTS {quoted(self.template)} WITH (FORCE)")

    def _new_name(self) -> str:
        return f"botstore_test_{secrets.token_hex(6)}"

    async def _end_other_sessions(self, connection: asyncpg.Connection) -> None:
        # What DROP DATABASE ... WITH (FORCE) did: a connection a test left open (a killed
        # server's, say) must not hold locks or an advisory lock into the next test.
        for (pid,) in await connection.fetch(OTHER_SESSIONS):
            await connection.fetchval("SELECT pg_terminate_backend($1, 10000)", pid)

    async def _connect(self, name: str) -> asyncpg.Connection:
        return await asyncpg.connect(asyncpg_dsn(with_database(self.url, name)))

    async def _admin(self, statement: str) -> None:
        connection = await asyncpg.connect(asyncpg_dsn(self.url))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()


class SchemaChanged(Exception):
    """A test changed its database's schema (or ALTERed the database): drop it, don't reuse."""
