"""The mini program's server APIs through the real app: wx.login codes exchanged at
/sns/jscode2session, the mini program's own token, subscribe messages on grants, and codes."""

import asyncio
import json
import struct
import zlib
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import segno
from aiohttp.test_utils import TestClient

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.seed import seed_demo
from botstore.seed.miniprogram import DEMO_TEMPLATES
from botstore.services import miniprogram
from tests.admin.test_entities import api as admin_api
from tests.api.cgi import get, get_token, post

ORDER_TEMPLATE = {
    "title": "订单发货通知",
    "keywords": [
        {"key": "character_string1", "name": "订单号"},
        {"key": "thing2", "name": "商品名称"},
        {"key": "amount3", "name": "金额"},
    ],
}
ORDER_DATA = {
    "character_string1": {"value": "WS20261206-0042"},
    "thing2": {"value": "巧克力礼盒"},
    "amount3": {"value": "¥39.80"},
}


async def fan(client: TestClient, openid: str = "o_alice") -> None:
    response = await client.post("/console/api/fans", json={"openid": openid})
    assert response.status == 200


async def wx_login(client: TestClient, openid: str = "o_alice") -> dict[str, Any]:
    response = await client.post("/console/api/miniprogram/login", json={"fan": openid})
    assert response.status == 200, await response.text()
    return await response.json()


def code_params(config: Config, code: str, **changed: str) -> dict[str, str]:
    program = config.miniprogram
    params = {
        "appid": program.app_id,
        "secret": program.app_secret,
        "js_code": code,
        "grant_type": "authorization_code",
    }
    return params | changed


async def miniprogram_token(client: TestClient, config: Config) -> str:
    body = await get(
        client,
        "/cgi-bin/token",
        None,
        grant_type="client_credential",
        appid=config.miniprogram.app_id,
        secret=config.miniprogram.app_secret,
    )
    assert body["expires_in"] == 7200, body
    return body["access_token"]


async def test_login_exchanges_a_code_once_for_the_users_ids(
    client: TestClient, config: Config
) -> None:
    await fan(client)
    login = await wx_login(client)
    assert login["openid"] != "o_alice" and login["unionid"].startswith("o")

    session = await get(client, "/sns/jscode2session", None, **code_params(config, login["code"]))
    assert session.keys() == {"openid", "session_key", "unionid"}
    assert (session["openid"], session["unionid"]) == (login["openid"], login["unionid"])
    assert len(session["session_key"]) == 24

    again = await get(client, "/sns/jscode2session", None, **code_params(config, login["code"]))
    assert again == {"errcode": 40163, "errmsg": "code been used"}

    # A person keeps one mini-program openid across logins; the account's user info shares the
    # unionid.
    second = await wx_login(client)
    assert (second["openid"], second["unionid"]) == (login["openid"], login["unionid"])
    assert second["code"] != login["code"]
    token = await get_token(client, config)
    info = await get(client, "/cgi-bin/user/info", token, openid="o_alice")
    assert (info["openid"], info["unionid"]) == ("o_alice", login["unionid"])


async def test_each_person_has_their_own_openid_and_unionid(client: TestClient) -> None:
    await fan(client, "o_alice")
    await fan(client, "o_bob")
    alice, bob = await wx_login(client, "o_alice"), await wx_login(client, "o_bob")
    assert alice["openid"] != bob["openid"] and alice["unionid"] != bob["unionid"]


async def test_jscode2session_answers_the_platforms_errcodes(
    client: TestClient, config: Config
) -> None:
    await fan(client)
    code = (await wx_login(client))["code"]
    cases = [
        ({"appid": config.wechat.app_id}, 40013),  # the account's appid is not the mini program's
        ({"secret": config.wechat.app_secret}, 40125),
        ({"js_code": "not-a-code-anyone-was-given"}, 40029),
        ({"appid": ""}, 41002),
        ({"secret": ""}, 41004),
        ({"js_code": ""}, 41008),
        ({"grant_type": "client_credential"}, 40002),
    ]
    for changed, errcode in cases:
        body = await get(
            client, "/sns/jscode2session", None, **code_params(config, code, **changed)
        )
        assert body["errcode"] == errcode, (changed, body)
    # None of the refusals used the code up.
    body = await get(client, "/sns/jscode2session", None, **code_params(config, code))
    assert "openid" in body


async def test_a_code_expires_after_five_minutes_of_the_emulated_clock(
    client: TestClient, config: Config, clock: FrozenClock
) -> None:
    await fan(client)
    fresh, stale = (await wx_login(client))["code"], (await wx_login(client))["code"]
    clock.advance(timedelta(minutes=4, seconds=59))
    assert "openid" in await get(client, "/sns/jscode2session", None, **code_params(config, fresh))
    clock.advance(timedelta(seconds=1))
    body = await get(client, "/sns/jscode2session", None, **code_params(config, stale))
    assert body == {"errcode": 40029, "errmsg": "invalid code"}


