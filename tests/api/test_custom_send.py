"""POST /cgi-bin/message/custom/send (wechat-protocol.md 7.2): every message type into the fan's
outbox in the official shape, the interaction window (45015) and its message count (45047)."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.services import messages
from tests.api.cgi import OK, get_token, post

SEND = "/cgi-bin/message/custom/send"
FAN = "o_fan"

# Every shape of §7.2, as a client sends it and as the outbox must keep it.
SHAPES: list[dict[str, Any]] = [
    {"msgtype": "text", "text": {"content": "Hello\n<a href='https://example.com'>link</a>"}},
    {"msgtype": "image", "image": {"media_id": "MEDIA_ID"}},
    {"msgtype": "voice", "voice": {"media_id": "MEDIA_ID"}},
    {
        "msgtype": "video",
        "video": {
            "media_id": "MEDIA_ID",
            "thumb_media_id": "THUMB",
            "title": "T",
            "description": "D",
        },
    },
    {
        "msgtype": "music",
        "music": {
            "title": "T",
            "description": "D",
            "musicurl": "URL",
            "hqmusicurl": "HQ_URL",
            "thumb_media_id": "THUMB",
        },
    },
    {
        "msgtype": "news",
        "news": {"articles": [{"title": "T", "description": "D", "url": "URL", "picurl": "PIC"}]},
    },
    {"msgtype": "mpnews", "mpnews": {"media_id": "MEDIA_ID"}},
    {"msgtype": "mpnewsarticle", "mpnewsarticle": {"article_id": "ARTICLE_ID"}},
    {
        "msgtype": "msgmenu",
        "msgmenu": {
            "head_content": "H",
            "list": [{"id": "101", "content": "yes"}, {"id": "102", "content": "no"}],
            "tail_content": "T",
        },
    },
    {"msgtype": "wxcard", "wxcard": {"card_id": "CARD_ID"}},
    {
        "msgtype": "miniprogrampage",
        "miniprogrampage": {
            "title": "T",
            "appid": "APPID",
            "pagepath": "pages/index",
            "thumb_media_id": "THUMB",
        },
    },
    {
        "msgtype": "text",
        "text": {"content": "from a kf"},
        "customservice": {"kf_account": "x@y"},
    },
]


Send = Callable[[Any], Awaitable[dict[str, Any]]]


@pytest.fixture
async def token(client: TestClient, config: Config) -> str:
    return await get_token(client, config)


@pytest.fixture
def send(client: TestClient, config: Config) -> Send:
    """custom/send with a fresh token: the window tests outlast one."""

    async def send(body: Any) -> dict[str, Any]:
        return await post(client, SEND, await get_token(client, config), body)

    return send


async def sent(sessions, openid: str = FAN) -> list[dict[str, Any]]:
    async with sessions() as session:
        outbox = await messages.outbox(session, openid)
    return [message.payload for message in outbox if message.reason == "custom_send"]


async def test_every_message_type_lands_in_the_outbox_in_the_official_shape(
    client: TestClient, token: str, wechat: Emulator, clock: FrozenClock, sessions
) -> None:
    for shape in SHAPES:
        clock.advance(timedelta(seconds=1))
        await wechat.say("hi", fan=FAN)  # a fresh window for each
        assert await post(client, SEND, token, {"touser": FAN, **shape}) == OK
    assert await sent(sessions) == [{"touser": FAN, **shape} for shape in SHAPES]


async def test_unknown_fields_are_left_out_of_the_outbox(
    client: TestClient, token: str, wechat: Emulator, sessions
) -> None:
    await wechat.say("hi", fan=FAN)
    body = {
        "touser": FAN,
        "msgtype": "text",
        "text": {"content": "x", "extra": 1},
        "image": {"media_id": "ignored"},
        "debug": True,
    }
    assert await post(client, SEND, token, body) == OK
    assert await sent(sessions) == [{"touser": FAN, "msgtype": "text", "text": {"content": "x"}}]


def text(content: str = "x", touser: str = FAN) -> dict[str, Any]:
    return {"touser": touser, "msgtype": "text", "text": {"content": content}}


REFUSED: list[tuple[Any, int, str]] = [
    (text(touser="o_stranger"), 40003, "invalid openid"),
    ({"msgtype": "text", "text": {"content": "x"}}, 40003, "invalid openid"),
    ({**text(), "touser": 5}, 40003, "invalid openid"),
    ({"touser": FAN, "text": {"content": "x"}}, 40008, "invalid message type"),
    ({"touser": FAN, "msgtype": "sticker", "sticker": {}}, 40008, "invalid message type"),
    ({"touser": FAN, "msgtype": "text"}, 47001, "data format error hint: text must be an object"),
    ({"touser": FAN, "msgtype": "text", "text": "hi"}, 47001, "text must be an object"),
    (text(""), 44004, "empty content"),
    ({"touser": FAN, "msgtype": "text", "text": {}}, 44004, "empty content"),
    (text("x" * 2049), 45002, "content size out of limit"),
    (text("字" * 683), 45002, "content size out of limit"),  # 2049 bytes
    (
        {"touser": FAN, "msgtype": "news", "news": {"articles": [{"title": "a"}] * 2}},
        45008,
        "article size out of limit",
    ),
    ({"touser": FAN, "msgtype": "news", "news": {"articles": []}}, 44003, "empty news data"),
    ({"touser": FAN, "msgtype": "news", "news": {}}, 47001, "news.articles must be a list"),
    (
        {"touser": FAN, "msgtype": "news", "news": {"articles": [{"title": 1}]}},
        47001,
        "news.articles[].title must be a non-empty string",
    ),
    ({"touser": FAN, "msgtype": "image", "image": {}}, 40007, "invalid media_id"),
    ({"touser": FAN, "msgtype": "voice", "voice": {"media_id": ""}}, 40007, "invalid media_id"),
    ({"touser": FAN, "msgtype": "video", "video": {"title": "t"}}, 40007, "invalid media_id"),
    (
        {"touser": FAN, "msgtype": "music", "music": {"musicurl": "u", "hqmusicurl": "h"}},
        40007,
        "invalid media_id",
    ),
    (
        {"touser": FAN, "msgtype": "music", "music": {"thumb_media_id": "t"}},
        47001,
        "music.musicurl",
    ),
    ({"touser": FAN, "msgtype": "mpnews", "mpnews": {"media_id": 7}}, 40007, "invalid media_id"),
    ({"touser": FAN, "msgtype": "mpnewsarticle", "mpnewsarticle": {}}, 47001, "article_id"),
    ({"touser": FAN, "msgtype": "msgmenu", "msgmenu": {"list": []}}, 47001, "msgmenu.list"),
    (
        {"touser": FAN, "msgtype": "msgmenu", "msgmenu": {"list": [{"id": "1"}]}},
        47001,
        "msgmenu.list[].content",
    ),
    ({"touser": FAN, "msgtype": "wxcard", "wxcard": {}}, 47001, "wxcard.card_id"),
    (
        {
            "touser": FAN,
            "msgtype": "miniprogrampage",
            "miniprogrampage": {"appid": "a", "thumb_media_id": "t"},
        },
        47001,
        "miniprogrampage.pagepath",
    ),
    (
        {
            "touser": FAN,
            "msgtype": "miniprogrampage",
            "miniprogrampage": {"appid": "a", "pagepath": "p"},
        },
        40007,
        "invalid media_id",
    ),
    ({**text(), "customservice": "kf"}, 47001, "customservice must be an object"),
    ({**text(), "customservice": {}}, 47001, "customservice.kf_account"),
    (b"{nope", 47001, "data format error hint: invalid JSON"),
    (b"[]", 47001, "the body must be a JSON object"),
    (b"", 44002, "empty post data"),
]


async def test_bad_messages_get_their_errcode_and_nothing_is_sent(
    client: TestClient, token: str, wechat: Emulator, sessions
) -> None:
    await wechat.say("hi", fan=FAN)
    for body, errcode, errmsg in REFUSED:
        answer = await post(client, SEND, token, body)
        assert (answer["errcode"], errmsg in answer["errmsg"]) == (errcode, True), (body, answer)
    assert await sent(sessions) == []
    assert await post(client, SEND, token, text()) == OK  # the window was not used up


WINDOW_CLOSED = {
    "errcode": 45015,
    "errmsg": "response out of time limit or subscription is canceled",
}


async def test_a_fan_message_opens_five_messages_for_48_hours(
    send: Send, wechat: Emulator, clock: FrozenClock, sessions
) -> None:
    await wechat.say("hi", fan=FAN)
    clock.advance(timedelta(hours=47, minutes=59))
    for n in range(5):
        assert await send(text(f"#{n}")) == OK
    assert (await send(text("#5")))["errcode"] == 45047
    clock.advance(timedelta(minutes=2))
    assert await send(text("late")) == WINDOW_CLOSED
    assert len(await sent(sessions)) == 5

    await wechat.say("again", fan=FAN)  # a new message opens a new window
    assert await send(text("#6")) == OK


async def test_the_window_is_48_hours_from_the_last_message(
    send: Send, wechat: Emulator, clock: FrozenClock, sessions
) -> None:
    await wechat.say("hi", fan=FAN)
    clock.advance(timedelta(hours=48))
    assert await send(text()) == WINDOW_CLOSED
    assert await sent(sessions) == []


@pytest.mark.parametrize(
    ("event", "event_key"),
    [("subscribe", None), ("CLICK", "help"), ("SCAN", "merchant_TEA01"), ("scancode_push", "k")],
)
async def test_a_follow_scan_or_menu_click_opens_three_messages_for_a_minute(
    send: Send,
    wechat: Emulator,
    clock: FrozenClock,
    sessions,
    event: str,
    event_key: str | None,
) -> None:
    extra = {"ScanCodeInfo": ""} if event == "scancode_push" else None
    await wechat.event(event, fan=FAN, event_key=event_key, extra=extra)
    clock.advance(timedelta(seconds=59))
    for n in range(3):
        assert await send(text(f"#{n}")) == OK
    assert (await send(text()))["errcode"] == 45047
    clock.advance(timedelta(seconds=2))
    assert await send(text()) == WINDOW_CLOSED
    assert len(await sent(sessions)) == 3


async def test_view_and_location_events_open_no_window(send: Send, wechat: Emulator) -> None:
    await wechat.event("VIEW", fan=FAN, event_key="https://example.com/")
    await wechat.event(
        "LOCATION",
        fan=FAN,
        extra={"Latitude": "23.1", "Longitude": "113.3", "Precision": "119.3"},
    )
    assert await send(text()) == WINDOW_CLOSED


async def test_an_unfollow_closes_the_window(send: Send, wechat: Emulator, sessions) -> None:
    await wechat.say("hi", fan=FAN)
    await wechat.event("unsubscribe", fan=FAN)
    assert await send(text()) == WINDOW_CLOSED
    await wechat.event("subscribe", fan=FAN)
    assert await send(text()) == OK


async def test_other_fans_windows_are_their_own(send: Send, wechat: Emulator, sessions) -> None:
    await wechat.say("hi", fan=FAN)
    await wechat.event("unsubscribe", fan="o_other")
    for n in range(5):
        assert await send(text(f"#{n}")) == OK
    await wechat.say("hi", fan="o_other")
    assert await send(text(touser="o_other")) == WINDOW_CLOSED
    await wechat.event("subscribe", fan="o_other")
    assert await send(text(touser="o_other")) == OK
    assert len(await sent(sessions, "o_other")) == 1


async def test_custom_send_checks_the_access_token(
    client: TestClient, config: Config, wechat: Emulator, clock: FrozenClock, sessions
) -> None:
    await wechat.say("hi", fan=FAN)
    assert await post(client, SEND, None, text()) == {
        "errcode": 41001,
        "errmsg": "access_token missing",
    }
    assert (await post(client, SEND, "forged", text()))["errcode"] == 40001
    token = await get_token(client, config)
    clock.advance(timedelta(seconds=7201))
    assert await post(client, SEND, token, text()) == {
        "errcode": 42001,
        "errmsg": "access_token expired",
    }
    assert await sent(sessions) == []
