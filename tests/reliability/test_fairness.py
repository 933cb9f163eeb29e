"""A served SQLite process under steady load gives each message its turn in arrival order."""

import asyncio
import sqlite3
import time
from pathlib import Path

from botstore.console.client import Emulator
from tests.live import LiveServer
from tests.reliability.load import Account, client_session, report, server_settings

FANS = 32
MESSAGES_PER_FAN = 20


async def _steady_load(url: str) -> list[str]:
    """32 fans, each sending its next message as soon as the last is answered (as a load test
    or a busy account does); returns the texts in the order they were sent."""
    sent: list[str] = []
    async with client_session() as session:
        wechat = Emulator(session, url, Account())

        async def fan(number: int) -> None:
            for message in range(MESSAGES_PER_FAN):
                text = f"n{number}-{message}"
                sent.append(text)
                exchange = await wechat.say(text, fan=f"o_fair_{number:02d}".ljust(28, "x"))
                assert exchange.status == 200, exchange.describe()

        await asyncio.gather(*(fan(number) for number in range(FANS)))
    return sent


def test_no_message_waits_while_later_ones_pass_it(tmp_path: Path) -> None:
    database = tmp_path / "live.db"
    server = LiveServer(tmp_path, **server_settings(f"sqlite+aiosqlite:///{database}"))
    server.start()
    try:
        started = time.monotonic()
        sent = asyncio.run(_steady_load(server.url))
        seconds = time.monotonic() - started
    finally:
        server.stop()

    with sqlite3.connect(database) as db:
        logged = [
            row[0]
            for row in db.execute(
                "SELECT json_extract(fields, '$.Content') FROM inbound_message ORDER BY id"
            )
        ]
    position = {text: index for index, text in enumerate(logged)}
    # For each message, how many sent after it were accepted before it. Served in arrival
    # order, about the number in flight at once; the pool's queue alone (a connection given
    # back goes to whoever asks next) let a few messages wait for most of the run, passed by
    # hundreds.
    passed_by = [
        sum(position[later] < position[text] for later in sent[index + 1 :])
        for index, text in enumerate(sent)
    ]
    report(f"{len(sent)} messages in {seconds:.1f} s; passed by at most {max(passed_by)}")
    assert max(passed_by) <= 2 * FANS, sorted(passed_by)[-10:]
