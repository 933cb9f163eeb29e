"""The web test console: GET /console (a phone-like chat page), its JSON API under /console/api/
and /console/ws, which pushes the fans' outbox (customer-service messages) as it fills.

The server plays the WeChat platform: every action becomes a signed (optionally encrypted)
push that botstore.console.client.Emulator posts to a webhook, botstore's own or any other bot's.
"""

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import inspect
import json
import logging
import re
import secrets
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import WSCloseCode, web
from pydantic import Field
from sqlalchemy import func
from sqlmodel import col, select

from botstore import jsonbody
from botstore.admin import auth
from botstore.clock import SystemClock
from botstore.config import Config, is_loopback
from botstore.console.client import Emulator, EmulatorError, Exchange
from botstore.console.lint import request_fields
from botstore.keys import clock_key, config_key, db_key, scheduler_key
from botstore.models import Fan, Merchant, OutboxMessage
from botstore.numbers import ID_MAX, parse_whole
from botstore.pages.language import html_response, page_env
from botstore.services import fans, messages
from botstore.wechat import CryptoError, parse_envelope, reply_to_dict

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "static" / "console"
_STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_STATIC_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\.(?:js|css|svg)")
# The page's own code only: no inline scripts, so a reply that slips past escaping can't run.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' http: https: data:; "
    # The mini-program view shows the mini program's pages, which this server serves.
    "frame-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TOKEN = re.compile(r"[A-Za-z0-9]{3,32}")
AES_KEY = re.compile(r"[A-Za-z0-9]{43}")
# A plaintext-only bot may have no EncodingAESKey; the emulator still wants a well-formed one.
UNUSED_AES_KEY = "A" * 43
MAX_TEXT = 2048
MAX_FANS_PER_SOCKET = 8
POLL_SECONDS = 0.5
HISTORY_SESSIONS = 50
HISTORY_EXCHANGES = 500
HTTP_TIMEOUT_SECONDS = 60  # with retries on, three 5-second tries plus the bot's slowness
CLOCK_DAYS_MAX = 366
MENU_EVENTS = {
    "click": "CLICK",
    "view": "VIEW",
    "scancode_push": "scancode_push",
    "scancode_waitmsg": "scancode_waitmsg",
    "pic_sysphoto": "pic_sysphoto",
    "pic_photo_or_album": "pic_photo_or_album",
    "pic_weixin": "pic_weixin",
    "location_select": "location_select",
    "miniprogram": "view_miniprogram",
}
SEND_TYPES = (
    "text",
    "image",
    "location",
    "subscribe",
    "unsubscribe",
    "scan",
    "report_location",
    "menu",
)


class BadInput(web.HTTPBadRequest):
    def __init__(self, reason: str) -> None:
        super().__init__(text=reason)


@dataclasses.dataclass(frozen=True, slots=True)
class Account:
    """Another bot's settings, as typed into the page (fits client.AccountSettings)."""

    token: str
    app_id: str
    encoding_aes_key: str
    account_id: str


@dataclasses.dataclass
class Watch:
    """One socket's fans and, per fan, the last outbox id it has been sent."""

    socket: web.WebSocketResponse
    cursors: dict[str, int]


class Console:
    """What the console keeps while the app runs: the HTTP client, sockets and transcripts."""

    def __init__(self) -> None:
        self.static = {path.name: path for path in STATIC.iterdir() if path.is_file()}
        self.http: aiohttp.ClientSession | None = None
        self.watches: dict[web.WebSocketResponse, Watch] = {}
        self.wake = asyncio.Event()
        # Per page session (a random id the page keeps across reloads): (webhook URL, exchange,
        # what the page showed of it) for transcripts and for the page after a reload.
        self.history: OrderedDict[str, deque[tuple[str, Exchange, dict[str, Any]]]] = OrderedDict()

    def remember(self, session: str, url: str, exchange: Exchange, shown: dict[str, Any]) -> None:
        kept = self.history.pop(session, None) or deque(maxlen=HISTORY_EXCHANGES)
        kept.append((url, exchange, shown))
        self.history[session] = kept
        while len(self.history) > HISTORY_SESSIONS:
            self.history.popitem(last=False)


