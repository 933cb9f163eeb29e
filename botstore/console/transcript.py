"""Transcripts: a conversation saved as JSON (the fan's turns, the bot's replies, timings), and its
replay against a live bot with a readable diff where the replies differ.

Replay compares each reply after masking what legitimately changes from run to run:
dates (2025-01-31, 2025/01/31, 2025年1月31日) -> <date>; times (09:30, 09:30:15) -> <time>;
ids written #12, as a URL path segment (/articles/12) or as ?id=12 -> <id>; runs of 8+ digits
(MsgIds, CreateTime, timestamps, order numbers) -> <number>; long hex strings (16+) and UUIDs
-> <hex>; a URL's scheme://host:port -> <origin>.
Reply CreateTime, ToUserName/FromUserName and the request MsgId are not compared at all."""

import difflib
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botstore.console.lint import request_fields
from botstore.wechat import reply_to_dict

if TYPE_CHECKING:
    from botstore.console.client import Emulator, Exchange

VERSION = 1
# Header fields the emulator fills in again on replay: who, when, and a fresh MsgId.
_HEADER = ("ToUserName", "FromUserName", "CreateTime", "MsgId")

_UUID = r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
_DATE = r"\d{4}-\d{1,2}-\d{1,2}|\d{4}/\d{1,2}/\d{1,2}|\d{4}年\d{1,2}月\d{1,2}日"
MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:]+(:\d+)?", re.IGNORECASE), "<origin>"),
    (re.compile(_UUID, re.IGNORECASE), "<hex>"),
    (re.compile(_DATE), "<date>"),
    (re.compile(r"(?<![\d:])\d{1,2}:\d{2}(:\d{2})?(?![\d:])"), "<time>"),
    (re.compile(r"#\d+"), "#<id>"),
    (re.compile(r"(?<=/)\d+(?=[/?#\s]|$)", re.MULTILINE), "<id>"),
    (re.compile(r"([?&][a-z_]*id=)\d+", re.IGNORECASE), r"\1<id>"),
    (re.compile(r"\d{8,}"), "<number>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{16,}\b", re.IGNORECASE), "<hex>"),
)


class TranscriptError(ValueError):
    """A file that is not a transcript this version can read; str() says what is wrong."""


def mask(text: str) -> str:
    """Replace what changes between runs (dates, times, ids, long numbers) with placeholders."""
    for pattern, placeholder in MASKS:
        text = pattern.sub(placeholder, text)
    return text


def turn_json(exchange: "Exchange") -> dict[str, Any]:
    """One turn: who sent what, and what came back."""
    fields = request_fields(exchange.message_xml)
    request = {name: value for name, value in fields.items() if name not in _HEADER}
    openid = exchange.query.get("openid") or fields.get("FromUserName", "")
    return {
        "openid": openid,
        "aes": exchange.encrypted,
        "request": request,
        "status": exchange.status,
        "reply": reply_to_dict(exchange.reply.reply) if exchange.reply is not None else None,
        "reply_xml": exchange.reply_xml,
        "body": exchange.body if exchange.reply is None else None,
        "elapsed_ms": round(exchange.elapsed_ms, 1),
        "warnings": list(exchange.warnings),
    }


def transcript_json(
    exchanges: Iterable["Exchange"], *, webhook_url: str = "", aes: bool | None = None
) -> dict[str, Any]:
    """A transcript document from exchanges (the web console's "save transcript")."""
    turns = [turn_json(exchange) for exchange in exchanges]
    if aes is None:
        aes = any(turn["aes"] for turn in turns)
    return {"version": VERSION, "webhook_url": webhook_url, "aes": aes, "turns": turns}


