"""WeChat Pay in the console: a fan's orders as cards with a "Pay" button, Native orders as QR
codes to scan, and paying from either as `wxpay` does in the chat (the ledger, the merchant's
notification), failures in the chat's own words."""

import io
from datetime import timedelta
from typing import Any

import segno
from aiohttp.test_utils import TestClient
from sqlmodel import select

from botstore.clock import FrozenClock
from botstore.console.client import Emulator
from botstore.models import LedgerTransaction, WxPayNotification
from tests.wxpay.conftest import Merchant
from tests.wxpay.test_chat import merchant_balance, prepay


async def pending(client: TestClient, *openids: str) -> dict[str, Any]:
    query = "&".join(f"openid={openid}" for openid in openids)
    answer = await client.get(f"/console/api/wxpay/pending?{query}")
    assert answer.status == 200, await answer.text()
    return await answer.json()


async def pay(client: TestClient, openid: str, reference: str) -> dict[str, Any]:
    answer = await client.post(
        "/console/api/wxpay/pay", json={"openid": openid, "reference": reference}
    )
    assert answer.status == 200, await answer.text()
    return await answer.json()


async def native(merchant: Merchant, number: str, total: int = 800) -> str:
    answer = await merchant.call(
        "POST", "/v3/pay/transactions/native", merchant.prepay(number, total=total)
    )
    assert answer.status == 200, answer.text
    return answer.data["code_url"]


async def test_a_fans_orders_are_cards_in_its_chat_and_native_orders_codes_to_scan(
    client: TestClient, merchant: Merchant
) -> None:
    for_alice = await prepay(merchant, "K20260101001", payer={"openid": "o_alice"})
    h5 = await merchant.call(
        "POST",
        "/v3/pay/transactions/h5",
        merchant.prepay("K20260101002", total=300, scene_info={"payer_client_ip": "127.0.0.1"}),
    )
    code_url = await native(merchant, "K20260101003")

    shown = await pending(client, "o_alice", "o_bob")

    alice = [card["out_trade_no"] for card in shown["cards"]["o_alice"]]
    bob = [card["out_trade_no"] for card in shown["cards"]["o_bob"]]
    assert alice == ["K20260101001", "K20260101002"]  # oldest first, as a chat reads
    assert bob == ["K20260101002"]  # an H5 order names no payer: any fan may open its link
    card = shown["cards"]["o_alice"][0]
    assert card["prepay_id"] == for_alice
    assert (card["description"], card["amount"], card["mchid"]) == (
        "Lotus tea set",
        "12.50",
        merchant.mchid,
    )
    assert h5.status == 200
    [code] = shown["codes"]
    assert (code["code_url"], code["out_trade_no"], code["amount"]) == (
        code_url,
        "K20260101003",
        "8.00",
    )


async def test_the_qr_code_holds_the_code_url(client: TestClient, merchant: Merchant) -> None:
    code_url = await native(merchant, "K20260101004")
    [code] = (await pending(client, "o_alice"))["codes"]

    answer = await client.get(code["qr"])
    unknown = await client.get("/console/api/wxpay/qr/0123abcd")
    bad = await client.get("/console/api/wxpay/qr/..%2Fconsole")

    assert answer.status == 200
    assert answer.content_type == "image/svg+xml"
    expected = io.BytesIO()
    segno.make_qr(code_url, error="m").save(expected, kind="svg", scale=4, border=2, xmldecl=False)
    assert await answer.read() == expected.getvalue()
    assert (unknown.status, bad.status) == (404, 404)


async def test_pay_on_a_card_pays_as_wxpay_in_the_chat_does(
    client: TestClient, merchant: Merchant, wechat: Emulator, sessions: Any
) -> None:
    prepay_id = await prepay(merchant, "K20260101005", payer={"openid": "o_alice"})
    await wechat.say("topup 20", fan="o_alice")

    paid = await pay(client, "o_alice", prepay_id)
    again = await pay(client, "o_alice", prepay_id)

    assert paid["paid"] is True
    assert paid["text"].startswith("Paid ¥12.50 with WeChat Pay: Lotus tea set")
    assert "Balance: ¥7.50" in paid["text"]
    assert paid["balance_fen"] == 750
    assert (again["paid"], again["reason"]) == (False, "paid")
    assert "is already paid. Nothing was charged." in again["text"]
    assert await merchant_balance(sessions, merchant.mchid) == 1250
    async with sessions() as session:
        kinds = (await session.exec(select(LedgerTransaction.kind))).all()
        notes = (await session.exec(select(WxPayNotification.event_type))).all()
    assert kinds.count("wxpay") == 1
    assert notes == ["TRANSACTION.SUCCESS"]  # the merchant's notify_url is told
    assert (await pending(client, "o_alice"))["cards"]["o_alice"] == []
    query = await merchant.call(
        "GET", f"/v3/pay/transactions/out-trade-no/K20260101005?mchid={merchant.mchid}"
    )
    assert query.data["trade_state"] == "SUCCESS"
    assert query.data["payer"]["openid"] == "o_alice"