async def test_console_login_refuses_unknown_fans_and_bad_bodies(client: TestClient) -> None:
    response = await client.post("/console/api/miniprogram/login", json={"fan": "o_nobody"})
    assert response.status == 404 and "o_nobody" in await response.text()
    for bad in ({}, {"fan": 3}, {"fan": "a b"}, {"fan": "o_x", "extra": 1}):
        response = await client.post("/console/api/miniprogram/login", json=bad)
        assert response.status == 400, bad


async def test_each_apps_token_works_only_on_its_own_apis(
    client: TestClient, config: Config
) -> None:
    await fan(client)
    program_token = await miniprogram_token(client, config)
    account_token = await get_token(client, config)
    body = {"touser": "x", "template_id": "y", "data": {}}
    refused = await post(client, "/cgi-bin/message/subscribe/send", account_token, body)
    assert refused == {"errcode": 48001, "errmsg": "api unauthorized"}
    info = await get(client, "/cgi-bin/user/info", program_token, openid="o_alice")
    assert info == {"errcode": 48001, "errmsg": "api unauthorized"}
    wrong = await get(
        client,
        "/cgi-bin/token",
        None,
        grant_type="client_credential",
        appid=config.miniprogram.app_id,
        secret=config.wechat.app_secret,
    )
    assert wrong["errcode"] == 40125
    # A new mini-program token leaves the account's token alone (tokens are per app).
    await miniprogram_token(client, config)
    assert (await get(client, "/cgi-bin/user/info", account_token, openid="o_alice"))["openid"]


async def make_template(client: TestClient, config: Config) -> str:
    status, created = await admin_api(
        client, config, "POST", "miniprogram/templates", ORDER_TEMPLATE
    )
    assert status == 201, created
    return created["template"]["id"]


async def allow(client: TestClient, template_id: str, openid: str = "o_alice") -> dict[str, Any]:
    response = await client.post(
        "/console/api/miniprogram/subscribe", json={"fan": openid, "template_id": template_id}
    )
    assert response.status == 200, await response.text()
    return await response.json()


async def test_a_subscribe_message_needs_a_grant_and_uses_it_up(
    client: TestClient, config: Config
) -> None:
    template_id = await make_template(client, config)
    status, listed = await admin_api(client, config, "GET", "miniprogram/templates")
    assert status == 200
    assert [t["id"] for t in listed["templates"]] == [template_id]
    assert listed["templates"][0]["keywords"] == ORDER_TEMPLATE["keywords"]

    await fan(client)
    openid = (await wx_login(client))["openid"]
    token = await miniprogram_token(client, config)
    message = {
        "touser": openid,
        "template_id": template_id,
        "page": "pages/product/product?id=7",
        "data": ORDER_DATA,
    }
    refused = await post(client, "/cgi-bin/message/subscribe/send", token, message)
    assert refused == {"errcode": 43101, "errmsg": "user refuse to accept the msg"}

    await allow(client, template_id)
    granted = await allow(client, template_id)
    assert granted["openid"] == openid and granted["grants_left"] == {template_id: 2}
    for _ in range(2):
        sent = await post(client, "/cgi-bin/message/subscribe/send", token, message)
        assert sent["errcode"] == 0 and sent["msgid"] > 0, sent
    refused = await post(client, "/cgi-bin/message/subscribe/send", token, message)
    assert refused["errcode"] == 43101

    state = await (await client.get("/console/api/miniprogram/state?fan=o_alice")).json()
    assert state["openid"] == openid and state["grants_left"] == {}
    shown = state["messages"][0]
    assert shown["title"] == "订单发货通知" and shown["page"] == "pages/product/product?id=7"
    assert shown["lines"] == [
        {"name": "订单号", "value": "WS20261206-0042"},
        {"name": "商品名称", "value": "巧克力礼盒"},
        {"name": "金额", "value": "¥39.80"},
    ]
    assert len(state["messages"]) == 2


