"""POST /cgi-bin/message/template/send (wechat-protocol.md 7.4): into the fan's outbox with a
msgid, idempotent on client_msg_id, refused for strangers and former followers."""

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import OutboxMessage
from botstore.services import messages
from tests.api.cgi import get_token, post
from tests.helpers import count

SEND = "/cgi-bin/message/template/send"
FAN = "o_fan"
# The example of §7.4.
EXAMPLE: dict[str, Any] = {
    "touser": FAN,
    "template_id": "TEMPLATE_ID",
    "url": "http://weixin.qq.com/download",
    "miniprogram": {"appid": "MINIAPP_ID", "pagepath": "index?foo=bar"},
    "client_msg_id": "MSG_000001",
    "data": {"keyword1": {"value": "巧克力"}, "keyword2": {"value": "39.8元"}},
}


@pytest.fixture
async def token(client: TestClient, config: Config) -> str:
    return await get_token(client, config)


async def templates(sessions, openid: str = FAN) -> list[OutboxMessage]:
    async with sessions() as session:
        outbox = await messages.outbox(session, openid)
    return [message for message in outbox if message.reason == "template"]


async def test_a_template_message_goes_to_the_outbox_and_answers_its_msgid(
    client: TestClient, token: str, wechat: Emulator, sessions
) -> None:
    await wechat.event("subscribe", fan=FAN)
    answer = await post(client, SEND, token, EXAMPLE)
    assert list(answer) == ["errcode", "errmsg", "msgid"]
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok"
    [sent] = await templates(sessions)
    assert answer["msgid"] == sent.id
    assert sent.payload == EXAMPLE


async def test_optional_fields_may_be_left_out_and_legacy_colors_are_kept(
    client: TestClient, token: str, wechat: Emulator, sessions
) -> None:
    await wechat.say("hi", fan=FAN)  # a fan met through a message follows the account
    minimal = {"touser": FAN, "template_id": "T1", "data": {}}
    legacy = {
        "touser": FAN,
        "template_id": "T2",
        "url": "",
        "topcolor": "#FF0000",
        "data": {"first": {"value": 12.5, "color": "#173177"}, "remark": {"value": "ok"}},
        "unknown": "dropped",
    }
    first = await post(client, SEND, token, minimal)
    second = await post(client, SEND, token, legacy)
    assert second["msgid"] > first["msgid"]
    assert [message.payload for message in await templates(sessions)] == [
        minimal,
        {
            "touser": FAN,
            "template_id": "T2",
            "data": {"first": {"value": "12.5", "color": "#173177"}, "remark": {"value": "ok"}},
            "topcolor": "#FF0000",
        },
    ]


async def test_client_msg_id_sends_once_per_fan_for_ten_minutes(
    client: TestClient, config: Config, wechat: Emulator, clock: FrozenClock, sessions
) -> None:
    await wechat.event("subscribe", fan=FAN)
    await wechat.event("subscribe", fan="o_other")
    token = await get_token(client, config)
    first = await post(client, SEND, token, EXAMPLE)
    assert await post(client, SEND, token, EXAMPLE) == first
    other = await post(client, SEND, token, {**EXAMPLE, "touser": "o_other"})
    assert other["msgid"] != first["msgid"]
    assert len(await templates(sessions)) == 1
    clock.advance(timedelta(minutes=10, seconds=1))
    token = await get_token(client, config)
    again = await post(client, SEND, token, EXAMPLE)
    assert again["msgid"] != first["msgid"]
    assert len(await templates(sessions)) == 2


REFUSED: list[tuple[Any, int, str]] = [
    ({**EXAMPLE, "touser": "o_stranger"}, 40003, "invalid openid"),
    ({k: v for k, v in EXAMPLE.items() if k != "touser"}, 40003, "invalid openid"),
    ({k: v for k, v in EXAMPLE.items() if k != "template_id"}, 40037, "invalid template_id"),
    ({**EXAMPLE, "template_id": ""}, 40037, "invalid template_id"),
    ({**EXAMPLE, "template_id": 5}, 40037, "invalid template_id"),
    ({**EXAMPLE, "template_id": "x" * 65}, 40037, "invalid template_id"),
    ({**EXAMPLE, "url": 5}, 47001, "template.url must be"),
    ({**EXAMPLE, "miniprogram": "wx"}, 47001, "miniprogram must be an object"),
    ({**EXAMPLE, "miniprogram": {"pagepath": "p"}}, 47001, "miniprogram.appid"),
    ({**EXAMPLE, "client_msg_id": "x" * 65}, 47001, "client_msg_id is over 64"),
    ({**EXAMPLE, "data": []}, 47001, "data must be an object"),
    ({**EXAMPLE, "data": {"k": "v"}}, 47001, "data.k must be an object"),
    ({**EXAMPLE, "data": {"k": {}}}, 47001, "data.k.value must be a string"),
    ({**EXAMPLE, "data": {"k": {"value": True}}}, 47001, "data.k.value must be a string"),
    ({**EXAMPLE, "data": {"k": {"value": "v", "color": 1}}}, 47001, "data.k.color"),
    (b"{nope", 47001, "invalid JSON"),
    (b"", 44002, "empty post data"),
]


async def test_bad_template_sends_get_their_errcode_and_nothing_is_sent(
    client: TestClient, token: str, wechat: Emulator, sessions
) -> None:
    await wechat.event("subscribe", fan=FAN)
    for body, errcode, errmsg in REFUSED:
        answer = await post(client, SEND, token, body)
        assert (answer["errcode"], errmsg in answer["errmsg"]) == (errcode, True), (body, answer)
    assert await count(sessions, OutboxMessage) == 0


async def test_a_former_follower_gets_43004(
    client: TestClient, token: str, wechat: Emulator, sessions
) -> None:
    await wechat.event("subscribe", fan=FAN)
    await wechat.event("unsubscribe", fan=FAN)
    assert await post(client, SEND, token, EXAMPLE) == {
        "errcode": 43004,
        "errmsg": "require subscribe",
    }
    assert await count(sessions, OutboxMessage) == 0


async def test_template_messages_need_no_interaction_window(
    client: TestClient, config: Config, wechat: Emulator, clock: FrozenClock
) -> None:
    await wechat.event("subscribe", fan=FAN)
    clock.advance(timedelta(days=30))
    answer = await post(client, SEND, await get_token(client, config), EXAMPLE)
    assert answer["errcode"] == 0


async def test_template_send_checks_the_access_token(
    client: TestClient, config: Config, wechat: Emulator, clock: FrozenClock, sessions
) -> None:
    await wechat.event("subscribe", fan=FAN)
    assert await post(client, SEND, None, EXAMPLE) == {
        "errcode": 41001,
        "errmsg": "access_token missing",
    }
    assert (await post(client, SEND, "forged", EXAMPLE))["errcode"] == 40001
    token = await get_token(client, config)
    clock.advance(timedelta(seconds=7201))
    assert await post(client, SEND, token, EXAMPLE) == {
        "errcode": 42001,
        "errmsg": "access_token expired",
    }
    assert await count(sessions, OutboxMessage) == 0
