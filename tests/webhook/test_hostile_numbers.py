"""Numbers in a push that Python, the database or datetime can't hold are a 400 naming the field
when the push is parsed, never a 500 later: nothing of such a push is stored."""

from datetime import UTC, datetime

import pytest

from botstore.console.client import Emulator
from botstore.models import Fan, InboundMessage, LedgerTransaction, ProcessedMessage
from tests.helpers import count

HUGE = "9" * 5000  # past Python's int-digit limit (4300): int() raised ValueError, a 500
LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z


async def assert_nothing_stored(sessions) -> None:
    for table in (InboundMessage, ProcessedMessage, Fan, LedgerTransaction):
        assert await count(sessions, table) == 0, table.__name__


def text(wechat: Emulator, **fields: object) -> dict[str, object]:
    return {
        "ToUserName": wechat.account.account_id,
        "FromUserName": "o_mallory",
        "CreateTime": wechat.now(),
        "MsgType": "text",
        "Content": "topup 100",
        "MsgId": 99,
    } | fields


def event(wechat: Emulator, name: str, **fields: object) -> dict[str, object]:
    return {
        "ToUserName": wechat.account.account_id,
        "FromUserName": "o_mallory",
        "CreateTime": wechat.now(),
        "MsgType": "event",
        "Event": name,
    } | fields


CASES = {
    "5000-digit CreateTime": (lambda w: text(w, CreateTime=HUGE), "CreateTime"),
    "CreateTime past 9999": (lambda w: text(w, CreateTime=LAST_SECOND + 1), "CreateTime"),
    "negative CreateTime": (lambda w: text(w, CreateTime=-1), "CreateTime"),
    "5000-digit Idx": (lambda w: text(w, Idx=HUGE), "Idx"),
    "5000-digit MsgId": (lambda w: text(w, MsgId=HUGE), "MsgId"),
    "MsgId past int64": (lambda w: text(w, MsgId=2**63), "MsgId"),
    "5000-digit Scale": (
        lambda w: text(w, MsgType="location", Location_X=1, Location_Y=2, Scale=HUGE, Label=""),
        "Scale",
    ),
    "latitude off the Earth": (
        lambda w: text(w, MsgType="location", Location_X="1e400", Location_Y=2, Scale=1),
        "Location_X",
    ),
    "5000-digit ExpiredTime": (
        lambda w: event(w, "qualification_verify_success", ExpiredTime=HUGE),
        "ExpiredTime",
    ),
    "ExpiredTime past 9999": (
        lambda w: event(w, "annual_renew", ExpiredTime=LAST_SECOND + 1),
        "ExpiredTime",
    ),
    "5000-digit TEMPLATESENDJOBFINISH MsgID": (
        lambda w: event(w, "TEMPLATESENDJOBFINISH", MsgID=HUGE, Status="success"),
        "MsgID",
    ),
    "5000-digit MASSSENDJOBFINISH TotalCount": (
        lambda w: event(w, "MASSSENDJOBFINISH", MsgID=1, TotalCount=HUGE),
        "TotalCount",
    ),
    "LOCATION Precision of infinity": (
        lambda w: event(w, "LOCATION", Latitude=1, Longitude=2, Precision="1e400"),
        "Precision",
    ),
    "float where an integer goes": (lambda w: text(w, Idx="1.5"), "Idx"),
}


@pytest.mark.parametrize("case", CASES)
async def test_numbers_nothing_can_hold_are_refused_at_parse_time(
    wechat: Emulator, sessions, case: str
) -> None:
    make, field = CASES[case]
    for encrypt in (False, True):
        exchange = await wechat.post(make(wechat), encrypt=encrypt)
        assert exchange.status == 400, exchange.body
        assert exchange.body.startswith(f"bad message: {field} "), exchange.body
        assert len(exchange.body) < 200
    await assert_nothing_stored(sessions)


async def test_the_last_second_of_9999_is_still_a_time(wechat: Emulator, sessions) -> None:
    exchange = await wechat.post(text(wechat, CreateTime=LAST_SECOND, Content="balance"))
    assert exchange.status == 200, exchange.body
    assert datetime.fromtimestamp(LAST_SECOND, UTC).year == 9999
    assert await count(sessions, InboundMessage) == 1


async def test_the_largest_msgid_is_still_an_id(wechat: Emulator, sessions) -> None:
    exchange = await wechat.post(text(wechat, MsgId=2**63 - 1, Content="balance"))
    assert exchange.status == 200, exchange.body
    retry = await wechat.post(text(wechat, MsgId=2**63 - 1, Content="balance"))
    assert retry.raw == exchange.raw
    assert await count(sessions, InboundMessage) == 1
