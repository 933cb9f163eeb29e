"""Fans: created on first contact with a wallet; subscribe state and last location."""

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.db import insert_or_skip, load
from botstore.models import Account, AccountKind, Fan


async def get_or_create(session: AsyncSession, openid: str, *, now: datetime) -> Fan:
    """The fan with this openid, created with an empty wallet on first contact."""
    # Every message loads its fan: a Core read, not the ORM's query (db.load).
    fan = await load(session, Fan, "openid", openid)
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
