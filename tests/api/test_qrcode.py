"""The emulated /cgi-bin API: access tokens (wechat-protocol.md 7.1) and parametric QR codes
(7.6), whose scenes then drive SCAN and subscribe through the webhook."""

import json
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.seed.offline import seed_offline

TEMPORARY_ID = {"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 123}}}


async def get_token(client: TestClient, config: Config) -> str:
    response = await client.get(
        "/cgi-bin/token",
        params={
            "grant_type": "client_credential",
            "appid": config.wechat.app_id,
            "secret": config.wechat.app_secret,
        },
    )
    return (await response.json())["access_token"]


async def create(client: TestClient, token: str | None, body: Any) -> dict[str, Any]:
    params = {"access_token": token} if token is not None else {}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    response = await client.post("/cgi-bin/qrcode/create", params=params, data=data)
    assert response.status == 200
    return await response.json()


async def test_token_is_granted_for_the_account_credentials(
    client: TestClient, config: Config
) -> None:
    response = await client.get(
        "/cgi-bin/token",
        params={
            "grant_type": "client_credential",
            "appid": config.wechat.app_id,
            "secret": config.wechat.app_secret,
        },
    )
    assert response.status == 200
    body = await response.json()
    assert set(body) == {"access_token", "expires_in"}
    assert body["expires_in"] == 7200
    assert len(body["access_token"]) >= 64


@pytest.mark.parametrize(
    ("query", "errcode", "errmsg"),
    [
        ({"grant_type": "password"}, 40002, "invalid grant_type"),
        ({"grant_type": None}, 40002, "invalid grant_type"),
        ({"appid": None}, 41002, "appid missing"),
        ({"secret": None}, 41004, "appsecret missing"),
        ({"appid": "wx_somebody_else"}, 40013, "invalid appid"),
        ({"secret": "wrong"}, 40125, "invalid appsecret"),
    ],
)
async def test_token_errors_answer_http_200_with_errcode(
    client: TestClient, config: Config, query: dict[str, str | None], errcode: int, errmsg: str
) -> None:
    params: dict[str, str | None] = {
        "grant_type": "client_credential",
        "appid": config.wechat.app_id,
        "secret": config.wechat.app_secret,
        **query,
    }
    response = await client.get(
        "/cgi-bin/token", params={k: v for k, v in params.items() if v is not None}
    )
    assert response.status == 200
    assert await response.json() == {"errcode": errcode, "errmsg": errmsg}


@pytest.mark.parametrize(
    ("body", "expire_seconds"),
    [
        (TEMPORARY_ID, 60),
        ({**TEMPORARY_ID, "expire_seconds": 604800}, 604800),
        (
            {
                "expire_seconds": 2592000,
                "action_name": "QR_STR_SCENE",
                "action_info": {"scene": {"scene_str": "test"}},
            },
            2592000,
        ),
        ({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100000}}}, None),
        (
            {
                "action_name": "QR_LIMIT_STR_SCENE",
                "action_info": {"scene": {"scene_str": "x" * 64}},
            },
            None,
        ),
        (
            {
                "expire_seconds": 30,
                "action_name": "QR_LIMIT_STR_SCENE",
                "action_info": {"scene": {"scene_str": "门店"}},
            },
            None,
        ),
    ],
)
async def test_qrcode_create_answers_the_official_shape(
    client: TestClient, config: Config, body: dict[str, Any], expire_seconds: int | None
) -> None:
    made = await create(client, await get_token(client, config), body)
    if expire_seconds is None:  # permanent codes don't expire
        assert list(made) == ["ticket", "url"]
    else:
        assert list(made) == ["ticket", "expire_seconds", "url"]
        assert made["expire_seconds"] == expire_seconds
    assert made["url"] == "http://weixin.qq.com/q/" + made["ticket"]
    shown = await client.get("/cgi-bin/showqrcode", params={"ticket": made["ticket"]})
    assert shown.status == 200 and shown.content_type == "image/svg+xml"
    scene = body["action_info"]["scene"]
    assert f"scene {scene.get('scene_id', scene.get('scene_str'))}" in await shown.text()


