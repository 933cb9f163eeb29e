"""The ledger: balanced, idempotent per key, never below zero, also under concurrency."""

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from botstore.errors import InsufficientFunds
from botstore.models import Account, AccountKind, LedgerEntry
from botstore.services import fans, ledger
from botstore.services.bulk import BulkWriter
from botstore.services.ledger import Leg, UnbalancedTransaction

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def wallet_and_outside(database) -> tuple[int, int]:
    async with database() as session, session.begin():
        fan = await fans.get_or_create(session, "o_ledger", now=NOW)
        outside = await ledger.system_account(session, AccountKind.OUTSIDE)
        return fan.wallet_account_id, outside.id


async def move(database, key: str, legs: list[Leg]) -> None:
    async with database() as session, session.begin():
        await ledger.transfer(session, key=key, kind="test", legs=legs, now=NOW)


async def test_a_transfer_moves_money_and_balances(database) -> None:
    wallet, outside = await wallet_and_outside(database)
    await move(database, "k1", [Leg(outside, -500), Leg(wallet, 500)])
    async with database() as session:
        assert await ledger.balance_of(session, wallet) == 500
        assert await ledger.balance_of(session, outside) == -500
        assert await ledger.imbalance(session) == 0


async def test_a_repeated_key_moves_nothing(database) -> None:
    wallet, outside = await wallet_and_outside(database)
    for _ in range(3):
        await move(database, "same", [Leg(outside, -500), Leg(wallet, 500)])
    async with database() as session:
        assert await ledger.balance_of(session, wallet) == 500
        assert (await session.exec(select(func.count()).select_from(LedgerEntry))).one() == 2


@pytest.mark.parametrize(
    "legs",
    [[Leg(1, -5), Leg(2, 4)], [Leg(1, 5)], [Leg(1, 0), Leg(2, 0)], []],
    ids=["unbalanced", "one-leg", "zero", "empty"],
)
async def test_malformed_transactions_are_programming_errors(database, legs) -> None:
    with pytest.raises(UnbalancedTransaction):
        await move(database, "bad", legs)


async def test_a_wallet_cannot_go_below_zero(database) -> None:
    wallet, outside = await wallet_and_outside(database)
    await move(database, "in", [Leg(outside, -100), Leg(wallet, 100)])
    with pytest.raises(InsufficientFunds):
        await move(database, "out", [Leg(wallet, -101), Leg(outside, 101)])
    async with database() as session:
        assert await ledger.balance_of(session, wallet) == 100


async def test_the_database_refuses_a_negative_wallet_even_without_the_service(database) -> None:
    wallet, _ = await wallet_and_outside(database)
    with pytest.raises(IntegrityError):
        async with database() as session, session.begin():
            account = await session.get(Account, wallet)
            account.balance_fen = -1
            session.add(account)


async def test_concurrent_spends_never_overdraw(database) -> None:
    wallet, outside = await wallet_and_outside(database)
    await move(database, "seed", [Leg(outside, -1000), Leg(wallet, 1000)])

    async def spend(index: int) -> bool:
        try:
            await move(database, f"spend-{index}", [Leg(wallet, -300), Leg(outside, 300)])
        except InsufficientFunds:
            return False
        return True

    outcomes = await asyncio.gather(*(spend(i) for i in range(12)))
    assert sum(outcomes) == 3
    async with database() as session:
        assert await ledger.balance_of(session, wallet) == 100
        assert await ledger.imbalance(session) == 0


async def transfer_many(database, movements: list[ledger.Movement]) -> list[int]:
    async with database() as session, session.begin():
        writer = BulkWriter(await session.connection())
        return await ledger.transfer_many(writer, movements)


async def test_transfer_many_writes_what_transfer_would(database) -> None:
    wallet, outside = await wallet_and_outside(database)
    ids = await transfer_many(
        database,
        [
            ledger.Movement("m1", "test", NOW, ((outside, -700), (wallet, 700))),
            ledger.Movement("m2", "test", NOW, ((wallet, -200), (outside, 200))),
        ],
    )
    async with database() as session:
        assert await ledger.balance_of(session, wallet) == 500
        entries = (await session.exec(select(LedgerEntry).order_by(LedgerEntry.id))).all()
        assert [(e.transaction_id, e.account_id, e.amount_fen) for e in entries] == [
            (ids[0], outside, -700),
            (ids[0], wallet, 700),
            (ids[1], wallet, -200),
            (ids[1], outside, 200),
        ]


async def test_transfer_many_matches_ids_to_keys_past_one_statements_parameters(database) -> None:
    # 9,000 transactions are 36,000 bind parameters: more than one INSERT ... RETURNING holds.
    wallet, outside = await wallet_and_outside(database)
    movements = [
        ledger.Movement(f"many:{n}", "test", NOW, ((outside, -(n + 1)), (wallet, n + 1)))
        for n in range(9_000)
    ]
    ids = await transfer_many(database, movements)
    async with database() as session:
        amounts = dict(
            (
                await session.exec(
                    select(LedgerEntry.transaction_id, LedgerEntry.amount_fen).where(
                        LedgerEntry.account_id == wallet
                    )
                )
            ).all()
        )
        assert len(set(ids)) == 9_000
        assert [amounts[txn] for txn in ids] == [n + 1 for n in range(9_000)]
        assert await ledger.balance_of(session, wallet) == sum(range(1, 9_001))


async def test_transfer_many_refuses_an_overdraft_naming_the_account(database) -> None:
    wallet, outside = await wallet_and_outside(database)
    with pytest.raises(InsufficientFunds) as refused:
        await transfer_many(
            database, [ledger.Movement("m1", "test", NOW, ((wallet, -1), (outside, 1)))]
        )
    assert refused.value.details["account_id"] == wallet
    async with database() as session:
        assert await ledger.imbalance(session) == 0
        assert (await session.exec(select(func.count()).select_from(LedgerEntry))).one() == 0


async def test_transfer_many_refuses_unbalanced_movements_and_repeated_keys(database) -> None:
    wallet, outside = await wallet_and_outside(database)
    with pytest.raises(UnbalancedTransaction):
        await transfer_many(
            database, [ledger.Movement("m1", "test", NOW, ((outside, -2), (wallet, 1)))]
        )
    await move(database, "seen", [Leg(outside, -5), Leg(wallet, 5)])
    # A batch's keys are fresh by construction (its rows are locked): a repeat is a bug.
    with pytest.raises(IntegrityError):
        await transfer_many(
            database, [ledger.Movement("seen", "test", NOW, ((outside, -5), (wallet, 5)))]
        )
    async with database() as session:
        assert await ledger.balance_of(session, wallet) == 5
