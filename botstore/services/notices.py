"""Notices: the customer-service messages that tell a party what happened to them (a sale, a
shipment, a payout, a tip), each in that party's language and written in the transaction of the
event, so a refused command sends nothing and an event that happens once notifies once.

WeChat delivers a customer-service message only inside the fan's interaction window
(wechat-protocol.md 7.2): a follower who wrote in the last 48 hours (after a menu click, follow
or scan: one minute). Outside it the platform refuses the push (45015) and the fan never sees
it, so a notice to such a fan waits in the outbox (`waiting`, counted on the fan) and goes out
when the fan next writes (`deliver_waiting`, with that message). The window's quota of 5
messages counts only what `/cgi-bin/message/custom/send` sends, as before.
"""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.models import Fan, OutboxMessage, Store
from botstore.services import messages, users

# Renders a notice: (template under replies/, values with the recipient's `locale`) -> text.
Render = Callable[[str, Mapping[str, Any]], str]


def name_of(fan: Fan) -> str:
    """What another party calls the fan: the nickname, else the openid."""
    return fan.nickname or fan.openid


async def notify(
    session: AsyncSession,
    fan: Fan,
    template: str,
    values: Mapping[str, Any],
    *,
    render: Render,
    reason: str,
    now: datetime,
) -> OutboxMessage:
    """Tell `fan`, in their language: sent now if the platform would deliver it, else held."""
    text = render(template, {**values, "locale": fan.language})
    payload = messages.text_message(fan.openid, text)
    if await users.can_reach(session, fan, now=now):
        return messages.send_to_outbox(session, fan.openid, payload, reason=reason, now=now)
    held = OutboxMessage(
        openid=fan.openid, payload=payload, reason=reason, created_at=now, waiting=True
    )
    session.add(held)
    await session.exec(
        update(Fan)
        .where(col(Fan.id) == fan.id)
        .values(waiting_notices=col(Fan.waiting_notices) + 1)
    )
    return held


async def owner_of(session: AsyncSession, store_id: int) -> tuple[Store, Fan]:
    store = await session.get(Store, store_id)
    assert store is not None
    owner = await session.get(Fan, store.owner_fan_id)
    assert owner is not None
    return store, owner


async def deliver_waiting(
    session: AsyncSession, fan: Fan, *, msg_type: str, event: str | None, now: datetime
) -> int:
    """The fan writes: if this message opens a window, every notice held for them goes out now,
    oldest first (each a new outbox row, which the console pushes, naming when it was queued).
    Run only for a fan whose `waiting_notices` says there are some."""
    if not users.opens_window(msg_type, event):
        return 0
    # Claimed by one UPDATE ... RETURNING: of two messages of the fan's handled at once, the
    # second waits on the rows and then finds none waiting, so each notice goes out once.
    held = (
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.openid) == fan.openid, col(OutboxMessage.waiting))
            .values(waiting=False)
            .returning(
                col(OutboxMessage.id),
                col(OutboxMessage.payload),
                col(OutboxMessage.reason),
                col(OutboxMessage.created_at),
            )
        )
    ).all()
    if not held:
        return 0
    for _, payload, reason, queued_at in sorted(held, key=lambda row: row[0]):
        session.add(
            OutboxMessage(
                openid=fan.openid,
                payload=payload,
                reason=reason,
                created_at=now,
                queued_at=queued_at,
            )
        )
    # The copies are written before the held rows go: SQLite would give a copy the id of a
    # deleted last row, and the console, which pushes rows past the last id it showed, would
    # never push it.
    await session.flush()
    await session.exec(
        delete(OutboxMessage).where(col(OutboxMessage.id).in_([row[0] for row in held]))
    )
    # Less what went out, not zero: a notice queued by a transaction committed meanwhile stays
    # counted and goes out with the fan's next message.
    await session.exec(
        update(Fan)
        .where(col(Fan.id) == fan.id)
        .values(waiting_notices=col(Fan.waiting_notices) - len(held))
    )
    return len(held)
