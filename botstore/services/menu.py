"""The account's custom menu (wechat-protocol.md 7.3 and 8): the official limits, the default
menu that /cgi-bin/menu/create replaces, and conditional menus with their matchrule."""

from datetime import datetime
from typing import Any
from urllib.parse import SplitResult, urlsplit

from sqlalchemy import delete as sql_delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.models import Menu

MAX_BUTTONS = 3
MAX_SUB_BUTTONS = 5
MAX_NAME_BYTES = 16
MAX_SUB_NAME_BYTES = 60
MAX_KEY_BYTES = 128
MAX_URL_BYTES = 1024
MAX_DOMAINS = 3

# Each type and the field it cannot do without; miniprogram also needs appid and pagepath.
REQUIRED_FIELD = {
    "click": "key",
    "view": "url",
    "miniprogram": "url",
    "scancode_push": "key",
    "scancode_waitmsg": "key",
    "pic_sysphoto": "key",
    "pic_photo_or_album": "key",
    "pic_weixin": "key",
    "location_select": "key",
    "media_id": "media_id",
    "view_limited": "media_id",
    "article_id": "article_id",
    "article_view_limited": "article_id",
}
TYPES = tuple(REQUIRED_FIELD)
# What a button keeps, in the order /cgi-bin/menu/get shows it; anything else is dropped.
FIELDS = ("type", "name", "key", "url", "appid", "pagepath", "media_id", "article_id")
MATCHRULE_FIELDS = (
    "tag_id",
    "sex",
    "country",
    "province",
    "city",
    "client_platform_type",
    "language",
)


class MenuError(Exception):
    """A menu the platform would refuse, with the official errcode and errmsg (§7.3)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


def _error(errcode: int, errmsg: str, hint: str) -> MenuError:
    return MenuError(errcode, f"{errmsg} hint: {hint}")


# The top-level and sub-button flavours of the same checks carry different codes (§7.3).
_TOP = {
    "size": (40016, "invalid button size"),
    "type": (40017, "invalid button type"),
    "name": (40018, "invalid button name size"),
    "key": (40019, "invalid button key size"),
    "url": (40020, "invalid button url size"),
}
_SUB = {
    "size": (40023, "invalid sub button size"),
    "type": (40024, "invalid sub button type"),
    "name": (40025, "invalid sub button name size"),
    "key": (40026, "invalid sub button key size"),
    "url": (40027, "invalid sub button url size"),
}


def _byte_size(value: object) -> int | None:
    return len(value.encode()) if isinstance(value, str) else None


def _check_sized(
    button: dict[str, Any], field: str, limit: int, codes: dict[str, tuple[int, str]], where: str
) -> None:
    size = _byte_size(button.get(field))
    if size is None or not 0 < size <= limit:
        code, message = codes[field if field in codes else "type"]
        shown = "missing" if size is None else f"{size} bytes"
        raise _error(code, message, f"{where} {field} is {shown}, must be 1-{limit} bytes")


def _check_leaf(button: dict[str, Any], codes: dict[str, tuple[int, str]], where: str) -> None:
    kind = button.get("type")
    if not isinstance(kind, str) or kind not in REQUIRED_FIELD:
        code, message = codes["type"]
        raise _error(code, message, f"{where} type {kind!r} is not one of {', '.join(TYPES)}")
    required = REQUIRED_FIELD[kind]
    if required == "key":
        _check_sized(button, "key", MAX_KEY_BYTES, codes, where)
    elif required == "url":
        _check_sized(button, "url", MAX_URL_BYTES, codes, where)
        parts = _split(button["url"])
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            # [unconfirmed text] the platform's code for a URL it cannot link to.
            raise _error(65317, "invalid url", f"{where} url must be an http:// or https:// URL")
    else:
        value = button.get(required)
        if not isinstance(value, str) or not value:
            raise _error(40097, "invalid args", f"{where} of type {kind} needs {required}")
    if kind == "miniprogram":
        for field in ("appid", "pagepath"):
            value = button.get(field)
            if not isinstance(value, str) or not value:
                raise _error(40097, "invalid args", f"{where} of type miniprogram needs {field}")
    for field in ("key", "url"):  # optional elsewhere, but still bounded when given
        if field in button and field != required:
            limit = MAX_KEY_BYTES if field == "key" else MAX_URL_BYTES
            _check_sized(button, field, limit, codes, where)


def validate(buttons: list[dict[str, Any]]) -> None:
    """Refuse a menu the platform would refuse (§7.3, §8), with its errcode."""
    if not isinstance(buttons, list):
        raise _error(47001, "data format error", "button must be a list")
    if not 0 < len(buttons) <= MAX_BUTTONS:
        raise _error(*_TOP["size"], f"{len(buttons)} buttons, must be 1-{MAX_BUTTONS}")
    domains: set[str] = set()
    for number, button in enumerate(buttons, 1):
        where = f"button {number}"
        if not isinstance(button, dict):
            raise _error(47001, "data format error", f"{where} must be an object")
        _check_sized(button, "name", MAX_NAME_BYTES, _TOP, where)
        subs = button.get("sub_button")
        # A leaf may come back from menu/get with "sub_button": [] (wechatpy fixtures do).
        if subs is None or subs == []:
            _check_leaf(button, _TOP, where)
            _collect_domain(button, domains)
            continue
        if not isinstance(subs, list) or not 0 < len(subs) <= MAX_SUB_BUTTONS:
            size = len(subs) if isinstance(subs, list) else "not a list:"
            raise _error(
                *_SUB["size"], f"{where} has {size} sub-buttons, must be 1-{MAX_SUB_BUTTONS}"
            )
        for sub_number, sub in enumerate(subs, 1):
            sub_where = f"{where} sub-button {sub_number}"
            if not isinstance(sub, dict):
                raise _error(47001, "data format error", f"{sub_where} must be an object")
            _check_sized(sub, "name", MAX_SUB_NAME_BYTES, _SUB, sub_where)
            if sub.get("sub_button"):  # only two levels
                raise _error(*_SUB["type"], f"{sub_where}: menus have only two levels")
            _check_leaf(sub, _SUB, sub_where)
            _collect_domain(sub, domains)
    if len(domains) > MAX_DOMAINS:
        # [lib WxJava enum] the platform caps the external domains one menu links to.
        raise _error(
            65316,
            "invalid url domain",
            f"{len(domains)} link domains ({', '.join(sorted(domains))}), at most {MAX_DOMAINS}",
        )


def _collect_domain(button: dict[str, Any], domains: set[str]) -> None:
    parts = _split(button.get("url"))
    if parts is not None and parts.hostname:
        domains.add(parts.hostname)


def _split(url: object) -> SplitResult | None:
    """The URL's parts, or None when it is not one (urlsplit raises on "http://[")."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 - parsing the host is what raises
    except ValueError:
        return None
    return parts


