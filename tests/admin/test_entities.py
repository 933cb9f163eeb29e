"""The entity sections of the admin (stores, merchants, partners, wealth, ads, coupons): the
token guards every route, and helpers the per-entity test files share."""

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func
from sqlmodel import SQLModel, select

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.models import Account
from botstore.seed import seed_demo

ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/admin/api/stores", None),
    ("POST", "/admin/api/stores", {"owner_openid": "o_x", "name": "X"}),
    ("PATCH", "/admin/api/stores/1", {"name": "Y"}),
    ("POST", "/admin/api/stores/1/deactivate", None),
    ("POST", "/admin/api/stores/1/activate", None),
    ("GET", "/admin/api/products", None),
    ("POST", "/admin/api/products", {"store_id": 1, "name": "P", "price": "1", "stock": 1}),
    ("PATCH", "/admin/api/products/1", {"price": "2"}),
    ("POST", "/admin/api/products/1/deactivate", None),
    ("POST", "/admin/api/products/1/activate", None),
    ("GET", "/admin/api/merchants", None),
    ("POST", "/admin/api/merchants", {"code": "SHOP1", "name": "Shop"}),
    ("PATCH", "/admin/api/merchants/1", {"name": "Shop"}),
    ("POST", "/admin/api/merchants/1/qrcode", None),
    ("POST", "/admin/api/merchants/1/deactivate", None),
    ("POST", "/admin/api/merchants/1/activate", None),
    ("GET", "/admin/api/partners", None),
    ("POST", "/admin/api/partners", {"name": "P", "category": "c", "app_id": "wx1"}),
    ("PATCH", "/admin/api/partners/1", {"commission_bps": 1}),
    ("POST", "/admin/api/partners/1/deactivate", None),
    ("POST", "/admin/api/partners/1/activate", None),
    ("GET", "/admin/api/wealth", None),
    ("POST", "/admin/api/wealth", {"name": "W"}),
    ("PATCH", "/admin/api/wealth/1", {"rate_bps": 1}),
    ("POST", "/admin/api/wealth/1/deactivate", None),
    ("POST", "/admin/api/wealth/1/activate", None),
    ("GET", "/admin/api/ads", None),
    ("POST", "/admin/api/ads", {"advertiser": "A", "title": "T", "url": "https://a"}),
    ("PATCH", "/admin/api/ads/1", {"title": "T"}),
    ("POST", "/admin/api/ads/1/budget", {"amount": "1"}),
    ("POST", "/admin/api/ads/1/pause", None),
    ("POST", "/admin/api/ads/1/resume", None),
    ("GET", "/admin/api/coupons", None),
    ("POST", "/admin/api/coupons", {"name": "C", "amount_off": "1", "valid_days": 1}),
    ("POST", "/admin/api/coupons/budget", {"amount": "1"}),
    ("POST", "/admin/api/coupons/1/issue", {"level": "green"}),
    ("POST", "/admin/api/coupons/1/deactivate", None),
    ("POST", "/admin/api/coupons/1/activate", None),
    ("GET", "/admin/api/miniprogram/templates", None),
    ("POST", "/admin/api/miniprogram/templates", {"title": "T", "keywords": []}),
    ("POST", "/admin/api/miniprogram/templates/t1/deactivate", None),
    ("POST", "/admin/api/miniprogram/templates/t1/activate", None),
]
PAGES = [
    "/admin/stores",
    "/admin/merchants",
    "/admin/partners",
    "/admin/wealth",
    "/admin/ads",
    "/admin/coupons",
    "/admin/miniprogram",
]


def bearer(config: Config) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.admin.token}"}


async def snapshot(sessions: Any) -> dict[str, Any]:
    """Row counts of every table and every balance: equal before and after a refusal."""
    out: dict[str, Any] = {}
    async with sessions() as session:
        for table in SQLModel.metadata.sorted_tables:
            out[table.name] = (await session.exec(select(func.count()).select_from(table))).one()
        balances = await session.exec(select(Account.id, Account.balance_fen))
        out["balances"] = sorted(balances.all())
    return out


async def api(
    client: TestClient, config: Config, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    response = await client.request(
        method, f"/admin/api/{path}", json=body, headers=bearer(config)
    )
    return response.status, await response.json()


async def signed_in_page(client: TestClient, config: Config, path: str) -> str:
    """The HTML of an admin page, signed in through the form as a merchant would."""
    signed = await client.post(
        "/admin/login", data={"token": config.admin.token, "next": path}, allow_redirects=False
    )
    assert signed.status == 303
    response = await client.get(path)
    assert response.status == 200, path
    return await response.text()


async def refused(
    client: TestClient,
    config: Config,
    sessions: Any,
    method: str,
    path: str,
    body: Any,
    field: str,
    status: int = 400,
) -> str:
    """Asserts the request is refused naming `field` and writes nothing; the error message."""
    before = await snapshot(sessions)
    got, data = await api(client, config, method, path, body)
    assert (got, data.get("field")) == (status, field), data
    assert data["error"].startswith(f"{field}: "), data
    assert await snapshot(sessions) == before
    return data["error"]


@pytest.mark.usefixtures("unlimited_token_tries")
@pytest.mark.parametrize("header", [None, "Bearer wrong", "change-me"])
async def test_every_entity_route_needs_the_admin_token_and_changes_nothing(
    client: TestClient, sessions, header: str | None
) -> None:
    before = await snapshot(sessions)
    headers = {"Authorization": header} if header else {}
    for method, path, body in ROUTES:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status == 401, (method, path)
        assert await response.text() == "missing or wrong admin token"
    for path in PAGES:
        response = await client.get(path, headers=headers, allow_redirects=False)
        assert response.status in (302, 401), path
    assert await snapshot(sessions) == before


async def test_the_entity_pages_render_for_a_signed_in_merchant(
    client: TestClient, config: Config, sessions, clock: FrozenClock
) -> None:
    signed = await client.post(
        "/admin/login",
        data={"token": config.admin.token, "next": "/admin/stores"},
        allow_redirects=False,
    )
    assert signed.status == 303
    for path in PAGES:
        response = await client.get(path)
        assert response.status == 200, path
        assert 'aria-current="page"' in await response.text()
    async with sessions() as session, session.begin():
        await seed_demo(session, now=clock.now())
    expected = {
        "/admin/stores": ["Tea House", "o_demo_tea_house_owner_0001", "¥68.00", "¥49.00 × 3"],
        "/admin/merchants": ["TEA01", "merchant_TEA01", "Make QR code"],
        "/admin/partners": ["Swift Ride", "8.00%", "wx5ride0000000001"],
        "/admin/wealth": ["Daily Dividend 30", "3.65%", "Sandbox Fund Co."],
        "/admin/ads": ["Mangoes picked this morning", "Fruit Farm", "#1", "Pause"],
        "/admin/coupons": ["levelup · gold", "Issue now", "green, gold, platinum"],
        "/admin/miniprogram": [
            "OrderShipped_bOtStOrE_dEmO_0000000000000001",
            "订单号 Order <code>{{character_string1.DATA}}</code>",
            "Deactivate",
            "wxf0e1d2c3b4a59687",
        ],
    }
    for path, parts in expected.items():
        html = await (await client.get(path)).text()
        for part in parts:
            assert part in html, (path, part)
        assert "data-edit='{" in html or path in ("/admin/coupons", "/admin/miniprogram"), path
