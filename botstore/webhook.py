"""The webhook: GET verification and the POST pipeline
cap -> verify -> decrypt -> parse -> refuse a reused query -> dedupe -> route -> reply.
Knows no business rules."""

import asyncio
import logging

from aiohttp import web
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from botstore.clock import wall_now
from botstore.keys import (
    background_key,
    clock_key,
    config_key,
    crypto_key,
    dispatcher_key,
    seen_queries_key,
    xml_key,
)
from botstore.numbers import parse_whole
from botstore.router import Handoff, Outcome
from botstore.signed_queries import SeenQueries
from botstore.wechat import (
    CryptoError,
    InboundMessage,
    MessageError,
    check_signature,
    message_from_fields,
    parse_xml_fields,
)

log = logging.getLogger(__name__)

# wechat-protocol.md 3.3: "received, nothing to show"; never encrypted.
SUCCESS = "success"


def setup_webhook(app: web.Application, *, path: str) -> None:
    app[seen_queries_key] = SeenQueries()
    app.router.add_get(path, verify_url)
    app.router.add_post(path, receive)


def _signed_query(request: web.Request) -> tuple[str, str]:
    """Check `signature` and the timestamp window; return (timestamp, nonce)."""
    config = request.app[config_key].wechat
    query = request.query
    for name in ("signature", "timestamp", "nonce"):
        if not query.get(name):
            raise web.HTTPBadRequest(text=f"missing {name}")
    timestamp, nonce = query["timestamp"], query["nonce"]
    if not check_signature(config.token, query["signature"], timestamp, nonce):
        raise web.HTTPForbidden(text="bad signature")
    stamp = parse_whole(timestamp, maximum=10**12 - 1)
    if stamp is None:
        raise web.HTTPBadRequest(text="bad timestamp")
    window = config.timestamp_window_seconds
    # Fresh against real time (the platform, an SDK) or the emulated clock (the console and
    # tests after advancing it): advancing business time must not lock real clients out.
    nearest = min(
        abs(request.app[clock_key].now().timestamp() - stamp), abs(wall_now().timestamp() - stamp)
    )
    if window and nearest > window:
        raise web.HTTPForbidden(text="stale timestamp")
    return timestamp, nonce


def _refuse_reused_query(request: web.Request, timestamp: str, body: bytes) -> None:
    """403 when this signed timestamp and nonce came before with another body.

    Called once the push is authenticated and decoded, and before any await: only requests the
    platform signed are remembered, and of two racing reuses one is refused.
    """
    window = request.app[config_key].wechat.timestamp_window_seconds
    # Keyed by the signature, which stands for the token, timestamp and nonce: sorted before
    # hashing (wechat-protocol.md 1), a timestamp and nonce swapped sign alike: the same query.
    signature = request.query["signature"]
    if window:
        # Both clocks only move forward: a stamp this far behind both never passes again.
        now = min(request.app[clock_key].now().timestamp(), wall_now().timestamp())
        stamp, oldest = int(timestamp), int(now) - window
    else:  # nothing expires: one memory in order of arrival, bounded by its limit
        stamp, oldest = 0, None
    if not request.app[seen_queries_key].admit(stamp, signature, body, expired_before=oldest):
        raise web.HTTPForbidden(text="timestamp and nonce already used for another message")


async def verify_url(request: web.Request) -> web.Response:
    """Server URL verification (wechat-protocol.md 1): echo `echostr` when the signature holds."""
    _signed_query(request)
    echostr = request.query.get("echostr")
    if echostr is None:
        raise web.HTTPBadRequest(text="missing echostr")
    return web.Response(text=echostr)


async def _read_body(request: web.Request) -> bytes:
    limit = request.app[config_key].server.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(
            max_size=limit, actual_size=request.content_length, text="body too large"
        )
    return await request.read()  # aiohttp enforces client_max_size while reading


