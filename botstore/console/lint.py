"""Platform-rule lint: what the real WeChat would refuse, cut or mangle in a bot's passive reply
(wechat-protocol.md §3, §4, §5.7, §8). Pure functions; each warning is one plain sentence."""

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from botstore.wechat import MusicReply, NewsReply, ReplyError, TextReply, parse_reply
from botstore.wechat.messages import MessageError, parse_envelope, parse_xml_fields

if TYPE_CHECKING:
    from botstore.console.client import Exchange, TryReport
    from botstore.console.diagnostics import CryptoDiagnostics

# §4: WeChat waits 5 s per try.
REPLY_DEADLINE_SECONDS = 5.0
# §8: not documented; the community measures 2048 bytes of UTF-8.
TEXT_LIMIT_BYTES = 2048
# §3.2: since 2018-10-12 one article when answering a fan's message, up to 8 otherwise.
NEWS_LIMIT_FOR_MESSAGES = 1
NEWS_LIMIT_FOR_EVENTS = 8
# How far an encrypted reply's TimeStamp may stray from the message's before it looks wrong.
REPLY_TIMESTAMP_SLACK_SECONDS = 300


def lint_exchange(exchange: "Exchange") -> list[str]:
    """Every platform-rule warning for one exchange, most serious first."""
    request = request_fields(exchange.message_xml)
    warnings = lint_timing(exchange.tries, exchange.elapsed_seconds)
    if exchange.timed_out:
        return [
            *warnings,
            f"No try was answered in time ({len(exchange.tries)} tries): the fan sees "
            '"该公众号暂时无法提供服务，请稍后再试".',
        ]
    if exchange.status != 200:
        return [
            *warnings,
            f"The bot answered HTTP {exchange.status}; WeChat needs 200 and shows the fan "
            '"该公众号暂时无法提供服务，请稍后再试".',
        ]
    if exchange.is_success:
        return warnings
    reply_encrypted = is_encrypted_reply(exchange.body)
    wrong_mode = lint_mode(
        request_encrypted=exchange.encrypted,
        compatible=exchange.encrypted and "<MsgType>" in exchange.request_body,
        reply_encrypted=reply_encrypted,
    )
    if wrong_mode and reply_encrypted:
        return warnings + wrong_mode  # it cannot be read at all: the details are noise
    warnings += wrong_mode
    if reply_encrypted:
        warnings += lint_encrypted_reply(
            exchange.diagnostics, request_timestamp=exchange.query.get("timestamp", "")
        )
        if exchange.reply_xml is None:
            return warnings
    warnings += lint_reply_xml(
        exchange.reply_xml if exchange.reply_xml is not None else exchange.body,
        fan=_str(request.get("FromUserName")),
        account_id=_str(request.get("ToUserName")),
        answering_event=request.get("MsgType") == "event",
    )
    return warnings


def request_fields(message_xml: str) -> Mapping[str, object]:
    """The message's fields, or nothing when it is not XML (hostile tests send such bodies)."""
    try:
        return parse_xml_fields(message_xml)
    except MessageError:
        return {}


def is_encrypted_reply(body: str) -> bool:
    """The body is an encrypted reply envelope (an <xml> with an Encrypt element)."""
    try:
        return "Encrypt" in parse_envelope(body)
    except MessageError:
        return False


def lint_timing(tries: Sequence["TryReport"], elapsed_seconds: float) -> list[str]:
    """Tries WeChat gave up on, and answers later than its 5 s deadline."""
    if not tries:
        if elapsed_seconds > REPLY_DEADLINE_SECONDS:
            return [_late(elapsed_seconds)]
        return []
    warnings = []
    for report in tries:
        if not report.answered and "timed out" in report.outcome:
            warnings.append(
                f"Try {report.number} got no reply in time and was dropped; WeChat then "
                "retries the same message (the bot must answer retries the same way)."
            )
        elif report.answered and report.elapsed_ms > REPLY_DEADLINE_SECONDS * 1000:
            warnings.append(_late(report.elapsed_ms / 1000))
    return warnings


def _late(seconds: float) -> str:
    return (
        f"The reply took {seconds:.1f} s; WeChat waits {REPLY_DEADLINE_SECONDS:g} s, then drops "
        'the connection and retries: answer "success" in time and send the reply later.'
    )


