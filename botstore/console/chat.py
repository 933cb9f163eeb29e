"""`python -m botstore chat`: the conversation with a webhook, in a terminal.

Lines are sent as the fan's text; lines starting with "/" are platform actions:
/subscribe [scene], /unsubscribe, /scan <scene>, /click <key>, /view <url>,
/location <lat> <lng> [label], /image, /fan <openid>, /aes on|off, /raw on|off,
/retries on|off, /save <file>, /help, /quit.
"""

import asyncio
import shlex
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TextIO

from botstore.console.client import AccountSettings, Emulator, EmulatorError, Exchange, ExitCode
from botstore.console.diagnostics import CryptoDiagnostics, SignatureInputs
from botstore.console.transcript import Transcript
from botstore.wechat import (
    ImageReply,
    MusicReply,
    NewsReply,
    TextReply,
    TransferCustomerServiceReply,
    VideoReply,
    VoiceReply,
)

HELP = __doc__.split("\n\n", 1)[1].strip()


def render(exchange: Exchange, *, raw: bool = False) -> str:
    """A readable rendering of what the bot answered: text, cards, media placeholders."""
    lines: list[str] = []
    if raw:
        lines += [
            "--- request ---",
            exchange.message_xml,
            "--- reply ---",
            exchange.reply_xml or exchange.body,
        ]
    if exchange.status != 200:
        lines.append(f"! HTTP {exchange.status}: {exchange.body}")
    elif exchange.problems:
        lines += [f"! {problem}" for problem in exchange.problems]
    elif exchange.reply is None:
        lines.append("(no reply)")
    else:
        lines += _render_reply(exchange.reply.reply)
    if len(exchange.tries) > 1:
        lines += [f"  try {t.number}: {t.outcome} ({t.elapsed_ms:.0f} ms)" for t in exchange.tries]
    lines += [f"  warning: {warning}" for warning in exchange.warnings]
    if raw and exchange.diagnostics is not None:
        lines.append(render_diagnostics(exchange.diagnostics))
    lines.append(f"  [{exchange.elapsed_seconds * 1000:.0f} ms]")
    return "\n".join(lines)


def render_diagnostics(diagnostics: CryptoDiagnostics) -> str:
    """The signature inputs and the reply's decryption, as plain lines."""
    lines = ["--- crypto ---"]
    for signature in (
        diagnostics.signature,
        diagnostics.msg_signature,
        diagnostics.reply_signature,
    ):
        if signature is not None:
            lines += _render_signature(signature)
    if diagnostics.reply_encrypted:
        lines.append(f"reply TimeStamp: {diagnostics.reply_timestamp}")
        if diagnostics.error:
            lines.append(f"! {diagnostics.error}")
        if diagnostics.decrypted_xml is not None:
            lines += ["decrypted reply:", diagnostics.decrypted_xml]
    return "\n".join(lines)


def _render_signature(signature: SignatureInputs) -> list[str]:
    inputs = ", ".join(
        f"{name}={value[:24] + '…' if len(value) > 24 else value}"
        for name, value in signature.inputs
    )
    verdict = "ok" if signature.ok else f"WRONG, expected {signature.expected}"
    return [f"{signature.name}: sha1(sorted({inputs})) = {signature.given} ({verdict})"]


def _render_reply(reply: object) -> list[str]:
    match reply:
        case TextReply(content=content):
            return ["bot> " + content.replace("\n", "\n     ")]
        case NewsReply(articles=articles):
            out = []
            for article in articles:
                width = max(len(article.title), len(article.description), len(article.url), 20) + 2
                out += [
                    "┌" + "─" * width + "┐",
                    f"│ {article.title.ljust(width - 1)}│",
                    f"│ {article.description.ljust(width - 1)}│",
                    f"│ {article.url.ljust(width - 1)}│",
                    "└" + "─" * width + "┘",
                ]
            return out
        case ImageReply(media_id=media_id):
            return [f"bot> [image {media_id}]"]
        case VoiceReply(media_id=media_id):
            return [f"bot> [voice {media_id}]"]
        case VideoReply():
            return [f"bot> [video {reply.media_id}] {reply.title}"]
        case MusicReply():
            return [f"bot> [music] {reply.title} {reply.music_url}"]
        case TransferCustomerServiceReply(kf_account=account):
            return [f"bot> [transferred to customer service{' ' + account if account else ''}]"]
    return [f"bot> {reply!r}"]


