"""The wire protocol through the real app: verification, the three modes, the official vectors,
every message type, every reply type."""

from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient
from sqlmodel import select

from botstore.app import create_app
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import Fan, InboundMessage, ProcessedMessage
from botstore.wechat import (
    ImageReply,
    MusicReply,
    NewsReply,
    TextReply,
    TransferCustomerServiceReply,
    VideoReply,
    VoiceReply,
    WeChatCrypto,
    parse_reply,
)
from handlers import ROUTERS
from tests.helpers import count, probe


def at(timestamp: int) -> FrozenClock:
    return FrozenClock(datetime.fromtimestamp(timestamp, UTC))


@pytest.fixture
def app(config: Config, clock: FrozenClock):  # type: ignore[no-untyped-def]
    return create_app(config, clock=clock, routers=[*ROUTERS, probe])


async def test_url_verification_echoes_echostr_of_the_official_vector(
    aiohttp_client, config: Config
) -> None:
    # wechat-protocol.md 6.1
    client = await aiohttp_client(create_app(config, clock=at(1714036504)))
    query = {
        "signature": "f464b24fc39322e44b38aa78f5edd27bd1441696",
        "timestamp": "1714036504",
        "nonce": "1514711492",
        "echostr": "4375120948345356249",
    }
    response = await client.get("/wechat", params=query)
    assert response.status == 200
    assert await response.read() == b"4375120948345356249"

    response = await client.get("/wechat", params=query | {"nonce": "1514711493"})
    assert response.status == 403
    assert await response.text() == "bad signature"


async def test_url_verification_through_the_emulator(wechat: Emulator) -> None:
    assert await wechat.verify(echostr="12345") == (200, "12345")
    status, body = await wechat.verify(echostr="12345", signature="0" * 40)
    assert (status, body) == (403, "bad signature")


async def test_safe_mode_push_of_the_derived_vector_decrypts_and_gets_an_encrypted_reply(
    aiohttp_client, config: Config, sessions_of
) -> None:
    # wechat-protocol.md 6.10(b): the token, key, appid and account of the conftest config.
    app = create_app(config.replace(wechat={"mode": "safe"}), clock=at(1714112445))
    client = await aiohttp_client(app)
    encrypted = (
        "+qdx1OKCy+5JPCBFWw70tjV75psTsmZEe3qbP7skASiei8yLpX+fLLshtBcn6CtB84bSo3ZYC/+dl6YLOUVLrw"
        "CSaYTCTezNkbHzsaskokoebAD+htckppQZ2LqEi74WreYaz8ZH1GCsWrOBF9LmgUozXQq9llGP1xdPtIrulTn7q"
        "bfv5EcLCO2xsrNNSEadOohhlOc6LKz/dC36w1AVFrr2mZPwWYSH/m7hVeLfizRcrW96fquy+SlN9qKFrQJFpEV4u"
        "YWD/Y/P0rQdh3I7LPIUf7McsV/zQ5wPnrH6fs1AqrajnIvfsxic70+6t2j4mGRlSMuiEUZedOH68cCYBZYq39H/"
        "4mlgeI6lis1nL/PZS/I3ylwR7XTmcXk8aeaJHqw1KPOrVGhjzIcUSnjVk4yZdd9bI/pq1o2BE/EfiE8="
    )
    body = (
        "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    query = {
        "signature": "6c5c811b55cc85e0e1b54100749188c20beb3f5d",
        "timestamp": "1714112445",
        "nonce": "415670741",
        "openid": "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
        "encrypt_type": "aes",
        "msg_signature": "4cce08adcbb5e4ebb79ec0bc704dd2e62bac84b1",
    }
    response = await client.post("/wechat", params=query, data=body)
    assert response.status == 200
    crypto = WeChatCrypto("AAAAA", "A" * 43, "wxba5fad812f8e6fb9")
    decrypted = crypto.decrypt_reply(await response.text())
    assert decrypted.nonce == "415670741"
    reply = parse_reply(decrypted.xml)
    assert (reply.to_user, reply.from_user) == ("o9AgO5Kd5ggOC-bXrbNODIiE3bGY", "gh_97417a04a28d")
    assert reply.create_time == 1714112445
    assert isinstance(reply.reply, TextReply)
    assert "hello" in reply.reply.content

    sessions = sessions_of(client.app)
    async with sessions() as session:
        logged = (await session.exec(select(InboundMessage))).one()
    assert (logged.dedup_key, logged.msg_type, logged.encrypted) == (
        "msg:o9AgO5Kd5ggOC-bXrbNODIiE3bGY:24500000000000001",
        "text",
        True,
    )


async def test_plaintext_text_reply_swaps_parties_and_stamps_the_clock(
    wechat: Emulator, clock: FrozenClock
) -> None:
    exchange = await wechat.say("echo hi", fan="o_alice")
    assert exchange.status == 200
    assert exchange.reply is not None
    assert exchange.reply.to_user == "o_alice"
    assert exchange.reply.from_user == "gh_97417a04a28d"
    assert exchange.reply.create_time == int(clock.now().timestamp())
    assert exchange.content == "hi"
    assert "<Encrypt>" not in exchange.raw


