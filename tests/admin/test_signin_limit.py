"""The sign-in limiter: wrong admin tokens per client address per minute, then 429 for a while."""

import pytest
from aiohttp.test_utils import TestClient

from botstore.admin.auth import SignInLimiter, limiter_key
from botstore.config import Config
from botstore.models import KeywordRule
from tests.admin.test_auth import RULE, bearer, sign_in
from tests.helpers import count

LIMIT = 3


@pytest.fixture
def config(config: Config) -> Config:
    return config.replace(admin={"failed_signins_per_minute": LIMIT})


class Ticks:
    """The limiter's clock, moved by hand."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture
def ticks(client: TestClient) -> Ticks:
    ticks = Ticks()
    client.app[limiter_key].now = ticks
    return ticks


WRONG = {"Authorization": "Bearer guess"}


async def test_past_the_limit_every_token_is_refused_until_the_minute_is_over(
    client: TestClient, config: Config, sessions, ticks: Ticks
) -> None:
    for _ in range(LIMIT):
        assert (await client.get("/admin/api/keywords", headers=WRONG)).status == 401
        ticks.seconds += 10
    # Locked out: even the right token is refused unchecked, or a guesser would learn it.
    refused = await client.post("/admin/api/keywords", json=RULE, headers=bearer(config))
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "30"  # the first failure ages out at +60 s
    assert "too many wrong admin tokens" in await refused.text()
    form = await client.post("/admin/login", data={"token": config.admin.token})
    assert form.status == 429
    assert "Set-Cookie" not in form.headers
    assert await count(sessions, KeywordRule) == 0

    ticks.seconds += 30  # the first failure is a minute old: one more try is allowed
    assert (await client.get("/admin/api/keywords", headers=WRONG)).status == 401
    assert (await client.get("/admin/api/keywords", headers=bearer(config))).status == 429
    ticks.seconds += 60
    created = await client.post("/admin/api/keywords", json=RULE, headers=bearer(config))
    assert created.status == 201
    assert await count(sessions, KeywordRule) == 1


async def test_wrong_tokens_at_the_form_count_too(
    client: TestClient, config: Config, ticks: Ticks
) -> None:
    for _ in range(LIMIT):
        response = await client.post("/admin/login", data={"token": "guess"})
        assert response.status == 401
    assert (await client.get("/admin/api/keywords", headers=bearer(config))).status == 429


async def test_a_signed_in_session_keeps_working_while_tokens_are_refused(
    client: TestClient, config: Config, ticks: Ticks
) -> None:
    csrf = await sign_in(client, config)
    for _ in range(LIMIT):
        await client.get("/admin/api/keywords", headers=WRONG)
    page = await client.get("/admin/keywords")
    assert page.status == 200
    saved = await client.post("/admin/api/keywords", json=RULE, headers={"X-CSRF-Token": csrf})
    assert saved.status == 201


def test_addresses_are_counted_apart_and_zero_means_no_limit() -> None:
    ticks = Ticks()
    limiter = SignInLimiter(2, now=ticks)
    limiter.failed("10.0.0.1")
    limiter.failed("10.0.0.1")
    assert limiter.wait("10.0.0.1") == 60
    assert limiter.wait("10.0.0.2") == 0
    ticks.seconds += 60
    assert limiter.wait("10.0.0.1") == 0
    unlimited = SignInLimiter(0, now=ticks)
    for _ in range(100):
        unlimited.failed("10.0.0.1")
    assert unlimited.wait("10.0.0.1") == 0


def test_many_addresses_do_not_grow_without_bound() -> None:
    ticks = Ticks()
    limiter = SignInLimiter(5, now=ticks)
    for n in range(SignInLimiter.MAX_ADDRESSES):
        limiter.failed(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    ticks.seconds += 61
    limiter.failed("192.0.2.1")  # a new address past the cap: the quiet ones are forgotten
    assert len(limiter._failures) == 1
