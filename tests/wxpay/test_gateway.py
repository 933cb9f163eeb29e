"""The v3 gateway: merchants, authentication as the platform does it, signed answers, orders,
queries, closing and refunds, with the platform's error shapes."""

from typing import Any

from aiohttp.test_utils import TestClient
from sqlmodel import select

from botstore.app import create_app
from botstore.clock import FrozenClock, wall_now
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.keys import db_key
from botstore.models import LedgerTransaction, WxPayOrder
from botstore.seed.wxpay import (
    DEMO_APIV3_KEY,
    DEMO_APPID,
    DEMO_MCHID,
    DEMO_PRIVATE_KEY,
    DEMO_SERIAL_NO,
    seed_wxpay,
)
from botstore.services import wxpay
from botstore.wechat import pay
from tests.wxpay.conftest import APPID, Merchant, admin, verify_answer


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


async def order_count(sessions) -> int:
    async with sessions() as session:
        return len((await session.exec(select(WxPayOrder))).all())


async def test_a_wrong_signature_gets_sign_error_401_and_stores_nothing(
    merchant: Merchant, platform_key: dict[str, Any], sessions
) -> None:
    body = merchant.prepay("T20260101002", payer={"openid": "o_alice"})
    signed_for_other = merchant.authorization("POST", "/v3/pay/transactions/jsapi", "{}")

    answer = await merchant.call(
        "POST", "/v3/pay/transactions/jsapi", body, authorization=signed_for_other
    )

    assert answer.status == 401
    assert answer.data["code"] == "SIGN_ERROR"
    assert answer.data["detail"]["detail"]["issue"] == "sign not match"
    assert verify_answer(platform_key, answer)  # refusals are signed too
    assert await order_count(sessions) == 0


async def test_a_stale_timestamp_gets_sign_error(merchant: Merchant) -> None:
    stale = str(int(wall_now().timestamp()) - 301)
    url = f"/v3/pay/transactions/out-trade-no/T1?mchid={merchant.mchid}"

    answer = await merchant.call(
        "GET", url, authorization=merchant.authorization("GET", url, "", timestamp=stale)
    )

    assert answer.status == 401
    assert answer.data["code"] == "SIGN_ERROR"
    assert "5分钟" in answer.data["message"]


async def test_an_unknown_serial_gets_sign_error(merchant: Merchant) -> None:
    url = f"/v3/pay/transactions/out-trade-no/T1?mchid={merchant.mchid}"
    other = Merchant(merchant.client, merchant.key, serial_no="6ABCDEF")

    answer = await merchant.call("GET", url, authorization=other.authorization("GET", url, ""))

    assert answer.status == 401
    assert answer.data["code"] == "SIGN_ERROR"
    assert "序列号" in answer.data["message"]


async def test_a_malformed_or_missing_authorization_gets_sign_error(merchant: Merchant) -> None:
    url = f"/v3/pay/transactions/out-trade-no/T1?mchid={merchant.mchid}"
    for header in ("", "Bearer abc", 'WECHATPAY2-SHA256-RSA2048 mchid="1230000109"'):
        answer = await merchant.call("GET", url, authorization=header or " ")
        assert answer.status == 401, header
        assert answer.data["code"] == "SIGN_ERROR"


async def test_an_unknown_mchid_gets_mch_not_exists(merchant: Merchant) -> None:
    stranger = Merchant(merchant.client, merchant.key, mchid="1999999999")
    url = "/v3/pay/transactions/out-trade-no/T1?mchid=1999999999"

    answer = await stranger.call("GET", url)

    assert answer.status == 400
    assert answer.data["code"] == "MCH_NOT_EXISTS"


async def test_the_same_order_twice_gets_the_same_prepay_id_and_another_amount_is_refused(
    merchant: Merchant, sessions
) -> None:
    body = merchant.prepay("T20260101003", payer={"openid": "o_alice"})
    first = await merchant.call("POST", "/v3/pay/transactions/jsapi", body)
    again = await merchant.call("POST", "/v3/pay/transactions/jsapi", body)
    other = await merchant.call(
        "POST",
        "/v3/pay/transactions/jsapi",
        {**body, "amount": {"total": 999, "currency": "CNY"}},
    )

    assert again.status == 200
    assert again.data == first.data
    assert other.status == 400
    assert other.data["code"] == "INVALID_REQUEST"
    assert await order_count(sessions) == 1