async def test_bad_sends_get_the_platforms_errcodes_and_keep_the_grant(
    client: TestClient, config: Config
) -> None:
    template_id = await make_template(client, config)
    await fan(client)
    openid = (await wx_login(client))["openid"]
    await allow(client, template_id)
    token = await miniprogram_token(client, config)
    good = {"touser": openid, "template_id": template_id, "data": ORDER_DATA}
    too_long = {**ORDER_DATA, "thing2": {"value": "一" * 21}}
    not_amount = {**ORDER_DATA, "amount3": {"value": "39.8 dollars"}}
    cases = [
        ({"touser": "o_alice"}, 40003),  # the account's openid, not the mini program's
        ({"touser": None}, 40003),
        ({"template_id": "no-such-template"}, 40037),
        ({"data": {"thing2": {"value": "x"}}}, 47003),
        ({"data": too_long}, 47003),
        ({"data": not_amount}, 47003),
        ({"data": "text"}, 47003),
        ({"page": "pages/nowhere/nowhere"}, 41030),
        ({"miniprogram_state": "beta"}, 40097),
    ]
    for changed, errcode in cases:
        body = await post(client, "/cgi-bin/message/subscribe/send", token, good | changed)
        assert body["errcode"] == errcode, (changed, body)
    assert (await post(client, "/cgi-bin/message/subscribe/send", token, good))["errcode"] == 0
    error = await post(client, "/cgi-bin/message/subscribe/send", token, {**good, "data": {}})
    assert error["errmsg"] == "argument invalid! data.character_string1.value is empty"


async def test_a_deactivated_template_takes_no_grants_or_sends(
    client: TestClient, config: Config
) -> None:
    template_id = await make_template(client, config)
    await fan(client)
    openid = (await wx_login(client))["openid"]
    await allow(client, template_id)
    status, _ = await admin_api(
        client, config, "POST", f"miniprogram/templates/{template_id}/deactivate"
    )
    assert status == 200
    response = await client.post(
        "/console/api/miniprogram/subscribe", json={"fan": "o_alice", "template_id": template_id}
    )
    assert response.status == 404
    token = await miniprogram_token(client, config)
    body = {"touser": openid, "template_id": template_id, "data": ORDER_DATA}
    assert (await post(client, "/cgi-bin/message/subscribe/send", token, body))["errcode"] == 40037


async def test_admin_refuses_bad_templates(client: TestClient, config: Config) -> None:
    bad_bodies = [
        {"title": "t", "keywords": []},
        {"title": "t", "keywords": [{"key": "bogus1", "name": "x"}]},
        {
            "title": "t",
            "keywords": [{"key": "thing1", "name": "x"}, {"key": "thing1", "name": "y"}],
        },
        {"title": "", "keywords": [{"key": "thing1", "name": "x"}]},
        {"title": "t", "keywords": "thing1"},
    ]
    for bad in bad_bodies:
        status, body = await admin_api(client, config, "POST", "miniprogram/templates", bad)
        assert status == 400 and body["field"] in ("keywords", "title"), (bad, body)
    status, listed = await admin_api(client, config, "GET", "miniprogram/templates")
    assert listed == {"templates": []}


