"""Admin wealth products: create (fund pre-funded from outside), edit for new investments only
(holdings keep their terms; the fund is topped up), deactivate, refusals naming the field, and a
product made in the admin bought with `invest` and paid out as the clock advances."""

import pytest
from aiohttp.test_utils import TestClient

from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import Holding, WealthProduct
from botstore.services import wealth
from tests.admin.test_entities import api, bearer, refused

PRODUCT = {
    "name": "Admin Daily 30",
    "rate_percent": "3.65",
    "term_days": 30,
    "minimum": "50",
    "per_fan_quota": "50000",
    "total_quota": "100000",
    "commission_percent": "10",
}


async def new_product(client: TestClient, config: Config, **changes: object) -> dict:
    status, data = await api(client, config, "POST", "wealth", {**PRODUCT, **changes})
    assert status == 201, data
    return data["product"]


async def advance(client: TestClient, config: Config, days: int) -> None:
    response = await client.post(
        "/admin/api/clock/advance", json={"days": days}, headers=bearer(config)
    )
    assert response.status == 200, await response.text()


async def test_a_product_made_in_the_admin_is_funded_bought_and_pays_out(
    client: TestClient, config: Config, wechat: Emulator, sessions
) -> None:
    product = await new_product(client, config)
    assert (product["rate_bps"], product["interval_days"], product["commission_bps"]) == (
        365,
        1,
        1000,
    )
    assert (product["min_fen"], product["total_quota_fen"]) == (5000, 10_000_000)
    async with sessions() as session:
        row = await session.get(WealthProduct, product["id"])
        assert (
            product["fund_balance_fen"] == wealth.reserve_for(row) == 33000
        )  # 300 yuan of dividends and 30 of commission

    await wechat.say("topup 5000", fan="o_saver")
    reply = await wechat.say(f"invest {product['id']} 5000", fan="o_saver")
    assert reply.content.startswith("Bought ¥5,000.00 of Admin Daily 30"), reply.content
    await advance(client, config, 30)
    assert (await wechat.say("balance", fan="o_saver")).content == "Your balance: ¥5,015.00"


async def test_edits_apply_to_new_investments_only_and_top_the_fund_up(
    client: TestClient, config: Config, wechat: Emulator, sessions
) -> None:
    product = await new_product(client, config)
    for fan in ("o_early", "o_late"):
        await wechat.say("topup 5000", fan=fan)
    await wechat.say(f"invest {product['id']} 5000", fan="o_early")

    status, data = await api(
        client,
        config,
        "PATCH",
        f"wealth/{product['id']}",
        {"rate_bps": 730, "total_quota": "200000", "name": "Admin Daily 30 Plus"},
    )
    assert status == 200, data
    edited = data["product"]
    assert (edited["rate_bps"], edited["term_days"], edited["commission_bps"]) == (730, 30, 1000)
    assert edited["open_holdings"] == 1
    # Before: 33000 reserve + 500000 principal. Needed now: the early holding's 1500 + 150 and
    # its principal, plus 195000 yuan unsold at 7.30% for 30 days (1170 yuan) and 10% of that.
    assert data["topped_up_fen"] == 1650 + 128_700 - 33000
    assert edited["fund_balance_fen"] == 500_000 + 1650 + 128_700

    await wechat.say(f"invest {product['id']} 5000", fan="o_late")
    async with sessions() as session:
        holdings = (await session.exec(Holding.__table__.select())).all()  # type: ignore[attr-defined]
        assert sorted(h.rate_bps for h in holdings) == [365, 730]
    await advance(client, config, 30)
    assert (await wechat.say("balance", fan="o_early")).content == "Your balance: ¥5,015.00"
    assert (await wechat.say("balance", fan="o_late")).content == "Your balance: ¥5,030.00"


async def test_a_deactivated_product_is_off_sale_and_its_holdings_keep_paying(
    client: TestClient, config: Config, wechat: Emulator
) -> None:
    product = await new_product(client, config)
    await wechat.say("topup 200", fan="o_saver")
    await wechat.say(f"invest {product['id']} 100", fan="o_saver")
    status, data = await api(client, config, "POST", f"wealth/{product['id']}/deactivate")
    assert (status, data["product"]["enabled"]) == (200, False)
    assert "No wealth products" in (await wechat.say("wealth", fan="o_saver")).content
    refused_reply = await wechat.say(f"invest {product['id']} 50", fan="o_saver")
    assert "¥100.00" in (await wechat.say("balance", fan="o_saver")).content, refused_reply
    await advance(client, config, 30)
    assert (await wechat.say("balance", fan="o_saver")).content == "Your balance: ¥200.30"

    status, data = await api(client, config, "POST", f"wealth/{product['id']}/activate")
    assert (status, data["product"]["enabled"]) == (200, True)
    reply = await wechat.say(f"invest {product['id']} 50", fan="o_saver")
    assert reply.content.startswith("Bought ¥50.00")
    status, data = await api(client, config, "POST", "wealth/77/deactivate")
    assert (status, data["error"]) == (404, "no wealth product #77")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"rate_percent": "3.655"}, "rate_percent"),
        ({"rate_percent": "-1"}, "rate_percent"),
        ({"rate_percent": "101"}, "rate_percent"),
        ({"rate_percent": None, "rate_bps": -1}, "rate_bps"),
        ({"rate_percent": None}, "rate_bps"),
        ({"rate_bps": 365}, "rate_percent"),
        ({"term_days": 0}, "term_days"),
        ({"term_days": 3651}, "term_days"),
        ({"term_days": "30"}, "term_days"),
        ({"interval_days": 7}, "interval_days"),
        ({"interval_days": 60}, "interval_days"),
        ({"minimum": "0"}, "minimum"),
        ({"minimum": "1.001"}, "minimum"),
        ({"per_fan_quota": "10"}, "per_fan_quota"),
        ({"total_quota": "100"}, "total_quota"),
        ({"commission_percent": "100.01"}, "commission_percent"),
        ({"commission_percent": None, "commission_bps": 10001}, "commission_bps"),
        ({"agency": ""}, "agency"),
        ({"agency": "a" * 61}, "agency"),
        ({"enabled": False}, "enabled"),
    ],
)
async def test_bad_products_are_refused_naming_the_field(
    client: TestClient, config: Config, sessions, changes: dict, field: str
) -> None:
    body = {**PRODUCT, **changes}
    for name in [name for name, value in changes.items() if value is None]:
        del body[name]
    await refused(client, config, sessions, "POST", "wealth", body, field)


async def test_bad_edits_change_nothing(
    client: TestClient, config: Config, wechat: Emulator, sessions
) -> None:
    product = await new_product(client, config)
    await wechat.say("topup 5000", fan="o_saver")
    await wechat.say(f"invest {product['id']} 5000", fan="o_saver")
    path = f"wealth/{product['id']}"
    error = await refused(
        client,
        config,
        sessions,
        "PATCH",
        path,
        {"total_quota": "4999.99", "per_fan_quota": "1000"},
        "total_quota",
    )
    assert "5000.00" in error
    await refused(
        client,
        config,
        sessions,
        "PATCH",
        path,
        {"name": "New", "interval_days": 7},
        "interval_days",
    )
    await refused(client, config, sessions, "PATCH", path, {"agency": "Other"}, "agency")
    status, data = await api(client, config, "PATCH", "wealth/77", {"name": "X"})
    assert (status, data["error"]) == (404, "no wealth product #77")