def normalize(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The validated buttons with only the official fields, in the official order."""
    result = []
    for button in buttons:
        if button.get("sub_button"):
            subs = [_leaf(sub) for sub in button["sub_button"]]
            result.append({"name": button["name"], "sub_button": subs})
        else:
            result.append(_leaf(button))
    return result


def _leaf(button: dict[str, Any]) -> dict[str, Any]:
    return {field: button[field] for field in FIELDS if field in button}


def validate_matchrule(matchrule: object) -> dict[str, Any]:
    """A conditional menu's matchrule: at least one known field, each a string."""
    if not isinstance(matchrule, dict):
        raise _error(47001, "data format error", "matchrule must be an object")
    rule = {}
    for field in MATCHRULE_FIELDS:
        value = matchrule.get(field)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _error(47001, "data format error", f"matchrule.{field} must be a string")
        rule[field] = str(value)
    if not rule:
        # [unconfirmed text] the platform refuses an empty matchrule.
        raise _error(
            65304, "match rule empty", "matchrule needs one of " + ", ".join(MATCHRULE_FIELDS)
        )
    return rule


async def save(session: AsyncSession, buttons: list[dict[str, Any]], *, now: datetime) -> Menu:
    """Validate and make `buttons` the default menu, replacing the previous one."""
    validate(buttons)
    await session.exec(sql_delete(Menu).where(col(Menu.matchrule).is_(None)))
    menu = Menu(buttons=normalize(buttons), matchrule=None, created_at=now)
    session.add(menu)
    await session.flush()
    return menu


async def default(session: AsyncSession) -> Menu | None:
    """The default menu (the newest, should two saves have raced)."""
    statement = select(Menu).where(col(Menu.matchrule).is_(None)).order_by(col(Menu.id).desc())
    return (await session.exec(statement.limit(1))).first()


async def current(session: AsyncSession) -> list[dict[str, Any]] | None:
    """The default menu's buttons, or None when there is no menu."""
    menu = await default(session)
    return None if menu is None else menu.buttons


async def conditional(session: AsyncSession) -> list[Menu]:
    """The conditional menus, oldest first."""
    statement = select(Menu).where(col(Menu.matchrule).is_not(None)).order_by(col(Menu.id))
    return list((await session.exec(statement)).all())


async def delete(session: AsyncSession) -> bool:
    """Delete the default menu and every conditional one; False if there was none."""
    result = await session.exec(sql_delete(Menu))
    return result.rowcount > 0


async def add_conditional(
    session: AsyncSession, buttons: list[dict[str, Any]], matchrule: object, *, now: datetime
) -> Menu:
    """A conditional menu; the platform wants a default menu first."""
    validate(buttons)
    rule = validate_matchrule(matchrule)
    if await default(session) is None:
        raise _error(65303, "there is no selfmenu, please create selfmenu first", "menu/create")
    menu = Menu(buttons=normalize(buttons), matchrule=rule, created_at=now)
    session.add(menu)
    await session.flush()
    return menu


async def delete_conditional(session: AsyncSession, menu_id: int) -> None:
    found = await session.get(Menu, menu_id)
    if found is None or found.matchrule is None:
        raise _error(65301, "menuid not exist", f"no conditional menu {menu_id}")
    await session.delete(found)


def rule_matches(rule: dict[str, Any], *, tag_ids: list[int], language: str) -> bool:
    """Whether a fan with these tags and language gets the conditional menu of `rule`.

    The emulator knows only tags and language; fields it cannot know (sex, region, platform)
    never match, as for a fan who hides them."""
    for field, value in rule.items():
        if field == "tag_id" and value not in {str(tag) for tag in tag_ids}:
            return False
        if field == "language" and value != language:
            return False
        if field not in ("tag_id", "language"):
            return False
    return True


async def for_fan(
    session: AsyncSession, *, tag_ids: list[int], language: str
) -> list[dict[str, Any]] | None:
    """The menu a fan sees: the newest matching conditional menu, else the default one."""
    for menu in reversed(await conditional(session)):
        if menu.matchrule is not None and rule_matches(
            menu.matchrule, tag_ids=tag_ids, language=language
        ):
            return menu.buttons
    return await current(session)
