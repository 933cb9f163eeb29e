"""A tiny WeChat bot written WITHOUT botstore: aiohttp + wechatpy, as anyone might write one.
The botstore pytest plugin tests it (test_example_bot.py). Commands: help, echo <text>,
news [n]; events: subscribe, CLICK."""

from aiohttp import web
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

TOKEN = "exampletoken"
APP_ID = "wx1234567890abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def answer(message: object) -> object:
    """The bot's logic: a reply for wechatpy's create_reply, or None for "success"."""
    kind = getattr(message, "type", "")
    if kind == "event" and message.event == "subscribe":  # type: ignore[attr-defined]
        return "Welcome! Send help."
    if kind == "event" and message.event == "click":  # type: ignore[attr-defined]
        return f"You clicked {message.key}."  # type: ignore[attr-defined]
    if kind != "text":
        return None
    command, _, rest = message.content.strip().partition(" ")  # type: ignore[attr-defined]
    if command == "help":
        return "Commands: help, echo <text>, news [n]"
    if command == "echo":
        return rest
    if command == "news":
        # One card is all WeChat shows in reply to a message; "news 2" breaks that rule.
        count = int(rest or 1)
        return [
            {"title": f"Story {n}", "description": "", "image": "", "url": f"http://x/{n}"}
            for n in range(1, count + 1)
        ]
    return f"Sorry, I don't know {command!r}."


def create_bot(
    token: str = TOKEN, aes_key: str = AES_KEY, app_id: str = APP_ID
) -> web.Application:
    crypto = WeChatCrypto(token, aes_key, app_id)

    async def webhook(request: web.Request) -> web.Response:
        query = request.query
        try:
            check_signature(token, query["signature"], query["timestamp"], query["nonce"])
        except (KeyError, InvalidSignatureException):
            return web.Response(status=403, text="bad signature")
        if request.method == "GET":
            return web.Response(text=query.get("echostr", ""))
        body = await request.read()
        encrypted = query.get("encrypt_type") == "aes"
        if encrypted:
            try:
                body = crypto.decrypt_message(
                    body, query["msg_signature"], query["timestamp"], query["nonce"]
                ).encode()
            except (KeyError, InvalidSignatureException, InvalidAppIdException):
                return web.Response(status=403, text="bad msg_signature")
        message = parse_message(body)
        reply = answer(message)
        if reply is None:
            return web.Response(text="success")
        xml = create_reply(reply, message).render()
        if encrypted:
            xml = crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
        return web.Response(text=xml, content_type="application/xml")

    app = web.Application()
    app.router.add_route("*", "/wechat", webhook)
    return app
