"""Admin: the welcome reply and the default reply (GET /admin/replies, /admin/api/replies).

GET /api/replies; PUT /api/replies/<name> sets one (text or one news card, each field a
sandboxed template); DELETE /api/replies/<name> goes back to the built-in reply;
POST /api/replies/<name>/preview renders one against a sample fan.
"""

from typing import Any

from aiohttp import web

from botstore.admin.common import (
    FieldError,
    no_other_fields,
    now,
    read_json,
    reading,
    render,
    text_field,
    transaction,
)
from botstore.admin.keywords import (
    SAMPLE_FAN,
    TEMPLATE_FIELDS,
    check_reply,
    check_templates,
    preview_reply,
    reply_warnings,
)
from botstore.admin.keywords import sandbox as merchant_sandbox
from botstore.i18n import N_
from botstore.services import settings

LABELS = {
    settings.WELCOME: N_("Welcome reply (a fan follows the account)"),
    settings.DEFAULT_REPLY: N_("Default reply (text no rule or command understands)"),
}
BUILT_IN = {
    settings.WELCOME: "templates/replies/events/welcome.txt",
    settings.DEFAULT_REPLY: "templates/replies/unknown_command.txt",
}


def _name(request: web.Request) -> str:
    name = request.match_info["name"]
    if name not in settings.REPLIES:
        raise web.HTTPNotFound(
            text=f"no reply setting {name[:40]!r}; there are {', '.join(settings.REPLIES)}"
        )
    return name


def _describe(name: str, value: dict[str, str] | None) -> dict[str, Any]:
    return {"name": name, "label": LABELS[name], "built_in": BUILT_IN[name], "reply": value}


async def page(request: web.Request) -> web.Response:
    async with reading(request) as session:
        values = await settings.replies(session)
    blank = {"reply_type": "text", **dict.fromkeys(TEMPLATE_FIELDS, "")}
    items = [
        {**_describe(name, value), "form": {**blank, **(value or {})}}
        for name, value in values.items()
    ]
    return render(request, "admin/replies.html", active="replies", replies=items)


async def list_replies(request: web.Request) -> web.Response:
    async with reading(request) as session:
        values = await settings.replies(session)
    return web.json_response({"replies": [_describe(name, v) for name, v in values.items()]})


def _reply_fields(data: dict[str, Any]) -> dict[str, Any]:
    no_other_fields(data, {"reply_type", *TEMPLATE_FIELDS, "text", "openid", "nickname"})
    reply_type = data.get("reply_type", "text")
    if reply_type not in ("text", "news"):
        raise FieldError("reply_type", "must be one of text, news")
    values: dict[str, Any] = {"reply_type": reply_type}
    for name in TEMPLATE_FIELDS:
        if name in data:
            values[name] = text_field(data, name, max_length=2000, allow_empty=True)
    return values


async def save(request: web.Request) -> web.Response:
    name = _name(request)
    values = _reply_fields(await read_json(request))
    check_templates(merchant_sandbox(request), values)
    async with transaction(request) as session:
        stored = await settings.set_reply(session, name, values, now=now(request))
        # A follow carries no text; the default reply answers whatever a fan wrote.
        sample = "" if name == settings.WELCOME else "hello?"
        warnings = check_reply(merchant_sandbox(request), dict(stored), text=sample)
    return web.json_response({**_describe(name, stored), "warnings": warnings})


async def reset(request: web.Request) -> web.Response:
    name = _name(request)
    async with transaction(request) as session:
        cleared = await settings.clear_reply(session, name)
    return web.json_response({**_describe(name, None), "cleared": cleared})


async def preview(request: web.Request) -> web.Response:
    name = _name(request)
    data = await read_json(request)
    values = settings.validate_reply(_reply_fields(data))
    text = text_field(data, "text", max_length=2000, default="", allow_empty=True)
    fan = {
        key: text_field(data, key, max_length=64, default=SAMPLE_FAN[key])
        for key in ("openid", "nickname")
    }
    reply = preview_reply(merchant_sandbox(request), values, text=text, **fan)
    return web.json_response(
        {"name": name, "text": text, "fan": fan, "reply": reply, "warnings": reply_warnings(reply)}
    )


def setup(admin: web.Application) -> None:
    admin.router.add_get("/replies", page)
    admin.router.add_get("/api/replies", list_replies)
    admin.router.add_put("/api/replies/{name}", save)
    admin.router.add_delete("/api/replies/{name}", reset)
    admin.router.add_post("/api/replies/{name}/preview", preview)
