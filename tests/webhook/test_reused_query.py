"""A signed query is good for one body: `signature` covers the timestamp and nonce, not the body,
so the same query with another body is refused; a byte-identical retry gets the first reply."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from botstore.app import create_app
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.keys import seen_queries_key
from botstore.models import InboundMessage, LedgerTransaction
from botstore.wechat import sign
from tests.helpers import count

REUSED = "timestamp and nonce already used for another message"


def text(wechat: Emulator, content: str, *, fan: str, msg_id: int) -> dict[str, object]:
    return {
        "ToUserName": wechat.account.account_id,
        "FromUserName": fan,
        "CreateTime": wechat.now(),
        "MsgType": "text",
        "Content": content,
        "MsgId": msg_id,
    }


async def balance(wechat: Emulator, fan: str) -> str:
    return (await wechat.say("balance", fan=fan)).content


@pytest.mark.parametrize("encrypt", [False, True], ids=["plaintext", "aes"])
async def test_a_signed_query_reused_with_another_body_gets_403_and_nothing_is_stored(
    wechat: Emulator, sessions, encrypt: bool
) -> None:
    honest = await wechat.post(text(wechat, "topup 5", fan="o_a", msg_id=1), encrypt=encrypt)
    assert honest.content == "Topped up ¥5.00. Balance: ¥5.00"
    # The account is in compatible mode: a plaintext body is accepted beside an AES query.
    forged = await wechat.post(
        text(wechat, "topup 500", fan="o_a", msg_id=2), query=honest.query, encrypt=False
    )
    assert (forged.status, forged.body) == (403, REUSED)
    async with sessions() as session:
        logged = (await session.exec(select(InboundMessage.dedup_key))).all()
    assert logged == ["msg:o_a:1"]
    assert await count(sessions, LedgerTransaction) == 1
    assert await balance(wechat, "o_a") == "Your balance: ¥5.00"


@pytest.mark.parametrize("encrypt", [False, True], ids=["plaintext", "aes"])
async def test_a_byte_identical_retry_of_a_signed_push_gets_the_first_reply(
    wechat: Emulator, sessions, encrypt: bool
) -> None:
    first = await wechat.post(text(wechat, "topup 5", fan="o_a", msg_id=1), encrypt=encrypt)
    retry = await wechat.post({}, query=first.query, body=first.request_body)
    assert (retry.status, retry.reply_xml) == (200, first.reply_xml)  # AES: a fresh IV each
    assert await count(sessions, LedgerTransaction) == 1


async def test_another_fans_body_under_a_captured_query_is_refused(
    wechat: Emulator, sessions
) -> None:
    # The same MsgId from another sender would be a message of its own to dedup.
    honest = await wechat.post(text(wechat, "balance", fan="o_a", msg_id=7))
    forged = await wechat.post(text(wechat, "topup 5", fan="o_b", msg_id=7), query=honest.query)
    assert (forged.status, forged.body) == (403, REUSED)
    assert await count(sessions, LedgerTransaction) == 0


async def test_a_badly_signed_request_does_not_use_up_its_timestamp_and_nonce(
    wechat: Emulator,
) -> None:
    query = wechat.signed_query()
    guessed = query | {"signature": sign("not-the-token", query["timestamp"], query["nonce"])}
    refused = await wechat.post(text(wechat, "topup 500", fan="o_m", msg_id=1), query=guessed)
    assert (refused.status, refused.body) == (403, "bad signature")
    honest = await wechat.post(text(wechat, "topup 5", fan="o_a", msg_id=2), query=query)
    assert honest.content == "Topped up ¥5.00. Balance: ¥5.00"


async def test_a_reuse_is_refused_with_the_timestamp_window_off(
    aiohttp_client, config: Config, clock: FrozenClock
) -> None:
    app = create_app(config.replace(wechat={"timestamp_window_seconds": 0}), clock=clock)
    wechat = Emulator(await aiohttp_client(app), "/wechat", config.wechat, clock=clock)
    honest = await wechat.post(text(wechat, "balance", fan="o_a", msg_id=1), timestamp=12345)
    assert honest.status == 200
    forged = await wechat.post(text(wechat, "topup 5", fan="o_a", msg_id=2), query=honest.query)
    assert (forged.status, forged.body) == (403, REUSED)
    # Swapped, they sign alike (the three are sorted before hashing): the same query.
    swapped = dict(honest.query) | {
        "timestamp": honest.query["nonce"],
        "nonce": honest.query["timestamp"],
    }
    forged = await wechat.post(text(wechat, "topup 5", fan="o_a", msg_id=3), query=swapped)
    assert (forged.status, forged.body) == (403, REUSED)


async def test_pairs_are_forgotten_once_their_timestamp_is_out_of_the_window(
    aiohttp_client, config: Config
) -> None:
    # Years behind real time, so that only the emulated clock lets these stamps in.
    clock = FrozenClock(datetime(2020, 1, 1, tzinfo=UTC))
    app = create_app(config, clock=clock)
    wechat = Emulator(await aiohttp_client(app), "/wechat", config.wechat, clock=clock)
    for msg_id in range(3):
        await wechat.post(text(wechat, "balance", fan="o_a", msg_id=msg_id))
    remembered = app[seen_queries_key]
    assert len(remembered) == 3
    clock.advance(timedelta(seconds=config.wechat.timestamp_window_seconds + 1))
    assert (await wechat.say("balance", fan="o_a")).status == 200
    assert len(remembered) == 1
