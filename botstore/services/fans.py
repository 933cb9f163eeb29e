"""Fans: created on first contact with a wallet; subscribe state and last location."""

import functools
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, update
from sqlalchemy import select as sql_select
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.db import compiled_for_sqlite, connection_of, insert_or_skip, sqlite_call
from botstore.models import Account, AccountKind, Fan

_FANS = Fan.__table__  # type: ignore[attr-defined]
# Built once: every message looks its fan up.
_ROW_BY_OPENID = sql_select(*_FANS.c).where(_FANS.c.openid == bindparam("openid"))


async def get_or_create(session: AsyncSession, openid: str, *, now: datetime) -> Fan:
    """The fan with this openid, created with an empty wallet on first contact."""
    fan = await _load(session, openid)
    if fan is not None:
        if (now - fan.last_seen_at).total_seconds() > 60:
            fan.last_seen_at = now
            session.add(fan)
        return fan
    # Two first messages from one fan may race: the loser's insert does nothing (on PostgreSQL
    # it waits for the winner's commit), and both then read the same row.
    statement = (
        insert_or_skip(session.bind.dialect.name, Fan, unique=["openid"])
        .values(openid=openid, nickname="", subscribed=False, created_at=now, last_seen_at=now)
        .returning(col(Fan.id))
    )
    fan_id = (await session.exec(statement)).scalar_one_or_none()
    if fan_id is not None:
        wallet = Account(
            kind=AccountKind.WALLET, name=f"wallet of {openid}", fan_id=fan_id, created_at=now
        )
        session.add(wallet)
        await session.flush()
        await session.exec(
            update(Fan).where(col(Fan.id) == fan_id).values(wallet_account_id=wallet.id)
        )
    fan = (
        await session.exec(
            select(Fan).where(Fan.openid == openid).execution_options(populate_existing=True)
        )
    ).one()
    return fan


async def _load(session: AsyncSession, openid: str) -> Fan | None:
    """The fan's row as a Fan of the session, as `session.exec(select(Fan)...)` would give it.

    Every message loads its fan, and the ORM's query machinery cost several times the
    statement: here the row is read with a Core statement (on SQLite straight from the driver)
    and put into the session the way the ORM's loader fills an instance.
    """
    if session.new:  # a pending Fan is found by the ORM's query, which flushes first
        await session.flush()
    connection = await connection_of(session)
    dialect = connection.dialect
    loader = _loader(dialect)
    if dialect.name == "sqlite":
        row = await sqlite_call(connection, _first_row, loader.sql, (openid,))
        if row is None:
            return None
        values = {
            key: (decode(value) if decode else value)
            for key, decode, value in zip(loader.keys, loader.decoders, row, strict=True)
        }
    else:
        found = (await connection.execute(_ROW_BY_OPENID, {"openid": openid})).first()
        if found is None:
            return None
        values = dict(zip(loader.keys, found, strict=True))
    identity = Fan.__mapper__.identity_key_from_primary_key((values["id"],))
    known = session.sync_session.identity_map.get(identity)
    if known is not None:  # loaded earlier in this session: the same object, as the ORM gives
        return known  # type: ignore[no-any-return]
    fan = Fan.__mapper__.class_manager.new_instance()
    fan.__dict__.update(values)
    make_transient_to_detached(fan)  # what was just read is its committed state
    session.add(fan)  # persistent: changes to it are flushed as the ORM's are
    return fan


class _Loader(NamedTuple):
    sql: str  # SQLite's: the statement compiled once
    keys: tuple[str, ...]
    decoders: tuple[Callable[[Any], Any] | None, ...]  # SQLite's stored values -> Python


@functools.lru_cache(maxsize=8)  # one per dialect
def _loader(dialect: Any) -> _Loader:
    configure_mappers()  # the instrumentation new_instance() relies on
    columns = list(_FANS.c)
    keys = tuple(column.key for column in columns)
    if dialect.name != "sqlite":  # SQLAlchemy's result decodes the row
        return _Loader("", keys, ())
    return _Loader(
        compiled_for_sqlite(_ROW_BY_OPENID, dialect)[0],
        keys,
        tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ),
    )


def _first_row(connection: sqlite3.Connection, sql: str, parameters: tuple[Any, ...]) -> Any:
    return connection.execute(sql, parameters).fetchone()


def is_following(fan: Fan) -> bool:
    """Whether the fan follows the account: the one rule that user/info, user/get, sends, the
    dashboard, the console and coupon runs read. The platform delivers messages only from
    followers, so a fan first met through a message (or added in the console: the emulator need
    not send `subscribe` first) follows until an unsubscribe says otherwise."""
    return fan.subscribed or fan.unsubscribed_at is None


def following() -> Any:
    """`is_following` as an SQL condition on Fan."""
    return col(Fan.subscribed).is_(True) | col(Fan.unsubscribed_at).is_(None)


def subscribe(fan: Fan, *, scene: str | None, now: datetime) -> None:
    """Record a follow (possibly through a QR scene)."""
    fan.subscribed = True
    fan.subscribed_at = now
    if scene:
        fan.subscribe_scene = scene[:64]


def unsubscribe(fan: Fan, *, now: datetime) -> None:
    fan.subscribed = False
    fan.unsubscribed_at = now


def record_location(fan: Fan, *, latitude: float, longitude: float, now: datetime) -> None:
    fan.latitude = latitude
    fan.longitude = longitude
    fan.location_at = now


def language(fan: Fan, *, default: str) -> str:
    """The fan's language: the one they last typed a command in or chose, else `default`."""
    return fan.language or default


def speaks(fan: Fan, locale: str) -> str:
    """The fan typed a command in `locale` (or chose it): it is their language from now on."""
    if fan.language != locale:  # an UPDATE only when it changes
        fan.language = locale
    return locale
