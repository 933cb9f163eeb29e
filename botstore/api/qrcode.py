"""POST /cgi-bin/qrcode/create and GET /cgi-bin/showqrcode (wechat-protocol.md 7.6)."""

from html import escape
from typing import Any

from aiohttp import web
from sqlalchemy.exc import DBAPIError

from botstore.api.common import (
    answer,
    api,
    authenticate,
    data_format_error,
    invalid_args,
    read_json,
)
from botstore.errors import BadArgument, NotFound
from botstore.keys import clock_key, db_key
from botstore.services import qrcodes


def _int_field(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    # JSON true/false are ints to Python; the platform wants a number.
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise data_format_error(f"{name} must be an integer")
    return value


def _scene(data: dict[str, Any]) -> qrcodes.Scene:
    """The request body, checked for shape; the service checks the values."""
    action_name = data.get("action_name")
    if not isinstance(action_name, str):
        raise data_format_error("action_name must be a string")
    info = data.get("action_info")
    scene = info.get("scene") if isinstance(info, dict) else None
    if not isinstance(scene, dict):
        raise data_format_error("action_info.scene must be an object")
    scene_str = scene.get("scene_str")
    if scene_str is not None and not isinstance(scene_str, str):
        raise data_format_error("scene_str must be a string")
    return qrcodes.Scene(
        action_name=action_name,
        scene_id=_int_field(scene, "scene_id"),
        scene_str=scene_str,
        expire_seconds=_int_field(data, "expire_seconds"),
    )


@api
async def create_qrcode(request: web.Request) -> web.Response:
    """A ticket for a temporary or permanent scene, in the official response shape."""
    now = request.app[clock_key].now()
    async with request.app[db_key]() as session, session.begin():
        await authenticate(request, session)
        scene = _scene(await read_json(request))
        try:
            code = await qrcodes.create(session, scene, now=now)
        except BadArgument as error:
            raise invalid_args(f"{error.details['name']}: {error.details['reason']}") from None
    body: dict[str, Any] = {"ticket": code.ticket}
    if code.expire_at is not None:  # only temporary codes expire (§7.6)
        body["expire_seconds"] = int((code.expire_at - code.created_at).total_seconds())
    body["url"] = qrcodes.url_of(code)
    return answer(body)


SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="280" height="280" font-family="sans-serif">
<rect x="4" y="4" width="272" height="272" fill="#fff" stroke="#000" stroke-width="8"/>
<rect x="20" y="20" width="56" height="56"/><rect x="204" y="20" width="56" height="56"/>
<rect x="20" y="204" width="56" height="56"/>
<text x="140" y="120" font-size="16" text-anchor="middle">{action}</text>
<text x="140" y="150" font-size="18" text-anchor="middle">scene {scene}</text>
<text x="140" y="180" font-size="12" text-anchor="middle">{expiry}</text>
</svg>
"""


async def show_qrcode(request: web.Request) -> web.Response:
    """Not a scannable image: an SVG naming the code's scene, for people and tests to read."""
    now = request.app[clock_key].now()
    ticket = request.query.get("ticket", "")
    try:
        async with request.app[db_key]() as session:
            code = await qrcodes.by_ticket(session, ticket)
    except NotFound:
        raise web.HTTPNotFound(text="unknown ticket") from None
    except DBAPIError:
        raise web.HTTPServiceUnavailable(text="database unavailable, try again") from None
    if qrcodes.is_expired(code, now=now):
        raise web.HTTPNotFound(text="ticket expired")
    expiry = (
        "permanent" if code.expire_at is None else f"expires {code.expire_at:%Y-%m-%d %H:%M} UTC"
    )
    svg = SVG.format(
        action=escape(code.action_name), scene=escape(code.scene), expiry=escape(expiry)
    )
    return web.Response(text=svg, content_type="image/svg+xml")