@dataclass
class Transcript:
    """A conversation being recorded, or loaded to replay."""

    webhook_url: str = ""
    aes: bool = False
    turns: list[dict[str, Any]] = field(default_factory=list)

    def record(self, exchange: "Exchange") -> dict[str, Any]:
        turn = turn_json(exchange)
        self.turns.append(turn)
        return turn

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "webhook_url": self.webhook_url,
            "aes": self.aes,
            "turns": self.turns,
        }

    def save(self, path: str | Path) -> None:
        text = json.dumps(self.to_json(), ensure_ascii=False, indent=2)
        Path(path).write_text(text + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, data: object) -> "Transcript":
        if not isinstance(data, Mapping):
            raise TranscriptError("a transcript is a JSON object")
        if data.get("version") != VERSION:
            raise TranscriptError(f"version is {data.get('version')!r}, this botstore reads 1")
        turns = data.get("turns")
        if not isinstance(turns, list):
            raise TranscriptError("turns is not a list")
        for number, turn in enumerate(turns, 1):
            if not isinstance(turn, Mapping):
                raise TranscriptError(f"turn {number} is not an object")
            request = turn.get("request")
            if not isinstance(turn.get("openid"), str) or not turn["openid"]:
                raise TranscriptError(f"turn {number} has no openid")
            if not isinstance(request, Mapping) or not isinstance(request.get("MsgType"), str):
                raise TranscriptError(f"turn {number} has no request with a MsgType")
        return cls(
            webhook_url=str(data.get("webhook_url") or ""),
            aes=bool(data.get("aes")),
            turns=[dict(turn) for turn in turns],
        )

    @classmethod
    def load(cls, path: str | Path) -> "Transcript":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise TranscriptError(f"cannot read {path}: {error.strerror}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise TranscriptError(f"{path} is not JSON: {error}") from None
        return cls.from_json(data)


def comparable(turn: Mapping[str, Any], renamed: Mapping[str, str] | None = None) -> list[str]:
    """The lines replay compares for a turn: status and reply (or body), masked; `renamed`
    (fresh openid -> recorded one) puts the recorded fans back into a replayed reply."""
    lines = [f"status: {turn.get('status')}"]
    reply = turn.get("reply")
    if reply is None:
        lines += _lines({"body": turn.get("body") or ""})
    else:
        lines += _lines(reply)
    for fresh, recorded in (renamed or {}).items():
        lines = [line.replace(fresh, recorded) for line in lines]
    return [mask(line) for line in lines]


class FreshFans:
    """A new openid for each recorded fan, the same one throughout a replay: each run starts
    with fans the bot has never seen, however the previous run left them."""

    def __init__(self) -> None:
        self.run = secrets.token_hex(4)
        self.by_recorded: dict[str, str] = {}

    def __call__(self, recorded: str) -> str:
        fresh = self.by_recorded.get(recorded)
        if fresh is None:
            # 28 characters, as WeChat's openids: o_ + 8 hex for the run + a number per fan.
            number = len(self.by_recorded) + 1
            fresh = self.by_recorded[recorded] = f"o_{self.run}_{number:017d}"
        return fresh

    @property
    def recorded_by_fresh(self) -> dict[str, str]:
        return {fresh: recorded for recorded, fresh in self.by_recorded.items()}


def _lines(value: object, indent: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(value, Mapping):
        for key in sorted(value, key=lambda k: (k != "type", k)):
            item = value[key]
            if isinstance(item, Mapping | list):
                out.append(f"{indent}{key}:")
                out += _lines(item, indent + "  ")
            elif isinstance(item, str) and "\n" in item:
                out.append(f"{indent}{key}: |")
                out += [f"{indent}  {line}" for line in item.split("\n")]
            else:
                out.append(f"{indent}{key}: {'' if item is None else item}")
    elif isinstance(value, list):
        for item in value:
            inner = _lines(item, indent + "  ")
            if inner:
                out.append(f"{indent}- {inner[0].lstrip()}")
                out += inner[1:]
    else:
        out.append(f"{indent}{value}")
    return out


def describe_request(turn: Mapping[str, Any]) -> str:
    request = turn.get("request", {})
    if request.get("MsgType") == "text":
        return f"{turn.get('openid')} says {request.get('Content', '')!r}"
    if request.get("MsgType") == "event":
        key = request.get("EventKey")
        return f"{turn.get('openid')} event {request.get('Event')}" + (f" {key}" if key else "")
    return f"{turn.get('openid')} sends {request.get('MsgType')}"


@dataclass(frozen=True, slots=True)
class TurnResult:
    number: int
    turn: Mapping[str, Any]
    actual: Mapping[str, Any]
    diff: list[str]
    failure: str | None = None  # the replayed exchange's, when the fan got no reply

    @property
    def same(self) -> bool:
        return not self.diff


async def replay(
    transcript: Transcript,
    emulator: "Emulator",
    *,
    aes: bool | None = None,
    fresh_fans: FreshFans | None = None,
) -> list[TurnResult]:
    """Send each recorded turn again; diff each reply with the recorded one (masked). With
    `fresh_fans`, each recorded fan is played by a new openid (the same throughout the run)."""
    results = []
    last_time = 0
    for number, turn in enumerate(transcript.turns, 1):
        request = dict(turn["request"])
        # Strictly increasing CreateTime: two identical events in one second would otherwise
        # be one event to the bot's dedup (wechat-protocol.md §4).
        last_time = max(emulator.now(), last_time + 1)
        fields: dict[str, object] = {
            "ToUserName": emulator.account.account_id,
            "FromUserName": fresh_fans(turn["openid"]) if fresh_fans else turn["openid"],
            "CreateTime": last_time,
            **request,
        }
        if request.get("MsgType") != "event":
            fields["MsgId"] = emulator.next_msg_id()
        encrypt = aes if aes is not None else bool(turn.get("aes", transcript.aes))
        exchange = await emulator.post(fields, encrypt=encrypt)
        actual = turn_json(exchange)
        diff = list(
            difflib.unified_diff(
                comparable(turn),
                comparable(actual, fresh_fans.recorded_by_fresh if fresh_fans else None),
                fromfile=f"turn {number} recorded",
                tofile=f"turn {number} replayed",
                lineterm="",
            )
        )
        results.append(TurnResult(number, turn, actual, diff, exchange.failure))
    return results


def report(results: list[TurnResult], fresh_fans: FreshFans | None = None) -> tuple[str, bool]:
    """A readable report of a replay and whether every reply matched."""
    lines = [
        f"fan {recorded} played by {fresh}"
        for recorded, fresh in (fresh_fans.by_recorded.items() if fresh_fans else ())
    ]
    for result in results:
        mark = "ok  " if result.same else "DIFF"
        lines.append(f"{mark} turn {result.number}: {describe_request(result.turn)}")
        if result.failure is not None:
            lines.append(f"     the bot failed: {result.failure}")
        lines += [f"     {line}" for line in result.diff]
        lines += [f"     warning: {w}" for w in result.actual.get("warnings", [])]
    differ = sum(not result.same for result in results)
    lines.append(
        f"{len(results)} turns replayed: "
        + (f"{differ} replies differ" if differ else "all replies match")
    )
    return "\n".join(lines), differ == 0
