"""pytest plugin: test any WeChat Official Account bot (botstore or not) through botstore's
emulator of the WeChat server. Registered as `botstore` through the pytest11 entry point.

    async def test_help(wechat):
        reply = await wechat.say("help")          # a botstore.wechat TextReply, NewsReply...
        assert "echo" in reply.content

Fixtures: `wechat` (a client set up from ini options and the `wechat` marker) and
`wechat_factory` (make more clients: `wechat_factory(app=..., token=..., aes=True)`). Point them
at a webhook URL (`wechat_url` / `url=`) or at an aiohttp app (define a `wechat_app` fixture, or
pass `app=`). Every reply is linted against the platform's rules and a warning fails the test
unless `lint=False`. Needs pytest-asyncio (or pytest-aiohttp) for the async tests."""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from aiohttp import web

    from botstore.console.client import Emulator, Exchange
    from botstore.wechat import Reply

try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pytest-aiohttp < 1 runs async fixtures itself
    _async_fixture = pytest.fixture

# A key for accounts that never encrypt: the emulator needs some valid EncodingAESKey.
_UNUSED_AES_KEY = "A" * 43
_ACCOUNT_DEFAULT = "gh_000000000000"
_FAN_DEFAULT = "o_botstore_test_fan_000000000"
_FIXTURE = object()  # wechat_factory(app=...) not given: use the `wechat_app` fixture

INI_OPTIONS: dict[str, tuple[str, str]] = {
    # name: (help, default); `bool` options are read by _settings_from_ini.
    "wechat_url": ("webhook URL the `wechat` fixture posts to (else the `wechat_app` app)", ""),
    "wechat_path": ("path of the webhook inside `wechat_app`", "/wechat"),
    "wechat_token": ("the bot's Token", ""),
    "wechat_app_id": ("the bot's AppID (needed with AES)", ""),
    "wechat_aes_key": ("the bot's EncodingAESKey, 43 characters (needed with AES)", ""),
    "wechat_account_id": ("the account's original ID, gh_...", _ACCOUNT_DEFAULT),
    "wechat_openid": ("the fan's OpenID", _FAN_DEFAULT),
    "wechat_aes": ("encrypt messages (safe mode): true/false", "false"),
    "wechat_compatible": ("with AES, send the plaintext fields too (compatible mode)", "false"),
    "wechat_retries": ("retry as WeChat does: drop a try after the timeout, 3 tries", "false"),
    "wechat_reply_timeout": ("seconds WeChat waits for a reply per try", "5"),
    "wechat_lint": ("fail a test on platform-rule warnings: true/false", "true"),
}
_BOOLS = {"aes", "compatible", "retries", "lint"}


@dataclass(frozen=True, slots=True)
class Settings:
    """How the emulator reaches and signs for one bot."""

    url: str = ""
    path: str = "/wechat"
    token: str = ""
    app_id: str = ""
    aes_key: str = ""
    account_id: str = _ACCOUNT_DEFAULT
    openid: str = _FAN_DEFAULT
    aes: bool = False
    compatible: bool = False
    retries: bool = False
    reply_timeout: float = 5.0
    lint: bool = True


@dataclass(frozen=True, slots=True)
class _Account:
    token: str
    app_id: str
    encoding_aes_key: str
    account_id: str


class WeChatLintError(AssertionError):
    """A reply broke the platform's rules (the message lists them)."""