console_key = web.AppKey("console", Console)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup_console(app: web.Application) -> None:
    """Serve the console page, its static files, its JSON API and its push socket."""
    app[console_key] = Console()
    app.cleanup_ctx.append(console_ctx)
    app.on_shutdown.append(close_sockets)
    route = app.router
    route.add_get("/console", guarded(page))
    route.add_get("/console/static/{name}", guarded(static))
    route.add_get("/console/api/state", guarded(state))
    route.add_get("/console/api/menu", guarded(account_menu))
    route.add_get("/console/api/fans", guarded(list_fans))
    route.add_post("/console/api/fans", guarded(create_fan))
    route.add_post("/console/api/send", guarded(send))
    route.add_get("/console/api/outbox", guarded(outbox))
    route.add_get("/console/api/clock", guarded(show_clock))
    route.add_post("/console/api/clock/advance", guarded(advance_clock))
    route.add_get("/console/api/transcript", guarded(transcript))
    route.add_get("/console/api/history", guarded(history))
    route.add_get("/console/ws", guarded(websocket))


async def console_ctx(app: web.Application) -> AsyncIterator[None]:
    console = app[console_key]
    console.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS))
    poller = asyncio.create_task(_poll_forever(app))
    yield
    poller.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await poller
    await console.http.close()


async def close_sockets(app: web.Application) -> None:
    for socket in list(app[console_key].watches):
        await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


# --- who may use it ------------------------------------------------------------------------------


async def trusted(request: web.Request) -> bool:
    """Loopback (both ends, so a rebinding DNS name doesn't count) or the admin's credentials."""
    if is_loopback(request.remote or "") and is_loopback(request.url.host or ""):
        return True
    admin = request.config_dict[config_key].admin.token
    if "Authorization" in request.headers:
        given = request.headers["Authorization"].encode()
        # Constant-time, so the token can't be guessed a character at a time.
        return await auth.check_token(
            request, lambda: hmac.compare_digest(given, f"Bearer {admin}".encode())
        )
    return auth.read(admin, request.cookies.get(auth.COOKIE)) is not None


