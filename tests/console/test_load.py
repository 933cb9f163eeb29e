"""`botstore load` against a canned bot on loopback: what it sends (signed, from fresh fans, the
mix's turns), what it counts (answers, timeouts, errors, lint), its limits and exit codes, and its
bounds. The CLI runs in a thread, as in test_exit_codes."""

import asyncio
from pathlib import Path

import pytest
from aiohttp import web

from botstore import cli
from botstore.console.client import ExitCode
from botstore.console.load import LoadError, read_mix
from tests.console.conftest import CRYPTO, news_xml, run, text_xml
from tests.live import free_port


def field(xml: str, name: str) -> str:
    start = xml.split(f"<{name}>", 1)[1]
    return start.split(f"</{name}>", 1)[0].removeprefix("<![CDATA[").removesuffix("]]>")


@pytest.fixture
def seen(canned) -> list[dict[str, str]]:
    """What the bot received; it answers a text reply to the sender."""
    received: list[dict[str, str]] = []

    def answer(request: web.Request, xml: str) -> web.Response:
        fan = field(xml, "FromUserName")
        kind = field(xml, "MsgType")
        what = field(xml, "Content") if kind == "text" else field(xml, "Event")
        encrypted = "msg_signature" in request.query
        received.append({"fan": fan, "kind": kind, "what": what, "aes": str(encrypted)})
        reply = text_xml("ok", to=fan)
        if encrypted:  # answered in kind, as a bot in safe mode does
            query = request.query
            reply = CRYPTO.encrypt_reply(
                reply, nonce=query["nonce"], timestamp=int(query["timestamp"])
            )
        return web.Response(text=reply)

    canned.answer = answer
    return received


async def load(url: str, *flags: str) -> int:
    return await run("load", "--url", url, *flags)


async def test_a_run_sends_the_mix_from_fresh_fans_and_reports(
    url: str,
    seen: list[dict[str, str]],
    tmp_path: Path,
    capsys,
) -> None:
    mix = tmp_path / "mix.txt"
    mix.write_text("# a comment\nbalance\nbalance\n\n/click menu key\n/subscribe\n")
    flags = ["--rate", "50", "--duration", "0.4", "--mix", str(mix), "--fans", "3", "--aes"]
    assert await load(url, *flags) == ExitCode.OK
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith("20 messages in ")
    assert "answered 20, timed out 0, errors 0, retried 0" in out
    assert "lint: 0 replies with warnings" in out
    assert "20/20 done, 20 answered" in err  # the progress, a line per tenth off a terminal
    assert len(seen) == 20
    fans = {message["fan"] for message in seen}
    assert len(fans) <= 3 and all(len(fan) == 28 and fan.startswith("o_load_") for fan in fans)
    assert {message["aes"] for message in seen} == {"True"}
    assert {(m["kind"], m["what"]) for m in seen} <= {
        ("text", "balance"),
        ("event", "CLICK"),
        ("event", "subscribe"),
    }


async def test_lint_warnings_are_counted_and_fail_past_the_limit(
    url: str,
    canned,
    capsys,
) -> None:
    canned.answer = lambda request, xml: web.Response(text=news_xml(2))
    flags = ["--rate", "40", "--duration", "0.25"]
    assert await load(url, *flags) == ExitCode.OK
    assert "lint: 10 replies with warnings\n  10 x The reply has 2 news" in capsys.readouterr().out
    assert await load(url, *flags, "--max-warnings", "9") == ExitCode.FAILED
    assert "limit: 10 warnings is over --max-warnings 9" in capsys.readouterr().err
    assert await load(url, *flags, "--max-warnings", "10") == ExitCode.OK


async def test_timeouts_and_errors_are_counted_and_fail_past_their_limits(
    url: str,
    canned,
    capsys,
) -> None:
    never = asyncio.Event()

    async def hang(request: web.Request, xml: str) -> web.Response:
        await never.wait()
        raise AssertionError("unreachable")

    canned.answer = hang
    flags = ["--rate", "40", "--duration", "0.1", "--reply-timeout", "0.05"]
    assert await load(url, *flags, "--max-timeouts", "3") == ExitCode.FAILED
    out, err = capsys.readouterr()
    assert "answered 0, timed out 4, errors 0" in out
    assert "limit: 4 timeouts is over --max-timeouts 3" in err

    canned.answer = lambda request, xml: web.Response(status=500, text="boom")
    assert await load(url, "--rate", "40", "--duration", "0.1", "--max-errors", "0") == 1
    out, err = capsys.readouterr()
    assert "answered 0, timed out 0, errors 4" in out and "error 4 x HTTP 500: boom" in out
    assert "limit: 4 errors is over --max-errors 0" in err


async def test_a_p99_limit(url: str, seen: list, capsys) -> None:
    flags = ["--rate", "40", "--duration", "0.1"]
    assert await load(url, *flags, "--max-p99-ms", "0") == ExitCode.FAILED
    assert "limit: p99 latency " in capsys.readouterr().err
    assert await load(url, *flags, "--max-p99-ms", "600000") == ExitCode.OK


async def test_an_unreachable_bot_exits_3(capsys) -> None:
    gone = f"http://127.0.0.1:{free_port()}/wechat"
    assert await load(gone, "--rate", "20", "--duration", "0.1") == ExitCode.BOT_ERROR
    assert "the bot could not be reached" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (["--rate", "0", "--duration", "1"], "--rate must be above 0 and at most 1000"),
        (["--rate", "1000", "--duration", "3600"], "--rate x --duration must be at most 100,000"),
        (["--rate", "1", "--duration", "4000"], "--duration must be above 0 and at most 3600"),
        (["--rate", "1", "--duration", "1", "--fans", "0"], "--fans must be 1-10,000"),
        (["--rate", "1", "--duration", "1", "--mix", "/no/such/mix"], "cannot read /no/such/mix"),
    ],
)
async def test_settings_out_of_bounds_exit_2(flags: list[str], error: str, capsys) -> None:
    assert await run("load", "--url", "http://127.0.0.1:9/wechat", *flags) == ExitCode.USAGE
    assert capsys.readouterr().err.startswith(f"botstore load: {error}")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("help\n/fly away\n", "line 2: unknown action /fly (known: /click, /image, /location"),
        ("/click\n", "line 1: /click needs 1 argument(s)"),
        ("/location north south\n", "line 1: /location needs two numbers"),
        ("# only a comment\n\n", "the mix has no messages"),
    ],
)
def test_bad_mix_files_name_the_line(text: str, error: str) -> None:
    with pytest.raises(LoadError) as raised:
        read_mix(text)
    assert str(raised.value).startswith(error)


def test_load_needs_a_rate_and_a_duration(capsys) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(["load", "--rate", "5"])
    assert raised.value.code == 2
    assert "--duration" in capsys.readouterr().err


def test_the_mix_keeps_weights_and_actions() -> None:
    turns = read_mix("a\na\n/location 31.2 121.5 home\n/image\n")
    assert [turn.line for turn in turns] == ["a", "a", "/location 31.2 121.5 home", "/image"]
