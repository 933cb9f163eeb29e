"""Conversations: a fan's open multi-message exchange (e.g. a merchant payment awaiting its
amount). At most one per fan; it expires on its own."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.db import scalar
from botstore.models import Conversation, Fan

DEFAULT_TTL = timedelta(minutes=10)
_HAS_ONE = select(Conversation.fan_id).where(col(Conversation.fan_id) == bindparam("fan_id"))


async def start(
    session: AsyncSession,
    fan: Fan,
    *,
    kind: str,
    data: dict[str, Any],
    now: datetime,
    ttl: timedelta = DEFAULT_TTL,
) -> Conversation:
    """Open a conversation, replacing any the fan had."""
    await finish(session, fan)
    conversation = Conversation(
        fan_id=fan.id, kind=kind, data=data, started_at=now, expires_at=now + ttl
    )
    session.add(conversation)
    await session.flush()
    return conversation


async def active(session: AsyncSession, fan: Fan, *, now: datetime) -> Conversation | None:
    """The fan's open conversation, unless it has expired."""
    # Every text asks, and almost always there is none: a plain read (db.scalar) answers
    # that for a fraction of the ORM load's cost. (The routing asks before any handler added
    # one, so nothing unflushed is missed.)
    if await scalar(session, _HAS_ONE, fan_id=fan.id) is None:
        return None
    conversation = await session.get(Conversation, fan.id, populate_existing=True)
    if conversation is None:
        return None
    if conversation.expires_at <= now:
        await finish(session, fan)
        return None
    return conversation


async def finish(session: AsyncSession, fan: Fan) -> None:
    await session.exec(delete(Conversation).where(col(Conversation.fan_id) == fan.id))
