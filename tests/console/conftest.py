"""A canned bot: an aiohttp app that answers whatever a test tells it to, to feed the emulator
crafted (good and bad) replies without a database."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from botstore import cli
from botstore.console.client import Emulator
from botstore.wechat import WeChatCrypto, parse_message

FAN = "o_lint_fan_0000000000000000000"
ACCOUNT_ID = "gh_97417a04a28d"


@dataclass(frozen=True)
class Account:
    token: str = "AAAAA"
    app_id: str = "wxba5fad812f8e6fb9"
    encoding_aes_key: str = "A" * 43
    account_id: str = ACCOUNT_ID


ACCOUNT = Account()
CRYPTO = WeChatCrypto(ACCOUNT.token, ACCOUNT.encoding_aes_key, ACCOUNT.app_id)

Answer = Callable[[web.Request, str], Awaitable[web.StreamResponse] | web.StreamResponse]


def text_xml(
    content: str, *, to: str = FAN, sender: str = ACCOUNT_ID, create_time: int = 1
) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{to}]]></ToUserName>"
        f"<FromUserName><![CDATA[{sender}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content></xml>"
    )


def news_xml(count: int) -> str:
    items = "".join(
        f"<item><Title><![CDATA[T{i}]]></Title><Url><![CDATA[http://u/{i}]]></Url></item>"
        for i in range(count)
    )
    return (
        f"<xml><ToUserName><![CDATA[{FAN}]]></ToUserName>"
        f"<FromUserName><![CDATA[{ACCOUNT_ID}]]></FromUserName>"
        "<CreateTime>1</CreateTime><MsgType><![CDATA[news]]></MsgType>"
        f"<ArticleCount>{count}</ArticleCount><Articles>{items}</Articles></xml>"
    )


class CannedBot:
    """Answers each POST with `answer(request, plaintext message XML)`."""

    def __init__(self) -> None:
        self.answer: Answer = lambda request, xml: web.Response(text="success")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if "msg_signature" in request.query:
            xml = CRYPTO.decrypt_message(
                body=body,
                msg_signature=request.query["msg_signature"],
                timestamp=request.query["timestamp"],
                nonce=request.query["nonce"],
            )
        else:
            xml = body.decode()
        parse_message(xml)
        result = self.answer(request, xml)
        return await result if isinstance(result, Awaitable) else result


@pytest.fixture
def canned() -> CannedBot:
    return CannedBot()


@pytest.fixture
async def bot(aiohttp_client: object, canned: CannedBot) -> Emulator:
    app = web.Application()
    app.router.add_post("/wechat", canned.handle)
    client = await aiohttp_client(app)  # type: ignore[operator]
    return Emulator(client, "/wechat", ACCOUNT)


@pytest.fixture
async def url(aiohttp_server: Any, canned: CannedBot, monkeypatch: pytest.MonkeyPatch) -> str:
    """The canned bot served on a loopback port, with the emulator's settings (BOTSTORE_WECHAT_*)
    set to its account: for the CLI, which reads them from the environment."""
    for name, value in (
        ("TOKEN", ACCOUNT.token),
        ("APP_ID", ACCOUNT.app_id),
        ("ENCODING_AES_KEY", ACCOUNT.encoding_aes_key),
        ("ACCOUNT_ID", ACCOUNT.account_id),
    ):
        monkeypatch.setenv(f"BOTSTORE_WECHAT_{name}", value)
    app = web.Application()
    app.router.add_post("/wechat", canned.handle)
    server = await aiohttp_server(app)
    return str(server.make_url("/wechat"))


async def run(*argv: str) -> int:
    """`botstore <argv>` in a thread (it runs its own event loop); its exit code."""
    return await asyncio.to_thread(cli.main, list(argv))