@dataclass
class WeChatClient:
    """A fan talking to a bot through the emulated WeChat server.

    Each call returns the typed reply (TextReply, NewsReply, ... from botstore.wechat), or None
    when the bot answered "success"/nothing; `last` is the full Exchange (raw XML, timings,
    tries, crypto diagnostics, warnings)."""

    settings: Settings
    app: "web.Application | Callable[[], Any] | None" = None
    exchanges: list["Exchange"] = field(default_factory=list)
    _emulator: "Emulator | None" = None
    _closers: list[Callable[[], Awaitable[object]]] = field(default_factory=list)

    @property
    def openid(self) -> str:
        return self.settings.openid

    @property
    def lint(self) -> bool:
        return self.settings.lint

    @lint.setter
    def lint(self, value: bool) -> None:
        self.settings = replace(self.settings, lint=value)

    @property
    def last(self) -> "Exchange":
        if not self.exchanges:
            raise LookupError("nothing was sent yet")
        return self.exchanges[-1]

    async def emulator(self) -> "Emulator":
        """The underlying botstore Emulator, started on first use."""
        if self._emulator is None:
            self._emulator = await self._start()
        return self._emulator

    async def _start(self) -> "Emulator":
        import aiohttp
        from aiohttp import web
        from aiohttp.test_utils import TestClient, TestServer

        from botstore.console.client import Emulator

        s = self.settings
        if not s.token:
            raise pytest.UsageError("botstore wechat: set the bot's token (wechat_token)")
        if s.aes and (len(s.aes_key) != 43 or not s.app_id):
            raise pytest.UsageError(
                "botstore wechat: AES needs the bot's 43-character EncodingAESKey "
                "(wechat_aes_key) and AppID (wechat_app_id)"
            )
        account = _Account(
            token=s.token,
            app_id=s.app_id or "wx0000000000000000",
            encoding_aes_key=s.aes_key or _UNUSED_AES_KEY,
            account_id=s.account_id,
        )
        options: dict[str, Any] = {
            "encrypt": s.aes,
            "compatible": s.compatible,
            "retries": s.retries,
            "reply_timeout": s.reply_timeout,
        }
        if s.url:
            session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=max(10.0, s.reply_timeout + 5))
            )
            self._closers.append(session.close)
            return Emulator(session, s.url, account, **options)
        app = self.app
        if app is not None and not isinstance(app, web.Application):
            app = app()
            if isinstance(app, Awaitable):
                app = await app
        if not isinstance(app, web.Application):
            raise pytest.UsageError(
                "botstore wechat: set the wechat_url ini option, use "
                "@pytest.mark.wechat(url=...), or define a `wechat_app` fixture that returns "
                "your aiohttp web.Application"
            )
        client = TestClient(TestServer(app))
        await client.start_server()
        self._closers.append(client.close)
        return Emulator(client, s.path, account, **options)

    async def aclose(self) -> None:
        while self._closers:
            await self._closers.pop()()

    async def __aenter__(self) -> "WeChatClient":
        await self.emulator()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @contextmanager
    def allow_warnings(self) -> Iterator[None]:
        """Inside this block platform-rule warnings do not fail the test."""
        before = self.settings.lint
        self.lint = False
        try:
            yield
        finally:
            self.lint = before

    def _check(self, exchange: "Exchange", what: str) -> "Reply | None":
        self.exchanges.append(exchange)
        if self.settings.lint and exchange.warnings:
            lines = "\n".join(f"  - {warning}" for warning in exchange.warnings)
            raise WeChatLintError(
                f"the reply to {what} breaks WeChat's rules:\n{lines}\n"
                f"reply: {exchange.reply_xml or exchange.body!r}\n"
                "(opt out with @pytest.mark.wechat(lint=False) or wechat.allow_warnings())"
            )
        return exchange.reply.reply if exchange.reply is not None else None

    async def say(self, text: str, *, openid: str | None = None, **kwargs: Any) -> "Reply | None":
        """The fan sends a text message; returns the typed reply."""
        emulator = await self.emulator()
        exchange = await emulator.say(text, fan=openid or self.openid, **kwargs)
        return self._check(exchange, repr(text))

    async def send(
        self, msg_type: str, fields: Mapping[str, object], *, openid: str | None = None, **kw: Any
    ) -> "Reply | None":
        """Any normal message: image, voice, video, location, link..."""
        emulator = await self.emulator()
        exchange = await emulator.message(msg_type, fields, fan=openid or self.openid, **kw)
        return self._check(exchange, f"a {msg_type} message")

    async def event(
        self,
        event: str,
        key: str | None = None,
        *,
        openid: str | None = None,
        extra: Mapping[str, object] | None = None,
        **kwargs: Any,
    ) -> "Reply | None":
        """An event, spelt as on the wire: subscribe, unsubscribe, SCAN, CLICK, VIEW..."""
        emulator = await self.emulator()
        exchange = await emulator.event(
            event, fan=openid or self.openid, event_key=key, extra=extra, **kwargs
        )
        return self._check(exchange, f"the {event} event")

    async def click(self, key: str, **kwargs: Any) -> "Reply | None":
        """The fan clicks a CLICK menu button."""
        return await self.event("CLICK", key, **kwargs)

    async def subscribe(self, scene: str | None = None, **kwargs: Any) -> "Reply | None":
        """The fan follows the account, from a QR scene when given."""
        return await self.event("subscribe", f"qrscene_{scene}" if scene else None, **kwargs)

    async def image(self, media_id: str = "test-media", **kwargs: Any) -> "Reply | None":
        fields = {"PicUrl": "http://127.0.0.1/test.jpg", "MediaId": media_id}
        return await self.send("image", fields, **kwargs)

    async def location(
        self, latitude: float, longitude: float, label: str = "", **kwargs: Any
    ) -> "Reply | None":
        fields = {"Location_X": latitude, "Location_Y": longitude, "Scale": 15, "Label": label}
        return await self.send("location", fields, **kwargs)

    async def verify(self) -> bool:
        """Server URL verification: does the bot echo `echostr` back (wechat-protocol.md 1)?"""
        emulator = await self.emulator()
        status, body = await emulator.verify(echostr="1234567890123456789")
        return (status, body) == (200, "1234567890123456789")


