"""Notifications: the real body and signed headers, acknowledged by 200/204, otherwise retried on
WeChat Pay's schedule on the emulated clock, each try recorded and shown by the admin API."""

import asyncio
import json
from datetime import timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.services.wxpay import RETRY_SCHEDULE
from botstore.wechat import pay
from tests.admin.test_entities import signed_in_page
from tests.wxpay.conftest import Merchant, admin


async def merchant_server(aiohttp_server: Any, statuses: list[int]) -> tuple[list[str], str]:
    """A notify_url answering `statuses` in turn (then 200); the bodies it got."""
    bodies: list[str] = []

    async def notify(request: web.Request) -> web.Response:
        bodies.append(await request.text())
        status = statuses[len(bodies) - 1] if len(bodies) <= len(statuses) else 200
        return web.json_response({"code": "FAIL" if status >= 300 else "SUCCESS"}, status=status)

    app = web.Application()
    app.router.add_post("/pay/notify", notify)
    server = await aiohttp_server(app)
    return bodies, str(server.make_url("/pay/notify"))


async def advance(client: TestClient, config: Config, **delta: int) -> None:
    answer = await client.post("/admin/api/clock/advance", json=delta, headers=admin(config))
    assert answer.status == 200, await answer.text()


async def notifications(client: TestClient, config: Config) -> list[dict[str, Any]]:
    answer = await client.get("/admin/api/wxpay/notifications", headers=admin(config))
    assert answer.status == 200
    return (await answer.json())["notifications"]


async def paid_order(merchant: Merchant, wechat: Emulator, notify_url: str, number: str) -> None:
    answer = await merchant.call(
        "POST",
        "/v3/pay/transactions/jsapi",
        merchant.prepay(number, total=300, notify_url=notify_url, payer={"openid": "o_bob"}),
    )
    assert answer.status == 200, answer.text
    await wechat.say("topup 10", fan="o_bob")
    paid = await wechat.say(f"wxpay {answer.data['prepay_id']}", fan="o_bob")
    assert "Paid ¥3.00" in paid.content


async def test_a_notify_url_failing_twice_gets_three_tries_at_the_scheduled_times(
    client: TestClient,
    config: Config,
    clock: FrozenClock,
    merchant: Merchant,
    wechat: Emulator,
    aiohttp_server: Any,
) -> None:
    bodies, url = await merchant_server(aiohttp_server, [500, 503])
    paid_at = clock.now()
    await paid_order(merchant, wechat, url, "N20260101001")

    await advance(client, config, hours=0)  # the first try, at once
    await advance(client, config, hours=1)  # the retries fall due 15 s and 30 s later
    await advance(client, config, days=2)  # acknowledged: nothing more

    [notice] = await notifications(client, config)
    tries = notice["attempts"]
    assert [t["tried_at"] for t in tries] == [
        paid_at.isoformat(),
        (paid_at + timedelta(seconds=15)).isoformat(),
        (paid_at + timedelta(seconds=30)).isoformat(),
    ]
    assert [t["status"] for t in tries] == [500, 503, 200]
    assert [t["acknowledged"] for t in tries] == [False, False, True]
    assert notice["state"] == "delivered"
    assert len(bodies) == 3
    assert bodies[0] == bodies[1] == bodies[2] == notice["body"]


async def test_a_notify_url_that_never_acknowledges_is_tried_on_the_whole_schedule(
    client: TestClient,
    config: Config,
    clock: FrozenClock,
    merchant: Merchant,
    wechat: Emulator,
    aiohttp_server: Any,
) -> None:
    bodies, url = await merchant_server(aiohttp_server, [500] * 40)
    paid_at = clock.now()
    await paid_order(merchant, wechat, url, "N20260101002")

    await advance(client, config, hours=0)
    await advance(client, config, days=2)

    [notice] = await notifications(client, config)
    expected, due = [paid_at], paid_at
    for gap in RETRY_SCHEDULE:
        due += gap
        expected.append(due)
    assert [t["scheduled_at"] for t in notice["attempts"]] == [m.isoformat() for m in expected]
    assert [t["tried_at"] for t in notice["attempts"]] == [m.isoformat() for m in expected]
    assert len(bodies) == 16
    assert notice["state"] == "failed"
    assert notice["next_attempt_at"] is None


async def test_an_unreachable_notify_url_is_recorded_and_retried(
    client: TestClient, config: Config, merchant: Merchant, wechat: Emulator, unused_tcp_port: int
) -> None:
    await paid_order(
        merchant, wechat, f"http://127.0.0.1:{unused_tcp_port}/notify", "N20260101003"
    )

    await advance(client, config, hours=0)

    [notice] = await notifications(client, config)
    [first] = notice["attempts"]
    assert first["status"] is None
    assert first["outcome"].startswith("could not connect")
    assert notice["state"] == "pending"
    assert notice["next_attempt_at"] is not None


async def test_the_notification_body_is_the_platforms_with_the_resource_encrypted(
    client: TestClient,
    config: Config,
    merchant: Merchant,
    wechat: Emulator,
    platform_key: dict[str, Any],
    aiohttp_server: Any,
) -> None:
    bodies, url = await merchant_server(aiohttp_server, [])
    await paid_order(merchant, wechat, url, "N20260101004")
    await advance(client, config, hours=0)
    await asyncio.sleep(0)

    [body] = bodies
    notice = json.loads(body)
    assert notice["event_type"] == "TRANSACTION.SUCCESS"
    assert notice["resource_type"] == "encrypt-resource"
    assert notice["summary"] == "支付成功"
    resource = notice["resource"]
    assert resource["algorithm"] == "AEAD_AES_256_GCM"
    assert resource["original_type"] == "transaction"
    assert len(resource["nonce"]) == 12
    plain = json.loads(pay.decrypt_resource(merchant.apiv3_key, resource))
    assert plain["mchid"] == merchant.mchid
    assert plain["trade_state"] == "SUCCESS"
    assert plain["payer"] == {"openid": "o_bob"}


async def test_the_admin_page_shows_merchants_orders_and_every_try(
    client: TestClient,
    config: Config,
    merchant: Merchant,
    wechat: Emulator,
    aiohttp_server: Any,
) -> None:
    _, url = await merchant_server(aiohttp_server, [502])
    await paid_order(merchant, wechat, url, "N20260101005")
    await advance(client, config, hours=0)

    html = await signed_in_page(client, config, "/admin/wxpay")

    assert merchant.mchid in html
    assert "N20260101005" in html
    assert "¥3.00" in html
    assert "#1 at" in html and "HTTP 502" in html
