"""Admin partner services: create, edit the commission (future payments only), refusals naming the
field, and a service made in the admin used by a fan through the signed webhook."""

import pytest
from aiohttp.test_utils import TestClient
from sqlmodel import select

from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import Account, AccountKind
from tests.admin.test_entities import api, refused, signed_in_page

SERVICE = {"name": "Cloud Taxi", "category": "ride hailing", "app_id": "wx0taxi0000000009"}


async def platform_balance(sessions) -> int:
    async with sessions() as session:
        statement = select(Account.balance_fen).where(Account.kind == AccountKind.PLATFORM)
        return (await session.exec(statement)).one()


async def test_a_partner_made_in_the_admin_is_used_by_chat_with_its_commission(
    client: TestClient, config: Config, wechat: Emulator, sessions
) -> None:
    status, data = await api(
        client, config, "POST", "partners", {**SERVICE, "commission_percent": "7.5"}
    )
    assert status == 201, data
    partner = data["partner"]
    assert (partner["commission_bps"], partner["page_path"]) == (750, "pages/index/index")

    await wechat.say("topup 100", fan="o_rider")
    reply = await wechat.say(f"use {partner['id']} 40", fan="o_rider")
    assert "Cloud Taxi" in reply.content, reply.content
    assert await platform_balance(sessions) == 300

    # A new commission applies from the next payment on; the first one stays as it was.
    path = f"partners/{partner['id']}"
    status, data = await api(client, config, "PATCH", path, {"commission_bps": 1000})
    assert (status, data["partner"]["commission_bps"], data["partner"]["balance_fen"]) == (
        200,
        1000,
        3700,
    )
    await wechat.say(f"use {partner['id']} 10", fan="o_rider")
    assert await platform_balance(sessions) == 400
    _, data = await api(client, config, "GET", "partners")
    assert [(p["name"], p["balance_fen"]) for p in data["partners"]] == [("Cloud Taxi", 4600)]
    assert "Cloud Taxi" in (await wechat.say("services", fan="o_rider")).body


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"commission_bps": 10001}, "commission_bps"),
        ({"commission_bps": -1}, "commission_bps"),
        ({"commission_bps": 1.5}, "commission_bps"),
        ({"commission_percent": "1.234"}, "commission_percent"),
        ({"commission_percent": "101"}, "commission_percent"),
        ({"commission_percent": "x"}, "commission_percent"),
        ({"commission_percent": "1", "commission_bps": 100}, "commission_percent"),
        ({}, "commission_bps"),
        ({"commission_bps": 5, "name": ""}, "name"),
        ({"commission_bps": 5, "app_id": "taxi"}, "app_id"),
        ({"commission_bps": 5, "app_id": "wx-1"}, "app_id"),
        ({"commission_bps": 5, "category": 3}, "category"),
        ({"commission_bps": 5, "icon_url": "data:x"}, "icon_url"),
        ({"commission_bps": 5, "price": "9"}, "price"),
    ],
)
async def test_bad_partners_are_refused_naming_the_field(
    client: TestClient, config: Config, sessions, changes: dict, field: str
) -> None:
    await refused(client, config, sessions, "POST", "partners", {**SERVICE, **changes}, field)


async def test_bad_partner_edits_change_nothing(
    client: TestClient, config: Config, sessions
) -> None:
    _, data = await api(client, config, "POST", "partners", {**SERVICE, "commission_bps": 500})
    path = f"partners/{data['partner']['id']}"
    await refused(
        client,
        config,
        sessions,
        "PATCH",
        path,
        {"name": "New", "commission_bps": 20000},
        "commission_bps",
    )
    await refused(client, config, sessions, "PATCH", path, {"app_id": "nope"}, "app_id")
    status, data = await api(client, config, "PATCH", "partners/42", {"name": "X"})
    assert (status, data["error"]) == (404, "no partner service #42")


async def test_a_deactivated_partner_leaves_the_catalog_until_activated(
    client: TestClient, config: Config, wechat: Emulator, sessions
) -> None:
    _, data = await api(client, config, "POST", "partners", {**SERVICE, "commission_bps": 500})
    partner_id = data["partner"]["id"]
    await wechat.say("topup 100", fan="o_rider")
    status, data = await api(client, config, "POST", f"partners/{partner_id}/deactivate")
    assert (status, data["partner"]["active"]) == (200, False)
    assert (await wechat.say("services", fan="o_rider")).content == "No partner services yet."
    used = await wechat.say(f"use {partner_id} 10", fan="o_rider")
    assert used.content.endswith("Nothing was paid."), used.content
    assert await platform_balance(sessions) == 0
    _, data = await api(client, config, "GET", "partners")
    assert [(p["name"], p["active"]) for p in data["partners"]] == [("Cloud Taxi", False)]

    html = await signed_in_page(client, config, "/admin/partners")
    assert f'data-post="/admin/api/partners/{partner_id}/activate"' in html

    status, data = await api(client, config, "POST", f"partners/{partner_id}/activate")
    assert (status, data["partner"]["active"]) == (200, True)
    assert "Cloud Taxi" in (await wechat.say("services", fan="o_rider")).body
    status, data = await api(client, config, "POST", "partners/99/deactivate")
    assert (status, data["error"]) == (404, "no partner service #99")
