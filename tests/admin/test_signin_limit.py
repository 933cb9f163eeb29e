"""The sign-in limiter: past admin.failed_signins_per_minute wrong tokens, a client's token tries
are checked one at a time, one per 60/limit seconds, so guessing is slow and the right token still
gets in after its turn."""

import asyncio
from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestClient

from botstore.admin.auth import SignInLimiter, TooManyTries, limiter_key
from botstore.config import Config
from botstore.models import KeywordRule
from tests.admin.test_auth import RULE, bearer, sign_in
from tests.helpers import count

LIMIT = 3
TURN = 60 / LIMIT  # seconds a wrong token takes to earn back


@pytest.fixture
def config(config: Config) -> Config:
    return config.replace(admin={"failed_signins_per_minute": LIMIT})


class Ticks:
    """The limiter's clock, moved by hand; its sleeps are recorded and move the clock on, at
    once, or once `gate` is set while there is one."""

    def __init__(self) -> None:
        self.seconds = 1000.0
        self.slept: list[float] = []
        self.gate: asyncio.Event | None = None

    def __call__(self) -> float:
        return self.seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.gate is not None:
            await self.gate.wait()
        self.seconds += seconds


@pytest.fixture
def ticks(client: TestClient) -> Ticks:
    ticks = Ticks()
    client.app[limiter_key].now = ticks
    client.app[limiter_key].sleep = ticks.sleep
    return ticks


