"""An emulator of the WeChat server's side of the webhook: it builds any inbound message, signs it,
optionally encrypts it, posts it to a webhook (ours or anyone's), then decrypts and parses the
reply. Tests, `python -m botstore send` and the console use it."""

import asyncio
import itertools
import secrets
import string
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any, Protocol

import aiohttp

from botstore.clock import Clock, SystemClock, wall_time
from botstore.console.diagnostics import (
    CryptoDiagnostics,
    aes_key,
    open_reply,
    request_signatures,
)
from botstore.console.lint import is_encrypted_reply, lint_exchange
from botstore.wechat import (
    MessageError,
    ParsedReply,
    ReplyError,
    TextReply,
    WeChatCrypto,
    build_message_xml,
    parse_envelope,
    parse_reply,
    sign,
)

_ALPHANUMERIC = string.ascii_letters + string.digits


class EmulatorError(Exception):
    """The webhook could not be reached."""


class ExitCode(IntEnum):
    """What `send`, `chat` and `replay` exit with (docs/testing-bots.md, "Exit codes"), for CI."""

    OK = 0
    FAILED = 1  # platform-rule warnings under --strict; replay: a reply differs
    USAGE = 2  # bad arguments, config or transcript file (argparse exits 2 too)
    BOT_ERROR = 3  # could not connect, no answer in time, an HTTP error, a reply WeChat refuses


class AccountSettings(Protocol):
    """What the emulator must share with the webhook (botstore's WeChatConfig fits)."""

    token: str
    app_id: str
    encoding_aes_key: str
    account_id: str


class Transport(Protocol):
    """aiohttp's ClientSession and pytest-aiohttp's TestClient both fit."""

    def post(self, url: str, **kwargs: Any) -> Any: ...

    def get(self, url: str, **kwargs: Any) -> Any: ...


# WeChat waits this long for a passive reply, then drops the connection and retries the same
# message, three tries in all (wechat-protocol.md §4).
REPLY_TIMEOUT_SECONDS = 5.0
TRIES = 3


@dataclass(frozen=True, slots=True)
class TryReport:
    """One attempt at delivering a message: what came back and how long it took."""

    number: int  # 1-based
    status: int | None  # the HTTP status, None when nothing came back
    elapsed_ms: float
    outcome: str  # e.g. "answered", "timed out after 5 s, dropped"
    timestamp: str = ""  # the query timestamp and nonce of this try
    nonce: str = ""

    @property
    def answered(self) -> bool:
        return self.status is not None

    def as_dict(self) -> dict[str, object]:
        return {
            "number": self.number,
            "status": self.status,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "outcome": self.outcome,
            "timestamp": self.timestamp,
            "nonce": self.nonce,
        }


