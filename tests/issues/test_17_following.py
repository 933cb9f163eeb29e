"""Issue 17: /cgi-bin/user/info said `subscribe: 1` and user/get counted fans that the dashboard
and /console/api/fans showed as not following. One rule (services.fans.is_following) now
answers all four."""

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from tests.api.cgi import get, get_token


async def views(client: TestClient, config: Config, token: str) -> dict[str, Any]:
    """Who follows, as each of the four places says."""
    auth = {"Authorization": f"Bearer {config.admin.token}"}
    listed = (await get(client, "/cgi-bin/user/get", token))["data"]["openid"]
    dashboard = await (await client.get("/admin/api/dashboard", headers=auth)).json()
    console = (await (await client.get("/console/api/fans")).json())["fans"]
    info = {
        openid: (await get(client, "/cgi-bin/user/info", token, openid=openid))["subscribe"]
        for openid in ("o_chatted", "o_followed", "o_left", "o_added")
    }
    return {
        "user/info": {openid for openid, subscribe in info.items() if subscribe == 1},
        "user/get": set(listed),
        "dashboard": dashboard["fans_subscribed"],
        "console": {fan["openid"] for fan in console if fan["subscribed"]},
    }


async def test_every_view_of_following_agrees(
    client: TestClient, config: Config, wechat: Emulator, clock: FrozenClock
) -> None:
    await wechat.say(
        "hello", fan="o_chatted"
    )  # no subscribe event: WeChat only delivers a follower's
    await wechat.event("subscribe", fan="o_followed")
    await wechat.event("subscribe", fan="o_left")
    await wechat.event("unsubscribe", fan="o_left")
    added = await client.post("/console/api/fans", json={"openid": "o_added"})
    assert (await added.json())["subscribed"] is True

    following = {"o_chatted", "o_followed", "o_added"}
    token = await get_token(client, config)
    assert await views(client, config, token) == {
        "user/info": following,
        "user/get": following,
        "dashboard": 3,
        "console": following,
    }

    clock.advance(timedelta(seconds=1))  # a new CreateTime: not a retry of the first follow
    await wechat.event("subscribe", fan="o_left")
    await wechat.event("unsubscribe", fan="o_chatted")
    following = {"o_left", "o_followed", "o_added"}
    assert await views(client, config, token) == {
        "user/info": following,
        "user/get": following,
        "dashboard": 3,
        "console": following,
    }