async def test_a_permanent_scene_asked_again_gets_the_same_ticket(
    client: TestClient, config: Config
) -> None:
    token = await get_token(client, config)
    body = {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "a"}}}
    assert (await create(client, token, body)) == (await create(client, token, body))
    assert (await create(client, token, TEMPORARY_ID)) != (
        await create(client, token, TEMPORARY_ID)
    )


def scene_of(**scene: Any) -> dict[str, Any]:
    return {"action_info": {"scene": scene}}


@pytest.mark.parametrize(
    ("body", "errcode", "hint"),
    [
        (b"{not json", 47001, "invalid JSON"),
        (b"[1, 2]", 47001, "the body must be a JSON object"),
        (b"", 44002, None),
        (b'"\xff"', 47001, "invalid JSON"),
        (b"[" * 5000 + b"]" * 5000, 47001, "invalid JSON"),  # deeper than the parser goes
        (b"{" + b" " * 20000 + b"}", 47001, "body over 16384 bytes"),
        ({"action_info": {"scene": {"scene_id": 1}}}, 47001, "action_name must be a string"),
        ({"action_name": "QR_SCENE"}, 47001, "action_info.scene must be an object"),
        ({"action_name": "QR_SCENE", "action_info": []}, 47001, "action_info.scene"),
        ({"action_name": "QR_SCENE", **scene_of(scene_id="1")}, 47001, "scene_id must be an"),
        ({"action_name": "QR_SCENE", **scene_of(scene_id=True)}, 47001, "scene_id must be an"),
        ({"action_name": "QR_SCENE", **scene_of(scene_id=1.5)}, 47001, "scene_id must be an"),
        ({"action_name": "QR_STR_SCENE", **scene_of(scene_str=5)}, 47001, "scene_str must be"),
        (
            {"action_name": "QR_SCENE", "expire_seconds": "60", **scene_of(scene_id=1)},
            47001,
            "expire_seconds must be an integer",
        ),
        ({"action_name": "QR_NOPE", **scene_of(scene_id=1)}, 40097, "action_name: one of"),
        ({"action_name": "QR_SCENE", **scene_of(scene_id=0)}, 40097, "scene_id: an integer"),
        ({"action_name": "QR_SCENE", **scene_of(scene_id=-1)}, 40097, "scene_id: an integer"),
        ({"action_name": "QR_SCENE", **scene_of(scene_id=2**32)}, 40097, "scene_id"),
        ({"action_name": "QR_SCENE", **scene_of(scene_str="a")}, 40097, "scene_id"),
        ({"action_name": "QR_LIMIT_SCENE", **scene_of(scene_id=100001)}, 40097, "1 to 100000"),
        ({"action_name": "QR_LIMIT_SCENE", **scene_of(scene_id=0)}, 40097, "1 to 100000"),
        ({"action_name": "QR_STR_SCENE", **scene_of(scene_str="")}, 40097, "scene_str: 1-64"),
        ({"action_name": "QR_LIMIT_STR_SCENE", **scene_of(scene_str="x" * 65)}, 40097, "1-64"),
        ({"action_name": "QR_LIMIT_STR_SCENE", **scene_of(scene_id=5)}, 40097, "scene_str"),
        (
            {"action_name": "QR_SCENE", "expire_seconds": 2592001, **scene_of(scene_id=1)},
            40097,
            "expire_seconds: 1 to 2592000",
        ),
        (
            {"action_name": "QR_STR_SCENE", "expire_seconds": 0, **scene_of(scene_str="a")},
            40097,
            "expire_seconds",
        ),
    ],
)
async def test_qrcode_create_refuses_bad_requests_with_errcodes(
    client: TestClient, config: Config, body: Any, errcode: int, hint: str | None
) -> None:
    answer = await create(client, await get_token(client, config), body)
    assert answer["errcode"] == errcode
    if hint is None:
        assert answer["errmsg"] == "empty post data"
    else:
        assert hint in answer["errmsg"]