async def test_compatible_mode_answers_encrypted_iff_the_request_was(
    client: TestClient, config: Config, clock: FrozenClock
) -> None:
    plain = Emulator(client, "/wechat", config.wechat, clock=clock)
    aes = Emulator(client, "/wechat", config.wechat, clock=clock, encrypt=True)
    both = Emulator(client, "/wechat", config.wechat, clock=clock, encrypt=True, compatible=True)

    assert "<Encrypt>" not in (await plain.say("echo a", fan="o_a")).raw
    for emulator in (aes, both):
        exchange = await emulator.say("echo secret", fan="o_a")
        assert exchange.status == 200
        assert "<Encrypt>" in exchange.raw and "secret" not in exchange.raw
        assert exchange.content == "secret"


async def test_safe_mode_refuses_plaintext(aiohttp_client, config: Config, clock) -> None:
    client = await aiohttp_client(create_app(config.replace(wechat={"mode": "safe"}), clock=clock))
    wechat = Emulator(client, "/wechat", config.wechat, clock=clock)
    refused = await wechat.say("balance", fan="o_a")
    assert (refused.status, refused.body) == (
        400,
        "plaintext refused: the account is in safe mode",
    )
    accepted = await wechat.say("balance", fan="o_a", encrypt=True)
    assert accepted.content == "Your balance: ¥0.00"


async def test_plaintext_mode_refuses_encrypted(aiohttp_client, config: Config, clock) -> None:
    app = create_app(config.replace(wechat={"mode": "plaintext"}), clock=clock)
    wechat = Emulator(await aiohttp_client(app), "/wechat", config.wechat, clock=clock)
    refused = await wechat.say("balance", fan="o_a", encrypt=True)
    assert refused.status == 400
    assert (await wechat.say("balance", fan="o_a")).content == "Your balance: ¥0.00"


async def test_a_message_encrypted_with_the_previous_key_is_accepted_while_rotating(
    aiohttp_client, config: Config, clock
) -> None:
    old_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    rotated = config.replace(wechat={"previous_encoding_aes_key": old_key})
    client = await aiohttp_client(create_app(rotated, clock=clock))
    old = Emulator(
        client,
        "/wechat",
        config.replace(wechat={"encoding_aes_key": old_key}).wechat,
        clock=clock,
        encrypt=True,
    )
    exchange = await old.say("balance", fan="o_a")
    assert exchange.status == 200


@pytest.mark.parametrize("encrypt", [False, True], ids=["plaintext", "aes"])
@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("image", ImageReply("media-image-1")),
        ("voice", VoiceReply("media-voice-1")),
        ("video", VideoReply("media-video-1", "A video", "about <things>")),
        ("music", MusicReply("Song", "desc", "http://m/1.mp3", "http://m/1hq.mp3", "thumb-1")),
        ("transfer", TransferCustomerServiceReply("agent@botstore")),
        ("transfer_any", TransferCustomerServiceReply()),
    ],
)
async def test_every_reply_type_survives_the_wire(
    wechat: Emulator, word: str, expected: object, encrypt: bool
) -> None:
    exchange = await wechat.say(f"kind {word}", fan="o_a", encrypt=encrypt)
    assert exchange.problems == ()
    assert exchange.reply is not None and exchange.reply.reply == expected


async def test_news_reply_with_markup_and_cdata_terminator(wechat: Emulator) -> None:
    exchange = await wechat.say("kind news", fan="o_a")
    assert exchange.reply is not None
    news = exchange.reply.reply
    assert isinstance(news, NewsReply)
    assert news.articles[0].title == "Title & more"
    assert news.articles[0].description == "desc ]]> end"
    assert "<ArticleCount>1</ArticleCount>" in exchange.raw


@pytest.mark.parametrize("encrypt", [False, True], ids=["plaintext", "aes"])
async def test_text_with_cdata_terminator_and_unicode_survives(
    wechat: Emulator, encrypt: bool
) -> None:
    text = "a]]>b <c> & 中文 ]]]]> 🎉"
    exchange = await wechat.say(f"echo {text}", fan="o_a", encrypt=encrypt)
    assert exchange.content == text


MESSAGES = [
    ("image", {"PicUrl": "http://p/1.jpg", "MediaId": "m1"}),
    ("voice", {"MediaId": "m2", "Format": "amr"}),
    ("video", {"MediaId": "m3", "ThumbMediaId": "t3"}),
    ("shortvideo", {"MediaId": "m4", "ThumbMediaId": "t4"}),
    ("link", {"Title": "T", "Description": "D", "Url": "http://x"}),
    (
        "miniprogrampage",
        {"AppId": "wx1", "Title": "T", "PagePath": "p", "ThumbUrl": "u", "ThumbMediaId": "t"},
    ),
    ("somethingnew", {"Foo": "bar"}),
]