def _decode(
    request: web.Request, body: bytes, timestamp: str, nonce: str
) -> tuple[InboundMessage, bool]:
    """The inbound message and whether it came encrypted."""
    mode = request.app[config_key].wechat.mode
    try:
        fields = parse_xml_fields(body)
    except MessageError as error:
        raise web.HTTPBadRequest(text=f"bad XML: {error}") from None
    ciphertext = fields.get("Encrypt")
    encrypted = isinstance(ciphertext, str)  # as parse_envelope finds it
    if encrypted and mode == "plaintext":
        raise web.HTTPBadRequest(text="encrypted message, but the account is in plaintext mode")
    if not encrypted and mode == "safe":
        raise web.HTTPBadRequest(text="plaintext refused: the account is in safe mode")
    try:
        if isinstance(ciphertext, str):  # the envelope's fields: the message is inside
            fields = parse_xml_fields(_decrypted(request, ciphertext, timestamp, nonce))
        message = message_from_fields(fields)
    except MessageError as error:
        raise web.HTTPBadRequest(text=f"bad message: {error}") from None
    account_id = request.app[config_key].wechat.account_id
    if message.to_user != account_id:
        raise web.HTTPBadRequest(text=f"message is for {message.to_user!r}, not {account_id!r}")
    return message, encrypted


def _decrypted(request: web.Request, ciphertext: str, timestamp: str, nonce: str) -> str:
    """The message inside the envelope's `Encrypt` text (the body parsed once, by `_decode`)."""
    msg_signature = request.query.get("msg_signature")
    if not msg_signature:
        raise web.HTTPBadRequest(text="missing msg_signature")
    try:
        return request.app[crypto_key].decrypt_signed(
            ciphertext, msg_signature=msg_signature, timestamp=timestamp, nonce=nonce
        )
    except CryptoError as error:
        if error.code == -40001:
            raise web.HTTPForbidden(text="bad msg_signature") from None
        raise web.HTTPBadRequest(text=f"undecryptable: {error}") from None


async def receive(request: web.Request) -> web.Response:
    """A pushed message or event; the response body is the passive reply."""
    timestamp, nonce = _signed_query(request)
    body = await _read_body(request)
    message, encrypted = _decode(request, body, timestamp, nonce)
    _refuse_reused_query(request, timestamp, body)
    outcome = await _handle_within_budget(request.app, message, encrypted)
    if outcome is None or outcome.reply is None:
        return web.Response(text=SUCCESS)
    xml = request.app[xml_key].render(
        outcome.reply,
        to_user=message.from_user,
        from_user=message.to_user,
        create_time=int(outcome.handled_at.timestamp()),
    )
    if encrypted:
        now = int(request.app[clock_key].now().timestamp())
        # The official walkthrough reuses the request's nonce (wechat-protocol.md 5.7).
        xml = request.app[crypto_key].encrypt_reply(xml, nonce=nonce, timestamp=now)
    return web.Response(text=xml, content_type="application/xml")


async def _handle_within_budget(
    app: web.Application, message: InboundMessage, encrypted: bool
) -> Outcome | None:
    """Run the dispatcher; past the reply budget, once the message is accepted, answer
    "success" and let it finish alone."""
    handoff = Handoff()
    task = asyncio.create_task(
        app[dispatcher_key].handle(
            message, encrypted=encrypted, now=app[clock_key].now(), handoff=handoff
        )
    )
    budget = app[config_key].server.reply_budget_seconds
    done, _ = await asyncio.wait({task}, timeout=budget)
    if not done and not handoff.accepted.is_set():
        # Not accepted yet (the database is busy): until it is, WeChat's retry is the only copy
        # of this message, so keep waiting rather than answer "success" for it.
        accepted = asyncio.ensure_future(handoff.accepted.wait())
        await asyncio.wait({task, accepted}, return_when=asyncio.FIRST_COMPLETED)
        accepted.cancel()
    if not task.done() and handoff.give_up():
        # Money work is never cancelled: the handler finishes and its reply goes to the outbox.
        background = app[background_key]
        background.add(task)
        task.add_done_callback(background.discard)
        task.add_done_callback(_log_failure)
        return None
    try:
        return await asyncio.shield(task)
    except (OperationalError, DBAPIError, PoolTimeout, OSError) as error:
        log.error("database unavailable: %s", error)
        raise web.HTTPServiceUnavailable(text="database unavailable, try again") from None


def _log_failure(task: asyncio.Task[Outcome]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("late handler failed", exc_info=task.exception())
