"""Fans as the active APIs see them (wechat-protocol.md 7.2 and 7.5): user info, the follower
list, and the customer-service interaction window."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, literal, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.db import connection_of
from botstore.models import Fan, InboundMessage, OutboxMessage
from botstore.numbers import parse_whole
from botstore.services import fans, miniprogram, qrcodes

LANGUAGE = "zh_CN"
MAX_FOLLOWERS_PAGE = 10000
CUSTOM_SEND = "custom_send"


class UserError(Exception):
    """A refusal the platform answers with an official errcode and errmsg."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


def invalid_openid() -> UserError:
    return UserError(40003, "invalid openid")


is_following = fans.is_following


async def by_openid(session: AsyncSession, openid: object) -> Fan:
    """The fan with this openid; 40003 for anyone else."""
    if not isinstance(openid, str) or not 0 < len(openid) <= 64:
        raise invalid_openid()
    fan = (await session.exec(select(Fan).where(col(Fan.openid) == openid))).first()
    if fan is None:
        raise invalid_openid()
    return fan


def info(fan: Fan, *, default_language: str = LANGUAGE) -> dict[str, Any]:
    """/cgi-bin/user/info for this fan (§7.5), with the unionid the account shares with its mini
    program; a nickname only if the fan has one. `language` is the fan's (their last command's
    or their choice), else the account's."""
    if not is_following(fan):
        return {"subscribe": 0, "openid": fan.openid}
    subscribed_at = fan.subscribed_at or fan.created_at
    scene = fan.subscribe_scene or ""
    scene_id = parse_whole(scene, maximum=qrcodes.MAX_TEMPORARY_SCENE_ID)
    body: dict[str, Any] = {"subscribe": 1, "openid": fan.openid}
    if fan.nickname:
        body["nickname"] = fan.nickname
    body |= {
        "language": fan.language or default_language,
        "subscribe_time": int(subscribed_at.timestamp()),
        "unionid": miniprogram.unionid_of(fan),
        "remark": "",
        "groupid": 0,
        "tagid_list": [],
        "subscribe_scene": "ADD_SCENE_QR_CODE" if scene else "ADD_SCENE_OTHERS",
        # A numeric scene came from a QR_SCENE / QR_LIMIT_SCENE code, anything else from a
        # string scene (§7.6).
        "qr_scene": scene_id or 0,
        "qr_scene_str": "" if scene_id is not None else scene,
    }
    return body


async def followers(
    session: AsyncSession, *, next_openid: str = "", limit: int = MAX_FOLLOWERS_PAGE
) -> dict[str, Any]:
    """/cgi-bin/user/get: one page of follower openids after `next_openid`, in follow order."""
    total = (
        await session.exec(select(func.count()).select_from(Fan).where(fans.following()))
    ).one()
    statement = (
        select(Fan.id, Fan.openid).where(fans.following()).order_by(col(Fan.id)).limit(limit)
    )
    if next_openid:
        after = (await session.exec(select(Fan.id).where(col(Fan.openid) == next_openid))).first()
        if after is None:
            raise invalid_openid()
        statement = statement.where(col(Fan.id) > after)
    openids = [openid for _, openid in (await session.exec(statement)).all()]
    if not openids:
        # The platform leaves `data` out of an empty page; wechatpy's iter_followers relies on it.
        return {"total": total, "count": 0, "next_openid": ""}
    return {
        "total": total,
        "count": len(openids),
        "data": {"openid": openids},
        "next_openid": openids[-1],
    }


@dataclass(frozen=True, slots=True)
class Window:
    """What one interaction allows: `quota` messages until `ends_at`."""

    starts_at: datetime
    ends_at: datetime
    quota: int


MESSAGE_WINDOW = timedelta(hours=48)
MESSAGE_QUOTA = 5
EVENT_WINDOW = timedelta(minutes=1)
EVENT_QUOTA = 3
# Menu clicks (click and scancode buttons), follows and QR scans open the short window (§7.2).
WINDOW_EVENTS = {"click", "scancode_push", "scancode_waitmsg", "subscribe", "scan"}


def opens_window(msg_type: str, event: str | None) -> bool:
    """Whether a message of this type (an event's name) from the fan opens a window."""
    return msg_type != "event" or (event or "").lower() in WINDOW_EVENTS


