"""Hostile input: each rejection is a status and a short reason, nothing is stored, and the
server keeps serving."""

import io
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient

from botstore.app import create_app
from botstore.clock import FrozenClock, wall_now
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import Fan, InboundMessage, LedgerTransaction, ProcessedMessage
from botstore.wechat import sign
from tests.helpers import count

TOPUP = {
    "ToUserName": "gh_97417a04a28d",
    "FromUserName": "o_mallory",
    "CreateTime": 0,
    "MsgType": "text",
    "Content": "topup 100",
    "MsgId": 99,
}

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>gh_97417a04a28d</ToUserName><FromUserName>o_m</FromUserName>
<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh_97417a04a28d</ToUserName><FromUserName>o_m</FromUserName>
<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"""


async def assert_nothing_stored(sessions) -> None:
    for table in (InboundMessage, ProcessedMessage, Fan, LedgerTransaction):
        assert await count(sessions, table) == 0, table.__name__


def fields(wechat: Emulator) -> dict:
    return TOPUP | {"CreateTime": wechat.now()}


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ("<xml><ToUserName>", 400, "bad XML: "),
        ("not xml at all", 400, "bad XML: "),
        (BILLION_LAUGHS, 400, "bad XML: "),
        (EXTERNAL_ENTITY, 400, "bad XML: "),
        ("<root><a>1</a></root>", 400, "bad XML: "),
        ("<xml><ToUserName>gh_97417a04a28d</ToUserName></xml>", 400, "bad message: "),
        (
            "<xml><ToUserName>gh_97417a04a28d</ToUserName><FromUserName>o</FromUserName>"
            "<CreateTime>soon</CreateTime><MsgType>text</MsgType></xml>",
            400,
            "bad message: ",
        ),
    ],
    ids=[
        "truncated",
        "not-xml",
        "billion-laughs",
        "external-entity",
        "wrong-root",
        "missing-fields",
        "bad-createtime",
    ],
)
async def test_bad_bodies_are_refused(
    wechat: Emulator, sessions, body: str, status: int, reason: str
) -> None:
    exchange = await wechat.post(fields(wechat), body=body)
    assert exchange.status == status
    assert exchange.body.startswith(reason), exchange.body
    assert len(exchange.body) < 200
    await assert_nothing_stored(sessions)
    assert (await wechat.say("balance", fan="o_ok")).content == "Your balance: ¥0.00"


async def test_oversized_body_gets_413(wechat: Emulator, sessions, config: Config) -> None:
    huge = b"<xml><Content>" + b"x" * config.server.max_body_bytes + b"</Content></xml>"
    response = await wechat.transport.post(
        "/wechat", params=wechat.signed_query(), data=io.BytesIO(huge)
    )
    assert response.status == 413
    await assert_nothing_stored(sessions)
    assert (await wechat.say("balance", fan="o_ok")).status == 200


async def test_bad_signature_gets_403(wechat: Emulator, sessions) -> None:
    query = wechat.signed_query()
    query["signature"] = sign("wrong-token", query["timestamp"], query["nonce"])
    exchange = await wechat.post(fields(wechat), query=query)
    assert (exchange.status, exchange.body) == (403, "bad signature")
    await assert_nothing_stored(sessions)


@pytest.mark.parametrize("missing", ["signature", "timestamp", "nonce"])
async def test_missing_query_parameters_get_400(wechat: Emulator, sessions, missing: str) -> None:
    query = wechat.signed_query()
    del query[missing]
    exchange = await wechat.post(fields(wechat), query=query)
    assert (exchange.status, exchange.body) == (400, f"missing {missing}")
    await assert_nothing_stored(sessions)


async def test_stale_timestamp_gets_403(wechat: Emulator, sessions) -> None:
    exchange = await wechat.post(fields(wechat), timestamp=wechat.now() - 301)
    assert (exchange.status, exchange.body) == (403, "stale timestamp")
    assert (await wechat.post(fields(wechat), timestamp=wechat.now() - 299)).status == 200


async def test_timestamp_window_zero_turns_the_check_off(
    aiohttp_client, config: Config, clock: FrozenClock
) -> None:
    app = create_app(config.replace(wechat={"timestamp_window_seconds": 0}), clock=clock)
    wechat = Emulator(await aiohttp_client(app), "/wechat", config.wechat, clock=clock)
    exchange = await wechat.post(fields(wechat), timestamp=wechat.now() - 10**6)
    assert exchange.status == 200


async def test_bad_msg_signature_gets_403_before_decrypting(wechat: Emulator, sessions) -> None:
    honest = await wechat.post(fields(wechat), encrypt=True, body=None)
    assert honest.status == 200
    query = dict(honest.query) | {"msg_signature": "12345"}
    tampered = await wechat.post(fields(wechat) | {"MsgId": 100}, encrypt=True, query=query)
    assert (tampered.status, tampered.body) == (403, "bad msg_signature")


async def test_missing_msg_signature_gets_400(wechat: Emulator, sessions) -> None:
    query = wechat.signed_query()
    body = "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><Encrypt><![CDATA[abc]]></Encrypt></xml>"
    exchange = await wechat.post(fields(wechat), query=query, body=body)
    assert (exchange.status, exchange.body) == (400, "missing msg_signature")
    await assert_nothing_stored(sessions)


@pytest.mark.parametrize(
    "encrypted",
    ["not base64!!", "QUJD", "A" * 43 + "="],
    ids=["not-base64", "short", "one-block-garbage"],
)
async def test_undecryptable_gets_400(wechat: Emulator, sessions, encrypted: str) -> None:
    query = wechat.signed_query()
    query["msg_signature"] = sign("AAAAA", query["timestamp"], query["nonce"], encrypted)
    query["encrypt_type"] = "aes"
    body = f"<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    exchange = await wechat.post(fields(wechat), query=query, body=body)
    assert exchange.status == 400
    assert exchange.body.startswith("undecryptable: "), exchange.body
    await assert_nothing_stored(sessions)


async def test_wrong_appid_in_ciphertext_gets_400(
    client: TestClient, config: Config, clock: FrozenClock, sessions
) -> None:
    other = Emulator(
        client,
        "/wechat",
        config.replace(wechat={"app_id": "wx0000000000000000"}).wechat,
        clock=clock,
        encrypt=True,
    )
    exchange = await other.post(fields(other))
    assert exchange.status == 400
    assert "appid" in exchange.body
    await assert_nothing_stored(sessions)


async def test_rejections_do_not_disturb_a_later_honest_message(wechat: Emulator) -> None:
    for body in (BILLION_LAUGHS, EXTERNAL_ENTITY, "<xml>"):
        await wechat.post(fields(wechat), body=body)
    honest = await wechat.post(fields(wechat))
    assert honest.content == "Topped up ¥100.00. Balance: ¥100.00"


async def test_decryptable_json_is_not_a_message(wechat: Emulator, sessions) -> None:
    # wechat-protocol.md 6.4: our key and appid, but the plaintext is JSON.
    encrypted = (
        "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ=="
    )
    query = wechat.signed_query()
    query["msg_signature"] = sign("AAAAA", query["timestamp"], query["nonce"], encrypted)
    body = f"<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    exchange = await wechat.post(fields(wechat), query=query, body=body)
    assert (exchange.status, exchange.body) == (400, "bad message: malformed XML")
    await assert_nothing_stored(sessions)


@pytest.mark.parametrize(
    "override",
    [
        {"FromUserName": "o" * 65},
        {"MsgType": "x" * 33},
        {"MsgId": "9" * 30},
        {"ToUserName": "g" * 65},
    ],
    ids=["long-openid", "long-msgtype", "long-msgid", "long-account"],
)
async def test_absurdly_long_identifiers_get_400(
    wechat: Emulator, sessions, override: dict
) -> None:
    exchange = await wechat.post(fields(wechat) | override)
    assert exchange.status == 400
    assert "longer than" in exchange.body or "is not an integer" in exchange.body
    await assert_nothing_stored(sessions)


async def test_a_view_with_a_very_long_url_is_recorded(wechat: Emulator, sessions) -> None:
    url = "https://example.com/" + "a" * 1000
    exchange = await wechat.event("VIEW", fan="o_a", event_key=url, extra={"MenuId": 1})
    assert exchange.is_success
    assert await count(sessions, InboundMessage) == 1


async def test_real_time_stays_fresh_after_the_emulated_clock_moves(
    wechat: Emulator, clock: FrozenClock
) -> None:
    # The frozen clock stands in 2026-01; a real client stamps the wall time.
    real_now = int(wall_now().timestamp())
    assert (await wechat.post(fields(wechat), timestamp=real_now)).status == 200
    clock.advance(timedelta(days=30))
    assert (await wechat.post(fields(wechat) | {"MsgId": 101}, timestamp=real_now)).status == 200
    assert (await wechat.post(fields(wechat) | {"MsgId": 102})).status == 200
    stale = await wechat.post(fields(wechat) | {"MsgId": 103}, timestamp=real_now - 10**6)
    assert (stale.status, stale.body) == (403, "stale timestamp")