async def test_bad_bodies_get_param_error_naming_the_field(merchant: Merchant) -> None:
    base = merchant.prepay("T20260101004", payer={"openid": "o_alice"})
    cases = {
        "amount.total": {**base, "amount": {"total": 0}},
        "out_trade_no": {**base, "out_trade_no": "T1"},
        "notify_url": {**base, "notify_url": "ftp://x"},
        "time_expire": {**base, "time_expire": "tomorrow"},
        "payer": {k: v for k, v in base.items() if k != "payer"},
        "description": {k: v for k, v in base.items() if k != "description"},
    }
    for field, body in cases.items():
        answer = await merchant.call("POST", "/v3/pay/transactions/jsapi", body)
        assert answer.status == 400, field
        assert answer.data["code"] == "PARAM_ERROR", field
        assert answer.data["detail"]["field"] == field, answer.data
    h5 = await merchant.call("POST", "/v3/pay/transactions/h5", base)
    assert h5.data["detail"]["field"] == "scene_info"


async def test_another_merchants_mchid_or_appid_in_the_body_is_refused(merchant: Merchant) -> None:
    base = merchant.prepay("T20260101005", payer={"openid": "o_alice"})

    mchid = await merchant.call("POST", "/v3/pay/transactions/jsapi", {**base, "mchid": "42"})
    appid = await merchant.call("POST", "/v3/pay/transactions/jsapi", {**base, "appid": "wxother"})

    assert (mchid.status, mchid.data["code"]) == (400, "PARAM_ERROR")
    assert (appid.status, appid.data["code"]) == (400, "APPID_MCHID_NOT_MATCH")


