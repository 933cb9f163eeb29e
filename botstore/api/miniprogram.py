"""The mini program's server APIs: GET /sns/jscode2session (login), POST
/cgi-bin/message/subscribe/send (subscribe messages) and POST /wxa/getwxacodeunlimit (codes).
HTTP glue around botstore.services.miniprogram, in the platform's JSON shapes and errcodes
(wechat-protocol.md 7.9)."""

import hmac
import io
import re
from typing import Any
from urllib.parse import urlencode

import segno
from aiohttp import web

from botstore.api.common import ApiError, answer, api, authenticate, read_json
from botstore.config import Config
from botstore.keys import clock_key, config_key, db_key
from botstore.services import miniprogram

OK = {"errcode": 0, "errmsg": "ok"}
# getwxacodeunlimit: at most 32 visible characters, from this set (the platform's rule).
SCENE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")
MIN_WIDTH, MAX_WIDTH, DEFAULT_WIDTH = 280, 1280, 430
QR_BORDER = 4  # modules of quiet zone, as a scanner needs


def setup_miniprogram_api(app: web.Application) -> None:
    app.router.add_get("/sns/jscode2session", jscode2session)
    app.router.add_post("/cgi-bin/message/subscribe/send", subscribe_send)
    app.router.add_post("/wxa/getwxacodeunlimit", getwxacodeunlimit)
    app.router.add_get("/wxa/open", open_code)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


@api
async def jscode2session(request: web.Request) -> web.Response:
    """A wx.login code for the user's openid, session_key and unionid; each code works once."""
    query = request.query
    program = request.app[config_key].miniprogram
    if not query.get("appid"):
        raise ApiError(41002, "appid missing")
    if not query.get("secret"):
        raise ApiError(41004, "appsecret missing")
    if not query.get("js_code"):
        raise ApiError(41008, "missing code")
    if query.get("grant_type", "authorization_code") != "authorization_code":
        raise ApiError(40002, "invalid grant_type")
    if not _same(query["appid"], program.app_id):
        raise ApiError(40013, "invalid appid")
    if not _same(query["secret"], program.app_secret):
        raise ApiError(40125, "invalid appsecret")
    now = request.app[clock_key].now()
    try:
        async with request.app[db_key]() as session, session.begin():
            found = await miniprogram.exchange_code(session, query["js_code"], now=now)
    except miniprogram.MiniProgramError as error:
        raise ApiError(error.errcode, error.errmsg) from None
    return answer(
        {"session_key": found.session_key, "openid": found.openid, "unionid": found.unionid}
    )


def _text(data: dict[str, Any], name: str, *, limit: int) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise ApiError(40097, f"invalid args hint: {name} must be a string of at most {limit}")
    return value


@api
async def subscribe_send(request: web.Request) -> web.Response:
    """One subscribe message to a mini-program user who granted one (43101 otherwise)."""
    now = request.app[clock_key].now()
    async with request.app[db_key]() as session, session.begin():
        await authenticate(request, session, miniprogram=True)
        data = await read_json(request)
        try:
            message = await miniprogram.send(
                session,
                touser=data.get("touser"),
                template_id=data.get("template_id"),
                data=data.get("data"),
                page=_text(data, "page", limit=200),
                state=_text(data, "miniprogram_state", limit=16) or "formal",
                now=now,
            )
        except miniprogram.MiniProgramError as error:
            raise ApiError(error.errcode, error.errmsg) from None
        msgid = message.id
    return answer({**OK, "msgid": msgid})


def scan_url(config: Config, *, page: str, scene: str) -> str:
    """What a mini-program code holds: the page and scene, opened by scanning it."""
    query = urlencode({"appid": config.miniprogram.app_id, "page": page, "scene": scene})
    return f"{config.server.base_url.rstrip('/')}/wxa/open?{query}"


def qr_png(content: str, *, width: int) -> bytes:
    """A PNG QR code of `content`, about `width` pixels wide."""
    code = segno.make_qr(content, error="m")
    modules = code.symbol_size(scale=1, border=QR_BORDER)[0]
    out = io.BytesIO()
    code.save(out, kind="png", scale=max(1, width // modules), border=QR_BORDER)
    return out.getvalue()


def _bool(data: dict[str, Any], name: str, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise ApiError(40097, f"invalid args hint: {name} must be true or false")
    return value


@api
async def getwxacodeunlimit(request: web.Request) -> web.Response:
    """A mini-program code for a page and a scene: the image itself, as the platform answers."""
    config = request.app[config_key]
    async with request.app[db_key]() as session:
        await authenticate(request, session, miniprogram=True)
    data = await read_json(request)
    scene = data.get("scene")
    if not isinstance(scene, str) or not SCENE.fullmatch(scene):
        raise ApiError(40169, "invalid length for scene, or the data is not json string")
    page = _text(data, "page", limit=200) or miniprogram.HOME_PAGE
    # The platform refuses a leading "/" and a query (the scene carries the parameters), and,
    # unless check_path is false, a page the released version does not have.
    if page.startswith("/") or "?" in page:
        raise ApiError(41030, "invalid page rule")
    if _bool(data, "check_path", True) and not miniprogram.page_exists(page):
        raise ApiError(41030, "invalid page rule")
    width = data.get("width", DEFAULT_WIDTH)
    if isinstance(width, bool) or not isinstance(width, int):
        raise ApiError(40097, "invalid args hint: width must be a number")
    for name in ("auto_color", "is_hyaline"):
        _bool(data, name, False)
    width = min(max(width, MIN_WIDTH), MAX_WIDTH)
    png = qr_png(scan_url(config, page=page, scene=scene), width=width)
    return web.Response(body=png, content_type="image/png")


async def open_code(request: web.Request) -> web.Response:
    """Where a scanned mini-program code leads: the console's mini-program view, on its page
    with its scene (a phone's camera opens the same link)."""
    query = request.query
    page, scene = query.get("page", ""), query.get("scene", "")
    if not miniprogram.page_exists(page) or not SCENE.fullmatch(scene):
        raise web.HTTPBadRequest(text="not a code of this mini program")
    raise web.HTTPFound("/console?" + urlencode({"miniprogram": page, "scene": scene}))
