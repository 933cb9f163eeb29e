"""Membership: points earned by completed payments, and the level they reach.

Points are derived, not stored: each completed order (its total, when it completes), each
offline-merchant payment and each partner-service payment earns `points_per_yuan` per whole yuan
paid, counted payment by payment. Top-ups, tips, investments, pending and refunded orders earn
nothing. Being derived from the ledger and the orders, points can't drift from the money and a
retried message can't award them twice.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.models import Fan, LedgerEntry, Order, OrderStatus
from botstore.services import merchants, partners, wallet

# Kinds of ledger movement whose debit on the wallet is a completed payment at once.
INSTANT_PAYMENTS = (merchants.PAYMENT, partners.USE)


@dataclass(frozen=True, slots=True)
class Standing:
    points: int
    level: str
    next_level: str | None
    points_to_next: int


async def standing(
    session: AsyncSession, fan: Fan, *, points_per_yuan: int, levels: Sequence[tuple[str, int]]
) -> Standing:
    """The fan's points, level, and what the next level needs."""
    # Whole yuan per payment: integer division on both engines (amounts are integers).
    instant = (
        await session.exec(
            select(func.coalesce(func.sum(-col(LedgerEntry.amount_fen) / 100), 0)).where(
                LedgerEntry.account_id == wallet.wallet_id(fan),
                col(LedgerEntry.kind).in_(INSTANT_PAYMENTS),
                col(LedgerEntry.amount_fen) < 0,
            )
        )
    ).one()
    ordered = (
        await session.exec(
            select(func.coalesce(func.sum(col(Order.total_fen) / 100), 0)).where(
                Order.buyer_fan_id == fan.id, Order.status == OrderStatus.COMPLETED
            )
        )
    ).one()
    points = (int(instant) + int(ordered)) * points_per_yuan
    reached = [(name, threshold) for name, threshold in levels if threshold <= points]
    above = [(name, threshold) for name, threshold in levels if threshold > points]
    level = reached[-1][0] if reached else levels[0][0]
    if not above:
        return Standing(points, level, None, 0)
    return Standing(points, level, above[0][0], above[0][1] - points)
