"""The exit codes of `send`, `chat` and `replay` (docs/testing-bots.md, "Exit codes"): 0 delivered, 1 warnings
under --strict or a replayed reply that differs, 2 usage, 3 the bot failed (could not connect, no
answer in time, an HTTP error, a reply WeChat refuses). The CLI runs in a thread, against a canned
bot served on a real port."""

import asyncio
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from botstore.console.client import ExitCode
from tests.console.conftest import CannedBot, news_xml, run, text_xml
from tests.live import free_port


def answer_text(canned: CannedBot, content: str = "hi") -> None:
    canned.answer = lambda request, xml: web.Response(text=text_xml(content))


async def test_send_exits_0_on_a_delivered_reply(url: str, canned: CannedBot, capsys) -> None:
    answer_text(canned)
    assert await run("send", "--url", url, "--fan", "o_lint_fan_0000000000000000000", "x") == 0
    assert capsys.readouterr().out == "hi\n"


async def test_send_exits_1_on_warnings_only_with_strict(
    url: str, canned: CannedBot, capsys
) -> None:
    canned.answer = lambda request, xml: web.Response(text=news_xml(2))
    openid = "o_lint_fan_0000000000000000000"
    assert await run("send", "--url", url, "--openid", openid, "news") == ExitCode.OK
    assert "warning: The reply has 2 news" in capsys.readouterr().err
    assert await run("send", "--url", url, "--fan", openid, "--strict", "news") == 1


async def test_send_exits_2_on_bad_usage(url: str, capsys) -> None:
    assert await run("send", "--url", url) == ExitCode.USAGE
    with pytest.raises(SystemExit) as raised:
        await run("send", "--no-such-flag", "x")
    assert raised.value.code == 2


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        (lambda request, xml: web.Response(status=500, text="boom"), "HTTP 500: boom"),
        (lambda request, xml: web.Response(text="<xml><oops"), "reply rejected: reply XML"),
    ],
    ids=["http-500", "rejected-reply"],
)
async def test_send_exits_3_when_the_bot_fails(
    url: str, canned: CannedBot, capsys, answer: Any, shown: str
) -> None:
    canned.answer = answer
    assert await run("send", "--url", url, "x") == ExitCode.BOT_ERROR
    assert capsys.readouterr().out.startswith(shown)


async def test_send_exits_3_when_no_try_is_answered_in_time(
    url: str, canned: CannedBot, capsys
) -> None:
    never = asyncio.Event()

    async def hang(request: web.Request, xml: str) -> web.Response:
        await never.wait()
        raise AssertionError("unreachable")

    canned.answer = hang
    flags = ["--retries", "--reply-timeout", "0.05"]
    assert await run("send", "--url", url, *flags, "x") == ExitCode.BOT_ERROR
    assert capsys.readouterr().out.startswith("no reply in 3 tries")


async def test_send_exits_3_when_it_cannot_connect(url: str, capsys) -> None:
    gone = f"http://127.0.0.1:{free_port()}/wechat"
    assert await run("send", "--url", gone, "x") == ExitCode.BOT_ERROR
    assert capsys.readouterr().err.startswith("botstore send: could not reach")


async def chat(url: str, script: str, monkeypatch: pytest.MonkeyPatch, *flags: str) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    return await run("chat", "--url", url, "--fan", "o_lint_fan_0000000000000000000", *flags)


