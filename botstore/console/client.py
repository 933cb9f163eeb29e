"""An emulator of the WeChat server's side of the webhook: it builds any inbound message, signs it,
optionally encrypts it, posts it to a webhook (ours or anyone's), then decrypts and parses the
reply. Tests, `python -m botstore send` and the console use it."""

import itertools
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import aiohttp

from botstore.clock import Clock, SystemClock, wall_time
from botstore.wechat import (
    CryptoError,
    ParsedReply,
    ReplyError,
    TextReply,
    WeChatCrypto,
    build_message_xml,
    parse_reply,
    sign,
)


class EmulatorError(Exception):
    """The webhook could not be reached."""


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


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request to the webhook and what came back."""

    status: int
    body: str  # the response body as sent (encrypted envelope, reply XML, "success", or an error)
    query: Mapping[str, str]
    message_xml: str  # the plaintext message
    request_body: str  # what was posted (encrypted when asked)
    elapsed_seconds: float
    reply_xml: str | None = None  # the plaintext reply XML, decrypted when it came encrypted
    reply: ParsedReply | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)

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

    def describe(self) -> str:
        """A human summary: the text, the cards, or the status and reason."""
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
    ) -> None:
        self.transport = transport
        self.url = url
        self.account = account
        self.encrypt = encrypt
        # Compatible mode sends the plaintext fields beside <Encrypt> (wechat-protocol.md 2.2).
        self.compatible = compatible
        self.clock = clock or SystemClock()
        self.crypto = WeChatCrypto(account.token, account.encoding_aes_key, account.app_id)
        self._msg_ids = itertools.count(secrets.randbelow(2**62) + 2**40)

    @classmethod
    @asynccontextmanager
    async def for_url(
        cls, url: str, account: AccountSettings, **kwargs: Any
    ) -> AsyncIterator["Emulator"]:
        """An emulator with its own HTTP session, for a webhook anywhere."""
        timeout = aiohttp.ClientTimeout(total=10)
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
        nonce = str(secrets.randbelow(9 * 10**9) + 10**9)
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
        params = self.signed_query(timestamp=timestamp)
        params["openid"] = str(fields.get("FromUserName", ""))
        request_body: str | bytes = message_xml
        if encrypt:
            request_body, msg_signature = self.crypto.encrypt_message(
                message_xml,
                timestamp=params["timestamp"],
                nonce=params["nonce"],
                to_user_name=self.account.account_id,
                compatible_fields=message_xml if self.compatible else None,
            )
            params.update(encrypt_type="aes", msg_signature=msg_signature)
        if query is not None:
            params = dict(query)
        if body is not None:
            request_body = body
        started = wall_time()
        try:
            response = await self.transport.post(self.url, params=params, data=request_body)
            text = await response.text()
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise EmulatorError(f"could not reach {self.url}: {error}") from None
        elapsed = wall_time() - started
        sent = request_body.decode() if isinstance(request_body, bytes) else request_body
        exchange = Exchange(response.status, text, params, message_xml, sent, elapsed)
        if response.status != 200 or exchange.is_success:
            return exchange
        return self._read_reply(exchange, encrypted="msg_signature" in params)

    def _read_reply(self, exchange: Exchange, *, encrypted: bool) -> Exchange:
        reply_xml = exchange.body
        if encrypted and "<Encrypt>" in reply_xml:
            try:
                reply_xml = self.crypto.decrypt_reply(exchange.body).xml
            except CryptoError as error:
                return _with(exchange, problems=(f"encrypted reply: {error}",))
        try:
            parsed = parse_reply(reply_xml)
        except ReplyError as error:
            return _with(exchange, reply_xml=reply_xml, problems=(f"reply XML: {error}",))
        return _with(exchange, reply_xml=reply_xml, reply=parsed)

    async def verify(self, *, echostr: str | None = None, **query: str) -> tuple[int, str]:
        """Server URL verification (wechat-protocol.md 1); returns (status, body)."""
        echostr = echostr or str(secrets.randbelow(9 * 10**18) + 10**18)
        params = self.signed_query("echostr", echostr) | query
        response = await self.transport.get(self.url, params=params)
        return response.status, await response.text()


def _with(exchange: Exchange, **changes: Any) -> Exchange:
    return replace(exchange, **changes)