def dark_pixels(png: bytes) -> list[list[bool]]:
    """Which pixels of a 1-bit greyscale PNG (segno's kind) are dark, read with the stdlib."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pos, header, data = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        data += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert (depth, colour) == (1, 0), "1-bit greyscale"
    raw, stride = zlib.decompress(data), (width + 7) // 8
    previous, rows = bytes(stride), []
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            left = line[x - 1] if x else 0
            up, corner = previous[x], previous[x - 1] if x else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                near = min((abs(guess - left), 0, left), (abs(guess - up), 1, up))
                near = min(near, (abs(guess - corner), 2, corner))
                line[x] = (line[x] + near[2]) & 0xFF
        previous = bytes(line)
        rows.append([bit == "0" for bit in "".join(f"{b:08b}" for b in line)[:width]])
    return rows


def modules_of(png: bytes, *, size: int, border: int) -> list[list[bool]]:
    """The QR modules a scanner reads: the centre pixel of each module, quiet zone left out."""
    pixels = dark_pixels(png)
    scale = len(pixels) // (size + 2 * border)
    return [
        [
            pixels[(border + y) * scale + scale // 2][(border + x) * scale + scale // 2]
            for x in range(size)
        ]
        for y in range(size)
    ]


async def test_a_mini_program_code_is_a_png_qr_code_that_opens_the_page_with_the_scene(
    client: TestClient, config: Config
) -> None:
    token = await miniprogram_token(client, config)
    response = await client.post(
        "/wxa/getwxacodeunlimit",
        params={"access_token": token},
        data=json.dumps({"scene": "store=3&from=poster", "page": "pages/store/store"}),
    )
    assert response.status == 200 and response.content_type == "image/png"
    png = await response.read()

    # The image is exactly the QR code of the link that opens the page with the scene.
    link = (
        f"{config.server.base_url}/wxa/open?appid={config.miniprogram.app_id}"
        "&page=pages%2Fstore%2Fstore&scene=store%3D3%26from%3Dposter"
    )
    expected = segno.make_qr(link, error="m")
    size = len(expected.matrix)
    assert modules_of(png, size=size, border=4) == [
        [bool(m) for m in row] for row in expected.matrix
    ]
    assert 280 <= len(dark_pixels(png)) <= 430

    scanned = await client.get(
        urlsplit(link).path + "?" + urlsplit(link).query, allow_redirects=False
    )
    assert scanned.status == 302
    target = urlsplit(scanned.headers["Location"])
    assert target.path == "/console"
    assert parse_qs(target.query) == {
        "miniprogram": ["pages/store/store"],
        "scene": ["store=3&from=poster"],
    }


async def test_bad_code_requests_get_the_platforms_errcodes(
    client: TestClient, config: Config, wechat: Emulator
) -> None:
    token = await miniprogram_token(client, config)
    cases = [
        ({"scene": "x" * 33}, 40169),
        ({"scene": "中文"}, 40169),
        ({"page": "pages/store/store"}, 40169),
        ({"scene": "a", "page": "/pages/store/store"}, 41030),
        ({"scene": "a", "page": "pages/store/store?id=1"}, 41030),
        ({"scene": "a", "page": "pages/nowhere/nowhere"}, 41030),
        ({"scene": "a", "width": "big"}, 40097),
    ]
    for body, errcode in cases:
        answer = await post(client, "/wxa/getwxacodeunlimit", token, body)
        assert answer["errcode"] == errcode, (body, answer)
    unchecked = {"scene": "a", "page": "pages/next/next", "check_path": False}
    response = await client.post(
        "/wxa/getwxacodeunlimit", params={"access_token": token}, data=json.dumps(unchecked)
    )
    assert response.content_type == "image/png"
    account = await get_token(client, config)
    assert (await post(client, "/wxa/getwxacodeunlimit", account, {"scene": "a"}))[
        "errcode"
    ] == 48001


async def test_the_demo_data_ships_templates_a_backend_can_send_at_once(
    client: TestClient, config: Config, sessions, clock: FrozenClock
) -> None:
    async with sessions() as session, session.begin():
        await seed_demo(session, now=clock.now())
    status, listed = await admin_api(client, config, "GET", "miniprogram/templates")
    ids = [template["id"] for template in listed["templates"]]
    assert status == 200 and ids == [t["template_id"] for t in DEMO_TEMPLATES]
    await fan(client)
    openid = (await wx_login(client))["openid"]
    await allow(client, ids[1])
    token = await miniprogram_token(client, config)
    data = {"number1": {"value": 120}, "thing2": {"value": "消费 Purchase"}}
    body = {"touser": openid, "template_id": ids[1], "data": data}
    assert (await post(client, "/cgi-bin/message/subscribe/send", token, body))["errcode"] == 0


async def test_the_console_knows_a_web_page_for_every_page_of_the_mini_program(
    client: TestClient, config: Config, sessions, clock: FrozenClock
) -> None:
    async with sessions() as session, session.begin():
        await seed_demo(session, now=clock.now())
    await fan(client)
    state = await (await client.get("/console/api/miniprogram/state?fan=o_alice")).json()
    assert [page["path"] for page in state["pages"]] == list(miniprogram.PAGES)
    for page in state["pages"]:
        for url in (page["url"].replace("{id}", "1"), page["fallback"]):
            assert (await client.get(url)).status == 200, (page, url)


async def test_a_code_exchanged_twice_at_once_answers_one_session(
    client: TestClient, config: Config
) -> None:
    await fan(client)
    code = (await wx_login(client))["code"]
    answers = await asyncio.gather(
        *(get(client, "/sns/jscode2session", None, **code_params(config, code)) for _ in range(4))
    )
    assert sorted(answer.get("errcode", 0) for answer in answers) == [0, 40163, 40163, 40163]


async def test_one_grant_sent_on_twice_at_once_delivers_one_message(
    client: TestClient, config: Config
) -> None:
    template_id = await make_template(client, config)
    await fan(client)
    openid = (await wx_login(client))["openid"]
    await allow(client, template_id)
    token = await miniprogram_token(client, config)
    body = {"touser": openid, "template_id": template_id, "data": ORDER_DATA}
    answers = await asyncio.gather(
        *(post(client, "/cgi-bin/message/subscribe/send", token, body) for _ in range(3))
    )
    assert sorted(answer["errcode"] for answer in answers) == [0, 43101, 43101]
    state = await (await client.get("/console/api/miniprogram/state?fan=o_alice")).json()
    assert len(state["messages"]) == 1


async def test_the_admin_form_gives_keywords_one_a_line(
    client: TestClient, config: Config
) -> None:
    lines = "character_string1 订单号\n\nthing2  商品名称 \n"
    body = {"title": "订单", "keywords": lines}
    status, created = await admin_api(client, config, "POST", "miniprogram/templates", body)
    assert status == 201, created
    assert created["template"]["keywords"] == [
        {"key": "character_string1", "name": "订单号"},
        {"key": "thing2", "name": "商品名称"},
    ]
    status, refused = await admin_api(
        client, config, "POST", "miniprogram/templates", {"title": "t", "keywords": "thing1"}
    )
    assert status == 400 and refused["field"] == "keywords"
