"""Conversations: a fan's open multi-message exchange (e.g. a merchant payment awaiting its
amount). At most one per fan; it expires on its own."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.models import Conversation, Fan

DEFAULT_TTL = timedelta(minutes=10)


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
    conversation = await session.get(Conversation, fan.id, populate_existing=True)
    if conversation is None:
        return None
    if conversation.expires_at <= now:
        await finish(session, fan)
        return None
    return conversation


async def finish(session: AsyncSession, fan: Fan) -> None:
    await session.exec(delete(Conversation).where(col(Conversation.fan_id) == fan.id))
