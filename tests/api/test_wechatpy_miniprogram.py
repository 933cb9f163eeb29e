"""A mini-program backend written with wechatpy, unchanged but for its base URL: it logs a fan in
(code_to_session), sends a subscribe message and renders a mini-program code against botstore."""

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from botstore.config import Config
from tests.admin.test_entities import api as admin_api
from tests.api.test_miniprogram import (
    ORDER_DATA,
    ORDER_TEMPLATE,
    allow,
    dark_pixels,
    fan,
    wx_login,
)
from tests.api.test_wechatpy import BotstoreClient

pytest.importorskip("wechatpy")
WeChatClientException = pytest.importorskip("wechatpy.exceptions").WeChatClientException


def mini_program_client(client: TestClient, config: Config) -> Any:
    """wechatpy's client for the mini program: its /cgi-bin/ calls and its wxa calls (which
    wechatpy sends to the API's root) both pointed at botstore."""
    program = config.miniprogram
    sdk = BotstoreClient(str(client.make_url("/cgi-bin/")), program.app_id, program.app_secret)
    sdk.wxa.API_BASE_URL = str(client.make_url("/"))
    return sdk


async def call(method: Any, *args: Any, **kwargs: Any) -> Any:
    # wechatpy is synchronous (requests); the test server runs on this loop.
    return await asyncio.to_thread(method, *args, **kwargs)


async def test_wechatpy_logs_in_sends_a_subscribe_message_and_renders_a_code(
    client: TestClient, config: Config
) -> None:
    sdk = mini_program_client(client, config)
    status, created = await admin_api(
        client, config, "POST", "miniprogram/templates", ORDER_TEMPLATE
    )
    assert status == 201
    template_id = created["template"]["id"]
    await fan(client)
    login = await wx_login(client)

    session = await call(sdk.wxa.code_to_session, login["code"])
    assert (session["openid"], session["unionid"]) == (login["openid"], login["unionid"])
    with pytest.raises(WeChatClientException) as used:
        await call(sdk.wxa.code_to_session, login["code"])
    assert used.value.errcode == 40163

    with pytest.raises(WeChatClientException) as refused:
        await call(sdk.wxa.send_subscribe_message, session["openid"], template_id, ORDER_DATA)
    assert refused.value.errcode == 43101
    await allow(client, template_id)
    sent = await call(
        sdk.wxa.send_subscribe_message,
        session["openid"],
        template_id,
        ORDER_DATA,
        page="pages/product/product?id=1",
    )
    assert sent["errcode"] == 0

    response = await call(sdk.wxa.get_wxa_code_unlimited, "order=42", page="pages/store/store")
    assert response.headers["Content-Type"] == "image/png"
    assert len(dark_pixels(response.content)) >= 280
    with pytest.raises(WeChatClientException) as bad_page:
        await call(sdk.wxa.get_wxa_code_unlimited, "order=42", page="pages/nowhere/nowhere")
    assert bad_page.value.errcode == 41030

    state = await (await client.get("/console/api/miniprogram/state?fan=o_alice")).json()
    assert [line["value"] for line in state["messages"][0]["lines"]] == [
        value["value"] for value in ORDER_DATA.values()
    ]


async def test_wechatpy_hears_the_platforms_login_errors(
    client: TestClient, config: Config
) -> None:
    await fan(client)
    code = (await wx_login(client))["code"]
    wrong_secret = BotstoreClient(
        str(client.make_url("/cgi-bin/")), config.miniprogram.app_id, "not-the-secret"
    )
    wrong_secret.wxa.API_BASE_URL = str(client.make_url("/"))
    with pytest.raises(WeChatClientException) as refused:
        # wechatpy asks for a token first, with the same wrong secret.
        await call(wrong_secret.wxa.code_to_session, code)
    assert refused.value.errcode == 40125
    sdk = mini_program_client(client, config)
    with pytest.raises(WeChatClientException) as unknown:
        await call(sdk.wxa.code_to_session, "never-issued")
    assert unknown.value.errcode == 40029
    assert (await call(sdk.wxa.code_to_session, code))["openid"]
