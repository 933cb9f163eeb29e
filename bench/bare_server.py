"""The "bare" baseline for bench/webhook.py: plain aiohttp doing a webhook's protocol work
(signature, msg_signature + AES decryption, message parsing, reply XML, reply encryption) with
botstore.wechat, but no routing, no dedup and no database. It answers every message with one
constant text reply.

Started by bench/webhook.py; by hand:

    .venv/bin/python bench/bare_server.py --port 8090 --reply "bare reply"

The account settings come from the same BOTSTORE_WECHAT_* variables as botstore (token, app id,
EncodingAESKey, account id), with botstore's defaults.
"""

import argparse
import os
from datetime import UTC, datetime

from aiohttp import web

from botstore.templating import project_environment
from botstore.wechat import (
    CryptoError,
    MessageError,
    ReplyRenderer,
    TextReply,
    WeChatCrypto,
    check_signature,
    parse_envelope,
    parse_message,
)

DEFAULTS = {
    "token": "botstore",
    "app_id": "wx0123456789abcdef",
    "encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "account_id": "gh_b0757e5d0a1e",
}
MAX_BODY_BYTES = 1 << 20

settings_key = web.AppKey("settings", dict)
crypto_key = web.AppKey("crypto", WeChatCrypto)
renderer_key = web.AppKey("renderer", ReplyRenderer)
reply_key = web.AppKey("reply", TextReply)


def _setting(name: str) -> str:
    return os.environ.get(f"BOTSTORE_WECHAT_{name.upper()}", DEFAULTS[name])


def _now() -> int:
    return int(datetime.now(UTC).timestamp())


def _signed(request: web.Request) -> tuple[str, str]:
    query = request.query
    for name in ("signature", "timestamp", "nonce"):
        if not query.get(name):
            raise web.HTTPBadRequest(text=f"missing {name}")
    timestamp, nonce = query["timestamp"], query["nonce"]
    if not check_signature(
        request.app[settings_key]["token"], query["signature"], timestamp, nonce
    ):
        raise web.HTTPForbidden(text="bad signature")
    return timestamp, nonce


async def verify(request: web.Request) -> web.Response:
    _signed(request)
    return web.Response(text=request.query.get("echostr", ""))


async def receive(request: web.Request) -> web.Response:
    timestamp, nonce = _signed(request)
    body = await request.read()
    try:
        envelope = parse_envelope(body)
    except MessageError as error:
        raise web.HTTPBadRequest(text=f"bad XML: {error}") from None
    encrypted = "Encrypt" in envelope
    xml: bytes | str = body
    if encrypted:
        msg_signature = request.query.get("msg_signature")
        if not msg_signature:
            raise web.HTTPBadRequest(text="missing msg_signature")
        try:
            xml = request.app[crypto_key].decrypt_message(
                body=body, msg_signature=msg_signature, timestamp=timestamp, nonce=nonce
            )
        except CryptoError as error:
            raise web.HTTPForbidden(text=f"undecryptable: {error}") from None
    try:
        message = parse_message(xml)
    except MessageError as error:
        raise web.HTTPBadRequest(text=f"bad message: {error}") from None
    account_id = request.app[settings_key]["account_id"]
    if message.to_user != account_id:
        raise web.HTTPBadRequest(text=f"message is for {message.to_user!r}, not {account_id!r}")
    now = _now()
    reply = request.app[renderer_key].render(
        request.app[reply_key],
        to_user=message.from_user,
        from_user=message.to_user,
        create_time=now,
    )
    if encrypted:
        reply = request.app[crypto_key].encrypt_reply(reply, nonce=nonce, timestamp=now)
    return web.Response(text=reply, content_type="application/xml")


def create_app(reply: str, path: str = "/wechat") -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    settings = {name: _setting(name) for name in DEFAULTS}
    app[settings_key] = settings
    app[crypto_key] = WeChatCrypto(
        settings["token"], settings["encoding_aes_key"], settings["app_id"]
    )
    app[renderer_key] = ReplyRenderer(project_environment())
    app[reply_key] = TextReply(reply)
    app.router.add_get(path, verify)
    app.router.add_post(path, receive)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--path", default="/wechat")
    parser.add_argument("--reply", default="bare reply", help="the constant text reply")
    args = parser.parse_args()
    web.run_app(create_app(args.reply, args.path), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
