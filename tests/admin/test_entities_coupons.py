"""Admin coupon campaigns: create, issue now to a level (once per fan), deactivate, fund the
discount budget, refusals naming the field, and an issued coupon applied by `buy` through the
signed webhook."""

import pytest
from aiohttp.test_utils import TestClient

from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import OutboxMessage
from tests.admin.test_entities import api, refused
from tests.helpers import count

CAMPAIGN = {"name": "Spring ¥5", "amount_off": "5", "min_spend": "20", "valid_days": 30}


async def new_campaign(client: TestClient, config: Config, **changes: object) -> dict:
    status, data = await api(client, config, "POST", "coupons", {**CAMPAIGN, **changes})
    assert status == 201, data
    return data["campaign"]


async def test_a_campaign_issued_now_to_a_level_gives_each_fan_one_coupon_that_buy_applies(
    client: TestClient, config: Config, wechat: Emulator, sessions
) -> None:
    campaign = await new_campaign(client, config)
    assert (campaign["occasion"], campaign["kind"], campaign["amount_off_fen"]) == (
        "manual",
        "amount",
        500,
    )
    await wechat.say("open Shop", fan="o_owner")
    await wechat.say("list Tea 30 5", fan="o_owner")
    await wechat.say("topup 100", fan="o_buyer")
    status, data = await api(client, config, "POST", "coupons/budget", {"amount": "50"})
    assert (status, data["platform_balance_fen"]) == (200, 5000)

    path = f"coupons/{campaign['id']}/issue"
    status, data = await api(client, config, "POST", path, {"level": "gold"})
    assert (status, data["issued"]) == (200, 0)  # nobody has 500 points yet
    status, data = await api(client, config, "POST", path, {"level": "green"})
    assert (status, data["issued"], data["campaign"]["issued"]) == (200, 2, 2)
    assert await count(sessions, OutboxMessage) == 2  # each fan is told
    status, data = await api(client, config, "POST", path)
    assert (status, data["issued"]) == (200, 0)  # once per fan

    reply = await wechat.say("buy 1", fan="o_buyer")
    assert "¥25.00" in reply.content, reply.content
    assert (await wechat.say("balance", fan="o_buyer")).content == "Your balance: ¥75.00"
    _, data = await api(client, config, "GET", "coupons")
    assert (data["campaigns"][0]["used"], data["platform_balance_fen"]) == (1, 4500)


async def test_a_deactivated_campaign_issues_nothing_until_activated(
    client: TestClient, config: Config, wechat: Emulator, sessions
) -> None:
    campaign = await new_campaign(client, config, percent_off=10, cap="3", amount_off=None)
    assert (campaign["kind"], campaign["percent_off"], campaign["cap_fen"]) == ("percent", 10, 300)
    await wechat.say("balance", fan="o_fan")
    status, data = await api(client, config, "POST", f"coupons/{campaign['id']}/deactivate")
    assert (status, data["campaign"]["active"]) == (200, False)
    await refused(
        client, config, sessions, "POST", f"coupons/{campaign['id']}/issue", {}, "active"
    )
    await api(client, config, "POST", f"coupons/{campaign['id']}/activate")
    status, data = await api(client, config, "POST", f"coupons/{campaign['id']}/issue")
    assert (status, data["issued"]) == (200, 1)
    status, data = await api(client, config, "POST", "coupons/99/issue")
    assert (status, data["error"]) == (404, "no coupon campaign #99")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"occasion": "weekly"}, "occasion"),
        ({"occasion": "levelup"}, "level"),
        ({"level": "diamond"}, "level"),
        ({"percent_off": 10}, "percent_off"),
        ({"amount_off": None}, "amount_off"),
        ({"amount_off": "0"}, "amount_off"),
        ({"amount_off": "1.001"}, "amount_off"),
        ({"amount_off": None, "percent_off": 100}, "percent_off"),
        ({"cap": "3"}, "cap"),
        ({"min_spend": "-1"}, "min_spend"),
        ({"valid_days": 0}, "valid_days"),
        ({"valid_days": None}, "valid_days"),
        ({"valid_to": "2026-03-01T00:00:00+00:00"}, "valid_to"),
        ({"valid_days": None, "valid_to": "tomorrow"}, "valid_to"),
        ({"valid_days": None, "valid_to": "2025-12-01T00:00:00+00:00"}, "valid_to"),
        (
            {
                "valid_days": None,
                "valid_from": "2026-03-01T00:00:00+00:00",
                "valid_to": "2026-02-01T00:00:00+00:00",
            },
            "valid_from",
        ),
        ({"budget": "5"}, "budget"),
    ],
)
async def test_bad_campaigns_are_refused_naming_the_field(
    client: TestClient, config: Config, sessions, changes: dict, field: str
) -> None:
    body = {**CAMPAIGN, **changes}
    for name in [name for name, value in changes.items() if value is None]:
        del body[name]
    await refused(client, config, sessions, "POST", "coupons", body, field)


async def test_bad_issues_and_budgets_change_nothing(
    client: TestClient, config: Config, wechat: Emulator, sessions
) -> None:
    campaign = await new_campaign(client, config)
    await wechat.say("balance", fan="o_fan")
    path = f"coupons/{campaign['id']}/issue"
    await refused(client, config, sessions, "POST", path, {"level": "diamond"}, "level")
    await refused(client, config, sessions, "POST", path, {"fan": "o_fan"}, "fan")
    await refused(client, config, sessions, "POST", "coupons/budget", {"amount": "-5"}, "amount")
