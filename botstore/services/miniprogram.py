"""The account's mini program: its users (an openid per app, one unionid per person), wx.login
codes exchanged at /sns/jscode2session, and subscribe messages (templates, grants, sends).

Refusals carry the platform's errcode and errmsg (MiniProgramError), as users.UserError does
(wechat-protocol.md 7.9)."""

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.errors import BadArgument, NotFound
from botstore.models import (
    Fan,
    MiniProgramLogin,
    MiniProgramUser,
    SubscribeGrant,
    SubscribeMessage,
    SubscribeTemplate,
)

# A wx.login code lives five minutes and is exchanged once.
CODE_LIFETIME = timedelta(minutes=5)
# Codes are kept this long past expiry, so a late exchange hears "used" rather than "invalid".
KEEP_EXPIRED = timedelta(days=1)

# The pages of the mini program (its app.json): codes and subscribe messages may open only these.
HOME_PAGE = "pages/index/index"
PAGES = (
    HOME_PAGE,
    "pages/store/store",
    "pages/product/product",
    "pages/articles/articles",
    "pages/article/article",
    "pages/services/services",
)

# Subscribe messages are sent to the released version unless the backend says otherwise.
STATES = ("developer", "trial", "formal")

MAX_TEMPLATE_KEYWORDS = 10
KEYWORD_KEY = re.compile(r"([a-z_]+)([1-9][0-9]?)")


class MiniProgramError(Exception):
    """A refusal the platform answers with an official errcode and errmsg."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


def unionid_of(fan: Fan) -> str:
    """The person's unionid: the same for the account's openid and the mini program's.

    Derived from the account's openid, so every fan has one from first contact without a write
    on the webhook's path; shaped like the platform's (28 characters starting with "o")."""
    digest = hashlib.sha256(b"botstore unionid\0" + fan.openid.encode()).digest()
    return "o" + base64.urlsafe_b64encode(digest).decode()[:27]


def _openid() -> str:
    return "o" + secrets.token_urlsafe(21)[:27]


async def user_of(session: AsyncSession, fan: Fan, *, now: datetime) -> MiniProgramUser:
    """The fan as a mini-program user, made on first use with an openid of the mini program's."""
    statement = select(MiniProgramUser).where(col(MiniProgramUser.fan_id) == fan.id)
    found = (await session.exec(statement)).first()
    if found is not None:
        return found
    user = MiniProgramUser(fan_id=fan.id, openid=_openid(), created_at=now)
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError:  # the same fan opened the mini program at the same moment elsewhere
        return (await session.exec(statement)).one()
    return user


@dataclass(frozen=True, slots=True)
class Login:
    """What wx.login gives the mini program (code), and who it is for."""

    code: str
    openid: str
    unionid: str


async def login(session: AsyncSession, fan: Fan, *, now: datetime) -> Login:
    """wx.login for this fan: a new one-time code, valid CODE_LIFETIME."""
    user = await user_of(session, fan, now=now)
    assert user.id is not None
    await session.exec(
        delete(MiniProgramLogin).where(col(MiniProgramLogin.expires_at) < now - KEEP_EXPIRED)
    )
    code = secrets.token_urlsafe(24)  # 32 characters, as the platform's codes
    session.add(
        MiniProgramLogin(
            code=code,
            user_id=user.id,
            # The platform's session_key: 16 random bytes, base64 (24 characters).
            session_key=base64.b64encode(secrets.token_bytes(16)).decode(),
            expires_at=now + CODE_LIFETIME,
            created_at=now,
        )
    )
    await session.flush()
    return Login(code=code, openid=user.openid, unionid=unionid_of(fan))


@dataclass(frozen=True, slots=True)
class CodeSession:
    """/sns/jscode2session's answer."""

    openid: str
    session_key: str
    unionid: str


async def exchange_code(session: AsyncSession, code: str, *, now: datetime) -> CodeSession:
    """Use up a wx.login code: 40163 if it was used, 40029 if unknown or expired."""
    if not 0 < len(code) <= 64:
        raise MiniProgramError(40029, "invalid code")
    # One conditional UPDATE: of two exchanges at once only one can succeed.
    taken = await session.exec(
        update(MiniProgramLogin)
        .where(
            col(MiniProgramLogin.code) == code,
            col(MiniProgramLogin.used_at).is_(None),
            col(MiniProgramLogin.expires_at) > now,
        )
        .values(used_at=now)
    )
    found = await session.get(MiniProgramLogin, code)
    if taken.rowcount != 1:
        if found is not None and found.used_at is not None:
            raise MiniProgramError(40163, "code been used")
        raise MiniProgramError(40029, "invalid code")
    assert found is not None
    user = await session.get(MiniProgramUser, found.user_id)
    assert user is not None
    fan = await session.get(Fan, user.fan_id)
    assert fan is not None
    return CodeSession(openid=user.openid, session_key=found.session_key, unionid=unionid_of(fan))