async def test_native_and_h5_orders_and_the_queries_of_an_unpaid_order(merchant: Merchant) -> None:
    native = await merchant.call(
        "POST", "/v3/pay/transactions/native", merchant.prepay("T20260101006")
    )
    h5 = await merchant.call(
        "POST",
        "/v3/pay/transactions/h5",
        merchant.prepay(
            "T20260101007", scene_info={"payer_client_ip": "127.0.0.1", "h5_info": {"type": "Wap"}}
        ),
    )
    query = await merchant.call(
        "GET", f"/v3/pay/transactions/out-trade-no/T20260101006?mchid={merchant.mchid}"
    )
    missing = await merchant.call(
        "GET", f"/v3/pay/transactions/out-trade-no/NOPE0000?mchid={merchant.mchid}"
    )
    by_id = await merchant.call("GET", f"/v3/pay/transactions/id/4200?mchid={merchant.mchid}")
    no_mchid = await merchant.call("GET", "/v3/pay/transactions/out-trade-no/T20260101006")

    assert native.data["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    assert "prepay_id=wx" in h5.data["h5_url"]
    assert query.data["trade_state"] == "NOTPAY"
    assert query.data["amount"]["total"] == 1250
    assert "transaction_id" not in query.data
    assert (missing.status, missing.data["code"]) == (404, "ORDER_NOT_EXIST")
    assert (by_id.status, by_id.data["code"]) == (404, "ORDER_NOT_EXIST")
    assert (no_mchid.status, no_mchid.data["code"]) == (400, "PARAM_ERROR")


async def test_closing_twice_is_fine_and_a_closed_number_cant_be_reused(
    merchant: Merchant,
) -> None:
    body = merchant.prepay("T20260101008")
    await merchant.call("POST", "/v3/pay/transactions/native", body)
    url = "/v3/pay/transactions/out-trade-no/T20260101008/close"

    first = await merchant.call("POST", url, {"mchid": merchant.mchid})
    second = await merchant.call("POST", url, {"mchid": merchant.mchid})
    reuse = await merchant.call("POST", "/v3/pay/transactions/native", body)

    assert (first.status, first.text, second.status) == (204, "", 204)
    assert (reuse.status, reuse.data["code"]) == (400, "ORDER_CLOSED")


async def test_refunds_move_money_back_once_per_out_refund_no(
    merchant: Merchant, wechat: Emulator, sessions
) -> None:
    order = await merchant.call(
        "POST",
        "/v3/pay/transactions/jsapi",
        merchant.prepay("T20260101009", total=1000, payer={"openid": "o_alice"}),
    )
    unpaid = await merchant.call(
        "POST",
        "/v3/refund/domestic/refunds",
        {
            "out_trade_no": "T20260101009",
            "out_refund_no": "R1",
            "amount": {"refund": 100, "total": 1000, "currency": "CNY"},
        },
    )
    await wechat.say("topup 10", fan="o_alice")
    await wechat.say(f"wxpay {order.data['prepay_id']}", fan="o_alice")
    refund = {
        "out_trade_no": "T20260101009",
        "out_refund_no": "R1",
        "amount": {"refund": 400, "total": 1000, "currency": "CNY"},
    }

    first = await merchant.call("POST", "/v3/refund/domestic/refunds", refund)
    again = await merchant.call("POST", "/v3/refund/domestic/refunds", refund)
    changed = await merchant.call(
        "POST", "/v3/refund/domestic/refunds", {**refund, "amount": {"refund": 500, "total": 1000}}
    )
    too_much = await merchant.call(
        "POST",
        "/v3/refund/domestic/refunds",
        {**refund, "out_refund_no": "R2", "amount": {"refund": 601, "total": 1000}},
    )
    query = await merchant.call("GET", "/v3/refund/domestic/refunds/R1")
    missing = await merchant.call("GET", "/v3/refund/domestic/refunds/R404")
    order_now = await merchant.call(
        "GET", f"/v3/pay/transactions/out-trade-no/T20260101009?mchid={merchant.mchid}"
    )

    assert (unpaid.status, unpaid.data["code"]) == (400, "INVALID_REQUEST")
    assert first.status == 200, first.text
    assert first.data["status"] == "SUCCESS"
    assert again.data == first.data
    assert (changed.status, changed.data["code"]) == (400, "INVALID_REQUEST")
    assert (too_much.status, too_much.data["code"]) == (400, "INVALID_REQUEST")
    assert query.data["refund_id"] == first.data["refund_id"]
    assert (missing.status, missing.data["code"]) == (404, "RESOURCE_NOT_EXISTS")
    assert order_now.data["trade_state"] == "REFUND"
    assert "balance: ¥4.00" in (await wechat.say("balance", fan="o_alice")).content
    async with sessions() as session:
        kinds = (await session.exec(select(LedgerTransaction.kind))).all()
    assert kinds.count("wxpay_refund") == 1


async def test_naming_the_public_key_id_makes_answers_and_notifications_name_it(
    merchant: Merchant, platform_key: dict[str, Any]
) -> None:
    url = f"/v3/pay/transactions/out-trade-no/T1?mchid={merchant.mchid}"

    answer = await merchant.call(
        "GET", url, headers={"Wechatpay-Serial": platform_key["public_key_id"]}
    )

    assert answer.headers["Wechatpay-Serial"] == platform_key["public_key_id"]
    assert platform_key["public_key_id"].startswith("PUB_KEY_ID_")
    assert verify_answer(platform_key, answer)


async def test_certificates_come_encrypted_with_the_apiv3_key(
    merchant: Merchant, platform_key: dict[str, Any]
) -> None:
    answer = await merchant.call("GET", "/v3/certificates")

    [entry] = answer.data["data"]
    certificate = pay.decrypt_resource(merchant.apiv3_key, entry["encrypt_certificate"])
    assert certificate == platform_key["certificates"][0]["certificate"]
    assert entry["serial_no"] == platform_key["certificates"][0]["serial_no"]
    assert entry["encrypt_certificate"]["associated_data"] == "certificate"


# --- registering merchants ---


async def test_registering_refuses_bad_fields_and_a_taken_mchid(
    client: TestClient, config: Config, merchant: Merchant
) -> None:
    good = {
        "mchid": "1230000110",
        "appid": "wx1",
        "apiv3_key": "k" * 32,
        "serial_no": "ABC",
        "public_key": pay.public_pem(merchant.key.public_key()),
    }
    cases = {
        "apiv3_key": {**good, "apiv3_key": "short"},
        "public_key": {**good, "public_key": "-----BEGIN PUBLIC KEY-----\nnope"},
        "mchid": {**good, "mchid": merchant.mchid},
        "serial_no": {k: v for k, v in good.items() if k != "serial_no"},
        "extra": {**good, "extra": 1},
    }
    for field, body in cases.items():
        answer = await client.post("/admin/api/wxpay/merchants", json=body, headers=admin(config))
        assert answer.status == 400, field
        assert (await answer.json())["field"] == field
    nobody = await client.post("/admin/api/wxpay/merchants", json=good)
    assert nobody.status == 401


async def test_a_merchant_registered_without_a_key_gets_a_working_pair(
    client: TestClient, config: Config
) -> None:
    answer = await client.post(
        "/admin/api/wxpay/merchants",
        json={"mchid": "1230000111", "appid": APPID, "apiv3_key": "z" * 32},
        headers=admin(config),
    )
    made = (await answer.json())["merchant"]
    generated = Merchant(
        client,
        pay.load_private_key(made["private_key"]),
        mchid="1230000111",
        serial_no=made["serial_no"],
    )

    query = await generated.call("GET", "/v3/pay/transactions/out-trade-no/T1?mchid=1230000111")

    assert answer.status == 201
    assert query.status == 404  # authenticated: the order just doesn't exist


async def test_the_demo_merchant_works_on_loopback_only(
    aiohttp_client: Any, config: Config, clock: FrozenClock
) -> None:
    async def demo_query(app_config: Config) -> Any:
        client = await aiohttp_client(create_app(app_config, clock=clock))
        async with client.app[db_key]() as session, session.begin():
            if await wxpay.merchant_by_mchid(session, DEMO_MCHID) is None:
                await seed_wxpay(session, now=clock.now())
        demo = Merchant(
            client,
            pay.load_private_key(DEMO_PRIVATE_KEY),
            mchid=DEMO_MCHID,
            serial_no=DEMO_SERIAL_NO,
            appid=DEMO_APPID,
            apiv3_key=DEMO_APIV3_KEY,
        )
        return await demo.call("GET", f"/v3/pay/transactions/out-trade-no/T1?mchid={DEMO_MCHID}")

    exposed = config.replace(
        server={"host": "0.0.0.0"},
        wechat={"app_secret": "s" * 32},
        miniprogram={"app_secret": "m" * 32},
        admin={"token": "t" * 43},
    )

    assert (await demo_query(config)).status == 404
    refused = await demo_query(exposed)
    assert (refused.status, refused.data["code"]) == (401, "SIGN_ERROR")
    assert "docs/wechat-pay.md" in refused.data["detail"]["detail"]["issue"]


async def test_an_h5_url_opens_a_page_saying_how_to_pay(
    client: TestClient, merchant: Merchant
) -> None:
    h5 = await merchant.call(
        "POST",
        "/v3/pay/transactions/h5",
        merchant.prepay("T20260101010", scene_info={"payer_client_ip": "127.0.0.1"}),
    )
    path = h5.data["h5_url"].removeprefix("http://127.0.0.1:8080")  # server.public_url

    page = await client.get(path)
    unknown = await client.get("/wxpay/checkmweb?prepay_id=wx000")

    assert page.status == 200
    text = await page.text()
    assert "¥12.50" in text
    assert "wxpay wx" in text
    assert unknown.status == 404
    # In the browser's language, with the command word a Chinese fan types; the switch keeps
    # the order.
    chinese = await (await client.get(path, headers={"Accept-Language": "zh-CN"})).text()
    assert "微信支付" in chinese and "<code>微信支付 wx" in chinese and "可付款至" in chinese
    assert '<a href="?prepay_id=wx' in chinese and '&amp;lang=en"' in chinese
