"""Double-entry ledger: every movement is one balanced transaction, idempotent on its key."""

import functools
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.db import (
    compiled_for_sqlite,
    connection_of,
    insert_or_skip,
    scalar,
    sqlite_call,
    sqlite_datetime,
)
from botstore.errors import InsufficientFunds
from botstore.models import Account, AccountKind, LedgerEntry, LedgerTransaction
from botstore.services.bulk import BulkWriter


@dataclass(frozen=True, slots=True)
class Leg:
    account_id: int
    amount_fen: int


class Movement(NamedTuple):
    """One transaction of a batch for `transfer_many` (a tuple: batches make 100,000)."""

    key: str
    kind: str
    created_at: datetime
    legs: tuple[tuple[int, int], ...]  # (account id, amount fen), summing to zero


class UnbalancedTransaction(ValueError):
    """A programming error: the legs of a transaction must sum to zero."""


async def transfer(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    legs: Sequence[Leg],
    now: datetime,
    memo: str = "",
) -> LedgerTransaction:
    """Apply balanced `legs` as one transaction; a key seen before returns that one.

    Core statements, compiled once, and on SQLite the whole movement in one call to the driver:
    every money-moving message makes one, and the ORM's unit of work cost several times the
    statements themselves. Balances change only here and in `transfer_many`, never through
    loaded Account objects, so the session has nothing to keep in step.
    """
    if len(legs) < 2 or any(leg.amount_fen == 0 for leg in legs):
        raise UnbalancedTransaction(f"{kind}: needs two or more non-zero legs")
    if sum(leg.amount_fen for leg in legs) != 0:
        raise UnbalancedTransaction(f"{kind}: legs sum to {sum(leg.amount_fen for leg in legs)}")
    # One order for every writer, so two transfers touching the same accounts on PostgreSQL
    # queue on the row locks instead of deadlocking.
    ordered = tuple(
        (leg.account_id, leg.amount_fen)
        for leg in sorted(legs, key=lambda leg: (leg.account_id, leg.amount_fen))
    )
    connection = await connection_of(session)
    dialect = connection.dialect
    if dialect.name == "sqlite":
        at = sqlite_datetime(dialect)(now)
        txn_id, short = await sqlite_call(
            connection,
            _transfer_on_sqlite,
            _sqlite_statements(dialect),
            (key, kind, memo, at),
            ordered,
        )
    else:
        txn_id, short = await _transfer_on(connection, (key, kind, memo, now), ordered)
    if txn_id is None:  # a retried message: its movement is done already
        return (
            await session.exec(select(LedgerTransaction).where(LedgerTransaction.key == key))
        ).one()
    if short is not None:
        # The debit's conditional UPDATE changed nothing; the caller's transaction rolls back.
        balance = await balance_of(session, short)
        needed = next(-amount for account_id, amount in ordered if account_id == short)
        raise InsufficientFunds(short, needed, balance)
    return LedgerTransaction(id=txn_id, key=key, kind=kind, memo=memo, created_at=now)


_TRANSACTIONS = LedgerTransaction.__table__  # type: ignore[attr-defined]
_ENTRIES = LedgerEntry.__table__  # type: ignore[attr-defined]
_ACCOUNTS = Account.__table__  # type: ignore[attr-defined]


def _new_transaction(dialect_name: str) -> Any:
    # Nothing when the key is taken (a retry); on PostgreSQL it first waits for an uncommitted
    # copy of the same key, so a concurrent retry finds the first one's movement.
    return (
        insert_or_skip(dialect_name, _TRANSACTIONS, unique=["key"])
        .values(
            key=bindparam("txn_key"),
            kind=bindparam("txn_kind"),
            memo=bindparam("txn_memo"),
            created_at=bindparam("txn_at"),
        )
        .returning(_TRANSACTIONS.c.id)
    )


_NEW_TRANSACTION = {name: _new_transaction(name) for name in ("sqlite", "postgresql")}
# One conditional UPDATE, not read-then-write: atomic on SQLite and PostgreSQL alike, so
# concurrent spends can never take a wallet below zero.
_CREDIT = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == bindparam("leg_account"))
    .values(balance_fen=_ACCOUNTS.c.balance_fen + bindparam("leg_amount"))
)
_DEBIT = _CREDIT.where(
    (_ACCOUNTS.c.balance_fen >= bindparam("leg_needed"))
    | (_ACCOUNTS.c.kind == bindparam("overdraft_kind"))
)
_ENTRY = insert(_ENTRIES).values(
    transaction_id=bindparam("entry_txn"),
    account_id=bindparam("entry_account"),
    amount_fen=bindparam("entry_amount"),
    kind=bindparam("entry_kind"),
    created_at=bindparam("entry_at"),
)