async def test_qrcode_create_checks_the_access_token(
    client: TestClient, config: Config, clock: FrozenClock
) -> None:
    assert await create(client, None, TEMPORARY_ID) == {
        "errcode": 41001,
        "errmsg": "access_token missing",
    }
    assert (await create(client, "forged", TEMPORARY_ID))["errcode"] == 40001
    assert (await create(client, "x" * 1000, TEMPORARY_ID))["errcode"] == 40001
    token = await get_token(client, config)
    clock.advance(timedelta(seconds=7199))
    assert "ticket" in await create(client, token, TEMPORARY_ID)
    clock.advance(timedelta(seconds=2))
    assert await create(client, token, TEMPORARY_ID) == {
        "errcode": 42001,
        "errmsg": "access_token expired",
    }


async def test_a_refreshed_token_leaves_the_old_one_five_minutes(
    client: TestClient, config: Config, clock: FrozenClock
) -> None:
    old = await get_token(client, config)
    clock.advance(timedelta(hours=1))
    new = await get_token(client, config)
    assert new != old
    clock.advance(timedelta(seconds=299))
    assert "ticket" in await create(client, old, TEMPORARY_ID)
    clock.advance(timedelta(seconds=2))
    assert (await create(client, old, TEMPORARY_ID))["errcode"] == 42001
    assert "ticket" in await create(client, new, TEMPORARY_ID)


async def test_showqrcode_refuses_unknown_and_expired_tickets(
    client: TestClient, config: Config, clock: FrozenClock
) -> None:
    assert (await client.get("/cgi-bin/showqrcode", params={"ticket": "nope"})).status == 404
    assert (await client.get("/cgi-bin/showqrcode")).status == 404
    made = await create(client, await get_token(client, config), TEMPORARY_ID)
    clock.advance(timedelta(seconds=61))
    expired = await client.get("/cgi-bin/showqrcode", params={"ticket": made["ticket"]})
    assert (expired.status, await expired.text()) == (404, "ticket expired")


async def test_a_created_code_for_a_merchant_scene_drives_scan_and_subscribe_payments(
    client: TestClient, wechat: Emulator, sessions, config: Config, clock: FrozenClock
) -> None:
    async with sessions() as session, session.begin():
        await seed_offline(session, now=clock.now())
    body = {
        "action_name": "QR_LIMIT_STR_SCENE",
        "action_info": {"scene": {"scene_str": "merchant_TEA01"}},
    }
    ticket = (await create(client, await get_token(client, config), body))["ticket"]

    await wechat.say("topup 50", fan="o_a")
    asked = await wechat.event(
        "SCAN", fan="o_a", event_key="merchant_TEA01", extra={"Ticket": ticket}
    )
    assert asked.content.startswith("Paying Lotus Tea House (TEA01). How much?")
    assert (await wechat.say("20", fan="o_a")).content.endswith("Balance: ¥30.00")

    await wechat.say("topup 50", fan="o_b")
    welcome = await wechat.event(
        "subscribe", fan="o_b", event_key="qrscene_merchant_TEA01", extra={"Ticket": ticket}
    )
    assert "Paying Lotus Tea House" in welcome.content
    assert (await wechat.say("0.01", fan="o_b")).content.endswith("Balance: ¥49.99")


async def test_a_chunked_body_over_the_cap_is_refused_while_reading(
    client: TestClient, config: Config
) -> None:
    async def chunks() -> Any:
        for _ in range(40):
            yield b" " * 1024

    token = await get_token(client, config)
    response = await client.post(
        "/cgi-bin/qrcode/create", params={"access_token": token}, data=chunks()
    )
    assert (await response.json())["errmsg"] == "data format error hint: body over 16384 bytes"
