"""The real wechatpayv3 SDK, unchanged but for its gateway URL, against botstore: create, pay
from the chat, the notification verified and decrypted by the SDK, query, refund (and a refund
the merchant's account can't cover)."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select
from wechatpayv3 import WeChatPay, WeChatPayType

from botstore.clock import wall_now
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import AccountKind, LedgerTransaction, WxPayNotification
from botstore.services import ledger
from botstore.services import wxpay as wxpay_service
from botstore.wechat import pay
from tests.wxpay.conftest import APIV3_KEY, APPID, MCHID, Merchant, admin

Notifications = asyncio.Queue[tuple[dict[str, str], str]]


@pytest.fixture
async def notifications(aiohttp_server: Any) -> tuple[Notifications, str]:
    """The merchant's notify_url: records every notification and answers 204."""
    received: Notifications = asyncio.Queue()

    async def notify(request: web.Request) -> web.Response:
        received.put_nowait((dict(request.headers), await request.text()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/notify", notify)
    server: TestServer = await aiohttp_server(app)
    return received, str(server.make_url("/notify"))


def sdk(
    client: TestClient,
    merchant: Merchant,
    notify_url: str,
    *,
    platform: dict[str, Any] | None = None,
    cert_dir: Path | None = None,
) -> WeChatPay:
    """The SDK as a mini-program backend builds it; only the gateway is botstore's."""
    keys: dict[str, Any] = {}
    if platform is not None:
        keys = {"public_key": platform["public_key"], "public_key_id": platform["public_key_id"]}
    wechatpay = WeChatPay(
        wechatpay_type=WeChatPayType.MINIPROG,
        mchid=MCHID,
        private_key=pay.private_pem(merchant.key),
        cert_serial_no=merchant.serial_no,
        appid=APPID,
        apiv3_key=APIV3_KEY,
        notify_url=notify_url,
        cert_dir=str(cert_dir) if cert_dir else None,
        **keys,
    )
    wechatpay._core._gate_way = str(client.make_url("")).rstrip("/")
    return wechatpay


async def flush_notifications(client: TestClient, config: Config) -> None:
    """Advancing the clock by nothing runs the tries due by now (the poller may beat it)."""
    answer = await client.post(
        "/admin/api/clock/advance", json={"hours": 0}, headers=admin(config)
    )
    assert answer.status == 200


async def test_a_mini_program_backend_runs_its_payment_flow_with_the_sdk_in_public_key_mode(
    client: TestClient,
    config: Config,
    merchant: Merchant,
    platform_key: dict[str, Any],
    wechat: Emulator,
    notifications: tuple[Notifications, str],
) -> None:
    received, notify_url = notifications
    wechatpay = sdk(client, merchant, notify_url, platform=platform_key)

    code, message = await asyncio.to_thread(
        wechatpay.pay,
        description="Lotus tea set",
        out_trade_no="SDK20260101001",
        amount={"total": 1250},
        payer={"openid": "o_alice"},
        attach="table 4",
    )
    assert code == 200, message
    prepay_id = json.loads(message)["prepay_id"]

    await wechat.say("topup 20", fan="o_alice")
    paid = await wechat.say(f"wxpay {prepay_id}", fan="o_alice")
    assert "Paid ¥12.50 with WeChat Pay" in paid.content
    assert "Balance: ¥7.50" in paid.content

    await flush_notifications(client, config)
    headers, body = await asyncio.wait_for(received.get(), 10)
    assert headers["Wechatpay-Serial"] == platform_key["public_key_id"]
    notice = wechatpay.callback(headers, body)  # the SDK's own verify and decrypt
    assert notice is not None, "the SDK refused the notification"
    assert notice["event_type"] == "TRANSACTION.SUCCESS"
    resource = notice["resource"]
    assert resource["trade_state"] == "SUCCESS"
    assert resource["out_trade_no"] == "SDK20260101001"
    assert resource["amount"]["total"] == 1250
    assert resource["payer"]["openid"] == "o_alice"
    assert resource["attach"] == "table 4"

    code, message = await asyncio.to_thread(wechatpay.query, out_trade_no="SDK20260101001")
    assert code == 200
    assert json.loads(message)["trade_state"] == "SUCCESS"
    code, message = await asyncio.to_thread(
        wechatpay.query, transaction_id=resource["transaction_id"]
    )
    assert code == 200
    assert json.loads(message)["out_trade_no"] == "SDK20260101001"

    code, message = await asyncio.to_thread(
        wechatpay.refund,
        out_refund_no="R20260101001",
        amount={"refund": 500, "total": 1250, "currency": "CNY"},
        out_trade_no="SDK20260101001",
        reason="one cup broken",
    )
    assert code == 200, message
    assert json.loads(message)["status"] == "SUCCESS"
    await flush_notifications(client, config)
    headers, body = await asyncio.wait_for(received.get(), 10)
    refund_notice = wechatpay.callback(headers, body)
    assert refund_notice is not None
    assert refund_notice["event_type"] == "REFUND.SUCCESS"
    assert refund_notice["resource"]["refund_status"] == "SUCCESS"
    assert refund_notice["resource"]["amount"]["refund"] == 500

    code, message = await asyncio.to_thread(wechatpay.query_refund, out_refund_no="R20260101001")
    assert code == 200
    assert json.loads(message)["amount"]["refund"] == 500
    balance = await wechat.say("balance", fan="o_alice")
    assert "12.50" in balance.content


async def test_the_sdk_in_certificate_mode_fetches_and_decrypts_the_platform_certificate(
    client: TestClient,
    merchant: Merchant,
    platform_key: dict[str, Any],
    notifications: tuple[Notifications, str],
    tmp_path: Path,
) -> None:
    # The SDK downloads certificates when it is built, from the real gateway: given a
    # certificate directory it starts offline, then fetches /v3/certificates from botstore when
    # an answer names a certificate it doesn't hold.
    stale = pay.new_private_key()
    now = wall_now()
    (tmp_path / "stale.pem").write_text(
        pay.self_signed_certificate(
            stale,
            serial="1ABC",
            not_before=now.replace(year=now.year - 1),
            not_after=now.replace(year=now.year + 1),
        )
    )
    _, notify_url = notifications
    wechatpay = sdk(client, merchant, notify_url, cert_dir=tmp_path)

    code, message = await asyncio.to_thread(
        wechatpay.pay,
        description="Noodles",
        out_trade_no="SDK20260101002",
        amount={"total": 800},
        pay_type=WeChatPayType.NATIVE,
    )

    assert code == 200, message
    assert json.loads(message)["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    serial = platform_key["certificates"][0]["serial_no"]
    saved = (tmp_path / f"{serial}.pem").read_text()
    assert saved == platform_key["certificates"][0]["certificate"]


async def merchant_balance(sessions: Any) -> int:
    async with sessions() as session:
        found = await wxpay_service.merchant_by_mchid(session, MCHID)
        assert found is not None
        return await ledger.balance_of(session, found.account_id)


async def test_a_refund_the_merchants_balance_cant_cover_is_not_enough_and_changes_nothing(
    client: TestClient,
    config: Config,
    clock: Any,
    merchant: Merchant,
    platform_key: dict[str, Any],
    wechat: Emulator,
    sessions: Any,
    notifications: tuple[Notifications, str],
) -> None:
    received, notify_url = notifications
    wechatpay = sdk(client, merchant, notify_url, platform=platform_key)
    code, message = await asyncio.to_thread(
        wechatpay.pay,
        description="Lotus tea set",
        out_trade_no="SDK20260101003",
        amount={"total": 1250},
        payer={"openid": "o_alice"},
    )
    assert code == 200, message
    await wechat.say("topup 20", fan="o_alice")
    await wechat.say(f"wxpay {json.loads(message)['prepay_id']}", fan="o_alice")
    # The merchant's takings settle out to its bank (the world outside botstore): ¥2.50 stay.
    async with sessions() as session, session.begin():
        found = await wxpay_service.merchant_by_mchid(session, MCHID)
        assert found is not None
        outside = await ledger.system_account_id(session, AccountKind.OUTSIDE)
        await ledger.transfer(
            session,
            key="test:settlement",
            kind="settlement",
            legs=[ledger.Leg(found.account_id, -1000), ledger.Leg(outside, 1000)],
            now=clock.now(),
        )
    await flush_notifications(client, config)
    await asyncio.wait_for(received.get(), 10)  # the payment's TRANSACTION.SUCCESS
    refund = {
        "out_refund_no": "R20260101003",
        "amount": {"refund": 500, "total": 1250, "currency": "CNY"},
        "out_trade_no": "SDK20260101003",
        "notify_url": notify_url,
    }

    code, message = await asyncio.to_thread(wechatpay.refund, **refund)

    assert code == 403
    error = json.loads(message)
    assert error["code"] == "NOT_ENOUGH"
    assert error["message"] == "基本账户余额不足，请充值后重新发起"
    # Nothing moved, nothing was kept: no refund to query, the order still SUCCESS, both
    # balances as they were, no REFUND.SUCCESS to send.
    code, message = await asyncio.to_thread(wechatpay.query_refund, out_refund_no="R20260101003")
    assert (code, json.loads(message)["code"]) == (404, "RESOURCE_NOT_EXISTS")
    code, message = await asyncio.to_thread(wechatpay.query, out_trade_no="SDK20260101003")
    assert json.loads(message)["trade_state"] == "SUCCESS"
    assert await merchant_balance(sessions) == 250
    assert "balance: ¥7.50" in (await wechat.say("balance", fan="o_alice")).content
    async with sessions() as session:
        kinds = (await session.exec(select(LedgerTransaction.kind))).all()
        notes = (await session.exec(select(WxPayNotification.event_type))).all()
    assert "wxpay_refund" not in kinds
    assert notes == ["TRANSACTION.SUCCESS"]

    # With the money back in its account, the same out_refund_no goes through: the refused
    # request left nothing behind that it would have to match.
    code, message = await asyncio.to_thread(
        wechatpay.pay,
        description="Noodles",
        out_trade_no="SDK20260101004",
        amount={"total": 700},
        payer={"openid": "o_alice"},
    )
    await wechat.say(f"wxpay {json.loads(message)['prepay_id']}", fan="o_alice")
    code, message = await asyncio.to_thread(wechatpay.refund, **refund)
    assert code == 200, message
    assert json.loads(message)["status"] == "SUCCESS"
    assert await merchant_balance(sessions) == 450