class _SqliteStatements(NamedTuple):
    new_transaction: str
    credit: str
    debit: str
    entry: str


@functools.lru_cache(maxsize=8)  # one per SQLite dialect
def _sqlite_statements(dialect: Any) -> _SqliteStatements:
    # Positional SQL whose parameters the functions below pass in this order (checked here).
    compiled = [
        compiled_for_sqlite(_NEW_TRANSACTION["sqlite"], dialect),
        compiled_for_sqlite(_CREDIT, dialect),
        compiled_for_sqlite(_DEBIT, dialect),
        compiled_for_sqlite(_ENTRY, dialect),
    ]
    expected = [
        ("txn_key", "txn_kind", "txn_memo", "txn_at"),
        ("leg_amount", "leg_account"),
        ("leg_amount", "leg_account", "leg_needed", "overdraft_kind"),
        ("entry_txn", "entry_account", "entry_amount", "entry_kind", "entry_at"),
    ]
    if [names for _, names in compiled] != expected:
        raise AssertionError(f"ledger statements compiled unexpectedly: {compiled}")
    return _SqliteStatements(*(sql for sql, _ in compiled))


def _transfer_on_sqlite(
    connection: sqlite3.Connection,
    sql: _SqliteStatements,
    transaction: tuple[str, str, str, Any],
    legs: tuple[tuple[int, int], ...],
) -> tuple[int | None, int | None]:
    """(the new transaction's id or None for a key seen before, the account that could not
    cover its debit or None)."""
    row = connection.execute(sql.new_transaction, transaction).fetchone()
    if row is None:
        return None, None
    txn_id, kind, at = row[0], transaction[1], transaction[3]
    for account_id, amount in legs:
        if amount < 0:
            cursor = connection.execute(
                sql.debit, (amount, account_id, -amount, AccountKind.OUTSIDE)
            )
        else:
            cursor = connection.execute(sql.credit, (amount, account_id))
        if cursor.rowcount != 1:
            return txn_id, account_id
    connection.executemany(
        sql.entry, [(txn_id, account_id, amount, kind, at) for account_id, amount in legs]
    )
    return txn_id, None


async def _transfer_on(
    connection: AsyncConnection,
    transaction: tuple[str, str, str, datetime],
    legs: tuple[tuple[int, int], ...],
) -> tuple[int | None, int | None]:
    """`_transfer_on_sqlite` through SQLAlchemy, for PostgreSQL."""
    key, kind, memo, at = transaction
    txn_id = (
        await connection.execute(
            _NEW_TRANSACTION[connection.dialect.name],
            {"txn_key": key, "txn_kind": kind, "txn_memo": memo, "txn_at": at},
        )
    ).scalar()
    if txn_id is None:
        return None, None
    for account_id, amount in legs:
        values = {"leg_amount": amount, "leg_account": account_id}
        if amount < 0:
            values |= {"leg_needed": -amount, "overdraft_kind": AccountKind.OUTSIDE}
        result = await connection.execute(_DEBIT if amount < 0 else _CREDIT, values)
        if result.rowcount != 1:
            return txn_id, account_id
    await connection.execute(
        _ENTRY,
        [
            {
                "entry_txn": txn_id,
                "entry_account": account_id,
                "entry_amount": amount,
                "entry_kind": kind,
                "entry_at": at,
            }
            for account_id, amount in legs
        ],
    )
    return txn_id, None


