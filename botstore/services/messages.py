"""The message log, the dedup store and the outbox of customer-service messages."""

import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.db import connection_of, insert_or_skip, json_dumps, sqlite_call, sqlite_datetime
from botstore.models import InboundMessage, MessageState, OutboxMessage, ProcessedMessage
from botstore.services.bulk import BulkWriter

# The per-message statements are built once: building and cache-keying a statement on every
# message cost more CPU than SQLite spends running it. They run on the session's connection as
# Core statements (no ORM objects to track), with the values as parameters.
_CLAIM = {
    name: insert_or_skip(name, ProcessedMessage, unique=["key"])
    for name in ("postgresql", "sqlite")
}
_STORE_REPLY = update(ProcessedMessage).where(col(ProcessedMessage.key) == bindparam("claimed"))
_TAKE = (
    update(ProcessedMessage)
    .where(
        col(ProcessedMessage.key) == bindparam("claimed"),
        col(ProcessedMessage.state) == MessageState.ACCEPTED,
    )
    .values(state=MessageState.DONE)
)
_RECORD = insert(InboundMessage)


# On SQLite the same statements go straight to the driver (db.sqlite_call): SQLAlchemy's
# execution of each cost several times SQLite's work. They say what the Core ones above say.
_SQLITE_CLAIM = (
    'INSERT INTO processed_message ("key", state, reply, handled_at) VALUES (?, ?, NULL, ?) '
    'ON CONFLICT ("key") DO NOTHING'
)
_SQLITE_RECORD = (
    "INSERT INTO inbound_message "
    "(dedup_key, openid, msg_type, event, fields, encrypted, received_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_SQLITE_TAKE = 'UPDATE processed_message SET state = ? WHERE "key" = ? AND state = ?'
_SQLITE_STORE_REPLY = 'UPDATE processed_message SET reply = ?, handled_at = ? WHERE "key" = ?'


def _accept_sqlite(db: sqlite3.Connection, key: str, at: str, record: tuple[Any, ...]) -> bool:
    # The whole transaction in one call: SQLAlchemy's begin and commit cost more than it.
    db.execute("BEGIN IMMEDIATE")
    try:
        claimed = db.execute(_SQLITE_CLAIM, (key, MessageState.ACCEPTED, at)).rowcount == 1
        if claimed:
            db.execute(_SQLITE_RECORD, record)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # a refused BEGIN (another process's lock) began nothing
            db.execute("ROLLBACK")
        raise
    return claimed


def _take_sqlite(db: sqlite3.Connection, key: str) -> int:
    return db.execute(_SQLITE_TAKE, (MessageState.DONE, key, MessageState.ACCEPTED)).rowcount


def _store_reply_sqlite(db: sqlite3.Connection, key: str, reply: str | None, at: str) -> int:
    return db.execute(_SQLITE_STORE_REPLY, (reply, at, key)).rowcount


async def accept(
    connection: AsyncConnection,
    key: str,
    *,
    openid: str,
    msg_type: str,
    event: str | None,
    fields: dict[str, Any],
    encrypted: bool,
    now: datetime,
) -> bool:
    """Claim `key` as accepted and log the message, on `connection` (not in a transaction) in a
    transaction of its own, committed: the promise that the message will be handled. False (and
    nothing logged) if a copy was accepted before; PostgreSQL makes the claim wait for an
    uncommitted copy.

    A Core connection, not a session: two INSERTs need no unit of work, and this runs for every
    message. On SQLite the transaction is one call to the driver, which SQLAlchemy's connection
    doesn't see (it is in none before or after)."""
    if connection.dialect.name == "sqlite":
        at = sqlite_datetime(connection.dialect)(now)
        record = (key, openid, msg_type, event, json_dumps(fields), encrypted, at)
        return await sqlite_call(connection, _accept_sqlite, key, at, record)
    async with connection.begin():
        claimed = await connection.execute(
            _CLAIM[connection.dialect.name],
            {"key": key, "state": MessageState.ACCEPTED, "reply": None, "handled_at": now},
        )
        if claimed.rowcount != 1:
            return False
        await connection.execute(
            _RECORD,
            {
                "dedup_key": key,
                "openid": openid,
                "msg_type": msg_type,
                "event": event,
                "fields": fields,
                "encrypted": encrypted,
                "received_at": now,
            },
        )
        return True


async def take(session: AsyncSession, key: str) -> bool:
    """Mark the accepted `key` done in this transaction, to handle it; False if a copy was
    handled already. The row lock (PostgreSQL) or the write lock (SQLite) makes every other
    copy wait for this transaction, then see it done."""
    connection = await connection_of(session)
    if connection.dialect.name == "sqlite":
        return await sqlite_call(connection, _take_sqlite, key) == 1
    result = await connection.execute(_TAKE, {"claimed": key})
    return result.rowcount == 1


async def accepted(session: AsyncSession) -> list[tuple[str, dict[str, Any]]]:
    """The messages accepted but never handled (the server stopped in between), oldest first:
    (key, fields as logged)."""
    statement = (
        select(InboundMessage.dedup_key, InboundMessage.fields)
        .join(ProcessedMessage, col(ProcessedMessage.key) == col(InboundMessage.dedup_key))
        .where(col(ProcessedMessage.state) == MessageState.ACCEPTED)
        .order_by(col(InboundMessage.id))
    )
    return [(key, fields) for key, fields in (await session.exec(statement)).all()]


async def stored_reply(session: AsyncSession, key: str) -> ProcessedMessage | None:
    return await session.get(ProcessedMessage, key, populate_existing=True)


async def store_reply(
    session: AsyncSession, key: str, reply: dict[str, Any] | None, *, now: datetime
) -> None:
    """Keep the reply with the claimed key (one UPDATE: the hot path has no use for the row)."""
    connection = await connection_of(session)
    if connection.dialect.name == "sqlite":
        stored = await sqlite_call(
            connection,
            _store_reply_sqlite,
            key,
            None if reply is None else json_dumps(reply),
            sqlite_datetime(connection.dialect)(now),
        )
    else:
        result = await connection.execute(
            _STORE_REPLY, {"claimed": key, "reply": reply, "handled_at": now}
        )
        stored = result.rowcount
    if stored != 1:
        raise LookupError(f"dedup key {key} was not claimed")


async def prune(session: AsyncSession, *, older_than: timedelta, now: datetime) -> int:
    """Forget dedup keys past retention; the message log and the ledger keep their own records."""
    result = await session.exec(
        delete(ProcessedMessage).where(
            col(ProcessedMessage.handled_at) < now - older_than,
            # An accepted message is a promise still to keep, however old.
            col(ProcessedMessage.state) == MessageState.DONE,
        )
    )
    return result.rowcount


def text_message(openid: str, text: str) -> dict[str, Any]:
    """The customer-service API's text message (wechat-protocol.md 7.2), as the outbox keeps it."""
    return {"touser": openid, "msgtype": "text", "text": {"content": text}}


class Notice(NamedTuple):
    """A customer-service message waiting to go to the outbox with a batch (a tuple: batches
    make 100,000); `waiting`: held for the fan `fan_id` (see services/notices.py)."""

    openid: str
    payload: dict[str, Any]
    reason: str
    created_at: datetime
    fan_id: int
    waiting: bool


def send_to_outbox(
    session: AsyncSession, openid: str, payload: dict[str, Any], *, reason: str, now: datetime
) -> OutboxMessage:
    """Queue a customer-service message for the fan (the console shows the outbox)."""
    message = OutboxMessage(openid=openid, payload=payload, reason=reason, created_at=now)
    session.add(message)
    return message


async def send_many_to_outbox(writer: BulkWriter, notices: Sequence[Notice]) -> None:
    """`send_to_outbox` for a batch job's thousands of notifications, the held ones marked
    `waiting` (services/notices.py counts them on their fans)."""
    json, when = writer.json, writer.when
    await writer.insert(
        "outbox_message",
        ("openid", "payload", "reason", "created_at", "waiting"),
        [(n.openid, json(n.payload), n.reason, when(n.created_at), n.waiting) for n in notices],
    )


async def outbox(session: AsyncSession, openid: str, *, after_id: int = 0) -> list[OutboxMessage]:
    statement = (
        select(OutboxMessage)
        .where(OutboxMessage.openid == openid, col(OutboxMessage.id) > after_id)
        .order_by(col(OutboxMessage.id))
    )
    return list((await session.exec(statement)).all())
