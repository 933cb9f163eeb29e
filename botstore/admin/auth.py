"""Admin sign-in: the token form, a signed session cookie, CSRF checks, and the guard middleware.

The JSON API under /admin/api/ takes `Authorization: Bearer <admin.token>` or the session cookie;
pages take the cookie and send everyone else to the sign-in form.
"""

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import quote, urlsplit

from aiohttp import web

from botstore.admin.common import Session, auth_kind_key, render, session_key
from botstore.clock import wall_now
from botstore.i18n import N_
from botstore.keys import config_key

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

COOKIE = "botstore_admin"
SESSION_HOURS = 12
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Reachable without signing in: the form itself and the stylesheet it uses.
PUBLIC = ("/admin/login", "/admin/static/")
PREFIX = "/admin"


class TooManyTries(Exception):
    """Too many token tries from one client are already waiting their turn."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclasses.dataclass(slots=True)
class _Pace:
    # The bucket holds (now - empty_at) / interval tries, at most per_minute of them.
    empty_at: float
    turn: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    waiting: int = 0


class SignInLimiter:
    """Paces admin token checks per client, so guessing is slow and the admin still gets in.

    A client may check `per_minute` tokens at once; each wrong one takes 60/per_minute seconds to
    earn back (a token bucket). With none left, its tries wait their turn, one at a time, until
    one is earned: the right token then gets in, a wrong one spends it. So a client checks at most
    2 x `per_minute` wrong tokens in any minute and `per_minute` a minute over longer runs, and a
    right guess is answered no sooner than a wrong one would be. (Refusing every try once locked
    out instead locked the admin out too.) Past MAX_WAITING waiting tries, more are refused
    unchecked (TooManyTries). The right token costs nothing; a session cookie is no token check
    and is not limited.
    """

    WINDOW_SECONDS = 60.0
    MAX_WAITING = 3
    MAX_ADDRESSES = 10_000  # beyond this, clients with a full bucket are forgotten

    def __init__(
        self,
        per_minute: int,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.per_minute = per_minute
        self.now = now
        self.sleep = sleep
        self._paces: dict[str, _Pace] = {}

    async def check(self, address: str, matches: Callable[[], bool]) -> bool:
        """Whether `matches()` (the token comparison) holds, called at this client's pace."""
        if not self.per_minute:
            return matches()
        pace = self._pace(_client(address))
        # No await between finding a try in the bucket and spending it: nothing can cut in.
        if not pace.waiting and self._ready_in(pace) <= 0:
            return self._checked(pace, matches)
        if pace.waiting >= self.MAX_WAITING:
            # When the tries already waiting will have had their turn.
            raise TooManyTries(self._ready_in(pace) + (pace.waiting - 1) * self._interval)
        pace.waiting += 1
        try:
            async with pace.turn:
                wait = self._ready_in(pace)
                if wait > 0:
                    await self.sleep(wait)
                return self._checked(pace, matches)
        finally:
            pace.waiting -= 1

    def __len__(self) -> int:
        """How many clients it remembers."""
        return len(self._paces)

    @property
    def _interval(self) -> float:
        return self.WINDOW_SECONDS / self.per_minute

    def _ready_in(self, pace: _Pace) -> float:
        now = self.now()
        pace.empty_at = max(pace.empty_at, now - self.WINDOW_SECONDS)
        return pace.empty_at + self._interval - now

    def _checked(self, pace: _Pace, matches: Callable[[], bool]) -> bool:
        if matches():
            return True
        pace.empty_at = max(pace.empty_at, self.now() - self.WINDOW_SECONDS) + self._interval
        return False

    def _pace(self, client: str) -> _Pace:
        pace = self._paces.get(client)
        if pace is None:
            if len(self._paces) >= self.MAX_ADDRESSES:
                self._forget_quiet_clients()
            pace = self._paces[client] = _Pace(empty_at=self.now() - self.WINDOW_SECONDS)
        return pace

    def _forget_quiet_clients(self) -> None:
        full = self.now() - self.WINDOW_SECONDS
        for client, pace in list(self._paces.items()):
            if not pace.waiting and pace.empty_at <= full:
                del self._paces[client]


