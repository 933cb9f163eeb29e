"""Paying a WeChat Pay order from the chat (`wxpay`, 微信支付): through the ledger, once per
message, refused clearly when the wallet is short, the order closed, expired, paid or another's."""

from datetime import timedelta

from sqlmodel import select

from botstore.clock import FrozenClock
from botstore.console.client import Emulator
from botstore.models import LedgerTransaction, WxPayMerchant
from botstore.services import ledger
from tests.wxpay.conftest import Merchant


async def prepay(merchant: Merchant, number: str, total: int = 1250, **more: object) -> str:
    answer = await merchant.call(
        "POST", "/v3/pay/transactions/jsapi", merchant.prepay(number, total=total, **more)
    )
    assert answer.status == 200, answer.text
    return answer.data["prepay_id"]


async def merchant_balance(sessions, mchid: str) -> int:
    async with sessions() as session:
        row = (await session.exec(select(WxPayMerchant).where(WxPayMerchant.mchid == mchid))).one()
        return await ledger.balance_of(session, row.account_id)


async def test_a_fan_pays_once_even_when_wechat_retries_the_message(
    merchant: Merchant, wechat: Emulator, sessions
) -> None:
    prepay_id = await prepay(merchant, "C20260101001", payer={"openid": "o_alice"})
    await wechat.say("topup 20", fan="o_alice")

    first = await wechat.say(f"wxpay {prepay_id}", fan="o_alice", msg_id=9001)
    retry = await wechat.say(f"wxpay {prepay_id}", fan="o_alice", msg_id=9001)
    again = await wechat.say(f"微信支付 {prepay_id}", fan="o_alice")

    assert "Paid ¥12.50 with WeChat Pay: Lotus tea set" in first.content
    assert retry.raw == first.raw
    assert "已经付过了" in again.content  # 微信支付: answered in Chinese
    assert "balance: ¥7.50" in (await wechat.say("balance", fan="o_alice")).content
    assert await merchant_balance(sessions, merchant.mchid) == 1250
    async with sessions() as session:
        kinds = (await session.exec(select(LedgerTransaction.kind))).all()
    assert kinds.count("wxpay") == 1


async def test_a_short_wallet_pays_nothing_and_the_order_stays_payable(
    merchant: Merchant, wechat: Emulator, sessions
) -> None:
    prepay_id = await prepay(merchant, "C20260101002", payer={"openid": "o_alice"})
    await wechat.say("topup 5", fan="o_alice")

    short = await wechat.say(f"wxpay {prepay_id}", fan="o_alice")
    await wechat.say("topup 10", fan="o_alice")
    paid = await wechat.say(f"wxpay {prepay_id}", fan="o_alice")

    assert "Not enough money: this needs ¥12.50 and the balance is ¥5.00" in short.content
    assert "Balance: ¥2.50" in paid.content
    query = await merchant.call(
        "GET", f"/v3/pay/transactions/out-trade-no/C20260101002?mchid={merchant.mchid}"
    )
    assert query.data["trade_state"] == "SUCCESS"


async def test_a_closed_order_is_refused(merchant: Merchant, wechat: Emulator) -> None:
    prepay_id = await prepay(merchant, "C20260101003", payer={"openid": "o_alice"})
    closed = await merchant.call(
        "POST",
        "/v3/pay/transactions/out-trade-no/C20260101003/close",
        {"mchid": merchant.mchid},
    )
    await wechat.say("topup 20", fan="o_alice")

    reply = await wechat.say(f"wxpay {prepay_id}", fan="o_alice")

    assert closed.status == 204
    assert "was closed by the merchant" in reply.content
    assert "balance: ¥20.00" in (await wechat.say("balance", fan="o_alice")).content


async def test_an_order_past_its_time_expire_is_refused(
    merchant: Merchant, wechat: Emulator, clock: FrozenClock
) -> None:
    expire = (clock.now() + timedelta(minutes=30)).isoformat()
    prepay_id = await prepay(
        merchant, "C20260101004", time_expire=expire, payer={"openid": "o_alice"}
    )
    await wechat.say("topup 20", fan="o_alice")
    clock.advance(timedelta(minutes=31))

    reply = await wechat.say(f"wxpay {prepay_id}", fan="o_alice")

    assert "expired at" in reply.content
    assert "Nothing was charged" in reply.content


async def test_a_jsapi_order_for_another_payer_is_refused(
    merchant: Merchant, wechat: Emulator
) -> None:
    prepay_id = await prepay(merchant, "C20260101005", payer={"openid": "o_alice"})
    await wechat.say("topup 20", fan="o_mallory")

    reply = await wechat.say(f"wxpay {prepay_id}", fan="o_mallory")

    assert "made for another WeChat user" in reply.content


async def test_a_native_order_is_paid_by_its_code_url_and_an_unknown_one_is_named(
    merchant: Merchant, wechat: Emulator
) -> None:
    answer = await merchant.call(
        "POST", "/v3/pay/transactions/native", merchant.prepay("C20260101006", total=800)
    )
    await wechat.say("topup 20", fan="o_carol")

    paid = await wechat.say(f"wxpay {answer.data['code_url']}", fan="o_carol")
    unknown = await wechat.say("wxpay wx00000000000000nothing", fan="o_carol")
    usage = await wechat.say("wxpay", fan="o_carol")

    assert "Paid ¥8.00" in paid.content
    assert "There is no WeChat Pay order wx00000000000000nothing" in unknown.content
    assert "wxpay <prepay id>" in usage.content
