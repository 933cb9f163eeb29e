"""wx.requestPayment as the console plays it: the parameters the merchant's backend signs with
the wechatpayv3 SDK are checked as WeChat checks them, then the fan pays from the wallet."""

import json
from typing import Any

from aiohttp.test_utils import TestClient
from wechatpayv3 import utils as sdk

from botstore.console.client import Emulator
from botstore.wechat import pay
from tests.wxpay.conftest import APPID, Merchant


async def request_payment_params(merchant: Merchant, number: str) -> dict[str, str]:
    """What a backend hands the mini program: signed as wechatpayv3's sign() does."""
    answer = await merchant.call(
        "POST",
        "/v3/pay/transactions/jsapi",
        merchant.prepay(number, total=600, payer={"openid": "o_dan"}),
    )
    package = f"prepay_id={answer.data['prepay_id']}"
    timestamp, nonce = "1767225600", pay.nonce()
    signed = "\n".join([APPID, timestamp, nonce, package]) + "\n"
    return {
        "timeStamp": timestamp,
        "nonceStr": nonce,
        "package": package,
        "signType": "RSA",
        "paySign": sdk.rsa_sign(merchant.key, signed),
    }


async def pay_with(client: TestClient, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    answer = await client.post("/console/api/wxpay/request-payment", json=body)
    return answer.status, json.loads(await answer.text())


async def test_request_payment_with_the_backends_signature_pays_the_order(
    client: TestClient, merchant: Merchant, wechat: Emulator
) -> None:
    params = await request_payment_params(merchant, "RP20260101001")
    await wechat.say("topup 10", fan="o_dan")

    status, answer = await pay_with(client, {"openid": "o_dan", **params})
    again_status, again = await pay_with(client, {"openid": "o_dan", **params})

    assert (status, answer["errMsg"]) == (200, "requestPayment:ok")
    assert answer["balance_fen"] == 400
    assert again_status == 400
    assert again["errMsg"] == "requestPayment:fail the order is paid"
    query = await merchant.call(
        "GET", f"/v3/pay/transactions/out-trade-no/RP20260101001?mchid={merchant.mchid}"
    )
    assert query.data["transaction_id"] == answer["transaction_id"]


async def test_a_tampered_pay_sign_or_a_short_wallet_pays_nothing(
    client: TestClient, merchant: Merchant, wechat: Emulator
) -> None:
    params = await request_payment_params(merchant, "RP20260101002")
    await wechat.say("topup 1", fan="o_dan")

    forged, forged_answer = await pay_with(
        client, {"openid": "o_dan", **params, "timeStamp": "1767225601"}
    )
    short, short_answer = await pay_with(client, {"openid": "o_dan", **params})
    bad, bad_answer = await pay_with(client, {"openid": "o_dan", **params, "signType": "MD5"})

    assert forged == 400 and "paySign" in forged_answer["errMsg"]
    assert short == 400 and "not enough money" in short_answer["errMsg"]
    assert bad == 400 and "signType" in bad_answer["errMsg"]
    assert "¥1.00" in (await wechat.say("balance", fan="o_dan")).content