async def until(condition: Callable[[], bool]) -> None:
    """Lets the other tasks run until `condition` holds (a bounded number of loop turns)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("never happened")


WRONG = {"Authorization": "Bearer guess"}


async def guess(client: TestClient) -> int:
    return (await client.get("/admin/api/keywords", headers=WRONG)).status


async def test_past_the_limit_the_right_token_still_gets_in_after_its_turn(
    client: TestClient, config: Config, sessions, ticks: Ticks
) -> None:
    for _ in range(LIMIT):
        assert await guess(client) == 401
    assert ticks.slept == []  # up to the limit, checked at once

    created = await client.post("/admin/api/keywords", json=RULE, headers=bearer(config))
    assert created.status == 201
    assert ticks.slept == [TURN]  # it waited for one try to be earned back, then got in
    assert await count(sessions, KeywordRule) == 1
    # The right token spent nothing: the try it waited for is still there for the form.
    form = await client.post("/admin/login", data={"token": config.admin.token})
    assert form.history[0].status == 303
    assert "botstore_admin" in form.history[0].cookies
    assert ticks.slept == [TURN]


async def test_wrong_tokens_past_the_limit_are_checked_one_a_turn(
    client: TestClient, config: Config, ticks: Ticks
) -> None:
    for _ in range(LIMIT):
        assert await guess(client) == 401
    for _ in range(5):
        assert await guess(client) == 401
    # The sixth to eighth guesses waited a turn each: LIMIT at once, then LIMIT a minute.
    assert ticks.slept == [TURN] * 5
    ticks.seconds += 60  # a quiet minute earns the whole limit back
    for _ in range(LIMIT):
        assert await guess(client) == 401
    assert ticks.slept == [TURN] * 5


async def test_wrong_tokens_at_the_form_and_the_console_count_too(
    client: TestClient, config: Config, ticks: Ticks
) -> None:
    response = await client.post("/admin/login", data={"token": "guess"})
    assert response.status == 401
    assert "That is not the admin token." in await response.text()
    assert (await client.post("/admin/login", data={})).status == 401  # no token at all
    # The console off loopback takes the admin token too (a Host that is not loopback).
    console = await client.get("/console/api/state", headers={"Host": "botstore.example", **WRONG})
    assert console.status == 401
    assert ticks.slept == []
    assert (await client.get("/admin/api/keywords", headers=bearer(config))).status == 200
    assert ticks.slept == [TURN]


async def test_too_many_waiting_tries_are_refused_unchecked(
    client: TestClient, config: Config, sessions, ticks: Ticks
) -> None:
    limiter = client.app[limiter_key]
    limiter.MAX_WAITING = 1
    for _ in range(LIMIT):
        assert await guess(client) == 401
    ticks.gate = asyncio.Event()
    waiting = asyncio.create_task(guess(client))
    await until(lambda: ticks.slept != [])  # that guess is waiting its turn

    refused = await client.post("/admin/api/keywords", json=RULE, headers=bearer(config))
    assert refused.status == 429
    assert refused.headers["Retry-After"] == str(int(TURN))
    assert "too many wrong admin tokens from this address" in await refused.text()
    form = await client.post("/admin/login", data={"token": config.admin.token})
    assert form.status == 429
    assert "Set-Cookie" not in form.headers
    assert await count(sessions, KeywordRule) == 0

    ticks.gate.set()
    assert await waiting == 401
    ticks.gate = None
    created = await client.post("/admin/api/keywords", json=RULE, headers=bearer(config))
    assert created.status == 201


async def test_a_signed_in_session_keeps_working_while_tokens_wait(
    client: TestClient, config: Config, ticks: Ticks
) -> None:
    csrf = await sign_in(client, config)
    for _ in range(LIMIT * 2):
        await guess(client)
    slept = len(ticks.slept)
    page = await client.get("/admin/keywords")
    assert page.status == 200
    saved = await client.post("/admin/api/keywords", json=RULE, headers={"X-CSRF-Token": csrf})
    assert saved.status == 201
    assert len(ticks.slept) == slept  # no token checked, no turn waited


def wrong() -> bool:
    return False


def right() -> bool:
    return True


async def test_waiting_tries_take_their_turns_in_order_and_the_right_one_gets_in() -> None:
    ticks = Ticks()
    limiter = SignInLimiter(2, now=ticks, sleep=ticks.sleep)
    assert not await limiter.check("10.0.0.1", wrong)
    assert not await limiter.check("10.0.0.1", wrong)
    ticks.gate = asyncio.Event()
    first = asyncio.create_task(limiter.check("10.0.0.1", wrong))
    second = asyncio.create_task(limiter.check("10.0.0.1", right))
    third = asyncio.create_task(limiter.check("10.0.0.1", wrong))
    for _ in range(3):
        await asyncio.sleep(0)
    with pytest.raises(TooManyTries) as busy:
        await limiter.check("10.0.0.1", right)
    assert busy.value.retry_after == 30 + 2 * 30  # the three waiting have had their turns
    # Another address is not held up.
    assert await limiter.check("10.0.0.2", right)
    assert ticks.slept == [30]

    ticks.gate.set()
    assert await asyncio.gather(first, second, third) == [False, True, False]
    # first waited a turn and spent it; second waited the next and spent nothing, so third went
    # on the same try.
    assert ticks.slept == [30, 30]
    assert ticks.seconds == 1060


async def test_an_ipv6_host_is_one_client_and_zero_means_no_limit() -> None:
    ticks = Ticks()
    limiter = SignInLimiter(2, now=ticks, sleep=ticks.sleep)
    assert not await limiter.check("2001:db8::1", wrong)
    assert not await limiter.check("2001:db8::2", wrong)  # the same /64
    assert not await limiter.check("2001:db8:0:1::1", wrong)  # another /64: at once
    assert not await limiter.check("10.0.0.1", wrong)
    assert ticks.slept == []
    assert not await limiter.check("2001:db8::ffff", wrong)
    assert ticks.slept == [30]

    unlimited = SignInLimiter(0, now=ticks, sleep=ticks.sleep)
    for _ in range(100):
        assert not await unlimited.check("10.0.0.1", wrong)
    assert await unlimited.check("10.0.0.1", right)
    assert ticks.slept == [30]


async def test_many_clients_do_not_grow_without_bound() -> None:
    ticks = Ticks()
    limiter = SignInLimiter(5, now=ticks, sleep=ticks.sleep)
    limiter.MAX_ADDRESSES = 100
    for n in range(100):
        assert not await limiter.check(f"10.0.0.{n}", wrong)
    assert not await limiter.check("10.0.0.0", wrong)
    assert len(limiter) == 100
    ticks.seconds += 12  # each earned its try back, but 10.0.0.0 is still one short
    assert await limiter.check("192.0.2.1", right)  # past the cap: the quiet ones are forgotten
    assert len(limiter) == 2
    assert ticks.slept == []
