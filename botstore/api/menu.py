"""The custom menu APIs (wechat-protocol.md 7.3): create, get, delete, the current self-menu, and
conditional menus (addconditional, delconditional, trymatch)."""

from typing import Any

from aiohttp import web

from botstore.api.common import ApiError, answer, api, authenticate, read_json
from botstore.keys import clock_key, db_key
from botstore.numbers import ID_MAX, parse_whole
from botstore.services import menu, users

OK = {"errcode": 0, "errmsg": "ok"}


def _menu_error(error: menu.MenuError) -> ApiError:
    return ApiError(error.errcode, error.errmsg)


def _with_empty_subs(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # menu/get shows every leaf with "sub_button": [] (wechatpy's menu_get fixture).
    return [
        {**button, "sub_button": _with_empty_subs(button.get("sub_button", []))}
        for button in buttons
    ]


@api
async def create_menu(request: web.Request) -> web.Response:
    """Replace the default menu."""
    now = request.app[clock_key].now()
    async with request.app[db_key]() as session, session.begin():
        await authenticate(request, session)
        data = await read_json(request)
        try:
            await menu.save(session, data.get("button"), now=now)
        except menu.MenuError as error:
            raise _menu_error(error) from None
    return answer(OK)


@api
async def get_menu(request: web.Request) -> web.Response:
    """The default menu and the conditional ones, or 46003."""
    async with request.app[db_key]() as session:
        await authenticate(request, session)
        default = await menu.default(session)
        conditional = await menu.conditional(session)
    if default is None:
        # [unconfirmed text] wechatpy's menu.get() turns exactly this errcode into None.
        raise ApiError(46003, "menu no exist")
    body: dict[str, Any] = {"menu": {"button": _with_empty_subs(default.buttons)}}
    if conditional:  # menuid shows only beside conditional menus (§7.3)
        body["menu"]["menuid"] = default.id
        body["conditionalmenu"] = [
            {
                "button": _with_empty_subs(item.buttons),
                "matchrule": item.matchrule,
                "menuid": item.id,
            }
            for item in conditional
        ]
    return answer(body)


@api
async def delete_menu(request: web.Request) -> web.Response:
    """Delete the default menu and every conditional one."""
    async with request.app[db_key]() as session, session.begin():
        await authenticate(request, session)
        await menu.delete(session)
    return answer(OK)


def _selfmenu_button(button: dict[str, Any]) -> dict[str, Any]:
    if "sub_button" in button:  # here a sub-menu is {"list": [...]} (§7.3)
        return {"name": button["name"], "sub_button": {"list": button["sub_button"]}}
    return button


@api
async def current_selfmenu_info(request: web.Request) -> web.Response:
    """The menu in effect, in the get_current_selfmenu_info shape."""
    async with request.app[db_key]() as session:
        await authenticate(request, session)
        buttons = await menu.current(session)
    if buttons is None:
        return answer({"is_menu_open": 0, "selfmenu_info": {"button": []}})
    return answer(
        {
            "is_menu_open": 1,
            "selfmenu_info": {"button": [_selfmenu_button(button) for button in buttons]},
        }
    )


@api
async def add_conditional(request: web.Request) -> web.Response:
    """A menu for the fans its matchrule matches; answers its menuid."""
    now = request.app[clock_key].now()
    async with request.app[db_key]() as session, session.begin():
        await authenticate(request, session)
        data = await read_json(request)
        try:
            made = await menu.add_conditional(
                session,
                data.get("button"),
                data.get("matchrule"),
                now=now,
            )
        except menu.MenuError as error:
            raise _menu_error(error) from None
    return answer({"menuid": str(made.id)})


@api
async def delete_conditional(request: web.Request) -> web.Response:
    async with request.app[db_key]() as session, session.begin():
        await authenticate(request, session)
        data = await read_json(request)
        menu_id = data.get("menuid")
        # The platform hands menuid out as a string; SDKs send it back either way.
        if isinstance(menu_id, str):
            menu_id = parse_whole(menu_id, minimum=1, maximum=ID_MAX) or menu_id
        if isinstance(menu_id, bool) or not isinstance(menu_id, int) or not 0 < menu_id < 2**31:
            raise ApiError(47001, "data format error hint: menuid must be a menu id")
        try:
            await menu.delete_conditional(session, menu_id)
        except menu.MenuError as error:
            raise _menu_error(error) from None
    return answer(OK)


@api
async def try_match(request: web.Request) -> web.Response:
    """The menu this fan would see."""
    async with request.app[db_key]() as session:
        await authenticate(request, session)
        data = await read_json(request)
        try:
            await users.by_openid(session, data.get("user_id"))
        except users.UserError as error:
            raise ApiError(error.errcode, error.errmsg) from None
        # The emulator keeps no tags yet: a fan matches on language alone.
        buttons = await menu.for_fan(session, tag_ids=[], language=users.LANGUAGE)
    if buttons is None:
        raise ApiError(46003, "menu no exist")
    return answer({"button": _with_empty_subs(buttons)})