def _client(address: str) -> str:
    """The address, or for IPv6 its /64: one host usually holds all of one, so counting its
    addresses apart would multiply its tries."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address


limiter_key = web.AppKey("signin_limiter", SignInLimiter)


async def check_token(request: web.Request, matches: Callable[[], bool]) -> bool:
    """`matches()`, the token comparison, at this client's pace (see SignInLimiter); 429 while
    too many of its tries wait."""
    limiter = request.config_dict[limiter_key]
    try:
        return await limiter.check(request.remote or "", matches)
    except TooManyTries as busy:
        seconds = max(1, math.ceil(busy.retry_after))
        raise web.HTTPTooManyRequests(
            text=(
                "too many wrong admin tokens from this address: its tries are checked one at a "
                f"time now, and {limiter.MAX_WAITING} are waiting; try again in {seconds} s"
            ),
            headers={"Retry-After": str(seconds)},
        ) from None


def _key(token: str) -> bytes:
    # Derived from the admin token, so changing the token signs everyone out.
    return hmac.new(token.encode(), b"botstore admin session v1", hashlib.sha256).digest()


def _mac(key: bytes, text: str) -> str:
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _csrf(key: bytes, nonce: str) -> str:
    return _mac(key, f"csrf:{nonce}")


def issue(token: str) -> tuple[str, Session]:
    """A new session cookie value and what it stands for."""
    key = _key(token)
    issued = int(wall_now().timestamp())
    nonce = secrets.token_urlsafe(18)
    body = f"{issued}.{nonce}"
    return f"{body}.{_mac(key, body)}", Session(issued, nonce, _csrf(key, nonce))


def read(token: str, value: str | None) -> Session | None:
    """The session a cookie value proves, or None when it is forged, malformed or expired."""
    if not value or len(value) > 200:
        return None
    body, _, mac = value.rpartition(".")
    issued, _, nonce = body.partition(".")
    key = _key(token)
    if not hmac.compare_digest(mac.encode(), _mac(key, body).encode()) or not issued.isdigit():
        return None
    # Sessions last a working day of real time; the emulated clock may be months ahead.
    age = wall_now().timestamp() - int(issued)
    if not 0 <= age <= timedelta(hours=SESSION_HOURS).total_seconds():
        return None
    return Session(int(issued), nonce, _csrf(key, nonce))


def token_matches(request: web.Request, given: str) -> bool:
    expected = request.config_dict[config_key].admin.token
    return hmac.compare_digest(given.encode(), expected.encode())


def _bearer_ok(request: web.Request) -> bool:
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {request.config_dict[config_key].admin.token}"
    # Constant-time, so the token can't be guessed a character at a time.
    return hmac.compare_digest(given.encode(), expected.encode())


def same_origin(request: web.Request) -> bool:
    """False when the browser says the request came from another site (Origin, else Referer)."""
    own = f"{request.scheme}://{request.host}"
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin == own
    referer = request.headers.get("Referer")
    if referer is not None:
        try:
            parts = urlsplit(referer)
        except ValueError:  # e.g. "http://[": no site at all, so not this one
            return False
        return f"{parts.scheme}://{parts.netloc}" == own
    return True  # neither header: the CSRF token below still has to match


async def _csrf_ok(request: web.Request, session: Session) -> bool:
    if not same_origin(request):
        return False
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        field = (await request.post()).get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    return given is not None and hmac.compare_digest(given.encode(), session.csrf_token.encode())


def _unauthorized() -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(
        text="missing or wrong admin token", headers={"WWW-Authenticate": "Bearer"}
    )


@web.middleware
async def require_admin(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bearer token or session cookie (plus CSRF proof for changes); nothing runs without."""
    path = request.path
    if path == PREFIX:
        raise web.HTTPFound(f"{PREFIX}/")
    if path.startswith(PUBLIC):
        return await handler(request)
    api = path.startswith(f"{PREFIX}/api/")
    if "Authorization" in request.headers:
        if await check_token(request, lambda: _bearer_ok(request)):
            request[auth_kind_key] = "bearer"
            return await handler(request)
        if api:
            raise _unauthorized()
    session = read(request.config_dict[config_key].admin.token, request.cookies.get(COOKIE))
    if session is None:
        if api or request.method != "GET":
            raise _unauthorized()
        raise web.HTTPFound(f"{PREFIX}/login?next={quote(request.path, safe='/')}")
    if request.method in UNSAFE and not await _csrf_ok(request, session):
        raise web.HTTPForbidden(text="cross-site request refused (missing or wrong CSRF token)")
    request[auth_kind_key] = "cookie"
    request[session_key] = session
    return await handler(request)


# Where signing in may lead back to: the admin, or the console it also unlocks off loopback.
SIGNED_IN_AREAS = (f"{PREFIX}/", "/console")


def _next(raw: str | None) -> str:
    # Only back into this server's own pages: never an open redirect to another site, and
    # only printable ASCII, since a CR or LF in a Location header broke the response.
    if (
        raw
        and raw.isascii()
        and raw.isprintable()
        and " " not in raw
        and raw.startswith(SIGNED_IN_AREAS)
        and not raw.startswith("//")
        and "\\" not in raw
    ):
        return raw
    return f"{PREFIX}/"


async def login_form(request: web.Request) -> web.Response:
    return render(
        request, "admin/login.html", active="", next=_next(request.query.get("next")), error=""
    )


async def login(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):
        raise web.HTTPForbidden(text="cross-site request refused")
    form = await request.post()
    token = form.get("token")
    raw_next = form.get("next")
    nxt = _next(raw_next if isinstance(raw_next, str) else None)
    if not await check_token(
        request, lambda: isinstance(token, str) and token_matches(request, token)
    ):
        response = render(
            request,
            "admin/login.html",
            active="",
            next=nxt,
            error=N_("That is not the admin token."),
        )
        response.set_status(401)
        return response
    value, _ = issue(request.config_dict[config_key].admin.token)
    response = web.Response(status=303, headers={"Location": nxt})
    response.set_cookie(
        COOKIE,
        value,
        path="/",  # the console (/console) takes the admin's session too
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        max_age=SESSION_HOURS * 3600,
    )
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    response = web.Response(status=303, headers={"Location": f"{PREFIX}/login"})
    response.del_cookie(COOKIE, path="/")
    return response


def setup(admin: web.Application) -> None:
    admin.router.add_get("/login", login_form)
    admin.router.add_post("/login", login)
    admin.router.add_post("/logout", logout)
