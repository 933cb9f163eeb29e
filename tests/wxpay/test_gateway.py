"""The v3 gateway: merchants, authentication as the platform does it, signed answers, orders,
queries, closing and refunds, with the platform's error shapes."""

from typing import Any

from tests.wxpay.conftest import Merchant, verify_answer


async def test_a_jsapi_order_gets_a_prepay_id_in_a_signed_answer(
    merchant: Merchant, platform_key: dict[str, Any]
) -> None:
    answer = await merchant.call(
        "POST",
        "/v3/pay/transactions/jsapi",
        merchant.prepay("T20260101001", payer={"openid": "o_alice"}),
    )

    assert answer.status == 200, answer.text
    assert answer.data["prepay_id"].startswith("wx")
    assert answer.headers["Wechatpay-Serial"] == platform_key["certificates"][0]["serial_no"]
    assert verify_answer(platform_key, answer)