@pytest.mark.parametrize(("msg_type", "extra"), MESSAGES, ids=[m[0] for m in MESSAGES])
async def test_messages_without_a_handler_are_recorded_and_answered_success(
    wechat: Emulator, sessions, msg_type: str, extra: dict
) -> None:
    exchange = await wechat.message(msg_type, extra, fan="o_a", msg_id=777)
    assert (exchange.status, exchange.body) == (200, "success")
    async with sessions() as session:
        logged = (await session.exec(select(InboundMessage))).one()
    assert (logged.msg_type, logged.dedup_key) == (msg_type, "msg:o_a:777")
    for name, value in extra.items():
        assert logged.fields[name] == value


async def test_voice_with_recognition_runs_the_recognised_command(wechat: Emulator) -> None:
    exchange = await wechat.message(
        "voice", {"MediaId": "m", "Format": "amr", "Recognition": "余额"}, fan="o_a"
    )
    assert exchange.content == "你的余额：¥0.00"  # the word said decides the language


async def test_location_message_is_kept_on_the_fan(wechat: Emulator, sessions) -> None:
    extra = {
        "Location_X": 23.134521,
        "Location_Y": 113.358803,
        "Scale": 20,
        "Label": "Canton Tower",
    }
    exchange = await wechat.message("location", extra, fan="o_a")
    assert exchange.content == "Got your location: Canton Tower (23.13452, 113.35880)."
    async with sessions() as session:
        fan = (await session.exec(select(Fan))).one()
    assert (fan.latitude, fan.longitude) == (23.134521, 113.358803)


EVENTS = [
    ("VIEW", "http://example.com", {"MenuId": 3}),
    ("view_miniprogram", "pages/index", {"MenuId": 4}),
    ("scancode_push", "k1", {"ScanCodeInfo": {"ScanType": "qrcode", "ScanResult": "hi"}}),
    ("scancode_waitmsg", "k2", {"ScanCodeInfo": {"ScanType": "qrcode", "ScanResult": "hi"}}),
    (
        "pic_sysphoto",
        "k3",
        {"SendPicsInfo": {"Count": 1, "PicList": {"item": [{"PicMd5Sum": "a" * 32}]}}},
    ),
    ("pic_photo_or_album", "k4", {"SendPicsInfo": {"Count": 0, "PicList": {}}}),
    ("pic_weixin", "k5", {"SendPicsInfo": {"Count": 0, "PicList": {}}}),
    (
        "location_select",
        "k6",
        {
            "SendLocationInfo": {
                "Location_X": "23",
                "Location_Y": "113",
                "Scale": "15",
                "Label": "x",
                "Poiname": "",
            }
        },
    ),
    ("TEMPLATESENDJOBFINISH", None, {"MsgID": 200228332, "Status": "success"}),
    (
        "MASSSENDJOBFINISH",
        None,
        {
            "MsgID": 1,
            "Status": "send success",
            "TotalCount": 1,
            "FilterCount": 1,
            "SentCount": 1,
            "ErrorCount": 0,
        },
    ),
    (
        "subscribe_msg_popup_event",
        None,
        {
            "SubscribeMsgPopupEvent": {
                "List": {"TemplateId": "t", "SubscribeStatusString": "accept", "PopupScene": 2}
            }
        },
    ),
    ("kf_create_session", None, {"KfAccount": "a@b"}),
    ("kf_switch_session", None, {"FromKfAccount": "a@b", "ToKfAccount": "c@d"}),
    ("qualification_verify_success", None, {"ExpiredTime": 1442401156}),
    ("naming_verify_fail", None, {"FailTime": 1442401122, "FailReason": "x"}),
    ("some_future_event", "k", {}),
]


@pytest.mark.parametrize(("event", "key", "extra"), EVENTS, ids=[e[0] for e in EVENTS])
async def test_events_without_a_handler_are_recorded_and_answered_success(
    wechat: Emulator, sessions, event: str, key: str | None, extra: dict
) -> None:
    exchange = await wechat.event(event, fan="o_a", event_key=key, extra=extra)
    assert (exchange.status, exchange.body) == (200, "success")
    async with sessions() as session:
        logged = (await session.exec(select(InboundMessage))).one()
    assert (logged.msg_type, logged.event) == ("event", event)


async def test_nothing_is_stored_for_a_message_to_another_account(
    wechat: Emulator, sessions
) -> None:
    fields = {
        "ToUserName": "gh_other",
        "FromUserName": "o_a",
        "CreateTime": wechat.now(),
        "MsgType": "text",
        "Content": "topup 5",
        "MsgId": 1,
    }
    exchange = await wechat.post(fields)
    assert exchange.status == 400
    assert "gh_other" in exchange.body
    assert await count(sessions, ProcessedMessage) == 0
