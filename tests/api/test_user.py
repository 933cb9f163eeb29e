"""GET /cgi-bin/user/info, GET /cgi-bin/user/get, POST /cgi-bin/user/info/batchget
(wechat-protocol.md 7.5)."""

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import Fan
from botstore.services import miniprogram, users
from tests.api.cgi import get, get_token, post

INFO = "/cgi-bin/user/info"
FOLLOWERS = "/cgi-bin/user/get"
BATCH = "/cgi-bin/user/info/batchget"


@pytest.fixture
async def token(client: TestClient, config: Config) -> str:
    return await get_token(client, config)


def profile(openid: str, subscribe_time: int, **changes: Any) -> dict[str, Any]:
    return {
        "subscribe": 1,
        "openid": openid,
        # A fan who never typed a command has the account's language (the suite's config: en).
        "language": "en",
        "subscribe_time": subscribe_time,
        # The one the mini program's login answers too (tests/api/test_miniprogram.py).
        "unionid": miniprogram.unionid_of(Fan(openid=openid)),
        "remark": "",
        "groupid": 0,
        "tagid_list": [],
        "subscribe_scene": "ADD_SCENE_OTHERS",
        "qr_scene": 0,
        "qr_scene_str": "",
        **changes,
    }


async def test_user_info_answers_the_official_shape(
    client: TestClient, token: str, wechat: Emulator, clock: FrozenClock, sessions
) -> None:
    started = int(clock.now().timestamp())
    await wechat.say("hi", fan="o_chat")
    clock.advance(timedelta(minutes=1))
    await wechat.event("subscribe", fan="o_plain")
    await wechat.event("subscribe", fan="o_qr_id", event_key="qrscene_123")
    await wechat.event("subscribe", fan="o_qr_str", event_key="qrscene_spring")
    async with sessions() as session, session.begin():
        await session.exec(update(Fan).where(Fan.openid == "o_plain").values(nickname="Band"))
    followed = started + 60

    # A fan met through a message follows since that first contact (no subscribe event needed).
    assert await get(client, INFO, token, openid="o_chat") == profile("o_chat", started)
    await wechat.say("余额", fan="o_chat")  # a Chinese command word: the fan speaks Chinese
    chat = await get(client, INFO, token, openid="o_chat")
    assert chat == profile("o_chat", started, language="zh_CN")
    plain = await get(client, INFO, token, openid="o_plain", lang="en")
    assert plain == profile("o_plain", followed, nickname="Band")
    assert list(plain)[:3] == ["subscribe", "openid", "nickname"]
    assert plain["unionid"].startswith("o") and len(plain["unionid"]) == 28
    assert await get(client, INFO, token, openid="o_qr_id") == profile(
        "o_qr_id", followed, subscribe_scene="ADD_SCENE_QR_CODE", qr_scene=123
    )
    assert await get(client, INFO, token, openid="o_qr_str") == profile(
        "o_qr_str", followed, subscribe_scene="ADD_SCENE_QR_CODE", qr_scene_str="spring"
    )


async def test_a_former_follower_is_subscribe_0_and_nothing_else(
    client: TestClient, token: str, wechat: Emulator
) -> None:
    await wechat.event("subscribe", fan="o_gone")
    await wechat.event("unsubscribe", fan="o_gone")
    assert await get(client, INFO, token, openid="o_gone") == {"subscribe": 0, "openid": "o_gone"}


async def test_user_info_refuses_strangers_and_bad_languages(
    client: TestClient, token: str, wechat: Emulator
) -> None:
    await wechat.say("hi", fan="o_fan")
    invalid = {"errcode": 40003, "errmsg": "invalid openid"}
    assert await get(client, INFO, token, openid="o_stranger") == invalid
    assert await get(client, INFO, token) == invalid
    assert await get(client, INFO, token, openid="o" * 65) == invalid
    bad_lang = await get(client, INFO, token, openid="o_fan", lang="fr")
    assert bad_lang["errcode"] == 40097 and "zh_CN, zh_TW, en" in bad_lang["errmsg"]


