"""The admin clock API: bearer token, input checks, and advances that run what fell due."""

import pytest
from aiohttp.test_utils import TestClient

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import ClockState
from botstore.seed_wealth import seed_wealth_products

ADVANCE = "/admin/api/clock/advance"


def auth(config: Config) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.admin.token}"}


@pytest.mark.parametrize("header", [None, "Bearer wrong", "change-me", "Basic change-me"])
async def test_the_clock_api_needs_the_admin_token(
    client: TestClient, header: str | None, clock: FrozenClock
) -> None:
    headers = {"Authorization": header} if header else {}
    for response in [
        await client.get("/admin/api/clock", headers=headers),
        await client.post(ADVANCE, json={"days": 1}, headers=headers),
    ]:
        assert response.status == 401
        assert await response.text() == "missing or wrong admin token"
    assert clock.now().day == 1


async def test_get_shows_the_emulated_now(client: TestClient, config: Config) -> None:
    response = await client.get("/admin/api/clock", headers=auth(config))
    assert response.status == 200
    body = await response.json()
    assert body["now"] == "2026-01-01T04:00:00+00:00"
    assert body["offset_seconds"] == 0
    assert body["scheduler"]["enabled"] is True
    assert "wealth.pay_dividends" in body["scheduler"]["jobs"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", 'body must be JSON, e.g. {"days": 30}'),
        (b"[1]", 'give {"days": N} and/or {"hours": N}'),
        (b"{}", 'give {"days": N} and/or {"hours": N}'),
        (b'{"weeks": 1}', 'give {"days": N} and/or {"hours": N}'),
        (b'{"days": -1}', "days must be a whole number, 0 or more"),
        (b'{"days": 1.5}', "days must be a whole number, 0 or more"),
        (b'{"hours": "2"}', "hours must be a whole number, 0 or more"),
        (b'{"days": true}', "days must be a whole number, 0 or more"),
        (b'{"days": 100000}', "at most 3660 days at a time"),
    ],
)
async def test_bad_advances_are_refused_with_a_reason(
    client: TestClient, config: Config, clock: FrozenClock, body: bytes, reason: str
) -> None:
    response = await client.post(ADVANCE, data=body, headers=auth(config))
    assert response.status == 400
    assert await response.text() == reason
    assert clock.now().isoformat() == "2026-01-01T04:00:00+00:00"


async def test_advance_moves_the_clock_persists_it_and_runs_what_fell_due(
    client: TestClient, wechat: Emulator, config: Config, clock: FrozenClock, sessions
) -> None:
    async with sessions() as session, session.begin():
        await seed_wealth_products(session, now=clock.now())
    await wechat.say("topup 5000", fan="o_clock")
    await wechat.say("invest 1 5000", fan="o_clock")

    response = await client.post(ADVANCE, json={"days": 2, "hours": 3}, headers=auth(config))
    assert response.status == 200
    body = await response.json()
    assert body["now"] == "2026-01-03T07:00:00+00:00"
    assert body["advanced_seconds"] == body["offset_seconds"] == 2 * 86400 + 3 * 3600
    assert body["ran"] == [
        {"job": "wealth.pay_dividends", "at": "2026-01-02T04:00:00+00:00", "done": 1},
        {"job": "wealth.pay_dividends", "at": "2026-01-03T04:00:00+00:00", "done": 1},
    ]
    assert clock.now().isoformat() == body["now"]
    async with sessions() as session:
        assert (await session.get(ClockState, 1)).offset_seconds == 2 * 86400 + 3 * 3600
    # 5000 yuan at 3.65%: 0.50 a day.
    assert (await wechat.say("balance", fan="o_clock")).content == "Your balance: ¥1.00"
    shown = await client.get("/admin/api/clock", headers=auth(config))
    assert (await shown.json())["now"] == "2026-01-03T07:00:00+00:00"