async def open_windows(session: AsyncSession, fan: Fan, *, now: datetime) -> list[Window]:
    """The interaction windows open now, from the fan's latest message and latest window event."""
    statement = (
        select(InboundMessage.msg_type, InboundMessage.event, InboundMessage.received_at)
        .where(
            col(InboundMessage.openid) == fan.openid,
            col(InboundMessage.received_at) > now - MESSAGE_WINDOW,
            col(InboundMessage.received_at) <= now,
        )
        .order_by(col(InboundMessage.received_at).desc(), col(InboundMessage.id).desc())
    )
    windows: list[Window] = []
    message = event = False
    for msg_type, name, received_at in (await session.exec(statement)).all():
        if msg_type != "event" and not message:
            message = True
            windows.append(Window(received_at, received_at + MESSAGE_WINDOW, MESSAGE_QUOTA))
        elif msg_type == "event" and not event and (name or "").lower() in WINDOW_EVENTS:
            event = True
            if now < received_at + EVENT_WINDOW:
                windows.append(Window(received_at, received_at + EVENT_WINDOW, EVENT_QUOTA))
        if message and event:
            break
    return windows


def window_open(openid: Any, now: Any, *, message_since: Any, event_since: Any) -> Any:
    """SQL: a window is open at `now` for `openid` (a column or a parameter): a message since
    `message_since` (now less MESSAGE_WINDOW) or a window event since `event_since` (now less
    EVENT_WINDOW), as `open_windows` finds them."""
    return exists(
        select(InboundMessage.id).where(
            col(InboundMessage.openid) == openid,
            col(InboundMessage.received_at) <= now,
            or_(
                and_(
                    col(InboundMessage.msg_type) != "event",
                    col(InboundMessage.received_at) > message_since,
                ),
                and_(
                    col(InboundMessage.msg_type) == "event",
                    func.lower(col(InboundMessage.event)).in_(sorted(WINDOW_EVENTS)),
                    col(InboundMessage.received_at) > event_since,
                ),
            ),
        )
    )


_WINDOW_OPEN = select(literal(1)).where(
    window_open(
        bindparam("openid"),
        bindparam("now"),
        message_since=bindparam("message_since"),
        event_since=bindparam("event_since"),
    )
)


async def can_reach(session: AsyncSession, fan: Fan, *, now: datetime) -> bool:
    """Whether the platform would deliver a customer-service message to the fan now: a follower
    inside an open window (the quota aside). Asked for every notice."""
    if not is_following(fan):
        return False
    # A Core statement: the ORM's execution would flush the session first and cost more than
    # the query (db.scalar can't take its IN list).
    connection = await connection_of(session)
    found = await connection.execute(
        _WINDOW_OPEN,
        {
            "openid": fan.openid,
            "now": now,
            "message_since": now - MESSAGE_WINDOW,
            "event_since": now - EVENT_WINDOW,
        },
    )
    return found.first() is not None


async def check_window(session: AsyncSession, fan: Fan, *, now: datetime) -> None:
    """Whether one more customer-service message may go to the fan now (§7.2): 45015 outside
    every window (or after an unfollow), 45047 once the open windows' quotas are used."""
    if not is_following(fan):
        raise UserError(45015, "response out of time limit or subscription is canceled")
    windows = await open_windows(session, fan, now=now)
    if not windows:
        raise UserError(45015, "response out of time limit or subscription is canceled")
    for window in windows:
        sent = (
            await session.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    col(OutboxMessage.openid) == fan.openid,
                    col(OutboxMessage.reason) == CUSTOM_SEND,
                    col(OutboxMessage.created_at) >= window.starts_at,
                )
            )
        ).one()
        if sent < window.quota:
            return
    # [unconfirmed text] the platform's errmsg for 45047.
    raise UserError(45047, "out of response count limit")


async def sent_since(
    session: AsyncSession, fan: Fan, *, reason: str, since: datetime
) -> list[OutboxMessage]:
    """The fan's outbox messages of one kind since `since`, oldest first."""
    statement = (
        select(OutboxMessage)
        .where(
            col(OutboxMessage.openid) == fan.openid,
            col(OutboxMessage.reason) == reason,
            col(OutboxMessage.created_at) >= since,
        )
        .order_by(col(OutboxMessage.id))
    )
    return list((await session.exec(statement)).all())