@dataclass(frozen=True, slots=True)
class Exchange:
    """One message delivered to the webhook (over one or more tries) and what came back."""

    status: int  # of the answering try; 0 when no try was answered
    body: str  # the response body as sent (encrypted envelope, reply XML, "success", or an error)
    query: Mapping[str, str]  # of the answering (or last) try
    message_xml: str  # the plaintext message
    request_body: str  # what was posted (encrypted when asked)
    elapsed_seconds: float  # from the first try to the answer, as the fan waits
    reply_xml: str | None = None  # the plaintext reply XML, decrypted when it came encrypted
    reply: ParsedReply | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)  # why WeChat would refuse the reply
    warnings: list[str] = field(default_factory=list)  # platform-rule lint, plain sentences
    tries: list[TryReport] = field(default_factory=list)
    diagnostics: CryptoDiagnostics | None = None

    @property
    def request_xml(self) -> str:
        """The message before encryption (request_body is after)."""
        return self.message_xml

    @property
    def elapsed_ms(self) -> float:
        return self.elapsed_seconds * 1000

    @property
    def encrypted(self) -> bool:
        """The request was encrypted (compatible or safe mode)."""
        return "msg_signature" in self.query

    @property
    def timed_out(self) -> bool:
        """No try got an answer within the reply timeout."""
        return bool(self.tries) and not any(t.answered for t in self.tries)

    @property
    def raw(self) -> str:
        return self.body

    @property
    def content(self) -> str:
        """The text of a text reply ('' for anything else)."""
        if self.reply is not None and isinstance(self.reply.reply, TextReply):
            return self.reply.reply.content
        return ""

    @property
    def is_success(self) -> bool:
        """The webhook said "received, nothing to show" (wechat-protocol.md 3.3)."""
        return self.status == 200 and self.body in ("success", "")

    @property
    def failure(self) -> str | None:
        """Why the fan gets no reply from this exchange (no answer in time, an HTTP error, a
        reply WeChat would refuse), or None when the platform would deliver it."""
        if self.timed_out or self.status != 200 or self.problems:
            return self.describe()
        return None

    def verdict(self, *, strict: bool = False) -> ExitCode:
        """The exit code this exchange alone earns; warnings count only when `strict`."""
        if self.failure is not None:
            return ExitCode.BOT_ERROR
        return ExitCode.FAILED if strict and self.warnings else ExitCode.OK

    def describe(self) -> str:
        """A human summary: the text, the cards, or the status and reason."""
        if self.timed_out:
            return (
                f"no reply in {len(self.tries)} tries: the fan sees "
                '"该公众号暂时无法提供服务，请稍后再试"'
            )
        if self.status != 200:
            return f"HTTP {self.status}: {self.body}"
        if self.problems:
            return "reply rejected: " + "; ".join(self.problems)
        if self.reply is None:
            return "(no reply: success)"
        reply = self.reply.reply
        if isinstance(reply, TextReply):
            return reply.content
        lines = [f"[{reply.msg_type}]"]
        for article in getattr(reply, "articles", ()):
            lines.append(f"- {article.title}: {article.description} <{article.url}>")
        for name in ("media_id", "title", "music_url"):
            if getattr(reply, name, ""):
                lines.append(f"{name}: {getattr(reply, name)}")
        return "\n".join(lines)


