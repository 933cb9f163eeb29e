"""The admin clock API: bearer token, input checks, and advances that run what fell due."""

import pytest
from aiohttp.test_utils import TestClient

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import ClockState
from botstore.seed.wealth import seed_wealth_products

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
        (b"not json", "body: not valid JSON"),
        (b"[1]", "body: must be a JSON object"),
        (b"{}", 'body: give {"days": N} and/or {"hours": N}'),
        (b'{"weeks": 1}', "weeks: unknown field"),
        (b'{"days": -1}', "days: must be 0 or more"),
        (b'{"days": 1.5}', "days: must be a whole number"),
        (b'{"hours": "2"}', "hours: must be a whole number"),
        (b'{"days": true}', "days: must be a whole number"),
        (b'{"days": 100000}', "days: must be at most 3660"),
        (b'{"hours": 100000}', "hours: must be at most 87840"),
        (b'{"days": 3000, "hours": 20000}', "body: at most 3660 days at a time"),
        # Past what timedelta holds: this was an OverflowError, a 500.
        (
            b'{"days": 1180591620717411303424}',
            "days: a whole number too large (more than 64 bits)",
        ),
        (
            b'{"hours": 1180591620717411303424}',
            "hours: a whole number too large (more than 64 bits)",
        ),
        (b'{"days": 9223372036854775807}', "days: must be at most 3660"),
        (b'{"days": ' + b"9" * 5000 + b"}", "body: a number is too large"),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, "body: nested too deeply"),
        (b'{"days": NaN}', "days: must be a finite number (no NaN or Infinity)"),
    ],
)
async def test_bad_advances_are_refused_with_a_reason(
    client: TestClient, config: Config, clock: FrozenClock, sessions, body: bytes, reason: str
) -> None:
    response = await client.post(ADVANCE, data=body, headers=auth(config))
    assert response.status == 400
    assert await response.text() == reason
    assert clock.now().isoformat() == "2026-01-01T04:00:00+00:00"
    async with sessions() as session:
        assert (await session.get(ClockState, 1)).offset_seconds == 0


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
