"""Platform-rule lint: crafted bad replies each get their warning; botstore's own replies none."""

import pytest
from aiohttp import web

from botstore.console.client import Emulator, Exchange, TryReport
from botstore.console.lint import (
    TEXT_LIMIT_BYTES,
    lint_mode,
    lint_reply_xml,
    lint_timing,
)
from botstore.wechat import sign
from tests.console.conftest import ACCOUNT, ACCOUNT_ID, CRYPTO, FAN, CannedBot, news_xml, text_xml


def only(warnings: list[str], fragment: str) -> None:
    assert len(warnings) == 1, warnings
    assert fragment in warnings[0], warnings


async def test_a_good_plaintext_reply_has_no_warnings(bot: Emulator, canned: CannedBot) -> None:
    canned.answer = lambda request, xml: web.Response(text=text_xml("hi"))
    exchange = await bot.say("hello", fan=FAN)
    assert exchange.content == "hi"
    assert exchange.warnings == []


async def test_more_than_one_news_item_in_reply_to_a_message(
    bot: Emulator, canned: CannedBot
) -> None:
    canned.answer = lambda request, xml: web.Response(text=news_xml(2))
    only((await bot.say("news", fan=FAN)).warnings, "shows only the first")
    # Events may get up to 8 (wechat-protocol.md 3.2), not 9.
    assert (await bot.event("CLICK", fan=FAN, event_key="K")).warnings == []
    canned.answer = lambda request, xml: web.Response(text=news_xml(9))
    only((await bot.event("CLICK", fan=FAN, event_key="K")).warnings, "at most 8")