async def test_scanning_a_code_pays_as_the_chosen_fan(
    client: TestClient, merchant: Merchant, wechat: Emulator
) -> None:
    code_url = await native(merchant, "K20260101006")
    await wechat.say("topup 20", fan="o_carol")

    paid = await pay(client, "o_carol", code_url)

    assert paid["paid"] is True
    assert "Paid ¥8.00" in paid["text"]
    query = await merchant.call(
        "GET", f"/v3/pay/transactions/out-trade-no/K20260101006?mchid={merchant.mchid}"
    )
    assert query.data["payer"]["openid"] == "o_carol"
    assert (await pending(client, "o_carol"))["codes"] == []


async def test_failures_read_as_the_chat_reads_them_and_charge_nothing(
    client: TestClient, merchant: Merchant, wechat: Emulator, clock: FrozenClock, sessions: Any
) -> None:
    short = await prepay(merchant, "K20260101007", payer={"openid": "o_alice"})
    closed = await prepay(merchant, "K20260101008", payer={"openid": "o_alice"})
    expire = (clock.now() + timedelta(minutes=30)).isoformat()
    expiring = await prepay(
        merchant, "K20260101009", time_expire=expire, payer={"openid": "o_alice"}
    )
    others = await prepay(merchant, "K20260101010", payer={"openid": "o_bob"})
    await wechat.say("topup 5", fan="o_alice")

    not_enough = await pay(client, "o_alice", short)
    await merchant.call(
        "POST", "/v3/pay/transactions/out-trade-no/K20260101008/close", {"mchid": merchant.mchid}
    )
    await wechat.say("topup 20", fan="o_alice")
    was_closed = await pay(client, "o_alice", closed)
    not_hers = await pay(client, "o_alice", others)
    clock.advance(timedelta(minutes=31))
    expired = await pay(client, "o_alice", expiring)

    assert (not_enough["paid"], not_enough["reason"]) == (False, "insufficient_funds")
    assert "Not enough money: this needs ¥12.50 and the balance is ¥5.00" in not_enough["text"]
    assert (was_closed["reason"], not_hers["reason"], expired["reason"]) == (
        "closed",
        "other_payer",
        "expired",
    )
    # Word for word what the chat answers for the same order.
    for refused, prepay_id in ((was_closed, closed), (expired, expiring), (not_hers, others)):
        chat = await wechat.say(f"wxpay {prepay_id}", fan="o_alice")
        assert refused["text"] == chat.content
    assert "balance: ¥25.00" in (await wechat.say("balance", fan="o_alice")).content
    assert await merchant_balance(sessions, merchant.mchid) == 0
    async with sessions() as session:
        assert (await session.exec(select(WxPayNotification))).all() == []
    # The short wallet's order is still there to pay.
    assert [
        card["prepay_id"] for card in (await pending(client, "o_alice"))["cards"]["o_alice"]
    ] == [short]


async def test_a_chinese_speaking_fan_reads_the_answer_in_chinese(
    client: TestClient, merchant: Merchant, wechat: Emulator
) -> None:
    prepay_id = await prepay(merchant, "K20260101011", payer={"openid": "o_alice"})
    await wechat.say("充值 20", fan="o_alice")

    paid = await pay(client, "o_alice", prepay_id)

    assert paid["paid"] is True
    assert "微信支付" in paid["text"]


async def test_bad_input_is_refused(client: TestClient) -> None:
    no_fan = await client.get("/console/api/wxpay/pending")
    bad_fan = await client.get("/console/api/wxpay/pending?openid=a%20b")
    no_reference = await client.post("/console/api/wxpay/pay", json={"openid": "o_alice"})
    unknown = await pay(client, "o_alice", "wx00000000000000nothing")

    assert (no_fan.status, bad_fan.status, no_reference.status) == (400, 400, 400)
    assert (unknown["paid"], unknown["reason"]) == (False, "unknown")
    assert "There is no WeChat Pay order wx00000000000000nothing" in unknown["text"]


async def test_off_loopback_paying_needs_the_admin_token(
    client: TestClient, merchant: Merchant, wechat: Emulator
) -> None:
    # A page elsewhere (a rebinding DNS name) must not spend a fan's wallet.
    prepay_id = await prepay(merchant, "K20260101012", payer={"openid": "o_alice"})
    await wechat.say("topup 20", fan="o_alice")
    rebound = {"Host": "evil.example:8080"}

    paid = await client.post(
        "/console/api/wxpay/pay",
        json={"openid": "o_alice", "reference": prepay_id},
        headers=rebound,
    )
    listed = await client.get("/console/api/wxpay/pending?openid=o_alice", headers=rebound)

    assert (paid.status, listed.status) == (401, 401)
    assert [
        card["prepay_id"] for card in (await pending(client, "o_alice"))["cards"]["o_alice"]
    ] == [prepay_id]