@dataclass
class ChatSession:
    """The state of one terminal chat: which fan, encryption, raw XML."""

    emulator: Emulator
    fan: str
    raw: bool = False
    out: Callable[[str], None] = field(default=print)
    transcript: Transcript = field(default_factory=Transcript)
    # The session's exit code (a script piped into chat is a test): the worst exchange's.
    strict: bool = False
    outcome: ExitCode = ExitCode.OK

    async def handle(self, line: str) -> bool:
        """Send one line; False when the user quits."""
        line = line.strip()
        if not line:
            return True
        if not line.startswith("/"):
            await self._show(self.emulator.say(line, fan=self.fan))
            return True
        try:
            words = shlex.split(line[1:])
        except ValueError as error:
            self.out(f"! {error}")
            return True
        command, args = (words[0].lower(), words[1:]) if words else ("help", [])
        return await self._action(command, args)

    async def _action(self, command: str, args: list[str]) -> bool:
        emulator, fan = self.emulator, self.fan
        if command in ("quit", "exit", "q"):
            return False
        if command == "subscribe":
            key = f"qrscene_{args[0]}" if args else ""
            await self._show(emulator.event("subscribe", fan=fan, event_key=key))
        elif command == "unsubscribe":
            await self._show(emulator.event("unsubscribe", fan=fan))
        elif command == "scan" and args:
            await self._show(
                emulator.event("SCAN", fan=fan, event_key=args[0], extra={"Ticket": "t"})
            )
        elif command == "click" and args:
            # A menu key may hold spaces: /click refund info sends "refund info".
            await self._show(emulator.event("CLICK", fan=fan, event_key=" ".join(args)))
        elif command == "view" and args:
            await self._show(
                emulator.event("VIEW", fan=fan, event_key=" ".join(args), extra={"MenuId": 1})
            )
        elif command == "location" and len(args) >= 2:
            extra = {
                "Location_X": args[0],
                "Location_Y": args[1],
                "Scale": 15,
                "Label": " ".join(args[2:]),
            }
            await self._show(emulator.message("location", extra, fan=fan))
        elif command == "image":
            extra = {"PicUrl": "http://127.0.0.1/fake.jpg", "MediaId": "console-image"}
            await self._show(emulator.message("image", extra, fan=fan))
        elif command == "fan" and args:
            self.fan = args[0]
            self.out(f"now chatting as {self.fan}")
        elif command == "aes" and args:
            emulator.encrypt = args[0].lower() in ("on", "1", "yes")
            self.out(f"AES {'on' if emulator.encrypt else 'off'}")
        elif command == "retries" and args:
            emulator.retries = args[0].lower() in ("on", "1", "yes")
            self.out(f"retries {'on' if emulator.retries else 'off'}")
        elif command == "save" and args:
            self.transcript.webhook_url = emulator.url
            self.transcript.aes = emulator.encrypt
            try:
                self.transcript.save(args[0])
            except OSError as error:
                self.out(f"! cannot save {args[0]}: {error.strerror}")
            else:
                self.out(f"saved {len(self.transcript.turns)} turns to {args[0]}")
        elif command == "raw" and args:
            self.raw = args[0].lower() in ("on", "1", "yes")
            self.out(f"raw XML {'on' if self.raw else 'off'}")
        else:
            self.out(HELP)
        return True

    async def _show(self, pending: Awaitable[Exchange]) -> None:
        try:
            exchange = await pending
        except EmulatorError as error:
            self.out(f"! {error}")
            self.outcome = ExitCode.BOT_ERROR
            return
        self.outcome = max(self.outcome, exchange.verdict(strict=self.strict))
        self.transcript.record(exchange)
        self.out(render(exchange, raw=self.raw))


async def run_chat(
    url: str,
    account: AccountSettings,
    *,
    fan: str,
    encrypt: bool,
    stdin: TextIO = sys.stdin,
    retries: bool = False,
    reply_timeout: float = 5.0,
    strict: bool = False,
) -> int:
    """Read lines until EOF or /quit, sending each to the webhook at `url`; returns the exit
    code of the worst exchange (ExitCode)."""
    async with Emulator.for_url(
        url, account, encrypt=encrypt, retries=retries, reply_timeout=reply_timeout
    ) as emulator:
        chat = ChatSession(emulator, fan, strict=strict)
        mode = "AES" if encrypt else "plaintext"
        print(f"chatting with {url} as {fan} ({mode}); /help for actions")
        loop = asyncio.get_running_loop()
        while True:
            if stdin.isatty():
                print("you> ", end="", flush=True)
            line = await loop.run_in_executor(None, stdin.readline)
            if not line or not await chat.handle(line):
                return chat.outcome
