"""Admin: the custom menu editor (GET /admin/menu) and /admin/api/menu (the menu /cgi-bin edits).

GET the menu; PUT {"button": [...]} replaces the default menu (the official limits, refused with
the official errcode and errmsg); DELETE removes every menu, as /cgi-bin/menu/delete does.
"""

from typing import Any

from aiohttp import web

from botstore.admin.common import FieldError, now, read_json, reading, render, transaction
from botstore.i18n import N_
from botstore.services import menu

KEY_TYPES = {
    "click": N_("click: runs the command named by the key"),
    "view": N_("view: opens a URL"),
    "miniprogram": N_("miniprogram: opens a mini-program page"),
    "scancode_push": N_("scancode_push: scan a code"),
    "scancode_waitmsg": N_("scancode_waitmsg: scan, then wait for the reply"),
    "pic_sysphoto": N_("pic_sysphoto: take a photo"),
    "pic_photo_or_album": N_("pic_photo_or_album: photo or album"),
    "pic_weixin": N_("pic_weixin: WeChat album"),
    "location_select": N_("location_select: send a location"),
    "media_id": N_("media_id: a saved material"),
    "view_limited": N_("view_limited: a saved article page"),
    "article_id": N_("article_id: a published article"),
    "article_view_limited": N_("article_view_limited: a published article page"),
}


def _menu_error(error: menu.MenuError) -> web.Response:
    return web.json_response(
        {
            "error": f"errcode {error.errcode}: {error.errmsg}",
            "errcode": error.errcode,
            "errmsg": error.errmsg,
        },
        status=400,
    )


async def _state(request: web.Request) -> dict[str, Any]:
    async with reading(request) as session:
        buttons = await menu.current(session)
        conditional = [
            {"menuid": item.id, "button": item.buttons, "matchrule": item.matchrule}
            for item in await menu.conditional(session)
        ]
    return {
        "menu": {"button": buttons} if buttons is not None else None,
        "conditionalmenu": conditional,
    }


async def page(request: web.Request) -> web.Response:
    return render(
        request,
        "admin/menu.html",
        active="menu",
        state=await _state(request),
        types=KEY_TYPES,
        limits={
            "buttons": menu.MAX_BUTTONS,
            "sub_buttons": menu.MAX_SUB_BUTTONS,
            "name_bytes": menu.MAX_NAME_BYTES,
            "sub_name_bytes": menu.MAX_SUB_NAME_BYTES,
            "key_bytes": menu.MAX_KEY_BYTES,
        },
    )


async def show(request: web.Request) -> web.Response:
    return web.json_response(await _state(request))


async def save(request: web.Request) -> web.Response:
    data = await read_json(request)
    if set(data) != {"button"}:
        raise FieldError("button", 'send {"button": [...]}, the body of /cgi-bin/menu/create')
    try:
        async with transaction(request) as session:
            saved = await menu.save(session, data["button"], now=now(request))
            buttons = saved.buttons
    except menu.MenuError as error:
        return _menu_error(error)
    return web.json_response({"errcode": 0, "errmsg": "ok", "menu": {"button": buttons}})


async def delete(request: web.Request) -> web.Response:
    async with transaction(request) as session:
        deleted = await menu.delete(session)
    return web.json_response({"errcode": 0, "errmsg": "ok", "deleted": deleted})


def setup(admin: web.Application) -> None:
    admin.router.add_get("/menu", page)
    admin.router.add_get("/api/menu", show)
    admin.router.add_put("/api/menu", save)
    admin.router.add_post("/api/menu", save)
    admin.router.add_delete("/api/menu", delete)
