"""Double-entry ledger: every movement is one balanced transaction, idempotent on its key."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.db import scalar
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
    """Apply balanced `legs` as one transaction; a key seen before returns that one."""
    if len(legs) < 2 or any(leg.amount_fen == 0 for leg in legs):
        raise UnbalancedTransaction(f"{kind}: needs two or more non-zero legs")
    if sum(leg.amount_fen for leg in legs) != 0:
        raise UnbalancedTransaction(f"{kind}: legs sum to {sum(leg.amount_fen for leg in legs)}")
    existing = (
        await session.exec(select(LedgerTransaction).where(LedgerTransaction.key == key))
    ).first()
    if existing is not None:
        return existing
    txn = LedgerTransaction(key=key, kind=kind, memo=memo, created_at=now)
    session.add(txn)
    await session.flush()
    # One order for every writer, so two transfers touching the same accounts on PostgreSQL
    # queue on the row locks instead of deadlocking.
    for leg in sorted(legs, key=lambda leg: (leg.account_id, leg.amount_fen)):
        await _apply(session, leg)
        session.add(
            LedgerEntry(
                transaction_id=txn.id,
                account_id=leg.account_id,
                amount_fen=leg.amount_fen,
                kind=kind,
                created_at=now,
            )
        )
    await session.flush()
    return txn


async def _apply(session: AsyncSession, leg: Leg) -> None:
    # One conditional UPDATE, not read-then-write: atomic on SQLite and PostgreSQL alike, so
    # concurrent spends can never take a wallet below zero.
    statement = (
        update(Account)
        .where(col(Account.id) == leg.account_id)
        .values(balance_fen=col(Account.balance_fen) + leg.amount_fen)
    )
    if leg.amount_fen < 0:
        statement = statement.where(
            (col(Account.balance_fen) >= -leg.amount_fen)
            | (col(Account.kind) == AccountKind.OUTSIDE)
        )
    result = await session.exec(statement)
    if result.rowcount != 1:
        balance = await balance_of(session, leg.account_id)
        raise InsufficientFunds(leg.account_id, -leg.amount_fen, balance)


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
    outside = await system_account(session, AccountKind.OUTSIDE)
    return await transfer(
        session,
        key=key,
        kind=kind,
        legs=[Leg(outside.id or 0, -amount_fen), Leg(account_id, amount_fen)],
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
