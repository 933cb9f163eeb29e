"""The console's mini program: the fan's side of it, played by the console (loopback or the admin
token, as the rest of the console). wx.login, the "allow" of wx.requestSubscribeMessage, the
subscribe messages a fan got and the page a scanned code opens.

    POST /console/api/miniprogram/login      {"fan"} -> {"code", "openid", "unionid"}
    POST /console/api/miniprogram/subscribe  {"fan", "template_id"} -> {"grant": {...}, ...}
    GET  /console/api/miniprogram/state?fan= -> pages, templates, grants, messages
"""

from typing import Any

from aiohttp import web
from pydantic import Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore import jsonbody
from botstore.console.web import OPENID, BadInput, guarded
from botstore.errors import NotFound
from botstore.keys import clock_key, config_key, db_key
from botstore.models import Fan, SubscribeMessage, SubscribeTemplate
from botstore.services import miniprogram

FanOpenid = Field(pattern=f"^{OPENID.pattern}$")


# The web pages (botstore/pages/) that show each page of the mini program: `url` with the id
# the scene carries, `fallback` when it carries none.
PAGE_URLS = {
    "pages/index/index": ("/stores", "/stores"),
    "pages/store/store": ("/stores/{id}", "/stores"),
    "pages/product/product": ("/products/{id}", "/stores"),
    "pages/articles/articles": ("/articles", "/articles"),
    "pages/article/article": ("/articles/{id}", "/articles"),
    "pages/services/services": ("/services", "/services"),
}


class LoginBody(jsonbody.JsonBody):
    fan: str = FanOpenid


class SubscribeBody(jsonbody.JsonBody):
    fan: str = FanOpenid
    template_id: str = Field(min_length=1, max_length=64)


def setup_console_miniprogram(app: web.Application) -> None:
    route = app.router
    route.add_post("/console/api/miniprogram/login", guarded(login))
    route.add_post("/console/api/miniprogram/subscribe", guarded(subscribe))
    route.add_get("/console/api/miniprogram/state", guarded(state))


async def _read(request: web.Request, model: type[jsonbody.Model]) -> jsonbody.Model:
    try:
        return jsonbody.read_model(await request.read(), model)
    except jsonbody.BodyError as error:
        raise BadInput(str(error)) from None


async def _fan(session: AsyncSession, openid: str) -> Fan:
    fan = (await session.exec(select(Fan).where(col(Fan.openid) == openid))).first()
    if fan is None:
        raise web.HTTPNotFound(
            text=f"no fan {openid!r}: a fan of the account opens the mini program"
        )
    return fan


async def login(request: web.Request) -> web.Response:
    """wx.login as this fan: a one-time code for the mini program's backend to exchange."""
    body = await _read(request, LoginBody)
    now = request.config_dict[clock_key].now()
    async with request.app[db_key]() as session, session.begin():
        done = await miniprogram.login(session, await _fan(session, body.fan), now=now)
    return web.json_response({"code": done.code, "openid": done.openid, "unionid": done.unionid})


async def subscribe(request: web.Request) -> web.Response:
    """The fan allows one subscribe message of a template (wx.requestSubscribeMessage)."""
    body = await _read(request, SubscribeBody)
    now = request.config_dict[clock_key].now()
    async with request.app[db_key]() as session, session.begin():
        fan = await _fan(session, body.fan)
        try:
            granted = await miniprogram.grant(session, fan, template_id=body.template_id, now=now)
        except NotFound:
            raise web.HTTPNotFound(text=f"no subscribe template {body.template_id!r}") from None
        user = await miniprogram.user_of(session, fan, now=now)
        result = {
            "grant": {
                "id": granted.id,
                "template_id": granted.template_id,
                "granted_at": granted.granted_at.isoformat(),
            },
            "openid": user.openid,
            "grants_left": await miniprogram.grants_left(session, user),
        }
    return web.json_response(result)


def template_json(template: SubscribeTemplate) -> dict[str, Any]:
    return {
        "id": template.id,
        "title": template.title,
        "keywords": template.keywords,
        "active": template.active,
    }


def message_json(message: SubscribeMessage, template: SubscribeTemplate) -> dict[str, Any]:
    """A subscribe message as the fan reads it: the template's keyword names with the values."""
    return {
        "id": message.id,
        "template_id": message.template_id,
        "title": template.title,
        "lines": [
            {"name": keyword["name"], "value": message.data.get(keyword["key"], {}).get("value")}
            for keyword in template.keywords
            if keyword["key"] in message.data
        ],
        "page": message.page,
        "state": message.state,
        "sent_at": message.sent_at.isoformat(),
    }


async def state(request: web.Request) -> web.Response:
    """The mini program as the fan sees it: pages, templates, the fan's ids, grants and
    subscribe messages (newest first)."""
    openid = request.query.get("fan", "")
    if not OPENID.fullmatch(openid):
        raise BadInput("fan must be 1-64 letters, digits, _ or -")
    now = request.config_dict[clock_key].now()
    async with request.app[db_key]() as session, session.begin():
        fan = await _fan(session, openid)
        user = await miniprogram.user_of(session, fan, now=now)
        body = {
            "app_id": request.config_dict[config_key].miniprogram.app_id,
            "pages": [
                {"path": path, "url": PAGE_URLS[path][0], "fallback": PAGE_URLS[path][1]}
                for path in miniprogram.PAGES
            ],
            "openid": user.openid,
            "unionid": miniprogram.unionid_of(fan),
            "templates": [template_json(t) for t in await miniprogram.templates(session)],
            "grants_left": await miniprogram.grants_left(session, user),
            "messages": [
                message_json(message, template)
                for message, template in await miniprogram.messages_of(session, fan)
            ],
        }
    return web.json_response(body)