class Emulator:
    """Plays the WeChat platform against one webhook."""

    def __init__(
        self,
        transport: Transport,
        url: str,
        account: AccountSettings,
        *,
        encrypt: bool = False,
        compatible: bool = False,
        clock: Clock | None = None,
        retries: bool = False,
        reply_timeout: float = REPLY_TIMEOUT_SECONDS,
        tries: int = TRIES,
        on_try: Callable[[TryReport], object] | None = None,
    ) -> None:
        self.transport = transport
        self.url = url
        self.account = account
        self.encrypt = encrypt
        # Compatible mode sends the plaintext fields beside <Encrypt> (wechat-protocol.md 2.2).
        self.compatible = compatible
        self.clock = clock or SystemClock()
        # As WeChat: wait reply_timeout per try, then drop it and retry, `tries` in all.
        self.retries = retries
        self.reply_timeout = reply_timeout
        self.tries = tries
        self.on_try = on_try  # told of each try as it ends (the console shows them live)
        self.crypto = WeChatCrypto(account.token, account.encoding_aes_key, account.app_id)
        self._msg_ids = itertools.count(secrets.randbelow(2**62) + 2**40)
        # Counting up from a random start, 10 digits as WeChat's: random ones would now and then
        # repeat within a second under load, and the webhook refuses a timestamp and nonce that
        # come again with another body.
        self._nonces = itertools.count(secrets.randbelow(8 * 10**9) + 10**9)

    @classmethod
    @asynccontextmanager
    async def for_url(
        cls, url: str, account: AccountSettings, **kwargs: Any
    ) -> AsyncIterator["Emulator"]:
        """An emulator with its own HTTP session, for a webhook anywhere."""
        # Past WeChat's own timeout, so that retry mode is the one that gives up first.
        wait = max(10.0, float(kwargs.get("reply_timeout", REPLY_TIMEOUT_SECONDS)) + 5)
        timeout = aiohttp.ClientTimeout(total=wait)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            yield cls(session, url, account, **kwargs)

    def next_msg_id(self) -> int:
        return next(self._msg_ids)

    def now(self) -> int:
        return int(self.clock.now().timestamp())

    async def say(
        self, text: str, *, fan: str, msg_id: int | None = None, **kwargs: Any
    ) -> Exchange:
        """The fan sends a text message."""
        return await self.message("text", {"Content": text}, fan=fan, msg_id=msg_id, **kwargs)

    async def message(
        self,
        msg_type: str,
        extra: Mapping[str, object],
        *,
        fan: str,
        msg_id: int | None = None,
        create_time: int | None = None,
        **kwargs: Any,
    ) -> Exchange:
        """A normal message (text, image, voice, video, location, link...)."""
        fields = self._header(fan, msg_type, create_time)
        fields.update(extra)
        fields["MsgId"] = msg_id if msg_id is not None else self.next_msg_id()
        return await self.post(fields, **kwargs)

    async def event(
        self,
        event: str,
        *,
        fan: str,
        event_key: str | None = None,
        create_time: int | None = None,
        extra: Mapping[str, object] | None = None,
        **kwargs: Any,
    ) -> Exchange:
        """An event (subscribe, SCAN, CLICK, VIEW, LOCATION...); events carry no MsgId."""
        fields = self._header(fan, "event", create_time)
        fields["Event"] = event
        if event_key is not None:
            fields["EventKey"] = event_key
        fields.update(extra or {})
        return await self.post(fields, **kwargs)

    def _header(self, fan: str, msg_type: str, create_time: int | None) -> dict[str, object]:
        return {
            "ToUserName": self.account.account_id,
            "FromUserName": fan,
            "CreateTime": create_time if create_time is not None else self.now(),
            "MsgType": msg_type,
        }

    def signed_query(self, *parts: str, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(timestamp if timestamp is not None else self.now())
        nonce = str(next(self._nonces))
        return {
            "signature": sign(self.account.token, stamp, nonce),
            "timestamp": stamp,
            "nonce": nonce,
            **dict(zip(parts[::2], parts[1::2], strict=True)),
        }

    async def post(
        self,
        fields: Mapping[str, object],
        *,
        encrypt: bool | None = None,
        timestamp: int | None = None,
        query: Mapping[str, str] | None = None,
        body: str | bytes | None = None,
    ) -> Exchange:
        """Post one message; `query` and `body` override what would be sent (for hostile tests)."""
        encrypt = self.encrypt if encrypt is None else encrypt
        message_xml = build_message_xml(fields)
        # One random prefix per message: every try carries the very same body (§4, §9).
        prefix = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(16)).encode()
        openid = str(fields.get("FromUserName", ""))

        def prepare() -> tuple[dict[str, str], str | bytes]:
            params = self.signed_query(timestamp=timestamp)
            params["openid"] = openid
            request_body: str | bytes = message_xml
            if encrypt:
                request_body, msg_signature = self.crypto.encrypt_message(
                    message_xml,
                    timestamp=params["timestamp"],
                    nonce=params["nonce"],
                    to_user_name=self.account.account_id,
                    random_prefix=prefix,
                    compatible_fields=message_xml if self.compatible else None,
                )
                params.update(encrypt_type="aes", msg_signature=msg_signature)
            if query is not None:
                params = dict(query)
            if body is not None:
                request_body = body
            return params, request_body

        reports: list[TryReport] = []
        started = wall_time()
        answer: tuple[int, str] | None = None
        failure: Exception | None = None
        for number in range(1, (self.tries if self.retries else 1) + 1):
            # A fresh timestamp and nonce (and so signatures) per try, the body unchanged.
            params, request_body = prepare()
            began = wall_time()
            try:
                if self.retries:
                    async with asyncio.timeout(self.reply_timeout):
                        answer = await self._send(params, request_body)
                else:
                    answer = await self._send(params, request_body)
            except TimeoutError as error:
                if not self.retries:
                    failure = error
                    break
                outcome = f"timed out after {self.reply_timeout:g} s, dropped"
                report = self._report(number, None, began, outcome, params)
                reports.append(report)
                continue
            except (aiohttp.ClientError, OSError) as error:
                failure = error
                outcome = f"could not connect: {error}"
                reports.append(self._report(number, None, began, outcome, params))
                if self.retries:
                    continue
                break
            outcome = "answered" if answer[0] == 200 else f"answered HTTP {answer[0]}"
            reports.append(self._report(number, answer[0], began, outcome, params))
            break
        elapsed = wall_time() - started
        sent = request_body.decode() if isinstance(request_body, bytes) else request_body
        if answer is None:
            if failure is not None and not any("timed out" in r.outcome for r in reports):
                raise EmulatorError(f"could not reach {self.url}: {failure}") from None
            problem = f"no reply within {self.reply_timeout:g} s on {len(reports)} tries"
            exchange = Exchange(
                0, "", params, message_xml, sent, elapsed, problems=(problem,), tries=reports
            )
            return self._finish(exchange)
        status, text = answer
        exchange = Exchange(status, text, params, message_xml, sent, elapsed, tries=reports)
        if status == 200 and not exchange.is_success:
            exchange = self._read_reply(exchange)
        return self._finish(exchange)

    async def _send(self, params: Mapping[str, str], body: str | bytes) -> tuple[int, str]:
        response = await self.transport.post(self.url, params=params, data=body)
        try:
            return response.status, await response.text()
        except BaseException:
            # Dropped mid-answer (a timeout): close, as WeChat hangs up on a slow webhook.
            response.close()
            raise

    def _report(
        self, number: int, status: int | None, began: float, outcome: str, params: Mapping
    ) -> TryReport:
        report = TryReport(
            number,
            status,
            (wall_time() - began) * 1000,
            outcome,
            params.get("timestamp", ""),
            params.get("nonce", ""),
        )
        if self.on_try is not None:
            self.on_try(report)
        return report

    def _finish(self, exchange: Exchange) -> Exchange:
        encrypted = None
        if exchange.encrypted:
            try:
                encrypted = parse_envelope(exchange.request_body).get("Encrypt", "").strip()
            except MessageError:
                encrypted = ""
        signature, msg_signature = request_signatures(
            self.account.token, exchange.query, encrypted
        )
        diagnostics = exchange.diagnostics or CryptoDiagnostics(signature)
        diagnostics = replace(diagnostics, signature=signature, msg_signature=msg_signature)
        exchange = replace(exchange, diagnostics=diagnostics)
        return replace(exchange, warnings=lint_exchange(exchange))

    def _read_reply(self, exchange: Exchange) -> Exchange:
        reply_xml = exchange.body
        problems: list[str] = []
        diagnostics = None
        if is_encrypted_reply(exchange.body):
            opened = open_reply(
                exchange.body,
                token=self.account.token,
                aes_key=aes_key(self.account.encoding_aes_key),
                app_id=self.account.app_id,
            )
            diagnostics = CryptoDiagnostics(
                signature=request_signatures(self.account.token, exchange.query, None)[0],
                reply_signature=opened.signature,
                reply_timestamp=opened.timestamp,
                reply_encrypted=True,
                decrypted_xml=opened.xml,
                error_kind=opened.error_kind,
                error=opened.error,
            )
            if opened.error is not None:
                problems.append(f"encrypted reply: {opened.error}")
            if not exchange.encrypted:
                problems.append("an encrypted reply to a plaintext message")
            if opened.xml is None:
                return replace(exchange, problems=tuple(problems), diagnostics=diagnostics)
            reply_xml = opened.xml
        try:
            parsed = parse_reply(reply_xml)
        except ReplyError as error:
            problems.append(f"reply XML: {error}")
            return replace(
                exchange, reply_xml=reply_xml, problems=tuple(problems), diagnostics=diagnostics
            )
        return replace(
            exchange,
            reply_xml=reply_xml,
            reply=parsed,
            problems=tuple(problems),
            diagnostics=diagnostics,
        )

    async def verify(self, *, echostr: str | None = None, **query: str) -> tuple[int, str]:
        """Server URL verification (wechat-protocol.md 1); returns (status, body)."""
        echostr = echostr or str(secrets.randbelow(9 * 10**18) + 10**18)
        params = self.signed_query("echostr", echostr) | query
        response = await self.transport.get(self.url, params=params)
        return response.status, await response.text()
