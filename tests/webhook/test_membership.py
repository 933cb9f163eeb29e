"""Points and levels through the webhook: earned by completed payments only."""

import pytest

from botstore.app import create_app
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.seed.offline import seed_offline
from tests.webhook.westore import first_id, list_product, open_store, say, topup


@pytest.fixture
async def demo(sessions, clock: FrozenClock) -> None:
    async with sessions() as session, session.begin():
        await seed_offline(session, now=clock.now())


async def points(wechat: Emulator, fan: str) -> str:
    return await say(wechat, fan, "points")


async def test_a_new_fan_is_green_with_zero_points(wechat: Emulator) -> None:
    assert await points(wechat, "o_a") == (
        "You have 0 points: green member.\n500 more points to gold.\n"
        "Completed orders, offline payments and partner services earn 1 point per yuan."
    )


async def test_offline_and_partner_payments_earn_whole_yuan_but_topups_do_not(
    wechat: Emulator, demo
) -> None:
    await topup(wechat, "o_a", "1000")
    assert (await points(wechat, "o_a")).startswith("You have 0 points")
    await say(wechat, "o_a", "pay TEA01 12.99")
    await say(wechat, "o_a", "use 1 20")
    assert (await points(wechat, "o_a")).startswith("You have 32 points: green member.")
    # A retried payment message moves money once and so earns once.
    await wechat.say("pay TEA01 5", fan="o_a", msg_id=777)
    await wechat.say("pay TEA01 5", fan="o_a", msg_id=777)
    assert (await points(wechat, "o_a")).startswith("You have 37 points")


async def test_an_order_earns_when_it_completes_not_when_paid(wechat: Emulator) -> None:
    await open_store(wechat, "o_seller", "Shop")
    product = await list_product(wechat, "o_seller", "Kettle", "120.50", 5)
    await topup(wechat, "o_buyer", "1000")
    order = first_id(await say(wechat, "o_buyer", f"buy {product} 2"))
    assert (await points(wechat, "o_buyer")).startswith("You have 0 points")
    await say(wechat, "o_seller", f"ship {order}")
    await say(wechat, "o_buyer", f"received {order}")
    assert (await points(wechat, "o_buyer")).startswith("You have 241 points")
    assert (await points(wechat, "o_seller")).startswith("You have 0 points")


async def test_levels_follow_the_configured_thresholds(
    aiohttp_client, config: Config, clock: FrozenClock, sessions_of
) -> None:
    generous = config.replace(membership={"points_per_yuan": 10, "levels": "tea:0, oolong:100"})
    app = create_app(generous, clock=clock)
    wechat = Emulator(await aiohttp_client(app), "/wechat", config.wechat, clock=clock)
    async with sessions_of(app)() as session, session.begin():
        await seed_offline(session, now=clock.now())
    await topup(wechat, "o_a", "100")
    await say(wechat, "o_a", "pay TEA01 9.99")
    assert (await points(wechat, "o_a")).startswith(
        "You have 90 points: tea member.\n10 more points to oolong."
    )
    await say(wechat, "o_a", "pay TEA01 1")
    assert (await points(wechat, "o_a")).startswith(
        "You have 100 points: oolong member.\nThat is the top level."
    )


async def test_points_count_whole_yuan_payment_by_payment_not_of_the_sum(
    wechat: Emulator, demo
) -> None:
    # docs/economy.md's rule ("Membership points"): each payment earns per whole yuan of itself,
    # so two ¥12.50 payments earn 12 + 12, not the 25 whole yuan of their ¥25.00 sum; orders the
    # same, one by one.
    await topup(wechat, "o_a", "100")
    await say(wechat, "o_a", "pay TEA01 12.50")
    await say(wechat, "o_a", "pay TEA01 12.50")
    assert (await points(wechat, "o_a")).startswith("You have 24 points")
    await open_store(wechat, "o_seller", "Shop")
    product = await list_product(wechat, "o_seller", "Cup", "0.60", 5)
    for _ in range(2):
        order = first_id(await say(wechat, "o_a", f"buy {product}"))
        await say(wechat, "o_seller", f"ship {order}")
        await say(wechat, "o_a", f"received {order}")
    assert (await points(wechat, "o_a")).startswith("You have 24 points")
