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

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, literal_column, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.db import insert, rowcount
from botstore.models import Fan, OutboxMessage, Store
from botstore.services import fans, messages, users
from botstore.services.bulk import BulkWriter

# Renders a notice: (template under replies/, values with the recipient's `locale`) -> text.
Render = Callable[[str, Mapping[str, Any]], str]


def name_of(fan: Fan) -> str:
    """What another party calls the fan: the nickname, else the openid."""
    return fan.nickname or fan.openid


@dataclass(frozen=True, slots=True)
class HeldFor:
    """A party a notice was held for, as the fan whose action caused it knows them: a store's
    owner (`store`, its name), else by their name."""

    fan_id: int
    name: str
    store: str | None


# session.info's key: the parties whose notices this transaction held (see `held_for`).
_HELD = "botstore.notices.held"


def held_for(session: AsyncSession) -> list[HeldFor]:
    """The parties this transaction held a notice for, each once, in order: the reply to the
    fan whose message caused them says those will see it when they next write."""
    return list(session.info.get(_HELD, {}).values())


async def notify(
    session: AsyncSession,
    fan: Fan,
    template: str,
    values: Mapping[str, Any],
    *,
    render: Render,
    reason: str,
    now: datetime,
    store: Store | None = None,
) -> OutboxMessage:
    """Tell `fan`, in their language: sent now if the platform would deliver it, else held.
    `store`: the fan is told as that store's owner (the actor's reply names them so)."""
    text = render(template, {**values, "locale": fan.language})
    payload = messages.text_message(fan.openid, text)
    if await users.can_reach(session, fan, now=now):
        return messages.send_to_outbox(session, fan.openid, payload, reason=reason, now=now)
    held = OutboxMessage(
        openid=fan.openid, payload=payload, reason=reason, created_at=now, waiting=True
    )
    await insert(session, held)  # not left to the commit's flush: a purchase holds one
    # A plain UPDATE (the ORM's would flush first and look through the session): `fan`'s own
    # waiting_notices is left as loaded, and nothing reads it after the message began.
    await rowcount(session, _HOLD_ONE_MORE, fan_id=fan.id)
    parties: dict[int, HeldFor] = session.info.setdefault(_HELD, {})
    parties.setdefault(
        fan.id or 0, HeldFor(fan.id or 0, name_of(fan), store.name if store else None)
    )
    return held


_FANS = Fan.__table__  # type: ignore[attr-defined]
_HOLD_ONE_MORE = (
    update(_FANS)
    .where(_FANS.c.id == bindparam("fan_id"))
    .values(waiting_notices=_FANS.c.waiting_notices + literal_column("1"))
)


def reachable(now: datetime) -> Any:
    """`users.can_reach` as an SQL condition on Fan, for a batch job's query: a follower who
    sent a message in the last 48 hours, or a window event (menu click, follow, scan) in the
    last minute (`users.open_windows`)."""
    window = users.window_open(
        col(Fan.openid),
        now,
        message_since=now - users.MESSAGE_WINDOW,
        event_since=now - users.EVENT_WINDOW,
    )
    return and_(fans.following(), window)


async def notify_many(writer: BulkWriter, batch: Sequence[messages.Notice]) -> None:
    """`notify` for a batch job's thousands: each notice goes out or is held as its `waiting`
    says (`reachable`, read with the batch); the held ones are counted on their fans by one
    executemany, not a query per fan."""
    await messages.send_many_to_outbox(writer, batch)
    held = Counter(notice.fan_id for notice in batch if notice.waiting)
    await writer.add("fan", "waiting_notices", [(count, fan) for fan, count in held.items()])


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
