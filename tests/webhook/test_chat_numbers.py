"""Numbers in chat commands: only ASCII digits are numbers, and none is too long for int()."""

import pytest

from botstore.console.client import Emulator
from botstore.models import LedgerTransaction
from tests.helpers import count

HUGE = "9" * 5000  # past Python's int-digit limit (4300)


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("buy #²", "Usage: buy"),
        ("buy ²", "Usage: buy"),
        (f"buy #{HUGE}", "Usage: buy"),
        ("buy 1 ²", "Usage: buy"),
        (f"buy 1 {HUGE}", "Usage: buy"),
        ("list tea 5 ²", "is not a valid stock"),
        (f"list tea 5 {HUGE}", "is not a valid stock"),
    ],
    ids=lambda value: value[:20],
)
async def test_chat_numbers_int_refuses_get_a_reason(
    wechat: Emulator, sessions, command: str, reply: str
) -> None:
    # "²".isdigit() is True but int("²") raises, as int() of 5000 digits does: both were a 500.
    exchange = await wechat.say(command, fan="o_mallory")
    assert exchange.status == 200
    assert reply in exchange.content
    assert await count(sessions, LedgerTransaction) == 0
