"""Hostile numbers in every numeric XML field of every message and event type, through the signed
webhook: each push is refused with a 400 naming the field, and nothing of it is stored."""

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botstore.console.client import Emulator
from botstore.wechat import (
    InboundMessage,
    MessageError,
    build_message_xml,
    messages,
    parse_message,
)
from tests.helpers import digest

FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,  # reproducible in CI; run with --hypothesis-seed to explore further
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ACCOUNT = "gh_97417a04a28d"  # the test config's original ID
FAN = "o_fuzz_numbers"
NOW = 1767240000  # the frozen clock's 2026-01-01T04:00:00Z


def message(msg_type: str, **fields: Any) -> dict[str, Any]:
    return {
        "ToUserName": ACCOUNT,
        "FromUserName": FAN,
        "CreateTime": NOW,
        "MsgType": msg_type,
        **fields,
        "MsgId": 6054768590064713728,
        "MsgDataId": 2247483651,
        "Idx": 1,
    }


def event(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "ToUserName": ACCOUNT,
        "FromUserName": FAN,
        "CreateTime": NOW,
        "MsgType": "event",
        "Event": name,
        "EventKey": "",
        **fields,
    }


PICS = {"Count": 1, "PicList": {"item": [{"PicMd5Sum": "1b5f7c23b5bf75682a53e7b6d163e185"}]}}
PLACE = {"Location_X": 23.1, "Location_Y": 113.3, "Scale": 15, "Label": "Guangzhou"}
# One push of each type the parser knows, every field filled (wechat-protocol.md §2.5, §2.6).
SAMPLES: list[dict[str, Any]] = [
    message("text", Content="hello"),
    message("image", PicUrl="http://p/1.jpg", MediaId="m1"),
    message("voice", MediaId="m1", Format="amr", Recognition="hi"),
    message("video", MediaId="m1", ThumbMediaId="t1"),
    message("shortvideo", MediaId="m1", ThumbMediaId="t1"),
    message("location", **PLACE),
    message("link", Title="t", Description="d", Url="http://u/1"),
    message(
        "miniprogrampage",
        AppId="wx1",
        Title="t",
        PagePath="pages/index",
        ThumbUrl="http://t/1.jpg",
        ThumbMediaId="t1",
    ),
    event("subscribe", Ticket="ticket"),
    event("unsubscribe"),
    event("SCAN", EventKey="shop", Ticket="ticket"),
    event("LOCATION", Latitude=23.1, Longitude=113.3, Precision=119.38),
    event("CLICK", EventKey="balance"),
    event("VIEW", EventKey="http://u/1", MenuId=1),
    event("view_miniprogram", EventKey="pages/index", MenuId=1),
    event("scancode_push", ScanCodeInfo={"ScanType": "qrcode", "ScanResult": "1"}),
    event("scancode_waitmsg", ScanCodeInfo={"ScanType": "qrcode", "ScanResult": "1"}),
    event("pic_sysphoto", SendPicsInfo=PICS),
    event("pic_photo_or_album", SendPicsInfo=PICS),
    event("pic_weixin", SendPicsInfo=PICS),
    event("location_select", SendLocationInfo=PLACE | {"Poiname": "p"}),
    event("TEMPLATESENDJOBFINISH", MsgID=200163836, Status="success"),
    event(
        "MASSSENDJOBFINISH",
        MsgID=1988,
        Status="send success",
        TotalCount=100,
        FilterCount=80,
        SentCount=75,
        ErrorCount=5,
    ),
    event(
        "subscribe_msg_popup_event",
        SubscribeMsgPopupEvent={"List": {"TemplateId": "t", "SubscribeStatusString": "accept"}},
    ),
    event(
        "subscribe_msg_change_event",
        SubscribeMsgChangeEvent={"List": {"TemplateId": "t", "SubscribeStatusString": "reject"}},
    ),
    event(
        "subscribe_msg_sent_event",
        SubscribeMsgSentEvent={"List": {"TemplateId": "t", "MsgID": "1", "ErrorCode": "0"}},
    ),
    event("kf_create_session", KfAccount="kf@x"),
    event("kf_close_session", KfAccount="kf@x"),
    event("kf_switch_session", FromKfAccount="a@x", ToKfAccount="b@x"),
    *[
        event(name, ExpiredTime=1442401156)
        for name in ("qualification_verify_success", "naming_verify_success")
    ],
    *[event(name, ExpiredTime=1442401156) for name in ("annual_renew", "verify_expired")],
    *[
        event(name, FailTime=1442401122, FailReason="duplicate name")
        for name in ("qualification_verify_fail", "naming_verify_fail")
    ],
]


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = replaced(copy[head], tuple(rest), new)
    return copy


def numeric_fields(sample: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The fields the parser reads as numbers: those where a word is refused (found, not listed,
    so a field the parser starts reading as a number is fuzzed without a change here)."""
    found = []
    for path in leaves(sample):
        try:
            parse_message(build_message_xml(replaced(sample, path, "x")))
        except MessageError:
            found.append(path)
    return found


NUMERIC = [(sample, path) for sample in SAMPLES for path in numeric_fields(sample)]
# No numeric field of any type takes these.
HOSTILE = [
    "9" * 5000,
    "-" + "9" * 5000,
    "1" * 4000,
    "1180591620717411303424",  # 2**70
    "18446744073709551616",  # 2**64
    "9223372036854775808",  # 2**63: past int64
    "1e400",
    "-1e400",
    "1" * 400,
    "nan",
    "inf",
    "-inf",
    "0x10",
    "²",
    "١٢",
    "1,5",
]


def test_every_message_and_event_type_has_a_sample() -> None:
    concrete = {
        cls
        for _, cls in inspect.getmembers(messages, inspect.isclass)
        if issubclass(cls, InboundMessage)
        and not cls.__subclasses__()
        and not cls.__name__.startswith("Unknown")
    }
    sampled = {type(parse_message(build_message_xml(sample))) for sample in SAMPLES}
    assert sampled == concrete, concrete - sampled


def test_the_numeric_fields_found_are_the_documented_ones() -> None:
    names = {path[-1] for _, path in NUMERIC}
    assert names == {
        "CreateTime",
        "MsgId",
        "Idx",
        "Scale",
        "Location_X",
        "Location_Y",
        "Latitude",
        "Longitude",
        "Precision",
        "Count",
        "MsgID",
        "TotalCount",
        "FilterCount",
        "SentCount",
        "ErrorCount",
        "ExpiredTime",
        "FailTime",
    }


@pytest.mark.parametrize(
    "sample", SAMPLES, ids=[str(s.get("Event") or s["MsgType"]) for s in SAMPLES]
)
async def test_the_samples_are_accepted(wechat: Emulator, sample: dict[str, Any]) -> None:
    assert (await wechat.post(sample)).status == 200


@FUZZ
@given(case=st.sampled_from(NUMERIC), value=st.sampled_from(HOSTILE))
async def test_a_hostile_number_in_any_numeric_field_is_refused_and_stores_nothing(
    wechat: Emulator, sessions, case: tuple[dict[str, Any], tuple[Any, ...]], value: str
) -> None:
    sample, path = case
    before = await digest(sessions)
    exchange = await wechat.post(replaced(sample, path, value))
    assert exchange.status == 400, (path, value[:40], exchange.body)
    assert exchange.body.startswith("bad message: ") and str(path[-1]) in exchange.body
    assert len(exchange.body) < 200
    assert await digest(sessions) == before
