"""WeChat Pay in the console, in Debian's chromium: a mini-program backend (the real wechatpayv3
SDK) makes an order for a fan, the order shows as a card in the fan's chat, "Pay" pays it and
the merchant's notify_url gets the notification the SDK verifies; a short wallet reads as the
chat says it; a Native order's QR code is scanned and paid as the active fan."""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from wechatpayv3 import WeChatPay, WeChatPayType

from botstore.config import Config
from botstore.wechat import pay
from tests.browser.conftest import IN_THE_BROWSERS_LOOP, browser_fixture

try:
    from playwright.async_api import expect
except ImportError:  # the browser fixture skips (under CI: fails), saying what to install
    expect = None

pytestmark = [
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    IN_THE_BROWSERS_LOOP,
]

MCHID = "1230000109"
APPID = "wxd678efh567hg6787"
APIV3_KEY = "a12d3924fd499edac8a5efc0123456ab"
SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"

Notifications = asyncio.Queue[tuple[dict[str, str], str]]


@browser_fixture
async def notifications() -> AsyncIterator[tuple[Notifications, str]]:
    """The merchant's notify_url: records every notification and answers 204."""
    received: Notifications = asyncio.Queue()

    async def notify(request: web.Request) -> web.Response:
        received.put_nowait((dict(request.headers), await request.text()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/notify", notify)
    async with TestServer(app, host="127.0.0.1") as notify_server:
        yield received, str(notify_server.make_url("/notify"))


@browser_fixture
async def admin_api(server: TestServer, config: Config) -> Any:
    """POSTs to botstore's admin API with its token."""

    async def call(path: str, data: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {config.admin.token}"}
        async with (
            aiohttp.ClientSession() as http,
            http.post(server.make_url(path), json=data, headers=headers) as answer,
        ):
            assert answer.status in (200, 201), await answer.text()
            return await answer.json()

    return call


@browser_fixture
async def wechatpay(
    server: TestServer, config: Config, admin_api: Any, notifications: tuple[Notifications, str]
) -> WeChatPay:
    """A merchant registered in botstore and the SDK its backend builds, pointed at botstore."""
    key = pay.new_private_key()
    await admin_api(
        "/admin/api/wxpay/merchants",
        {
            "mchid": MCHID,
            "appid": APPID,
            "apiv3_key": APIV3_KEY,
            "serial_no": SERIAL,
            "public_key": pay.public_pem(key.public_key()),
        },
    )
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            server.make_url("/admin/api/wxpay/platform"),
            headers={"Authorization": f"Bearer {config.admin.token}"},
        ) as answer,
    ):
        platform = await answer.json()
    client = WeChatPay(
        wechatpay_type=WeChatPayType.MINIPROG,
        mchid=MCHID,
        private_key=pay.private_pem(key),
        cert_serial_no=SERIAL,
        appid=APPID,
        apiv3_key=APIV3_KEY,
        notify_url=notifications[1],
        public_key=platform["public_key"],
        public_key_id=platform["public_key_id"],
    )
    client._core._gate_way = str(server.make_url("")).rstrip("/")
    return client


async def order(wechatpay: WeChatPay, out_trade_no: str, total: int, **more: Any) -> str:
    code, message = await asyncio.to_thread(
        wechatpay.pay,
        description=f"Tea {out_trade_no}",
        out_trade_no=out_trade_no,
        amount={"total": total},
        **more,
    )
    assert code == 200, message
    return message


async def add_fan(page: Any, openid: str) -> Any:
    await page.get_by_test_id("new-openid").fill(openid)
    await page.get_by_test_id("add-fan").click()
    phone = page.get_by_test_id(f"phone-{openid}")
    await expect(phone).to_have_attribute("data-live", "true")
    return phone


async def say(phone: Any, text: str) -> Any:
    before = await phone.get_by_test_id("reply").count()
    await phone.get_by_test_id("message").fill(text)
    await phone.get_by_test_id("message").press("Enter")
    await expect(phone.get_by_test_id("reply")).to_have_count(before + 1)
    return phone.get_by_test_id("reply").last


async def test_pay_on_the_card_pays_and_the_merchant_is_notified(
    page: Any,
    wechatpay: WeChatPay,
    admin_api: Any,
    notifications: tuple[Notifications, str],
    artifacts: Path,
) -> None:
    received, _ = notifications
    phone = await add_fan(page, "o_alice")
    await say(phone, "topup 20")
    await order(wechatpay, "B20260101001", 5000, payer={"openid": "o_alice"})
    await order(wechatpay, "B20260101002", 1250, payer={"openid": "o_alice"})

    cards = phone.get_by_test_id("wxpay-card")
    await expect(cards).to_have_count(2)
    too_dear, tea = cards.nth(0), cards.nth(1)
    await expect(tea).to_contain_text("Tea B20260101002")
    await expect(tea).to_contain_text("¥12.50")
    await expect(tea).to_contain_text(f"Merchant {MCHID} · order B20260101002")

    await too_dear.get_by_test_id("wxpay-pay").click()
    refused = phone.get_by_test_id("wxpay-refused")
    await expect(refused).to_contain_text(
        "Not enough money: this needs ¥50.00 and the balance is ¥20.00"
    )
    await expect(too_dear.get_by_test_id("wxpay-pay")).to_be_enabled()  # still payable

    await tea.get_by_test_id("wxpay-pay").click()
    paid = phone.get_by_test_id("wxpay-paid")
    await expect(paid).to_contain_text("Paid ¥12.50 with WeChat Pay: Tea B20260101002")
    await expect(paid).to_contain_text("Balance: ¥7.50")
    await expect(tea.get_by_test_id("wxpay-pay")).to_have_text("Paid")
    await expect(tea.get_by_test_id("wxpay-pay")).to_be_disabled()
    await page.screenshot(path=str(artifacts / "wxpay-card.png"))

    # The merchant hears of it: the notification verifies and decrypts with the SDK.
    await admin_api("/admin/api/clock/advance", {"hours": 0})
    headers, body = await asyncio.wait_for(received.get(), 30)
    notice = wechatpay.callback(headers, body)
    assert notice is not None, "the SDK refused the notification"
    assert notice["event_type"] == "TRANSACTION.SUCCESS"
    assert notice["resource"]["out_trade_no"] == "B20260101002"
    assert notice["resource"]["payer"]["openid"] == "o_alice"
    code, message = await asyncio.to_thread(wechatpay.query, out_trade_no="B20260101001")
    assert json.loads(message)["trade_state"] == "NOTPAY"


async def test_a_native_code_is_scanned_and_paid_as_the_active_fan(
    page: Any, wechatpay: WeChatPay, artifacts: Path
) -> None:
    await add_fan(page, "o_alice")
    bob = await add_fan(page, "o_bob")  # the active fan now
    await say(bob, "topup 20")
    message = await order(wechatpay, "B20260101003", 800, pay_type=WeChatPayType.NATIVE)
    code_url = json.loads(message)["code_url"]

    code = page.get_by_test_id("wxpay-code")
    await expect(code).to_have_attribute("data-code-url", code_url)
    qr = code.get_by_test_id("wxpay-qr")
    await expect(qr).to_be_visible()
    # The image is drawn (the server's SVG loaded), not a broken-image box.
    assert await qr.evaluate("image => image.complete && image.naturalWidth > 0")
    scan = code.get_by_test_id("wxpay-scan")
    await expect(scan).to_have_text("Scan and pay as o_bob")
    await page.screenshot(path=str(artifacts / "wxpay-native.png"))

    await scan.click()

    await expect(bob.get_by_test_id("note-wxpay-scan")).to_contain_text("B20260101003")
    await expect(bob.get_by_test_id("wxpay-paid")).to_contain_text("Paid ¥8.00")
    await expect(page.get_by_test_id("wxpay-codes")).to_be_hidden()  # paid: off the screen
    code, message = await asyncio.to_thread(wechatpay.query, out_trade_no="B20260101003")
    assert json.loads(message)["payer"]["openid"] == "o_bob"


async def test_in_chinese_the_card_and_the_answer_are_chinese(
    page: Any, wechatpay: WeChatPay, artifacts: Path
) -> None:
    await page.goto("/console?lang=zh_CN")
    await page.locator("body[data-ready=true]").wait_for()
    phone = await add_fan(page, "o_li")
    await say(phone, "充值 20")  # the fan speaks Chinese from now on
    await order(wechatpay, "B20260101004", 1250, payer={"openid": "o_li"})

    card = phone.get_by_test_id("wxpay-card")
    await expect(card).to_contain_text("微信支付 · JSAPI")
    await expect(card).to_contain_text(f"商户 {MCHID} · 订单 B20260101004")
    await card.get_by_role("button", name="支付").click()

    await expect(phone.get_by_test_id("wxpay-paid")).to_contain_text("已用微信支付 ¥12.50")
    await expect(card.get_by_test_id("wxpay-pay")).to_have_text("已支付")
    await page.screenshot(path=str(artifacts / "wxpay-card-zh.png"))