def lint_mode(*, request_encrypted: bool, compatible: bool, reply_encrypted: bool) -> list[str]:
    """An encrypted reply to a plaintext message, or a plaintext one in safe mode (§2.2)."""
    if reply_encrypted and not request_encrypted:
        return [
            "The reply is encrypted but the message was plaintext: in plaintext mode WeChat "
            "cannot read an encrypted reply."
        ]
    if request_encrypted and not compatible and not reply_encrypted:
        return [
            "The message came in safe mode (encrypted only) but the reply is plaintext: "
            "WeChat expects an encrypted reply envelope."
        ]
    return []


def lint_encrypted_reply(
    diagnostics: "CryptoDiagnostics | None", *, request_timestamp: str
) -> list[str]:
    """A reply that does not open, a wrong MsgSignature, a TimeStamp that is not now (§5.7)."""
    if diagnostics is None:
        return []
    warnings = []
    if diagnostics.error is not None:
        warnings.append(diagnostics.error)
    signature = diagnostics.reply_signature
    if (
        signature is not None
        and not signature.ok
        and diagnostics.error_kind != "bad_msg_signature"
    ):
        warnings.append(
            "The reply's MsgSignature is wrong: sign the sorted token, TimeStamp, Nonce and "
            "Encrypt of the reply itself."
        )
    stamp = (diagnostics.reply_timestamp or "").strip()
    if diagnostics.reply_timestamp is None:
        return warnings
    if not (stamp.isascii() and stamp.isdigit()):
        warnings.append(f"The reply's TimeStamp {stamp!r} is not Unix seconds.")
    elif len(stamp) >= 13:
        warnings.append(
            f"The reply's TimeStamp {stamp} looks like milliseconds; WeChat wants Unix seconds."
        )
    elif (
        request_timestamp.isascii()
        and request_timestamp.isdigit()
        and abs(int(stamp) - int(request_timestamp)) > REPLY_TIMESTAMP_SLACK_SECONDS
    ):
        warnings.append(
            f"The reply's TimeStamp {stamp} is far from the message's {request_timestamp}: "
            "use the current time."
        )
    return warnings


def lint_reply_xml(
    reply_xml: str, *, fan: str, account_id: str, answering_event: bool = False
) -> list[str]:
    """The plaintext reply against §3: shape, parties, article count, text size."""
    try:
        parsed = parse_reply(reply_xml)
    except ReplyError as error:
        return [f"The reply XML is malformed ({error}): WeChat shows the fan an error."]
    warnings = []
    to_user, from_user = parsed.to_user, parsed.from_user
    if fan and account_id and (to_user, from_user) == (account_id, fan):
        warnings.append(
            "ToUserName and FromUserName are swapped: ToUserName must be the fan's OpenID "
            "and FromUserName the account's original ID."
        )
    else:
        if fan and to_user != fan:
            warnings.append(f"ToUserName is {to_user!r}, not the fan's OpenID {fan!r}.")
        if account_id and from_user != account_id:
            warnings.append(
                f"FromUserName is {from_user!r}, not the account's original ID {account_id!r}."
            )
    if parsed.create_time >= 10**11:
        warnings.append("CreateTime looks like milliseconds; WeChat wants Unix seconds.")
    reply = parsed.reply
    if isinstance(reply, TextReply):
        size = len(reply.content.encode())
        if size > TEXT_LIMIT_BYTES:
            warnings.append(
                f"The text reply is {size} bytes; WeChat cuts or refuses passive text over "
                f"{TEXT_LIMIT_BYTES} bytes (UTF-8)."
            )
        if not reply.content.strip():
            warnings.append('The text reply is empty; answer "success" to show nothing.')
    elif isinstance(reply, NewsReply):
        count = len(reply.articles)
        if answering_event and count > NEWS_LIMIT_FOR_EVENTS:
            warnings.append(
                f"The reply has {count} news articles; WeChat shows at most "
                f"{NEWS_LIMIT_FOR_EVENTS} in reply to an event."
            )
        elif not answering_event and count > NEWS_LIMIT_FOR_MESSAGES:
            warnings.append(
                f"The reply has {count} news articles; WeChat shows only the first when "
                "answering a fan's message."
            )
    elif isinstance(reply, MusicReply) and not reply.thumb_media_id:
        warnings.append("The music reply has no ThumbMediaId, which WeChat marks required.")
    return warnings


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""