async def test_text_over_the_size_limit(bot: Emulator, canned: CannedBot) -> None:
    at_limit = "中" * (TEXT_LIMIT_BYTES // 3) + "ab"  # 2048 bytes of UTF-8
    canned.answer = lambda request, xml: web.Response(text=text_xml(at_limit))
    assert (await bot.say("long", fan=FAN)).warnings == []
    canned.answer = lambda request, xml: web.Response(text=text_xml(at_limit + "c"))
    only((await bot.say("long", fan=FAN)).warnings, "2049 bytes")


@pytest.mark.parametrize(
    "body",
    [
        "<xml><ToUserName>",
        '{"msgtype": "text"}',
        "<reply><Content>hi</Content></reply>",
        text_xml("hi").replace("text", "comic"),
        news_xml(2).replace("<ArticleCount>2", "<ArticleCount>3"),
    ],
    ids=["truncated", "json", "wrong-root", "unknown-type", "count-mismatch"],
)
async def test_malformed_reply_xml(bot: Emulator, canned: CannedBot, body: str) -> None:
    canned.answer = lambda request, xml: web.Response(text=body)
    exchange = await bot.say("hello", fan=FAN)
    only(exchange.warnings, "The reply XML is malformed")
    assert exchange.problems


async def test_swapped_and_wrong_parties(bot: Emulator, canned: CannedBot) -> None:
    canned.answer = lambda request, xml: web.Response(
        text=text_xml("hi", to=ACCOUNT_ID, sender=FAN)
    )
    only((await bot.say("hello", fan=FAN)).warnings, "are swapped")
    canned.answer = lambda request, xml: web.Response(text=text_xml("hi", to="o_someone_else"))
    only((await bot.say("hello", fan=FAN)).warnings, "not the fan's OpenID")
    canned.answer = lambda request, xml: web.Response(text=text_xml("hi", sender="gh_other"))
    only((await bot.say("hello", fan=FAN)).warnings, "not the account's original ID")


async def test_an_error_status(bot: Emulator, canned: CannedBot) -> None:
    canned.answer = lambda request, xml: web.Response(status=500, text="boom")
    only((await bot.say("hello", fan=FAN)).warnings, "HTTP 500")


async def test_success_and_the_empty_body_are_fine(bot: Emulator, canned: CannedBot) -> None:
    for body in ("success", ""):
        canned.answer = lambda request, xml, body=body: web.Response(text=body)
        assert (await bot.say("hello", fan=FAN)).warnings == []


def encrypted(xml: str, *, timestamp: int = 1714036504, nonce: str = "1514711492") -> str:
    return CRYPTO.encrypt_reply(xml, nonce=nonce, timestamp=timestamp)


async def test_an_encrypted_reply_to_a_plaintext_message(bot: Emulator, canned: CannedBot) -> None:
    canned.answer = lambda request, xml: web.Response(text=encrypted(text_xml("hi")))
    exchange = await bot.say("hello", fan=FAN)
    only(exchange.warnings, "message was plaintext")
    assert exchange.problems


async def test_a_plaintext_reply_in_safe_mode_but_not_in_compatible_mode(
    bot: Emulator, canned: CannedBot
) -> None:
    canned.answer = lambda request, xml: web.Response(text=text_xml("hi"))
    only((await bot.say("hello", fan=FAN, encrypt=True)).warnings, "safe mode")
    bot.compatible = True
    assert (await bot.say("hello", fan=FAN, encrypt=True)).warnings == []


async def test_a_good_encrypted_reply_has_no_warnings(bot: Emulator, canned: CannedBot) -> None:
    def answer(request: web.Request, xml: str) -> web.Response:
        stamp = int(request.query["timestamp"])
        return web.Response(text=encrypted(text_xml("hi"), timestamp=stamp))

    canned.answer = answer
    exchange = await bot.say("hello", fan=FAN, encrypt=True)
    assert exchange.content == "hi"
    assert exchange.warnings == []


async def test_a_wrong_msg_signature_on_an_encrypted_reply(
    bot: Emulator, canned: CannedBot
) -> None:
    def answer(request: web.Request, xml: str) -> web.Response:
        envelope = encrypted(text_xml("hi"), timestamp=int(request.query["timestamp"]))
        # Signed over the request's nonce, but the reply carries another one.
        return web.Response(text=envelope.replace("1514711492", "999"))

    canned.answer = answer
    exchange = await bot.say("hello", fan=FAN, encrypt=True)
    only(exchange.warnings, "MsgSignature is wrong")
    assert exchange.problems


@pytest.mark.parametrize(
    ("stamp", "fragment"),
    [("1714036504000", "milliseconds"), ("1000", "far from"), ("soon", "not Unix seconds")],
)
async def test_a_wrong_timestamp_on_an_encrypted_reply(
    bot: Emulator, canned: CannedBot, stamp: str, fragment: str
) -> None:
    def answer(request: web.Request, xml: str) -> web.Response:
        token, nonce = ACCOUNT.token, "n1"
        value = CRYPTO.encrypt(text_xml("hi"))
        return web.Response(
            text=(
                f"<xml><Encrypt><![CDATA[{value}]]></Encrypt>"
                f"<MsgSignature><![CDATA[{sign(token, stamp, nonce, value)}]]></MsgSignature>"
                f"<TimeStamp>{stamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
            )
        )

    canned.answer = answer
    only((await bot.say("hello", fan=FAN, encrypt=True)).warnings, fragment)


def test_a_late_reply() -> None:
    late = TryReport(1, 200, 6200.0, "answered")
    only(lint_timing([late], 6.2), "took 6.2 s")
    assert lint_timing([TryReport(1, 200, 4900.0, "answered")], 4.9) == []
    # An Exchange built without tries (by hand) is judged on its elapsed time.
    only(lint_timing([], 5.5), "took 5.5 s")


def test_timed_out_tries_and_a_reply_that_never_came() -> None:
    tries = [TryReport(n, None, 5000.0, "timed out after 5 s, dropped") for n in (1, 2, 3)]
    exchange = Exchange(0, "", {}, text_xml("x"), text_xml("x"), 15.0, tries=tries)
    assert exchange.timed_out
    warnings = lint_timing(tries, 15.0)
    assert [w.split(" got")[0] for w in warnings] == ["Try 1", "Try 2", "Try 3"]


def test_pure_functions_on_parts() -> None:
    assert lint_reply_xml(text_xml("hi"), fan=FAN, account_id=ACCOUNT_ID) == []
    assert lint_reply_xml(text_xml(" "), fan=FAN, account_id=ACCOUNT_ID) == [
        'The text reply is empty; answer "success" to show nothing.'
    ]
    only(
        lint_reply_xml(text_xml("hi", create_time=1714036504000), fan=FAN, account_id=ACCOUNT_ID),
        "CreateTime looks like milliseconds",
    )
    assert lint_mode(request_encrypted=True, compatible=True, reply_encrypted=False) == []
    assert lint_mode(request_encrypted=True, compatible=False, reply_encrypted=True) == []


async def test_botstore_itself_gets_no_warnings(wechat: Emulator) -> None:
    exchanges = [
        await wechat.event("subscribe", fan="o_lint"),
        await wechat.say("help", fan="o_lint"),
        await wechat.say("balance", fan="o_lint", encrypt=True),
        await wechat.event("CLICK", fan="o_lint", event_key="stores"),
        await wechat.say("no such command", fan="o_lint"),
    ]
    for exchange in exchanges:
        assert exchange.status == 200 and exchange.problems == ()
        assert exchange.warnings == [], exchange.describe()
