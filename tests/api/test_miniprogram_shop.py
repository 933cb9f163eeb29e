"""The mini program's shop through the real app: the pages know the fan, checkout makes a WeChat
Pay JSAPI order for the fan's mini-program openid, wx.requestPayment pays it, and the shop's
backend turns the payment into a shop order once (or refunds it), money balanced throughout."""

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import Account, Order, WxPayMerchant, WxPayNotification, WxPayOrder
from botstore.seed import seed_demo
from botstore.seed.wxpay import DEMO_MCHID
from botstore.services import ledger, wxpay
from botstore.wxpay import notify, platform

JASMINE = 2  # Tea House's "Jasmine tea 100g", ¥32.00, 80 in stock
TEA_HOUSE_OWNER = "o_demo_tea_house_owner_0001"


@pytest.fixture
async def demo(client: TestClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock):
    async with sessions() as session, session.begin():
        await seed_demo(session, now=clock.now())


async def post(client: TestClient, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = await client.post(path, json=body)
    text = await response.text()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


async def page(client: TestClient, fan: str, path: str, scene: str = "") -> dict[str, Any]:
    response = await client.get(
        "/console/api/miniprogram/page", params={"fan": fan, "page": path, "scene": scene}
    )
    assert response.status == 200, await response.text()
    return await response.json()


async def buy(client: TestClient, fan: str, product_id: int, qty: int = 1) -> dict[str, Any]:
    """Checkout, then wx.requestPayment with the parameters the backend signed."""
    status, checkout = await post(
        client,
        "/console/api/miniprogram/checkout",
        {"fan": fan, "product_id": product_id, "qty": qty},
    )
    assert status == 200, checkout
    status, paid = await post(
        client, "/console/api/wxpay/request-payment", {"openid": fan, **checkout["payment"]}
    )
    assert (status, paid["errMsg"]) == (200, "requestPayment:ok"), paid
    return checkout


async def books(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int, int]:
    """(sum of every balance, the demo merchant's balance, escrow's balance)."""
    async with sessions() as session:
        total = (await session.exec(select(func.sum(Account.balance_fen)))).one()
        merchant = await wxpay.merchant_by_mchid(session, DEMO_MCHID)
        assert merchant is not None
        escrow = await ledger.system_account(session, "escrow")
        return (
            total,
            await ledger.balance_of(session, merchant.account_id),
            await ledger.balance_of(session, escrow.id or 0),
        )


async def test_a_fan_buys_in_the_mini_program_with_request_payment_and_the_shop_has_the_order(
    client: TestClient,
    demo: None,
    wechat: Emulator,
    sessions: async_sessionmaker[AsyncSession],
    config: Config,
) -> None:
    await wechat.say("topup 100", fan="o_alice")
    before = await page(client, "o_alice", "pages/product/product", f"id={JASMINE}")

    checkout = await buy(client, "o_alice", JASMINE, qty=2)
    status, paid = await post(
        client,
        "/console/api/miniprogram/paid",
        {"fan": "o_alice", "out_trade_no": checkout["out_trade_no"]},
    )
    again_status, again = await post(
        client,
        "/console/api/miniprogram/paid",
        {"fan": "o_alice", "out_trade_no": checkout["out_trade_no"]},
    )
    after = await page(client, "o_alice", "pages/product/product", f"id={JASMINE}")

    assert before["product"]["refused"] is None and before["product"]["bought"] == []
    assert before["viewer"]["balance_fen"] == 10000
    assert checkout["total_fen"] == 6400
    assert checkout["payment"]["package"].startswith("prepay_id=wx")
    assert status == 200 and paid["order"]["total_fen"] == 6400
    assert paid["order"]["status"] == "paid" and paid["balance_fen"] == 3600
    assert again_status == 200 and again["order"] == paid["order"]  # made once
    assert after["product"]["bought"] == [paid["order"]]
    assert after["product"]["stock"] == before["product"]["stock"] - 2
    assert after["viewer"]["balance_fen"] == 3600
    # Wallet -> merchant (WeChat Pay) -> escrow (the order): the merchant passes it on.
    assert await books(sessions) == (0, 0, 6400)
    async with sessions() as session:
        order = await session.get(WxPayOrder, 1)
        assert order is not None and order.appid == config.miniprogram.app_id
        user_openid = after["viewer"]["miniprogram_openid"]
        assert order.payer_openid == user_openid != "o_alice"
    # The shop's order is an order like any: the chat lists it, its owner ships it.
    assert f"#{paid['order']['id']}" in (await wechat.say("orders", fan="o_alice")).content
    shipped = await wechat.say(f"ship {paid['order']['id']}", fan=TEA_HOUSE_OWNER)
    assert "shipped" in shipped.content.lower()


async def test_a_payment_the_shop_can_no_longer_fill_is_refunded_in_full(
    client: TestClient, demo: None, wechat: Emulator, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await wechat.say("topup 50", fan="o_alice")
    checkout = await buy(client, "o_alice", JASMINE)
    # Between the payment and the backend hearing of it, the owner takes it off the shelf.
    await wechat.say(f"delist {JASMINE}", fan=TEA_HOUSE_OWNER)

    body = {"fan": "o_alice", "out_trade_no": checkout["out_trade_no"]}
    status, paid = await post(client, "/console/api/miniprogram/paid", body)
    again_status, again = await post(client, "/console/api/miniprogram/paid", body)

    assert status == 200 and paid["refused"] == "not_on_sale"
    assert paid["refunded_fen"] == 3200 and paid["balance_fen"] == 5000
    assert (again_status, again) == (200, paid)
    assert await books(sessions) == (0, 0, 0)
    async with sessions() as session:
        assert (await session.exec(select(func.count()).select_from(Order))).one() == 0
        order = await session.get(WxPayOrder, 1)
        assert order is not None and order.state == "REFUND"


async def test_checkout_refuses_what_the_fan_cannot_buy_and_says_why_on_the_page(
    client: TestClient, demo: None, wechat: Emulator
) -> None:
    await wechat.say("hi", fan="o_alice")
    own = await post(
        client,
        "/console/api/miniprogram/checkout",
        {"fan": TEA_HOUSE_OWNER, "product_id": JASMINE},
    )
    too_many = await post(
        client,
        "/console/api/miniprogram/checkout",
        {"fan": "o_alice", "product_id": 6, "qty": 99},  # Kiwi: 100 in stock; celadon: 10
    )
    sold_out = await post(
        client, "/console/api/miniprogram/checkout", {"fan": "o_alice", "product_id": 3, "qty": 11}
    )
    missing = await post(
        client, "/console/api/miniprogram/checkout", {"fan": "o_alice", "product_id": 999}
    )
    zero = await post(
        client, "/console/api/miniprogram/checkout", {"fan": "o_alice", "product_id": 1, "qty": 0}
    )
    owner_page = await page(client, TEA_HOUSE_OWNER, "pages/product/product", str(JASMINE))
    store_page = await page(client, TEA_HOUSE_OWNER, "pages/store/store", "store=1")

    assert own == (409, {"refused": "own_product"})
    assert too_many[0] == 200
    assert sold_out == (409, {"refused": "sold_out"})
    assert missing == (409, {"refused": "not_on_sale"})
    assert zero[0] == 400
    assert owner_page["product"]["refused"] == "own_product"
    assert store_page["store"] == {"id": 1, "name": "Tea House", "own": True, "orders": []}


async def test_checkout_without_the_demo_merchant_says_what_is_missing(
    client: TestClient, wechat: Emulator
) -> None:
    await wechat.say("hi", fan="o_alice")
    status, text = await post(
        client, "/console/api/miniprogram/checkout", {"fan": "o_alice", "product_id": 1}
    )
    assert status == 409 and "demo merchant" in text


async def test_another_fan_can_neither_pay_nor_claim_the_payment(
    client: TestClient, demo: None, wechat: Emulator, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await wechat.say("topup 50", fan="o_alice")
    await wechat.say("topup 50", fan="o_bob")
    status, checkout = await post(
        client, "/console/api/miniprogram/checkout", {"fan": "o_alice", "product_id": JASMINE}
    )
    bob_pays = await post(
        client, "/console/api/wxpay/request-payment", {"openid": "o_bob", **checkout["payment"]}
    )
    await buy_with(client, "o_alice", checkout)
    bob_claims = await post(
        client,
        "/console/api/miniprogram/paid",
        {"fan": "o_bob", "out_trade_no": checkout["out_trade_no"]},
    )

    assert status == 200
    assert bob_pays == (400, {"errMsg": "requestPayment:fail the order is other payer"})
    assert bob_claims[0] == 400
    async with sessions() as session:  # refused claims change nothing
        assert (await session.exec(select(func.count()).select_from(Order))).one() == 0


async def buy_with(client: TestClient, fan: str, checkout: dict[str, Any]) -> None:
    status, paid = await post(
        client, "/console/api/wxpay/request-payment", {"openid": fan, **checkout["payment"]}
    )
    assert status == 200, paid


async def test_the_payment_notification_makes_the_order_when_the_mini_program_does_not(
    client: TestClient,
    demo: None,
    wechat: Emulator,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await wechat.say("topup 50", fan="o_alice")
    checkout = await buy(client, "o_alice", JASMINE)
    async with sessions() as session, session.begin():
        notification = (
            await session.exec(select(WxPayNotification).order_by(col(WxPayNotification.id)))
        ).one()
        merchant = await session.get(WxPayMerchant, notification.merchant_id)
        assert merchant is not None
        keys = await platform.load_or_make(session, now=clock.now())
    claim = wxpay.Claim(notification, merchant, 1, clock.now())
    body = notify.notification_body(claim)
    headers = notify.signed_headers(keys, body, public_key_mode=False)
    assert notification.url.endswith("/miniprogram/pay/notify")

    forged = await client.post(
        "/miniprogram/pay/notify",
        data=body.replace("TRANSACTION", "TRANSACTIONS"),
        headers=headers,
    )
    delivered = await client.post("/miniprogram/pay/notify", data=body, headers=headers)
    redelivered = await client.post("/miniprogram/pay/notify", data=body, headers=headers)
    status, paid = await post(
        client,
        "/console/api/miniprogram/paid",
        {"fan": "o_alice", "out_trade_no": checkout["out_trade_no"]},
    )

    assert forged.status == 401
    assert (delivered.status, redelivered.status) == (204, 204)
    assert status == 200 and paid["order"]["total_fen"] == 3200
    async with sessions() as session:
        assert (await session.exec(select(func.count()).select_from(Order))).one() == 1
    assert await books(sessions) == (0, 0, 3200)


async def test_the_mini_program_and_the_notification_racing_make_one_order(
    client: TestClient,
    demo: None,
    wechat: Emulator,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await wechat.say("topup 100", fan="o_alice")
    checkout = await buy(client, "o_alice", JASMINE, qty=3)
    async with sessions() as session, session.begin():
        notification = (await session.exec(select(WxPayNotification))).one()
        merchant = await session.get(WxPayMerchant, notification.merchant_id)
        assert merchant is not None
        keys = await platform.load_or_make(session, now=clock.now())
    body = notify.notification_body(wxpay.Claim(notification, merchant, 1, clock.now()))
    headers = notify.signed_headers(keys, body, public_key_mode=False)
    claim = {"fan": "o_alice", "out_trade_no": checkout["out_trade_no"]}

    answers = await asyncio.gather(
        post(client, "/console/api/miniprogram/paid", claim),
        client.post("/miniprogram/pay/notify", data=body, headers=headers),
        post(client, "/console/api/miniprogram/paid", claim),
    )

    first, delivered, second = answers
    assert first[0] == second[0] == 200 and delivered.status == 204
    assert first[1]["order"] == second[1]["order"]
    async with sessions() as session:
        assert (await session.exec(select(func.count()).select_from(Order))).one() == 1
    assert await books(sessions) == (0, 0, 9600)


async def test_a_payment_at_an_old_price_is_refunded_and_the_chat_pays_a_mini_program_order(
    client: TestClient, demo: None, wechat: Emulator, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await wechat.say("topup 50", fan="o_alice")
    status, checkout = await post(
        client, "/console/api/miniprogram/checkout", {"fan": "o_alice", "product_id": JASMINE}
    )
    body = {"fan": "o_alice", "out_trade_no": checkout["out_trade_no"]}
    unpaid = await post(client, "/console/api/miniprogram/paid", body)
    # The order names the fan's mini-program openid: `wxpay` in the chat pays it all the same.
    prepay_id = checkout["payment"]["package"].removeprefix("prepay_id=")
    paid_in_chat = await wechat.say(f"wxpay {prepay_id}", fan="o_alice")
    await wechat.say(f"price {JASMINE} 40", fan=TEA_HOUSE_OWNER)
    status, paid = await post(client, "/console/api/miniprogram/paid", body)

    assert unpaid[0] == 400 and "not paid" in unpaid[1]
    assert "¥32.00" in paid_in_chat.content
    assert status == 200 and paid["refused"] == "price_changed"
    assert paid["refunded_fen"] == 3200 and paid["balance_fen"] == 5000
    assert await books(sessions) == (0, 0, 0)