async def transfer_many(writer: BulkWriter, movements: Sequence[Movement]) -> list[int]:
    """Apply many balanced movements at once, set-wise; their transaction ids, in order.

    `transfer`'s rows and invariants for batch jobs: unique keys (a key seen before fails the
    whole batch, so callers must lock what they pay: a repeat there is a bug, not a retry),
    entries summing to zero per transaction, debits only from accounts that can cover them
    (InsufficientFunds names the first that can't, and the caller rolls back), account rows
    updated in id order like every writer.
    """
    if not movements:
        return []
    for movement in movements:
        if sum(amount for _, amount in movement.legs) != 0:
            raise UnbalancedTransaction(f"{movement.kind}: {movement.key}")
    created = [writer.when(m.created_at) for m in movements]
    # RETURNING the key as well: rows may come back in any order.
    result = await writer.insert_returning(
        "ledger_transaction",
        ("key", "kind", "memo", "created_at"),
        [(m.key, m.kind, "", at) for m, at in zip(movements, created, strict=True)],
        returning="key, id",
    )
    by_key = dict(result)
    ids = [by_key[m.key] for m in movements]
    entries = []
    deltas: defaultdict[int, int] = defaultdict(int)
    for txn_id, movement, at in zip(ids, movements, created, strict=True):
        kind = movement.kind
        for account_id, amount in movement.legs:
            entries.append((txn_id, account_id, amount, kind, at))
            deltas[account_id] += amount
    await writer.insert(
        "ledger_entry",
        ("transaction_id", "account_id", "amount_fen", "kind", "created_at"),
        entries,
    )
    accounts = Account.__table__  # type: ignore[attr-defined]
    credits: list[tuple[int, int]] = []
    add, account = writer.marks(2)
    credit = f"UPDATE account SET balance_fen = balance_fen + {add} WHERE id = {account}"
    for account_id, delta in sorted(deltas.items()):
        if delta >= 0:
            if delta:
                credits.append((delta, account_id))
            continue
        # Credits to lower ids go first, keeping the id order of row locks.
        if credits:
            await writer.conn.exec_driver_sql(credit, credits)
            credits = []
        debited = await writer.conn.execute(
            update(accounts)
            .where(
                accounts.c.id == account_id,
                (accounts.c.balance_fen >= -delta) | (accounts.c.kind == AccountKind.OUTSIDE),
            )
            .values(balance_fen=accounts.c.balance_fen + delta)
        )
        if debited.rowcount != 1:
            raise InsufficientFunds(account_id, -delta)
    if credits:
        await writer.conn.exec_driver_sql(credit, credits)
    return ids


async def fund_from_outside(
    session: AsyncSession, account_id: int, amount_fen: int, *, key: str, kind: str, now: datetime
) -> LedgerTransaction:
    """Money entering the sandbox: `amount_fen` from the outside world into an account, once
    per key (top-ups, budgets, reserves)."""
    outside = await system_account_id(session, AccountKind.OUTSIDE)
    return await transfer(
        session,
        key=key,
        kind=kind,
        legs=[Leg(outside, -amount_fen), Leg(account_id, amount_fen)],
        now=now,
    )


async def balance_of(session: AsyncSession, account_id: int) -> int:
    # A plain read (db.scalar): loading the Account into the session cost several times as
    # much, and every movement updates the balance with a Core UPDATE anyway.
    balance = await scalar(session, _BALANCE_OF, account_id=account_id)
    if balance is None:
        raise LookupError(f"no account {account_id}")
    return balance


_BALANCE_OF = select(Account.balance_fen).where(col(Account.id) == bindparam("account_id"))


async def system_account_id(session: AsyncSession, kind: str) -> int:
    """The id of the account of a system kind: a plain read, for the paths every purchase,
    tip and top-up takes (`system_account` loads the whole row into the session)."""
    account_id = await scalar(session, _SYSTEM_ACCOUNT_ID, kind=kind)
    if account_id is None:
        raise LookupError(f"no {kind} account: is the database migrated?")
    return account_id


_SYSTEM_ACCOUNT_ID = (
    select(Account.id).where(col(Account.kind) == bindparam("kind")).order_by(col(Account.id))
)


async def system_account(session: AsyncSession, kind: str) -> Account:
    """The account of a system kind (outside, platform); the first migration creates it."""
    account = (await session.exec(select(Account).where(Account.kind == kind))).first()
    if account is None:
        raise LookupError(f"no {kind} account: is the database migrated?")
    return account


async def entries_of(session: AsyncSession, account_id: int, *, limit: int) -> list[LedgerEntry]:
    """The newest movements of one account, newest first."""
    statement = (
        select(LedgerEntry)
        .where(LedgerEntry.account_id == account_id)
        .order_by(col(LedgerEntry.id).desc())
        .limit(limit)
    )
    return list((await session.exec(statement)).all())


async def imbalance(session: AsyncSession) -> int:
    """The sum of every entry: zero in a healthy ledger."""
    total = (await session.exec(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)))).one()
    return int(total)