# --- settings -------------------------------------------------------------------------------


def _coerce(name: str, value: object) -> object:
    if name in _BOOLS and isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if name == "reply_timeout":
        return float(value)  # type: ignore[arg-type]
    return value


def _settings_from_ini(config: pytest.Config) -> Settings:
    values = {}
    for option in INI_OPTIONS:
        value = config.getini(option)
        if value not in ("", None):
            values[option.removeprefix("wechat_")] = _coerce(option.removeprefix("wechat_"), value)
    return Settings(**values)


def _override(settings: Settings, overrides: Mapping[str, object]) -> Settings:
    known = {f.name for f in fields(Settings)}
    unknown = set(overrides) - known
    if unknown:
        raise pytest.UsageError(
            f"botstore wechat: unknown settings {sorted(unknown)}; known: {sorted(known)}"
        )
    return replace(settings, **{k: _coerce(k, v) for k, v in overrides.items()})


def _marker_settings(request: pytest.FixtureRequest) -> dict[str, object]:
    merged: dict[str, object] = {}
    # Closest last: a function's marker beats its class's and module's.
    for marker in reversed(list(request.node.iter_markers("wechat"))):
        if marker.args:
            raise pytest.UsageError("botstore wechat: the wechat marker takes keywords only")
        merged.update(marker.kwargs)
    return merged


# --- hooks and fixtures ---------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    for name, (help_text, default) in INI_OPTIONS.items():
        parser.addini(name, help_text, default=default)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "wechat(**settings): settings for the botstore `wechat` fixture: url, path, token, "
        "app_id, aes_key, account_id, openid, aes, compatible, retries, reply_timeout, lint",
    )


WeChatFactory = Callable[..., WeChatClient]


@_async_fixture
async def wechat_factory(request: pytest.FixtureRequest) -> AsyncIterator[WeChatFactory]:
    """Make emulator clients: `wechat_factory(url=... or app=..., token=..., aes=True, ...)`.

    Unset settings come from the ini options and the test's `wechat` marker."""
    base = _override(_settings_from_ini(request.config), _marker_settings(request))
    made: list[WeChatClient] = []

    def make(
        *, app: "web.Application | Callable[[], Any] | None | object" = _FIXTURE, **settings: Any
    ) -> WeChatClient:
        settings_ = _override(base, settings)
        if app is not _FIXTURE and "url" not in settings:
            settings_ = replace(settings_, url="")
        if app is _FIXTURE:
            app = None if settings_.url else _app_fixture(request)
        client = WeChatClient(settings_, app=app)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


def _app_fixture(request: pytest.FixtureRequest) -> Any:
    try:
        return request.getfixturevalue("wechat_app")
    except pytest.FixtureLookupError:
        return None  # the client says what is missing when it is used


@pytest.fixture
def wechat(wechat_factory: WeChatFactory) -> WeChatClient:
    """A fan's emulator client for the bot at `wechat_url`, or the app of a `wechat_app` fixture.

    (botstore's own test suite overrides this name in tests/conftest.py.)"""
    return wechat_factory()
