"""Transcripts: recorded from exchanges (and the terminal chat's /save), replayed by
`python -m botstore replay` against a live bot, failing with a diff where replies differ."""

import asyncio
import json
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from botstore.console.chat import ChatSession
from botstore.console.client import Emulator
from botstore.console.transcript import (
    Transcript,
    TranscriptError,
    comparable,
    mask,
    transcript_json,
)
from tests.live import live_server

SAME_ACCOUNT = {
    "BOTSTORE_WECHAT_TOKEN": "AAAAA",
    "BOTSTORE_WECHAT_APP_ID": "wxba5fad812f8e6fb9",
    "BOTSTORE_WECHAT_ENCODING_AES_KEY": "A" * 43,
    "BOTSTORE_WECHAT_ACCOUNT_ID": "gh_97417a04a28d",
    "BOTSTORE_DATABASE_SEED_DEMO": "false",
    "BOTSTORE_WECHAT_LANGUAGE": "en",
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One fresh botstore process with the tests' account and no demo data."""
    with live_server(tmp_path_factory.mktemp("live"), **SAME_ACCOUNT) as env:
        yield env | {"url": f"http://127.0.0.1:{env['BOTSTORE_SERVER_PORT']}/wechat"}


async def run_replay(live: dict[str, str], path: Path, *flags: str) -> tuple[int, str, str]:
    env = {name: value for name, value in live.items() if name != "url"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "botstore",
        "replay",
        str(path),
        "--url",
        live["url"],
        *flags,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


def test_mask_hides_what_changes_between_runs() -> None:
    assert mask("Order #12 paid 2025-01-31 09:30, MsgId 6054768590064713728") == (
        "Order #<id> paid <date> <time>, MsgId <number>"
    )
    assert mask("http://127.0.0.1:8123/articles/3?product_id=7") == (
        "<origin>/articles/<id>?product_id=<id>"
    )
    assert mask("2025年1月3日 12:30:15 ¥12.50") == "<date> <time> ¥12.50"
    assert mask("token 550e8400-e29b-41d4-a716-446655440000 deadbeefdeadbeef00") == (
        "token <hex> <hex>"
    )


def test_comparable_lines_are_readable() -> None:
    turn = {
        "status": 200,
        "reply": {
            "type": "news",
            "articles": [{"title": "Order #3", "description": "", "pic_url": "", "url": "u"}],
        },
    }
    assert comparable(turn) == [
        "status: 200",
        "type: news",
        "articles:",
        "  - description: ",
        "    pic_url: ",
        "    title: Order #<id>",
        "    url: u",
    ]
    assert comparable({"status": 200, "reply": {"type": "text", "content": "a\nb"}}) == [
        "status: 200",
        "type: text",
        "content: |",
        "  a",
        "  b",
    ]
    assert comparable({"status": 200, "reply": None, "body": "success"}) == [
        "status: 200",
        "body: success",
    ]


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("not json", "is not JSON"),
        ("[]", "a transcript is a JSON object"),
        ('{"version": 2, "turns": []}', "version is 2, this botstore reads 1"),
        ('{"version": 1, "turns": {}}', "turns is not a list"),
        ('{"version": 1, "turns": [{"openid": "o", "request": {}}]}', "turn 1 has no request"),
        ('{"version": 1, "turns": [{"request": {"MsgType": "text"}}]}', "turn 1 has no openid"),
    ],
)
def test_a_bad_file_is_refused_clearly(tmp_path: Path, content: str, error: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(content)
    with pytest.raises(TranscriptError, match=error):
        Transcript.load(path)
    with pytest.raises(TranscriptError, match="cannot read"):
        Transcript.load(tmp_path / "missing.json")


async def record(wechat: Emulator, fan: str) -> list:
    return [
        await wechat.event("subscribe", fan=fan),
        await wechat.say("help", fan=fan),
        await wechat.say("topup 5", fan=fan),
        await wechat.say("balance", fan=fan, encrypt=True),
        await wechat.event("CLICK", fan=fan, event_key="balance"),
        await wechat.say("no such command", fan=fan),
        await wechat.event("unsubscribe", fan=fan),
    ]


async def test_transcript_json_has_the_documented_shape(wechat: Emulator) -> None:
    exchanges = await record(wechat, "o_t")
    data = transcript_json(exchanges, webhook_url="http://bot/wechat")
    assert (data["version"], data["webhook_url"], data["aes"]) == (1, "http://bot/wechat", True)
    first, topup, balance = data["turns"][0], data["turns"][2], data["turns"][3]
    assert first["openid"] == "o_t"
    assert first["request"] == {"MsgType": "event", "Event": "subscribe"}
    assert topup["request"] == {"MsgType": "text", "Content": "topup 5"}
    assert topup["reply"] == {"type": "text", "content": "Topped up ¥5.00. Balance: ¥5.00"}
    assert "<Content><![CDATA[Topped up" in topup["reply_xml"]
    assert topup["elapsed_ms"] >= 0 and topup["warnings"] == []
    assert (balance["aes"], topup["aes"]) == (True, False)
    assert data["turns"][-1]["reply"] is None and data["turns"][-1]["body"] == "success"
    json.dumps(data)  # JSON-safe as it is


async def test_chat_save_writes_a_transcript(wechat: Emulator, tmp_path: Path) -> None:
    printed: list[str] = []
    chat = ChatSession(wechat, "o_chat", out=printed.append)
    for line in ("/subscribe", "balance", f"/save {tmp_path / 'chat.json'}"):
        assert await chat.handle(line)
    assert printed[-1] == f"saved 2 turns to {tmp_path / 'chat.json'}"
    saved = Transcript.load(tmp_path / "chat.json")
    assert [turn["request"].get("Content") for turn in saved.turns] == [None, "balance"]
    assert saved.webhook_url == "/wechat"
    assert await chat.handle(f"/save {tmp_path / 'no' / 'such' / 'dir.json'}")
    assert printed[-1].startswith("! cannot save")


async def test_a_recorded_conversation_replays_against_a_fresh_live_bot(
    wechat: Emulator, live: dict[str, str], tmp_path: Path
) -> None:
    transcript = Transcript(webhook_url="/wechat")
    for exchange in await record(wechat, f"o_replay_{secrets.token_hex(4)}"):
        transcript.record(exchange)
    path = tmp_path / "conversation.json"
    transcript.save(path)

    code, out, err = await run_replay(live, path)
    assert (code, err) == (0, ""), out
    assert out.splitlines()[-1] == "7 turns replayed: all replies match"
    assert "ok   turn 3: o_replay_" in out


async def test_fresh_fans_make_a_replay_repeatable_against_a_server_that_moved_on(
    wechat: Emulator, live: dict[str, str], tmp_path: Path
) -> None:
    recorded = f"o_again_{secrets.token_hex(4)}"
    transcript = Transcript()
    for exchange in await record(wechat, recorded):
        transcript.record(exchange)
    path = tmp_path / "conversation.json"
    transcript.save(path)

    players = []
    for _ in range(2):
        code, out, err = await run_replay(live, path, "--fresh-fans")
        assert (code, err) == (0, ""), out
        first = out.splitlines()[0]
        assert first.startswith(f"fan {recorded} played by o_") and len(first.split()[-1]) == 28
        players.append(first.split()[-1])
    assert players[0] != players[1]

    # With the recorded openid, the second run meets the balance the first one left.
    assert (await run_replay(live, path))[0] == 0
    code, out, _ = await run_replay(live, path)
    assert code == 1 and "+content: Topped up ¥5.00. Balance: ¥10.00" in out


async def test_a_tampered_reply_fails_the_replay_with_a_diff(
    wechat: Emulator, live: dict[str, str], tmp_path: Path
) -> None:
    transcript = Transcript()
    for exchange in await record(wechat, f"o_tamper_{secrets.token_hex(4)}"):
        transcript.record(exchange)
    transcript.turns[2]["reply"]["content"] = "Topped up ¥50.00. Balance: ¥50.00"
    path = tmp_path / "tampered.json"
    transcript.save(path)

    code, out, err = await run_replay(live, path)
    assert code == 1, out + err
    assert "DIFF turn 3: o_tamper_" in out
    assert "     --- turn 3 recorded" in out and "     +++ turn 3 replayed" in out
    assert "     -content: Topped up ¥50.00. Balance: ¥50.00" in out
    assert "     +content: Topped up ¥5.00. Balance: ¥5.00" in out
    assert out.splitlines()[-1] == "7 turns replayed: 1 replies differ"


async def test_replay_refuses_a_file_that_is_not_a_transcript(
    live: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"version": 1}')
    code, out, err = await run_replay(live, path)
    assert (code, out) == (2, "")
    assert err == "botstore replay: turns is not a list\n"