async def user_by_openid(session: AsyncSession, openid: object) -> tuple[MiniProgramUser, Fan]:
    """The mini-program user with this openid (and the fan they are); 40003 for anyone else."""
    if not isinstance(openid, str) or not 0 < len(openid) <= 64:
        raise MiniProgramError(40003, "invalid openid")
    statement = (
        select(MiniProgramUser, Fan)
        .join(Fan, col(Fan.id) == col(MiniProgramUser.fan_id))
        .where(col(MiniProgramUser.openid) == openid)
    )
    found = (await session.exec(statement)).first()
    if found is None:
        raise MiniProgramError(40003, "invalid openid")
    return found[0], found[1]


def page_exists(page: str) -> bool:
    """Whether `page` (its path; a query string may follow) is a page of the mini program."""
    return page.partition("?")[0] in PAGES


# --- subscribe-message templates ---------------------------------------------------------------


def keyword_kind(key: str) -> str:
    """'thing1' -> 'thing': the kind decides what a value may hold."""
    matched = KEYWORD_KEY.fullmatch(key)
    return matched.group(1) if matched else ""


async def templates(session: AsyncSession, *, include_inactive: bool = False) -> list[Any]:
    statement = select(SubscribeTemplate).order_by(col(SubscribeTemplate.created_at))
    if not include_inactive:
        statement = statement.where(col(SubscribeTemplate.active).is_(True))
    return list((await session.exec(statement)).all())


async def create_template(
    session: AsyncSession,
    *,
    title: str,
    keywords: list[tuple[str, str]],
    now: datetime,
    template_id: str | None = None,
) -> SubscribeTemplate:
    """A template with these (key, name) keywords, e.g. ('thing1', '商品名称')."""
    if not 0 < len(keywords) <= MAX_TEMPLATE_KEYWORDS:
        raise BadArgument("keywords", str(len(keywords)), f"1-{MAX_TEMPLATE_KEYWORDS} keywords")
    seen = set()
    for key, name in keywords:
        if keyword_kind(key) not in VALUE_RULES:
            kinds = ", ".join(VALUE_RULES)
            raise BadArgument("keywords", key, f"a key is a kind and a number: {kinds}")
        if key in seen:
            raise BadArgument("keywords", key, "each key once")
        if not 0 < len(name) <= 20:
            raise BadArgument("keywords", name, "a keyword's name is 1-20 characters")
        seen.add(key)
    template = SubscribeTemplate(
        # The platform's ids are 43 characters of base64url.
        id=template_id or secrets.token_urlsafe(32)[:43],
        title=title,
        keywords=[{"key": key, "name": name} for key, name in keywords],
        created_at=now,
    )
    session.add(template)
    await session.flush()
    return template


_TEMPLATE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


async def template_by_id(session: AsyncSession, template_id: object) -> SubscribeTemplate | None:
    """The template with this id, active or not. Ids are URL-safe (as the platform's, and as
    botstore makes them): anything else names no template, and PostgreSQL would refuse some
    (a NUL) outright."""
    if not isinstance(template_id, str) or not _TEMPLATE_ID.fullmatch(template_id):
        return None
    return await session.get(SubscribeTemplate, template_id)


async def _template(session: AsyncSession, template_id: object) -> SubscribeTemplate | None:
    template = await template_by_id(session, template_id)
    return template if template is not None and template.active else None


async def grant(
    session: AsyncSession, fan: Fan, *, template_id: str, now: datetime
) -> SubscribeGrant:
    """The fan's "allow" of wx.requestSubscribeMessage: one message of the template may come."""
    template = await _template(session, template_id)
    if template is None:
        raise NotFound("subscribe template", template_id)
    user = await user_of(session, fan, now=now)
    assert user.id is not None
    granted = SubscribeGrant(user_id=user.id, template_id=template.id, granted_at=now)
    session.add(granted)
    await session.flush()
    return granted


async def grants_left(session: AsyncSession, user: MiniProgramUser) -> dict[str, int]:
    """Unused grants by template id."""
    rows = (
        await session.exec(
            select(SubscribeGrant.template_id).where(
                col(SubscribeGrant.user_id) == user.id, col(SubscribeGrant.used_at).is_(None)
            )
        )
    ).all()
    left: dict[str, int] = {}
    for template_id in rows:
        left[template_id] = left.get(template_id, 0) + 1
    return left


# --- sending ------------------------------------------------------------------------------------

