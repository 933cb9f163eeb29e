"""The account's reply settings (the welcome reply, the default reply), kept in account_setting."""

from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.errors import BadArgument, NotFound
from botstore.models import AccountSetting
from botstore.services.keywords import FIELDS, REPLY_TYPES

WELCOME = "welcome"  # the reply to a subscribe event
DEFAULT_REPLY = "default_reply"  # the reply to text no rule or command understands
REPLIES = (WELCOME, DEFAULT_REPLY)


def validate_reply(value: dict[str, Any]) -> dict[str, str]:
    """A reply setting as stored: its type and the (template) fields that type uses."""
    reply_type = value.get("reply_type", "text")
    if reply_type not in REPLY_TYPES:
        raise BadArgument("reply_type", str(reply_type)[:40], "text or news")
    used = ("content",) if reply_type == "text" else ("title", "description", "url", "pic_url")
    clean = {"reply_type": reply_type}
    for name in used:
        field = value.get(name, "")
        if not isinstance(field, str):
            raise BadArgument(name, str(field)[:40], "must be a string")
        if len(field) > FIELDS[name]:
            raise BadArgument(name, field[:40], f"at most {FIELDS[name]} characters")
        clean[name] = field
    if reply_type == "text" and not clean["content"].strip():
        raise BadArgument("content", "", "a text reply needs its text")
    if reply_type == "news" and not clean["title"].strip():
        raise BadArgument("title", "", "a news card needs a title")
    return clean


def _known(name: str) -> str:
    if name not in REPLIES:
        raise NotFound("reply setting", name)
    return name


async def reply(session: AsyncSession, name: str) -> dict[str, str] | None:
    """The merchant's reply for `name`, or None when the built-in one applies."""
    setting = await session.get(AccountSetting, _known(name))
    return dict(setting.value) if setting is not None else None


async def replies(session: AsyncSession) -> dict[str, dict[str, str] | None]:
    """Every reply setting, None for those not set."""
    rows = await session.exec(select(AccountSetting).where(col(AccountSetting.name).in_(REPLIES)))
    found = {row.name: dict(row.value) for row in rows}
    return {name: found.get(name) for name in REPLIES}


async def set_reply(
    session: AsyncSession, name: str, value: dict[str, Any], *, now: datetime
) -> dict[str, str]:
    """Store the merchant's reply for `name` (validated), replacing any earlier one."""
    clean = validate_reply(value)
    setting = await session.get(AccountSetting, _known(name))
    if setting is None:
        session.add(AccountSetting(name=name, value=clean, updated_at=now))
    else:
        setting.value = clean
        setting.updated_at = now
    await session.flush()
    return clean


async def clear_reply(session: AsyncSession, name: str) -> bool:
    """Back to the built-in reply; False when none was set."""
    setting = await session.get(AccountSetting, _known(name))
    if setting is None:
        return False
    await session.delete(setting)
    await session.flush()
    return True
