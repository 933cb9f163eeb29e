"""Parametric QR codes (wechat-protocol.md 7.6): temporary and permanent scenes behind tickets.
Scanning one makes the platform send SCAN or subscribe with the scene (§2.6)."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.errors import BadArgument, NotFound
from botstore.models import QrCode

TEMPORARY = {"QR_SCENE": "id", "QR_STR_SCENE": "str"}
PERMANENT = {"QR_LIMIT_SCENE": "id", "QR_LIMIT_STR_SCENE": "str"}
DEFAULT_EXPIRE_SECONDS = 60
MAX_EXPIRE_SECONDS = 2_592_000  # 30 days
MAX_TEMPORARY_SCENE_ID = 2**32 - 1  # a 32-bit unsigned, non-zero scene_id
MAX_PERMANENT_SCENE_ID = 100_000
MAX_SCENE_STR = 64
URL_BASE = "http://weixin.qq.com/q/"  # what the real code encodes (the official response shape)


@dataclass(frozen=True, slots=True)
class Scene:
    action_name: str
    scene_id: int | None = None
    scene_str: str | None = None
    expire_seconds: int | None = None


def url_of(code: QrCode) -> str:
    return URL_BASE + code.ticket


def _scene_value(scene: Scene) -> str:
    kind = TEMPORARY.get(scene.action_name) or PERMANENT.get(scene.action_name)
    if kind is None:
        raise BadArgument(
            "action_name", scene.action_name, "one of " + ", ".join([*TEMPORARY, *PERMANENT])
        )
    if kind == "id":
        top = MAX_TEMPORARY_SCENE_ID if scene.action_name in TEMPORARY else MAX_PERMANENT_SCENE_ID
        if scene.scene_id is None or not 1 <= scene.scene_id <= top:
            raise BadArgument("scene_id", str(scene.scene_id), f"an integer from 1 to {top}")
        return str(scene.scene_id)
    if scene.scene_str is None or not 1 <= len(scene.scene_str) <= MAX_SCENE_STR:
        raise BadArgument("scene_str", str(scene.scene_str), f"1-{MAX_SCENE_STR} characters")
    return scene.scene_str


async def create(session: AsyncSession, scene: Scene, *, now: datetime) -> QrCode:
    """A code for the scene; a permanent scene asked for again gets its existing code."""
    value = _scene_value(scene)
    if scene.action_name in PERMANENT:
        existing = (
            await session.exec(
                select(QrCode).where(
                    QrCode.action_name == scene.action_name,
                    QrCode.scene == value,
                    col(QrCode.expire_at).is_(None),
                )
            )
        ).first()
        if existing is not None:
            return existing
        expire_at = None
    else:
        seconds = DEFAULT_EXPIRE_SECONDS if scene.expire_seconds is None else scene.expire_seconds
        if not 1 <= seconds <= MAX_EXPIRE_SECONDS:
            raise BadArgument("expire_seconds", str(seconds), f"1 to {MAX_EXPIRE_SECONDS}")
        expire_at = now + timedelta(seconds=seconds)
    code = QrCode(
        ticket=secrets.token_urlsafe(48),
        action_name=scene.action_name,
        scene=value,
        expire_at=expire_at,
        created_at=now,
    )
    session.add(code)
    await session.flush()
    return code


async def by_ticket(session: AsyncSession, ticket: str) -> QrCode:
    code = (
        (await session.exec(select(QrCode).where(QrCode.ticket == ticket))).first()
        if 0 < len(ticket) <= 200
        else None
    )
    if code is None:
        raise NotFound("QR ticket", ticket[:40])
    return code


def is_expired(code: QrCode, *, now: datetime) -> bool:
    return code.expire_at is not None and code.expire_at <= now
