"""A real SDK pointed at botstore works unchanged: wechatpy's WeChatClient drives the emulated
token, menu, user, customer-service and template APIs (wechat-protocol.md 7)."""

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.services import messages
from tests.api.test_menu import EXAMPLE

wechatpy = pytest.importorskip("wechatpy")
WeChatClientException = pytest.importorskip("wechatpy.exceptions").WeChatClientException


class BotstoreClient(wechatpy.WeChatClient):
    """wechatpy's client with its base URL, token URL included, moved to botstore."""

    def __init__(self, base_url: str, appid: str, secret: str) -> None:
        super().__init__(appid, secret, timeout=10)
        self.API_BASE_URL = base_url

    def fetch_access_token(self) -> Any:
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        return self._fetch_access_token(url=self.API_BASE_URL + "token", params=params)


async def test_wechatpy_drives_the_emulated_apis(
    client: TestClient, config: Config, wechat: Emulator, clock: FrozenClock, sessions
) -> None:
    sdk = BotstoreClient(
        str(client.make_url("/cgi-bin/")), config.wechat.app_id, config.wechat.app_secret
    )

    async def call(method: Any, *args: Any) -> Any:
        # wechatpy is synchronous (requests); the test server runs on this loop.
        return await asyncio.to_thread(method, *args)

    await wechat.event("subscribe", fan="o_fan")

    assert (await call(sdk.menu.create, {"button": EXAMPLE}))["errcode"] == 0
    menu = await call(sdk.menu.get)
    assert menu["menu"]["button"][0] == {**EXAMPLE[0], "sub_button": []}
    info = await call(sdk.menu.get_menu_info)
    assert info["selfmenu_info"]["button"][1]["sub_button"]["list"] == EXAMPLE[1]["sub_button"]

    user = await call(sdk.user.get, "o_fan")
    assert (user["subscribe"], user["openid"]) == (1, "o_fan")
    assert list(await call(lambda: list(sdk.user.iter_followers()))) == ["o_fan"]
    assert await call(sdk.user.get_batch, ["o_fan"]) == [user]

    await call(sdk.message.send_text, "o_fan", "你好")
    article = {"title": "T", "description": "D", "url": "https://e.com/", "image": "P"}
    await call(sdk.message.send_articles, "o_fan", [article])
    page = {"title": "T", "appid": "wx1", "pagepath": "pages/index", "thumb_media_id": "M"}
    await call(sdk.message.send_mini_program_page, "o_fan", page)
    data = {"keyword1": {"value": "巧克力"}}
    sent = await call(sdk.message.send_template, "o_fan", "TEMPLATE_ID", data)
    assert sent["errcode"] == 0 and sent["msgid"] > 0

    with pytest.raises(WeChatClientException) as refused:
        await call(sdk.message.send_text, "o_fan", "fourth in the minute after a follow")
    assert refused.value.errcode == 45047

    # An expired token: wechatpy hears 42001, fetches a new one and retries on its own.
    clock.advance(timedelta(hours=3))
    assert (await call(sdk.user.get, "o_fan"))["openid"] == "o_fan"

    assert (await call(sdk.menu.delete))["errcode"] == 0
    assert await call(sdk.menu.get) is None  # wechatpy maps 46003 to None

    async with sessions() as session:
        outbox = await messages.outbox(session, "o_fan")
    assert [(m.reason, m.payload.get("msgtype")) for m in outbox] == [
        ("custom_send", "text"),
        ("custom_send", "news"),
        ("custom_send", "miniprogrampage"),
        ("template", None),
    ]
    assert outbox[1].payload["news"] == {
        "articles": [{"title": "T", "description": "D", "url": "https://e.com/", "picurl": "P"}]
    }