def guarded(handler: Handler) -> Handler:
    """Anyone who reaches the console acts as any fan: loopback or the admin token only."""

    async def guard(request: web.Request) -> web.StreamResponse:
        if not await trusted(request):
            if request.path == "/console" and "Authorization" not in request.headers:
                # A browser off loopback signs in with the admin token first.
                raise web.HTTPFound("/admin/login?next=/console")
            raise web.HTTPUnauthorized(
                text="the console is served to loopback only, or with the admin token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        # A page elsewhere must not drive the console through the user's browser.
        if not auth.same_origin(request):
            raise web.HTTPForbidden(text="cross-site request refused")
        if request.method == "POST" and request.content_type != "application/json":
            raise BadInput("send JSON (Content-Type: application/json)")
        return await handler(request)

    return guard


# --- the page ------------------------------------------------------------------------------------


async def page(request: web.Request) -> web.Response:
    config = request.config_dict[config_key]
    settings = {
        "account_id": config.wechat.account_id,
        "app_id": config.wechat.app_id,
        "webhook_path": config.wechat.path,
        "mode": config.wechat.mode,
    }
    # In the browser's language, as the public pages and the admin pick it (and switch it).
    html = (
        page_env(request)
        .get_template("console/console.html")
        .render(settings=json.dumps(settings))
    )
    response = html_response(request, html)
    response.headers.update({"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"})
    return response


async def static(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    # Only the files that ship in static/console/, by exact name: no paths, no traversal.
    path = request.app[console_key].static.get(name) if _STATIC_NAME.fullmatch(name) else None
    if path is None:
        raise web.HTTPNotFound(text="no such console file")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": _STATIC_TYPES[path.suffix],
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )


# --- reading input -------------------------------------------------------------------------------


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        return jsonbody.read_object(await request.read())
    except jsonbody.BodyError as error:
        raise BadInput(str(error)) from None


async def _model(request: web.Request, model: type[jsonbody.Model]) -> jsonbody.Model:
    try:
        return jsonbody.read_model(await request.read(), model)
    except jsonbody.BodyError as error:
        raise BadInput(str(error)) from None


def _str(data: Mapping[str, Any], name: str, *, default: str | None = None, limit: int) -> str:
    value = data.get(name, default)
    if value is None:
        raise BadInput(f"{name} is missing")
    if not isinstance(value, str):
        raise BadInput(f"{name} must be a string")
    if len(value) > limit:
        raise BadInput(f"{name} is longer than {limit} characters")
    return value


def _openid(value: object, name: str = "openid") -> str:
    if not isinstance(value, str) or not OPENID.fullmatch(value):
        raise BadInput(f"{name} must be 1-64 letters, digits, _ or -")
    return value


def _bool(data: Mapping[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise BadInput(f"{name} must be true or false")
    return value


def _number(data: Mapping[str, Any], name: str, low: float, high: float) -> float:
    value = data.get(name)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BadInput(f"{name} must be a number from {low:g} to {high:g}")
    return float(value)


def _http_url(value: str, name: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError:  # "http://[" and other broken hosts
        raise BadInput(f"{name} must be an http:// or https:// URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInput(f"{name} must be an http:// or https:// URL")
    return value


# --- the emulated platform -----------------------------------------------------------------------


def _own_url(request: web.Request) -> str:
    # Straight back to the socket this request came in on: no Host header to trust or spoof.
    host, port = request.transport.get_extra_info("sockname")[:2]  # type: ignore[union-attr]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}{request.config_dict[config_key].wechat.path}"


def _retries_supported() -> bool:
    return "retries" in inspect.signature(Emulator.__init__).parameters


def _emulator(request: web.Request, data: Mapping[str, Any]) -> Emulator:
    """Botstore's own webhook by default; `target` names another bot and its settings."""
    aes, retries = _bool(data, "aes"), _bool(data, "retries")
    target = data.get("target") or {}
    if not isinstance(target, dict):
        raise BadInput("target must be an object")
    config: Config = request.config_dict[config_key]
    url = _str(target, "url", default="", limit=2048).strip()
    if url:
        url = _http_url(url, "target.url")
        account = _account(target, aes=aes)
        clock: Any = SystemClock()  # another bot checks timestamps against real time
    else:
        url, account, clock = _own_url(request), config.wechat, request.config_dict[clock_key]
    kwargs: dict[str, Any] = {"encrypt": aes, "clock": clock}
    if retries:
        if not _retries_supported():
            raise BadInput("retries are not available in this version of the emulator")
        kwargs["retries"] = True
    http = request.app[console_key].http
    assert http is not None
    try:
        return Emulator(http, url, account, **kwargs)
    except CryptoError as error:
        raise BadInput(f"target.encoding_aes_key: {error}") from None


def _account(target: Mapping[str, Any], *, aes: bool) -> Account:
    token = _str(target, "token", default="", limit=32)
    if not TOKEN.fullmatch(token):
        raise BadInput("target.token must be 3-32 letters/digits")
    app_id = _str(target, "app_id", default="", limit=64).strip()
    account_id = _str(target, "account_id", default="", limit=64).strip()
    if not app_id:
        raise BadInput("target.app_id is missing")
    if not account_id:
        raise BadInput("target.account_id (the gh_... original ID) is missing")
    key = _str(target, "encoding_aes_key", default="", limit=43).strip()
    if key and not AES_KEY.fullmatch(key):
        raise BadInput("target.encoding_aes_key must be 43 letters/digits")
    if aes and not key:
        raise BadInput("target.encoding_aes_key is needed for AES")
    return Account(token, app_id, key or UNUSED_AES_KEY, account_id)


def _push(
    emulator: Emulator, data: Mapping[str, Any], openid: str, *, pic_url: str
) -> Awaitable[Exchange]:
    """The message or event the page asked for, validated, not yet sent."""
    kind = data.get("type")
    if kind not in SEND_TYPES:
        raise BadInput("type must be one of " + ", ".join(SEND_TYPES))
    if kind == "text":
        text = _str(data, "text", limit=MAX_TEXT)
        if not text.strip():
            raise BadInput("text is empty")
        return emulator.say(text, fan=openid)
    if kind == "image":
        media_id = f"console-image-{secrets.token_hex(8)}"
        extra = {"PicUrl": pic_url, "MediaId": media_id}
        return emulator.message("image", extra, fan=openid)
    if kind == "location":
        extra = {
            "Location_X": _number(data, "lat", -90, 90),
            "Location_Y": _number(data, "lng", -180, 180),
            "Scale": 15,
            "Label": _str(data, "label", default="", limit=200),
        }
        return emulator.message("location", extra, fan=openid)
    if kind == "report_location":
        extra = {
            "Latitude": _number(data, "lat", -90, 90),
            "Longitude": _number(data, "lng", -180, 180),
            "Precision": 30.0,
        }
        return emulator.event("LOCATION", fan=openid, extra=extra)
    if kind == "subscribe":
        scene = _str(data, "scene", default="", limit=64).strip()
        if not scene:
            return emulator.event("subscribe", fan=openid, event_key="")
        ticket = {"Ticket": f"console-{secrets.token_hex(8)}"}
        return emulator.event("subscribe", fan=openid, event_key=f"qrscene_{scene}", extra=ticket)
    if kind == "unsubscribe":
        return emulator.event("unsubscribe", fan=openid)
    if kind == "scan":
        scene = _str(data, "scene", limit=64).strip()
        if not scene:
            raise BadInput("scene is empty")
        ticket = {"Ticket": f"console-{secrets.token_hex(8)}"}
        return emulator.event("SCAN", fan=openid, event_key=scene, extra=ticket)
    return _menu_event(emulator, data, openid)


def _menu_event(emulator: Emulator, data: Mapping[str, Any], openid: str) -> Awaitable[Exchange]:
    button = data.get("button")
    if not isinstance(button, dict):
        raise BadInput("button must be the menu button (an object with type and key or url)")
    event = MENU_EVENTS.get(button.get("type"))  # type: ignore[arg-type]
    if event is None:
        raise BadInput("button.type must be one of " + ", ".join(MENU_EVENTS))
    if event == "VIEW":
        url = _http_url(_str(button, "url", limit=1024), "button.url")
        return emulator.event("VIEW", fan=openid, event_key=url, extra={"MenuId": 1})
    if event == "view_miniprogram":
        path = _str(button, "pagepath", limit=1024)
        return emulator.event(event, fan=openid, event_key=path, extra={"MenuId": 1})
    key = _str(button, "key", limit=128)
    if not key:
        raise BadInput("button.key is empty")
    return emulator.event(event, fan=openid, event_key=key)


async def send(request: web.Request) -> web.Response:
    """One fan action through the emulated platform; the exchange, dissected."""
    data = await _json(request)
    openid = _openid(data.get("openid"))
    session = _str(data, "session", default="", limit=64)
    emulator = _emulator(request, data)
    public_url = request.config_dict[config_key].server.base_url.rstrip("/")
    pending = _push(emulator, data, openid, pic_url=f"{public_url}/console/static/photo.svg")
    try:
        exchange = await pending
    except EmulatorError as error:
        raise web.HTTPBadGateway(text=str(error)) from None
    console = request.app[console_key]
    shown = exchange_json(exchange, emulator)
    if session:
        console.remember(session, emulator.url, exchange, {"openid": openid, **shown})
    console.wake.set()  # a late reply may already be in the outbox
    return web.json_response(shown)


def exchange_json(exchange: Exchange, emulator: Emulator) -> dict[str, Any]:
    """Everything the developer panel shows about one exchange."""
    parsed = exchange.reply
    reply: dict[str, Any] | None = None
    if parsed is not None:
        reply = reply_to_dict(parsed.reply) | {
            "to_user": parsed.to_user,
            "from_user": parsed.from_user,
            "create_time": parsed.create_time,
        }
    return {
        "url": emulator.url,
        "status": exchange.status,
        "success": exchange.is_success,
        "encrypted": "msg_signature" in exchange.query,
        "query": dict(exchange.query),
        "signature": _signature_inputs(exchange, emulator.account.token),
        "message_xml": exchange.message_xml,
        "request_body": exchange.request_body,
        "response_body": exchange.body,
        "reply_xml": exchange.reply_xml,
        "reply": reply,
        "elapsed_ms": round(exchange.elapsed_seconds * 1000, 1),
        "problems": list(exchange.problems),
        "warnings": _jsonable(getattr(exchange, "warnings", [])),
        "tries": _jsonable(getattr(exchange, "tries", [])),
        "diagnostics": _jsonable(getattr(exchange, "diagnostics", None)),
    }


def _signature_inputs(exchange: Exchange, token: str) -> dict[str, Any]:
    """How `signature` (and `msg_signature`) were made (wechat-protocol.md 1 and 5.5)."""
    query = exchange.query
    parts = sorted([token, query.get("timestamp", ""), query.get("nonce", "")])
    out: dict[str, Any] = {
        "token": token,
        "timestamp": query.get("timestamp", ""),
        "nonce": query.get("nonce", ""),
        "signature": {"sorted": parts, "joined": "".join(parts), "sha1": query.get("signature")},
    }
    if "msg_signature" in query:
        try:
            encrypt = parse_envelope(exchange.request_body).get("Encrypt", "")
        except Exception:  # a hostile or odd body: show what we have
            encrypt = ""
        parts = sorted([token, query.get("timestamp", ""), query.get("nonce", ""), encrypt])
        out["msg_signature"] = {
            "sorted": parts,
            "joined": "".join(parts),
            # WeChat chose SHA-1 for this signature, not us.
            "sha1": hashlib.sha1("".join(parts).encode()).hexdigest(),  # noqa: S324
            "sent": query["msg_signature"],
        }
    return out


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if callable(getattr(value, "as_dict", None)):
        return _jsonable(value.as_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    return str(value)


# --- fans, state, outbox, clock ------------------------------------------------------------------


async def _menu(request: web.Request) -> list[dict[str, Any]]:
    try:
        from botstore.services import menu
    except ImportError:
        return []
    async with request.app[db_key]() as session:
        buttons = await menu.current(session)
    return list(buttons or [])


async def account_menu(request: web.Request) -> web.Response:
    """The menu the phones show for the webhook chosen: `?app_id=` names another bot's account.

    Botstore emulates one account, and a menu is an account's: whoever holds the account's token
    sets it with /cgi-bin/menu/create (the admin's Menu page is the account's own editor, as
    mp.weixin.qq.com is). A bot under test reaches botstore's APIs only with this account's
    AppID (/cgi-bin/token grants no other), so a bot given that AppID gets the account's menu,
    the one its own menu/create made if it made one; a bot with another AppID (or none typed
    yet) made none here. Without `app_id`: botstore's own webhook, the account's menu."""
    own = request.config_dict[config_key].wechat.app_id
    app_id = _str(request.query, "app_id", default=own, limit=64).strip()
    account = app_id == own
    buttons = await _menu(request) if account else []
    return web.json_response({"app_id": app_id, "account": account, "menu": buttons})


async def state(request: web.Request) -> web.Response:
    """What the page needs on load: the menu, merchant scenes, known fans, the clock."""
    async with request.app[db_key]() as session:
        scenes = (
            await session.exec(
                select(Merchant.scene, Merchant.name, Merchant.active).order_by(Merchant.code)
            )
        ).all()
    return web.json_response(
        {
            "menu": await _menu(request),
            # A deactivated merchant's printed code can still be scanned: listed, and marked.
            "scenes": [
                {"scene": scene, "name": name if active else f"{name} (deactivated)"}
                for scene, name, active in scenes
            ],
            "fans": await _fans(request),
            "now": request.config_dict[clock_key].now().isoformat(),
            "retries_supported": _retries_supported(),
            "transcript_supported": _transcript_json() is not None,
        }
    )


async def _fans(request: web.Request) -> list[dict[str, Any]]:
    async with request.app[db_key]() as session:
        rows = (
            await session.exec(select(Fan).order_by(col(Fan.last_seen_at).desc()).limit(50))
        ).all()
    return [
        {"openid": fan.openid, "nickname": fan.nickname, "subscribed": fans.is_following(fan)}
        for fan in rows
    ]


async def list_fans(request: web.Request) -> web.Response:
    return web.json_response({"fans": await _fans(request)})


async def create_fan(request: web.Request) -> web.Response:
    """A fan identity for the page (stored, with a wallet, as on first contact)."""
    data = await _json(request)
    openid = _openid(data.get("openid"))
    nickname = _str(data, "nickname", default="", limit=64).strip()
    async with request.app[db_key]() as session, session.begin():
        fan = await fans.get_or_create(session, openid, now=request.config_dict[clock_key].now())
        if nickname:
            fan.nickname = nickname
            session.add(fan)
        result = {"openid": fan.openid, "nickname": nickname or fan.nickname}
        result["subscribed"] = fans.is_following(fan)
    return web.json_response(result)


def _after_id(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    after = parse_whole(raw, maximum=ID_MAX)
    if after is None:
        raise BadInput(f"after must be a whole number from 0 to {ID_MAX}")
    return after


async def outbox(request: web.Request) -> web.Response:
    openid = _openid(request.query.get("openid"))
    after = _after_id(request.query.get("after")) or 0
    async with request.app[db_key]() as session:
        rows = await messages.outbox(session, openid, after_id=after)
    return web.json_response({"messages": [_outbox_json(row) for row in rows]})


def _outbox_json(row: OutboxMessage) -> dict[str, Any]:
    return {
        "type": "outbox",
        "id": row.id,
        "openid": row.openid,
        "payload": row.payload,
        "reason": row.reason,
        "created_at": row.created_at.isoformat(),
        # Held outside the 48-hour window until the fan writes (botstore/services/notices.py);
        # on the copy that then went out, when it was first sent.
        "waiting": row.waiting,
        "queued_at": row.queued_at.isoformat() if row.queued_at else None,
    }


class ClockAdvance(jsonbody.JsonBody):
    days: int = Field(ge=1, le=CLOCK_DAYS_MAX)


async def show_clock(request: web.Request) -> web.Response:
    await request.config_dict[scheduler_key].sync_clock()
    return web.json_response({"now": request.config_dict[clock_key].now().isoformat()})


async def advance_clock(request: web.Request) -> web.Response:
    """Advance the emulated clock; every job that fell due runs, and the answer says which."""
    days = (await _model(request, ClockAdvance)).days
    now, _, ran = await request.config_dict[scheduler_key].advance(timedelta(days=days))
    request.app[console_key].wake.set()
    return web.json_response({"now": now.isoformat(), "ran": [run.as_json() for run in ran]})


def _transcript_json() -> Callable[..., Any] | None:
    try:
        from botstore.console.transcript import transcript_json
    except ImportError:
        return None
    return transcript_json


async def transcript(request: web.Request) -> web.Response:
    """This page session's exchanges as a transcript file (`python -m botstore replay`)."""
    make = _transcript_json()
    if make is None:
        raise web.HTTPNotImplemented(text="transcripts are not available in this version")
    session = _str(request.query, "session", limit=64)
    kept = request.app[console_key].history.get(session)
    if not kept:
        raise web.HTTPNotFound(text="nothing sent in this console session yet")
    body = make([exchange for _, exchange, _ in kept], webhook_url=kept[-1][0])
    return web.json_response(
        body,
        dumps=lambda data: json.dumps(data, ensure_ascii=False, indent=2),
        headers={"Content-Disposition": 'attachment; filename="botstore-transcript.json"'},
    )


async def history(request: web.Request) -> web.Response:
    """This page session's exchanges as the page showed them (each with its `openid` and the
    fields of the fan's message), so that a reload puts the chats and the panel back."""
    session = _str(request.query, "session", limit=64)
    kept = request.app[console_key].history.get(session) or ()
    exchanges = [
        shown | {"message": request_fields(exchange.message_xml)} for _, exchange, shown in kept
    ]
    return web.json_response({"exchanges": exchanges})


# --- live push -----------------------------------------------------------------------------------


async def websocket(request: web.Request) -> web.WebSocketResponse:
    """Pushes every outbox message written for the given fans after the socket opened."""
    openids = request.query.getall("openid", [])
    if not 1 <= len(openids) <= MAX_FANS_PER_SOCKET:
        raise BadInput(f"give 1-{MAX_FANS_PER_SOCKET} openid parameters")
    openids = [_openid(openid) for openid in openids]
    after = _after_id(request.query.get("after"))
    cursors = {}
    async with request.app[db_key]() as session:
        for openid in openids:
            cursors[openid] = (
                after if after is not None else await _last_outbox_id(session, openid)
            )
    socket = web.WebSocketResponse(heartbeat=30)
    await socket.prepare(request)
    console = request.app[console_key]
    console.watches[socket] = Watch(socket, cursors)
    console.wake.set()
    try:
        await socket.send_json({"type": "hello", "openids": openids, "cursors": cursors})
        async for _ in socket:  # nothing to read: the page only listens
            pass
    finally:
        console.watches.pop(socket, None)
    return socket


async def _last_outbox_id(session: Any, openid: str) -> int:
    statement = select(func.coalesce(func.max(OutboxMessage.id), 0)).where(
        OutboxMessage.openid == openid
    )
    return int((await session.exec(statement)).one())


async def _poll_forever(app: web.Application) -> None:
    """One poller for every socket: reads each watched fan's new outbox rows, pushes them."""
    console = app[console_key]
    while True:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(POLL_SECONDS):
                await console.wake.wait()
        console.wake.clear()
        if not console.watches:
            continue
        try:
            await _poll_once(app)
        except Exception:  # keep pushing on the next round; the page just waits longer
            log.exception("polling the outbox for the console failed")


async def _poll_once(app: web.Application) -> None:
    console = app[console_key]
    watches = list(console.watches.values())
    wanted: dict[str, int] = {}
    for watch in watches:
        for openid, cursor in watch.cursors.items():
            wanted[openid] = min(cursor, wanted.get(openid, cursor))
    async with app[db_key]() as session:
        found = {
            openid: await messages.outbox(session, openid, after_id=after)
            for openid, after in wanted.items()
        }
    for watch in watches:
        for openid, rows in found.items():
            for row in rows:
                if openid not in watch.cursors or row.id is None:
                    continue
                if row.id <= watch.cursors[openid] or watch.socket.closed:
                    continue
                try:
                    await watch.socket.send_json(_outbox_json(row))
                except (ConnectionError, RuntimeError):
                    break  # the socket is going away; its handler drops it
                watch.cursors[openid] = row.id
