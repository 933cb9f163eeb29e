"""The terminal chat: lines and /actions through the emulator to the real app."""

from botstore.console.chat import ChatSession
from botstore.console.client import Emulator


async def chat_lines(wechat: Emulator, *lines: str) -> list[str]:
    printed: list[str] = []
    session = ChatSession(wechat, "o_term", out=printed.append)
    for line in lines:
        assert await session.handle(line)
    return printed


async def test_text_and_events_render_readably(wechat: Emulator) -> None:
    printed = await chat_lines(
        wechat, "/subscribe", "topup 5", "/click balance", "/location 23.1 113.3 Tower"
    )
    assert printed[0].startswith("bot> Welcome to botstore!")
    assert printed[1].startswith("bot> Topped up ¥5.00. Balance: ¥5.00")
    assert printed[2].startswith("bot> Your balance: ¥5.00")
    assert printed[3].startswith("bot> Got your location: Tower")


async def test_aes_raw_and_fan_switches(wechat: Emulator) -> None:
    printed = await chat_lines(wechat, "/aes on", "/raw on", "balance", "/fan o_other")
    assert printed[:2] == ["AES on", "raw XML on"]
    assert (
        "--- request ---" in printed[2] and "<Content><![CDATA[balance]]></Content>" in printed[2]
    )
    assert "bot> Your balance: ¥0.00" in printed[2]
    assert printed[3] == "now chatting as o_other"


async def test_quit_and_unknown_actions(wechat: Emulator) -> None:
    session = ChatSession(wechat, "o_term", out=lambda _: None)
    assert not await session.handle("/quit")
    printed = await chat_lines(wechat, "/nonsense")
    assert "/subscribe [scene]" in printed[0]
