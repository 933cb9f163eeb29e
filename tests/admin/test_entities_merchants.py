"""Admin merchants: create with a QR scene, rename, refusals naming the field, and a merchant made
in the admin paid through a scan of its scene and by code, through the signed webhook."""

import pytest
from aiohttp.test_utils import TestClient

from botstore.config import Config
from botstore.console.client import Emulator
from tests.admin.test_entities import api, refused, signed_in_page


async def new_merchant(client: TestClient, config: Config, **body: str) -> dict:
    status, data = await api(
        client, config, "POST", "merchants", {"code": "dumpling1", "name": "Dumpling Hut", **body}
    )
    assert status == 201, data
    return data["merchant"]


async def test_a_new_merchant_gets_a_qr_code_and_is_paid_by_scan_and_by_code(
    client: TestClient, config: Config, wechat: Emulator
) -> None:
    merchant = await new_merchant(client, config)
    assert (merchant["code"], merchant["scene"], merchant["balance_fen"]) == (
        "DUMPLING1",
        "merchant_DUMPLING1",
        0,
    )
    ticket = merchant["qr"]["ticket"]
    assert merchant["qr"]["url"] == f"http://weixin.qq.com/q/{ticket}"
    assert merchant["qr"]["showqrcode"].endswith(f"/cgi-bin/showqrcode?ticket={ticket}")
    shown = await client.get("/cgi-bin/showqrcode", params={"ticket": ticket})
    assert shown.status == 200
    assert "merchant_DUMPLING1" in await shown.text()

    await wechat.say("topup 100", fan="o_diner")
    asked = await wechat.event(
        "SCAN", fan="o_diner", event_key="merchant_DUMPLING1", extra={"Ticket": ticket}
    )
    assert "Dumpling Hut" in asked.content
    paid = await wechat.say("18.5", fan="o_diner")
    assert paid.content == "Paid ¥18.50 to Dumpling Hut (DUMPLING1). Balance: ¥81.50"
    paid = await wechat.say("pay dumpling1 1.5", fan="o_diner")
    assert paid.content.endswith("Balance: ¥80.00")

    # Asking again returns the same permanent code; the balance shows what was paid.
    status, data = await api(client, config, "POST", f"merchants/{merchant['id']}/qrcode")
    assert (status, data["merchant"]["qr"]["ticket"]) == (200, ticket)
    assert data["merchant"]["balance_fen"] == 2000
    _, data = await api(client, config, "GET", "merchants")
    assert [(m["code"], m["balance_fen"]) for m in data["merchants"]] == [("DUMPLING1", 2000)]


async def test_a_merchant_can_be_renamed_but_keeps_its_code_and_scene(
    client: TestClient, config: Config, wechat: Emulator, sessions
) -> None:
    merchant = await new_merchant(client, config, scene="door_7")
    path = f"merchants/{merchant['id']}"
    status, data = await api(client, config, "PATCH", path, {"name": "Dumpling House"})
    assert (status, data["merchant"]["name"], data["merchant"]["scene"]) == (
        200,
        "Dumpling House",
        "door_7",
    )
    await refused(client, config, sessions, "PATCH", path, {"code": "OTHER"}, "code")
    await refused(client, config, sessions, "PATCH", path, {"name": " "}, "name")
    status, data = await api(client, config, "PATCH", "merchants/99", {"name": "X"})
    assert (status, data["error"]) == (404, "no merchant #99")
    await wechat.say("topup 10", fan="o_diner")
    reply = await wechat.say("pay DUMPLING1 1", fan="o_diner")
    assert reply.content.startswith("Paid ¥1.00 to Dumpling House")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X"}, "code"),
        ({"code": "A B", "name": "X"}, "code"),
        ({"code": "ÄPFEL", "name": "X"}, "code"),
        ({"code": "x" * 33, "name": "X"}, "code"),
        ({"code": "dumpling1", "name": "Again"}, "code"),  # codes are case-insensitive
        ({"code": "NEW1"}, "name"),
        ({"code": "NEW1", "name": "x" * 61}, "name"),
        ({"code": "NEW1", "name": "X", "scene": "merchant_DUMPLING1"}, "scene"),
        ({"code": "NEW1", "name": "X", "scene": "two words"}, "scene"),
        ({"code": "NEW1", "name": "X", "scene": "s" * 65}, "scene"),
        ({"code": "NEW1", "name": "X", "balance": 5}, "balance"),
    ],
)
async def test_bad_merchants_are_refused_naming_the_field(
    client: TestClient, config: Config, sessions, body: dict, field: str
) -> None:
    await new_merchant(client, config)
    await refused(client, config, sessions, "POST", "merchants", body, field)


async def test_a_body_that_is_not_a_json_object_is_refused(
    client: TestClient, config: Config, sessions
) -> None:
    await refused(client, config, sessions, "POST", "merchants", ["code"], "body")
    response = await client.post(
        "/admin/api/merchants",
        data=b"{not json",
        headers={"Authorization": f"Bearer {config.admin.token}"},
    )
    assert (response.status, (await response.json())["field"]) == (400, "body")


async def test_a_deactivated_merchant_is_shown_so_and_takes_no_payment_until_activated(
    client: TestClient, config: Config, wechat: Emulator
) -> None:
    merchant = await new_merchant(client, config)
    await wechat.say("topup 100", fan="o_diner")
    status, data = await api(client, config, "POST", f"merchants/{merchant['id']}/deactivate")
    assert (status, data["merchant"]["active"]) == (200, False)
    assert data["merchant"]["qr"]["ticket"] == merchant["qr"]["ticket"]
    paid = await wechat.say("pay DUMPLING1 5", fan="o_diner")
    assert paid.content.endswith("Nothing was paid."), paid.content
    assert (await wechat.say("balance", fan="o_diner")).content == "Your balance: ¥100.00"

    html = await signed_in_page(client, config, "/admin/merchants")
    assert 'Dumpling Hut <span class="muted">(deactivated)</span>' in html
    assert f'data-post="/admin/api/merchants/{merchant["id"]}/activate"' in html

    status, data = await api(client, config, "POST", f"merchants/{merchant['id']}/activate")
    assert (status, data["merchant"]["active"]) == (200, True)
    paid = await wechat.say("pay DUMPLING1 5", fan="o_diner")
    assert paid.content.startswith("Paid ¥5.00 to Dumpling Hut")
    status, data = await api(client, config, "POST", "merchants/99/deactivate")
    assert (status, data["error"]) == (404, "no merchant #99")