async def test_chat_exits_with_its_worst_exchange(
    url: str, canned: CannedBot, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    answer_text(canned)
    assert await chat(url, "hello\n/quit\n", monkeypatch) == ExitCode.OK
    canned.answer = lambda request, xml: web.Response(text=news_xml(2))
    assert await chat(url, "news\n", monkeypatch) == ExitCode.OK
    assert await chat(url, "news\n", monkeypatch, "--strict") == ExitCode.FAILED
    canned.answer = lambda request, xml: web.Response(status=500, text="boom")
    assert await chat(url, "a\n", monkeypatch, "--strict") == ExitCode.BOT_ERROR


async def test_chat_sends_a_menu_key_with_spaces_whole(
    url: str, canned: CannedBot, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    keys = []

    def remember(request: web.Request, xml: str) -> web.Response:
        keys.append(xml.split("<EventKey><![CDATA[")[1].split("]]>")[0])
        return web.Response(text="success")

    canned.answer = remember
    assert await chat(url, "/click refund info\n", monkeypatch) == ExitCode.OK
    assert keys == ["refund info"]


def transcript(reply: str) -> dict[str, Any]:
    turn = {
        "openid": "o_lint_fan_0000000000000000000",
        "aes": False,
        "request": {"MsgType": "text", "Content": "hello"},
        "status": 200,
        "reply": {"type": "text", "content": reply},
        "reply_xml": None,
        "body": None,
        "elapsed_ms": 1.0,
        "warnings": [],
    }
    return {"version": 1, "webhook_url": "", "aes": False, "turns": [turn]}


@pytest.mark.parametrize(
    ("recorded", "answer", "code"),
    [
        ("hi", lambda r, x: web.Response(text=text_xml("hi")), ExitCode.OK),
        ("hi", lambda r, x: web.Response(text=text_xml("bye")), ExitCode.FAILED),
        ("hi", lambda r, x: web.Response(status=500, text="boom"), ExitCode.BOT_ERROR),
    ],
    ids=["same", "differs", "http-500"],
)
async def test_replay_exit_codes(
    url: str,
    canned: CannedBot,
    tmp_path: Path,
    capsys,
    recorded: str,
    answer: Any,
    code: ExitCode,
) -> None:
    canned.answer = answer
    path = tmp_path / "t.json"
    path.write_text(json.dumps(transcript(recorded)))
    assert await run("replay", str(path), "--url", url) == code


async def test_replay_exits_1_on_warnings_only_with_strict(
    url: str, canned: CannedBot, tmp_path: Path, capsys
) -> None:
    long = "x" * 2100  # past WeChat's 2,048-byte text limit: a warning, the same reply
    canned.answer = lambda request, xml: web.Response(text=text_xml(long))
    path = tmp_path / "t.json"
    path.write_text(json.dumps(transcript(long)))
    assert await run("replay", str(path), "--url", url) == ExitCode.OK
    assert await run("replay", str(path), "--url", url, "--strict") == ExitCode.FAILED


async def test_replay_exits_2_on_a_bad_file_and_3_when_it_cannot_connect(
    tmp_path: Path, capsys
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert await run("replay", str(bad)) == ExitCode.USAGE
    assert capsys.readouterr().err == "botstore replay: a transcript is a JSON object\n"
    good = tmp_path / "t.json"
    good.write_text(json.dumps(transcript("hi")))
    gone = f"http://127.0.0.1:{free_port()}/wechat"
    assert await run("replay", str(good), "--url", gone) == ExitCode.BOT_ERROR
    assert capsys.readouterr().err.startswith("botstore replay: could not reach")


async def test_fresh_fans_named_in_replies_compare_as_the_recorded_fan(
    url: str, canned: CannedBot, tmp_path: Path, capsys
) -> None:
    openid = "o_lint_fan_0000000000000000000"

    def greet(request: web.Request, xml: str) -> web.Response:
        fan = xml.split("<FromUserName><![CDATA[")[1].split("]]>")[0]
        return web.Response(text=text_xml(f"hello {fan}", to=fan))

    canned.answer = greet
    path = tmp_path / "t.json"
    path.write_text(json.dumps(transcript(f"hello {openid}")))
    assert await run("replay", str(path), "--url", url, "--fresh-fans") == ExitCode.OK
    out = capsys.readouterr().out
    assert out.startswith(f"fan {openid} played by o_") and "all replies match" in out
