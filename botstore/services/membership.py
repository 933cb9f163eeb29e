"""Membership: points earned by completed payments, and the level they reach.

Points are derived, not stored: each completed order (its total, when it completes), each
offline-merchant payment and each partner-service payment earns `points_per_yuan` per whole yuan
paid, counted payment by payment. Top-ups, tips, investments, pending and refunded orders earn
nothing. Being derived from the ledger and the orders, points can't drift from the money and a
retried message can't award them twice.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.models import Account, AccountKind, Fan, LedgerEntry, Order, OrderStatus
from botstore.services import merchants, partners, wallet

# Kinds of ledger movement whose debit on the wallet is a completed payment at once.
INSTANT_PAYMENTS = (merchants.PAYMENT, partners.USE)


@dataclass(frozen=True, slots=True)
class Rules:
    """The membership settings (config [membership]): points per yuan and the levels, from 0 up."""

    points_per_yuan: int
    levels: tuple[tuple[str, int], ...]


# config.toml's defaults, for callers without a config at hand.
DEFAULT_RULES = Rules(1, (("green", 0), ("gold", 500), ("platinum", 2000)))


@dataclass(frozen=True, slots=True)
class Standing:
    points: int
    level: str
    next_level: str | None
    points_to_next: int


def level_of(points: int, levels: Sequence[tuple[str, int]]) -> str:
    """The highest level whose threshold `points` reach (the first level below every one)."""
    reached = [name for name, threshold in levels if threshold <= points]
    return reached[-1] if reached else levels[0][0]


def reached_levels(points: int, levels: Sequence[tuple[str, int]]) -> list[str]:
    """Every level up to and including the fan's own, lowest first."""
    return [name for name, threshold in levels if threshold <= points]


async def points_of(session: AsyncSession, fan: Fan, *, points_per_yuan: int) -> int:
    """The fan's points now (inside a transaction, counting what it has written)."""
    # Whole yuan per payment: integer division on both engines (amounts are integers).
    instant = (
        await session.exec(
            select(func.coalesce(func.sum(-col(LedgerEntry.amount_fen) // 100), 0)).where(
                LedgerEntry.account_id == wallet.wallet_id(fan),
                col(LedgerEntry.kind).in_(INSTANT_PAYMENTS),
                col(LedgerEntry.amount_fen) < 0,
            )
        )
    ).one()
    ordered = (
        await session.exec(
            select(func.coalesce(func.sum(col(Order.total_fen) // 100), 0)).where(
                Order.buyer_fan_id == fan.id, Order.status == OrderStatus.COMPLETED
            )
        )
    ).one()
    return (int(instant) + int(ordered)) * points_per_yuan


async def points_by_fan(
    session: AsyncSession, fan_ids: Collection[int], *, points_per_yuan: int
) -> dict[int, int]:
    """Points of many fans in two grouped queries (fans with none are left out)."""
    if not fan_ids:
        return {}
    ids = list(fan_ids)
    instant = await session.exec(
        select(Account.fan_id, func.sum(-col(LedgerEntry.amount_fen) // 100))
        .join(Account, col(Account.id) == LedgerEntry.account_id)
        .where(
            Account.kind == AccountKind.WALLET,
            col(Account.fan_id).in_(ids),
            col(LedgerEntry.kind).in_(INSTANT_PAYMENTS),
            col(LedgerEntry.amount_fen) < 0,
        )
        .group_by(col(Account.fan_id))
    )
    ordered = await session.exec(
        select(Order.buyer_fan_id, func.sum(col(Order.total_fen) // 100))
        .where(col(Order.buyer_fan_id).in_(ids), Order.status == OrderStatus.COMPLETED)
        .group_by(col(Order.buyer_fan_id))
    )
    yuan: dict[int, int] = {}
    for fan_id, whole in [*instant.all(), *ordered.all()]:
        if fan_id is not None:
            yuan[fan_id] = yuan.get(fan_id, 0) + int(whole)
    return {fan_id: total * points_per_yuan for fan_id, total in yuan.items()}


async def standing(
    session: AsyncSession, fan: Fan, *, points_per_yuan: int, levels: Sequence[tuple[str, int]]
) -> Standing:
    """The fan's points, level, and what the next level needs."""
    points = await points_of(session, fan, points_per_yuan=points_per_yuan)
    level = level_of(points, levels)
    above = [(name, threshold) for name, threshold in levels if threshold > points]
    if not above:
        return Standing(points, level, None, 0)
    return Standing(points, level, above[0][0], above[0][1] - points)
