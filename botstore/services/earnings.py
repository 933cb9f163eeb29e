"""A store owner's earnings: what the store's account holds (settled, released by completed
orders), what escrow still holds for its paid and shipped orders, and withdrawing the settled
part to the owner's wallet.

A fan owns at most one store (`open`), so a withdrawal always names the fan's store: `withdraw`
takes everything settled, `withdraw <amount>` part of it. The store account is never overdrawn:
the ledger's conditional UPDATE refuses, and the store row is locked first so two withdrawals
read the balance one after the other.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.db import scalar
from botstore.errors import NoStore, WithdrawalRefused
from botstore.models import (
    Account,
    Fan,
    LedgerEntry,
    LedgerTransaction,
    Order,
    OrderStatus,
    Store,
)
from botstore.money import Fen
from botstore.services import ledger, stores, wallet
from botstore.services.ledger import Leg

WITHDRAW = "store_withdraw"

_STORE_OF_OWNER = select(Store.id).where(col(Store.owner_fan_id) == bindparam("fan_id"))

# Orders whose money is still in escrow (paid, not yet completed or refunded).
_OPEN = (OrderStatus.PAID, OrderStatus.SHIPPED)


@dataclass(frozen=True, slots=True)
class StoreEarnings:
    store: Store
    settled_fen: int  # the store account's balance: withdrawable
    escrow_fen: int  # the store's share of its paid and shipped orders, released on completion


@dataclass(frozen=True, slots=True)
class Withdrawal:
    store: Store
    amount_fen: int
    left_fen: int  # settled earnings still in the store
    balance_fen: int  # the wallet's balance after it


async def escrow_by_store(session: AsyncSession, store_ids: Collection[int]) -> dict[int, int]:
    """Each store's share of its open orders: the supplier's price x qty, a reseller's margin."""
    if not store_ids:
        return {}
    ids = list(store_ids)
    supplied = await session.exec(
        select(Order.supplier_store_id, func.sum(col(Order.supplier_unit_fen) * col(Order.qty)))
        .where(col(Order.supplier_store_id).in_(ids), col(Order.status).in_(_OPEN))
        .group_by(col(Order.supplier_store_id))
    )
    margin = (col(Order.unit_price_fen) - col(Order.supplier_unit_fen)) * col(Order.qty)
    resold = await session.exec(
        select(Order.affiliate_store_id, func.sum(margin))
        .where(col(Order.affiliate_store_id).in_(ids), col(Order.status).in_(_OPEN))
        .group_by(col(Order.affiliate_store_id))
    )
    held: dict[int, int] = {}
    for store_id, amount in [*supplied.all(), *resold.all()]:
        if store_id is not None:
            held[store_id] = held.get(store_id, 0) + int(amount or 0)
    return held


async def of_stores(session: AsyncSession, stores_: Collection[Store]) -> list[StoreEarnings]:
    """Settled and escrowed earnings of each store, in the order given."""
    if not stores_:
        return []
    account_ids = [store.account_id for store in stores_]
    balances = dict(
        (
            await session.exec(
                select(Account.id, Account.balance_fen).where(col(Account.id).in_(account_ids))
            )
        ).all()
    )
    held = await escrow_by_store(session, [store.id or 0 for store in stores_])
    return [
        StoreEarnings(store, balances.get(store.account_id, 0), held.get(store.id or 0, 0))
        for store in stores_
    ]


async def of_owner(session: AsyncSession, fan: Fan) -> StoreEarnings | None:
    """The fan's store and its earnings; None for a fan without a store."""
    # Most fans own no store: `balance` asks with one plain read (db.scalar) before loading any.
    if await scalar(session, _STORE_OF_OWNER, fan_id=fan.id) is None:
        return None
    store = await stores.store_of(session, fan)
    if store is None:
        return None
    return (await of_stores(session, [store]))[0]


async def withdraw(
    session: AsyncSession, fan: Fan, *, amount: Fen | None, key: str, now: datetime
) -> Withdrawal:
    """Move `amount` (None: everything settled) of the fan's store earnings to their wallet, in
    one ledger transaction keyed on the message. A deactivated store's earnings are still its
    owner's, so they can be withdrawn."""
    store = await stores.store_of(session, fan)
    if store is None:
        raise NoStore()
    wallet_id = wallet.wallet_id(fan)
    txn_key = f"{key}:withdraw"
    done = (
        await session.exec(select(LedgerTransaction.id).where(LedgerTransaction.key == txn_key))
    ).first()
    # Lock the store's account (PostgreSQL) so concurrent withdrawals read it one at a time.
    await session.exec(select(Account.id).where(Account.id == store.account_id).with_for_update())
    settled = await ledger.balance_of(session, store.account_id)
    if done is None:
        held = (await escrow_by_store(session, [store.id or 0])).get(store.id or 0, 0)
        if settled == 0:
            raise WithdrawalRefused("nothing", store.id or 0, store.name, 0, settled, held)
        if amount is not None and amount > settled:
            raise WithdrawalRefused("too_much", store.id or 0, store.name, amount, settled, held)
        taken = settled if amount is None else amount
        await ledger.transfer(
            session,
            key=txn_key,
            kind=WITHDRAW,
            legs=[Leg(store.account_id, -taken), Leg(wallet_id, taken)],
            now=now,
            memo=f"store #{store.id}",
        )
        settled -= taken
    else:  # this message withdrew already: report that withdrawal, move nothing
        taken = (
            await session.exec(
                select(func.coalesce(func.sum(col(LedgerEntry.amount_fen)), 0)).where(
                    LedgerEntry.transaction_id == done,
                    LedgerEntry.account_id == wallet_id,
                )
            )
        ).one()
    return Withdrawal(store, int(taken), settled, await ledger.balance_of(session, wallet_id))
