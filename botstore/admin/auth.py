"""Admin sign-in: the token form, a signed session cookie, CSRF checks, and the guard middleware.

The JSON API under /admin/api/ takes `Authorization: Bearer <admin.token>` or the session cookie;
pages take the cookie and send everyone else to the sign-in form.
"""

import base64
import hashlib
import hmac
import math
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import quote, urlsplit

from aiohttp import web

from botstore.admin.common import Session, auth_kind_key, render, session_key
from botstore.clock import wall_now
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


class SignInLimiter:
    """Wrong admin tokens per client address over the last minute.

    Past `per_minute` of them, every token from that address is refused unchecked (429) until
    its oldest failure is a minute old: checking would tell a guesser when it is right. Only
    token checks count; a signed session cookie can't be guessed and is not limited.
    """

    WINDOW_SECONDS = 60.0
    MAX_ADDRESSES = 10_000  # beyond this, addresses with no recent failure are forgotten

    def __init__(self, per_minute: int, now: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.now = now
        self._failures: dict[str, deque[float]] = {}

    def wait(self, address: str) -> float:
        """Seconds before `address` may try a token again; 0 when it may now."""
        failures = self._failures.get(address)
        if not self.per_minute or failures is None:
            return 0.0
        self._expire(failures)
        if len(failures) < self.per_minute:
            return 0.0
        return failures[0] + self.WINDOW_SECONDS - self.now()

    def failed(self, address: str) -> None:
        if not self.per_minute:
            return
        if address not in self._failures and len(self._failures) >= self.MAX_ADDRESSES:
            self._forget_quiet_addresses()
        self._failures.setdefault(address, deque(maxlen=self.per_minute)).append(self.now())

    def _expire(self, failures: deque[float]) -> None:
        while failures and failures[0] <= self.now() - self.WINDOW_SECONDS:
            failures.popleft()

    def _forget_quiet_addresses(self) -> None:
        for address, failures in list(self._failures.items()):
            self._expire(failures)
            if not failures:
                del self._failures[address]


limiter_key = web.AppKey("signin_limiter", SignInLimiter)


def refuse_while_locked_out(request: web.Request) -> None:
    """429 while this client address has tried too many wrong tokens (see SignInLimiter)."""
    wait = request.config_dict[limiter_key].wait(request.remote or "")
    if wait > 0:
        seconds = math.ceil(wait)
        raise web.HTTPTooManyRequests(
            text=f"too many wrong admin tokens from this address: try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


def note_wrong_token(request: web.Request) -> None:
    request.config_dict[limiter_key].failed(request.remote or "")


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
        parts = urlsplit(referer)
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
        refuse_while_locked_out(request)
        if _bearer_ok(request):
            request[auth_kind_key] = "bearer"
            return await handler(request)
        note_wrong_token(request)
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
    refuse_while_locked_out(request)
    form = await request.post()
    token = form.get("token")
    raw_next = form.get("next")
    nxt = _next(raw_next if isinstance(raw_next, str) else None)
    if not isinstance(token, str) or not token_matches(request, token):
        note_wrong_token(request)
        response = render(
            request, "admin/login.html", active="", next=nxt, error="That is not the admin token."
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