async def test_user_get_pages_through_the_followers(
    client: TestClient, token: str, wechat: Emulator, sessions
) -> None:
    assert await get(client, FOLLOWERS, token) == {"total": 0, "count": 0, "next_openid": ""}
    for fan in ("o_1", "o_2", "o_gone", "o_3"):
        await wechat.event("subscribe", fan=fan)
    await wechat.event("unsubscribe", fan="o_gone")
    everyone = {
        "total": 3,
        "count": 3,
        "data": {"openid": ["o_1", "o_2", "o_3"]},
        "next_openid": "o_3",
    }
    assert await get(client, FOLLOWERS, token) == everyone
    assert await get(client, FOLLOWERS, token, next_openid="o_3") == {
        "total": 3,
        "count": 0,
        "next_openid": "",
    }
    assert await get(client, FOLLOWERS, token, next_openid="o_1") == {
        "total": 3,
        "count": 2,
        "data": {"openid": ["o_2", "o_3"]},
        "next_openid": "o_3",
    }
    assert await get(client, FOLLOWERS, token, next_openid="o_stranger") == {
        "errcode": 40003,
        "errmsg": "invalid openid",
    }
    async with sessions() as session:  # pages hold 10 000 openids; smaller here
        page = await users.followers(session, limit=2)
        assert (page["data"]["openid"], page["next_openid"]) == (["o_1", "o_2"], "o_2")
        page = await users.followers(session, next_openid="o_2", limit=2)
        assert (page["data"]["openid"], page["total"]) == (["o_3"], 3)


async def test_batchget_answers_each_profile_in_order(
    client: TestClient, token: str, wechat: Emulator, clock: FrozenClock
) -> None:
    now = int(clock.now().timestamp())
    await wechat.event("subscribe", fan="o_1")
    await wechat.event("subscribe", fan="o_2")
    await wechat.event("unsubscribe", fan="o_2")
    body = {"user_list": [{"openid": "o_2", "lang": "zh_CN"}, {"openid": "o_1"}]}
    assert await post(client, BATCH, token, body) == {
        "user_info_list": [{"subscribe": 0, "openid": "o_2"}, profile("o_1", now)]
    }


BATCH_REFUSED: list[tuple[Any, int, str]] = [
    ({"user_list": [{"openid": "o_1"}, {"openid": "o_stranger"}]}, 40003, "invalid openid"),
    ({"user_list": [{"lang": "en"}]}, 40003, "invalid openid"),
    ({"user_list": [{"openid": "o_1", "lang": "xx"}]}, 40097, "lang must be one of"),
    ({"user_list": []}, 40097, "user_list must hold 1-100 users"),
    ({"user_list": [{"openid": "o_1"}] * 101}, 40097, "1-100"),
    ({"user_list": "o_1"}, 47001, "user_list must be a list of objects"),
    ({"user_list": ["o_1"]}, 47001, "user_list must be a list of objects"),
    ({}, 47001, "user_list"),
    (b"{", 47001, "invalid JSON"),
    (b"", 44002, "empty post data"),
]


async def test_batchget_refuses_bad_lists(
    client: TestClient, token: str, wechat: Emulator
) -> None:
    await wechat.event("subscribe", fan="o_1")
    for body, errcode, errmsg in BATCH_REFUSED:
        answer = await post(client, BATCH, token, body)
        assert (answer["errcode"], errmsg in answer["errmsg"]) == (errcode, True), answer


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", INFO, {"openid": "o_1"}),
        ("GET", FOLLOWERS, {}),
        ("POST", BATCH, {"user_list": [{"openid": "o_1"}]}),
    ],
)
async def test_every_user_route_checks_the_access_token(
    client: TestClient,
    config: Config,
    wechat: Emulator,
    clock: FrozenClock,
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    await wechat.event("subscribe", fan="o_1")

    async def call(token: str | None) -> dict[str, Any]:
        if method == "GET":
            return await get(client, path, token, **body)
        return await post(client, path, token, body)

    assert await call(None) == {"errcode": 41001, "errmsg": "access_token missing"}
    assert (await call("forged"))["errcode"] == 40001
    token = await get_token(client, config)
    assert "errcode" not in await call(token)
    clock.advance(timedelta(seconds=7201))
    assert await call(token) == {"errcode": 42001, "errmsg": "access_token expired"}
