"""The fan's wallet: balance, sandbox top-ups under a daily cap, history."""

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.errors import LimitExceeded
from botstore.models import Account, Fan, LedgerEntry
from botstore.money import Fen
from botstore.services import ledger

TOPUP = "topup"


@dataclass(frozen=True, slots=True)
class TopUp:
    amount_fen: int
    balance_fen: int
    transaction_id: int


def wallet_id(fan: Fan) -> int:
    if fan.wallet_account_id is None:
        raise LookupError(f"fan {fan.openid} has no wallet")
    return fan.wallet_account_id


async def balance(session: AsyncSession, fan: Fan) -> int:
    """The wallet balance in fen."""
    return await ledger.balance_of(session, wallet_id(fan))


async def topup(
    session: AsyncSession,
    fan: Fan,
    *,
    amount: Fen,
    key: str,
    now: datetime,
    daily_cap_fen: int,
    timezone: str,
) -> TopUp:
    """Credit the wallet from the outside world, within the fan's daily cap."""
    account_id = wallet_id(fan)
    # Lock the wallet row first (PostgreSQL) so concurrent top-ups check the cap one at a time.
    await session.exec(select(Account.id).where(Account.id == account_id).with_for_update())
    zone = ZoneInfo(timezone)
    day_start = datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone)
    topped_today = (
        await session.exec(
            select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
                LedgerEntry.account_id == account_id,
                LedgerEntry.kind == TOPUP,
                col(LedgerEntry.created_at) >= day_start,
            )
        )
    ).one()
    remaining = daily_cap_fen - int(topped_today)
    if amount > remaining:
        raise LimitExceeded("daily top-up", daily_cap_fen, max(remaining, 0))
    txn = await ledger.fund_from_outside(
        session, account_id, amount, key=f"{key}:topup", kind=TOPUP, now=now
    )
    return TopUp(amount, await ledger.balance_of(session, account_id), txn.id)


async def history(session: AsyncSession, fan: Fan, *, limit: int) -> list[LedgerEntry]:
    """The newest movements of the wallet."""
    return await ledger.entries_of(session, wallet_id(fan), limit=limit)