_DIGITS = r"\d+(?:\.\d+)?"
_SYMBOLS = r"[!-/:-@\[-`{-~]"
_DATE = r"\d{4}(?:年\d{1,2}月\d{1,2}日|[-/.]\d{1,2}[-/.]\d{1,2})"
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?"
_HAN = r"[\u4e00-\u9fff]"

# (max characters, pattern) per keyword kind, as the platform's rules say (wechat-protocol.md 7.9).
VALUE_RULES: dict[str, tuple[int, re.Pattern[str] | None]] = {
    "thing": (20, None),
    "number": (32, re.compile(r"[-+]?" + _DIGITS)),
    "letter": (32, re.compile(r"[A-Za-z]+")),
    "symbol": (5, re.compile(_SYMBOLS + "+")),
    "character_string": (32, re.compile(r"[A-Za-z0-9" + _SYMBOLS[1:-1] + r"]+")),
    "time": (64, re.compile(rf"(?:{_DATE}\s*)?{_CLOCK}(?:\s*~\s*(?:{_DATE}\s*)?{_CLOCK})?")),
    "date": (64, re.compile(rf"{_DATE}(?:\s*{_CLOCK})?(?:\s*~\s*{_DATE}(?:\s*{_CLOCK})?)?")),
    "amount": (16, re.compile(r"[¥￥]?\d{1,10}(?:\.\d{1,2})?元?")),
    "phone_number": (17, re.compile(r"[\d+\-() ]+")),
    "car_number": (8, None),
    "name": (20, None),
    "phrase": (5, re.compile(_HAN + "+")),
}


def _checked_data(template: SubscribeTemplate, data: object) -> dict[str, dict[str, str]]:
    """The template's fields from `data`, each value checked against its kind (47003)."""
    if not isinstance(data, dict):
        raise MiniProgramError(47003, "argument invalid! data is not an object")
    checked = {}
    for keyword in template.keywords:
        key = keyword["key"]
        field = data.get(key)
        value = field.get("value") if isinstance(field, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # some SDKs send numbers; the platform reads them as text
        if not isinstance(value, str) or not value.strip():
            raise MiniProgramError(47003, f"argument invalid! data.{key}.value is empty")
        limit, pattern = VALUE_RULES[keyword_kind(key)]
        if len(value) > limit or (pattern is not None and not pattern.fullmatch(value.strip())):
            raise MiniProgramError(47003, f"argument invalid! data.{key}.value invalid")
        checked[key] = {"value": value}
    return checked


async def send(
    session: AsyncSession,
    *,
    touser: object,
    template_id: object,
    data: object,
    page: str,
    state: str,
    now: datetime,
) -> SubscribeMessage:
    """subscribeMessage.send: one message to the user on one of their unused grants."""
    user, _ = await user_by_openid(session, touser)
    template = await _template(session, template_id)
    if template is None:
        raise MiniProgramError(40037, "invalid template id")
    checked = _checked_data(template, data)
    if page and not page_exists(page):
        raise MiniProgramError(41030, "invalid page")
    if state not in STATES:
        raise MiniProgramError(40097, "invalid args: miniprogram_state")
    while True:
        oldest = (
            await session.exec(
                select(SubscribeGrant.id)
                .where(
                    col(SubscribeGrant.user_id) == user.id,
                    col(SubscribeGrant.template_id) == template.id,
                    col(SubscribeGrant.used_at).is_(None),
                )
                .order_by(col(SubscribeGrant.id))
                .limit(1)
            )
        ).first()
        if oldest is None:
            raise MiniProgramError(43101, "user refuse to accept the msg")
        # Conditional: a concurrent send may take the same grant first; then try the next one.
        taken = await session.exec(
            update(SubscribeGrant)
            .where(col(SubscribeGrant.id) == oldest, col(SubscribeGrant.used_at).is_(None))
            .values(used_at=now)
        )
        if taken.rowcount == 1:
            break
    assert user.id is not None
    message = SubscribeMessage(
        user_id=user.id,
        grant_id=oldest,
        template_id=template.id,
        page=page,
        data=checked,
        state=state,
        sent_at=now,
    )
    session.add(message)
    await session.flush()
    return message


async def messages_of(
    session: AsyncSession, fan: Fan, *, limit: int = 50
) -> list[tuple[SubscribeMessage, SubscribeTemplate]]:
    """The fan's latest subscribe messages with their templates, newest first."""
    statement = (
        select(SubscribeMessage, SubscribeTemplate)
        .join(MiniProgramUser, col(MiniProgramUser.id) == col(SubscribeMessage.user_id))
        .join(SubscribeTemplate, col(SubscribeTemplate.id) == col(SubscribeMessage.template_id))
        .where(col(MiniProgramUser.fan_id) == fan.id)
        .order_by(col(SubscribeMessage.id).desc())
        .limit(limit)
    )
    return [(message, template) for message, template in (await session.exec(statement)).all()]
