"""A message the webhook answered `success` for is durable: killed with SIGKILL while its handler
still runs, a restarted server handles it exactly once and sends the reply to the outbox."""

import asyncio
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from botstore.console.client import Emulator
from tests.conftest import assert_money_invariants
from tests.live import LiveServer
from tests.reliability.load import Account, client_session, server_settings


async def rows(database_url: str, query: str, **params: str) -> list[tuple]:
    # A plain engine: botstore's would take SQLite's write lock, which the held handler holds.
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(text(query), params)]
    finally:
        await engine.dispose()


async def outbox_of(database_url: str, openid: str) -> list[tuple]:
    return await rows(
        database_url,
        "SELECT reason, payload FROM outbox_message WHERE openid = :openid ORDER BY id",
        openid=openid,
    )


async def test_a_message_answered_success_survives_kill_9_and_is_handled_once_after_restart(
    database_url: str, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    server = LiveServer(
        tmp_path,
        module="tests.reliability.held_server",
        **server_settings(
            database_url,
            BOTSTORE_DATABASE_SEED_DEMO="false",
            BOTSTORE_SERVER_REPLY_BUDGET_SECONDS="0.2",
            BOTSTORE_TEST_GATE=str(gate),
        ),
    )
    server.start()
    try:
        async with client_session() as http:
            wechat = Emulator(http, server.url, Account())
            held = await wechat.say("hold", fan="o_held", msg_id=4242)
            assert (held.status, held.body) == (200, "success"), held.describe()
            # Accepted and committed before "success"; its handler is still waiting.
            states = await rows(database_url, "SELECT state FROM processed_message")
            assert states == [("accepted",)]

            await asyncio.to_thread(server.kill)
            gate.touch()
            await asyncio.to_thread(server.start)

            for _ in range(600):  # the restart handles it in the background
                if await outbox_of(database_url, "o_held"):
                    break
                await asyncio.sleep(0.05)
            retry = await wechat.say("hold", fan="o_held", msg_id=4242)
            assert retry.content == "released", retry.describe()
            balance = await wechat.say("balance", fan="o_held")
            assert balance.content == "Your balance: ¥1.00"
    finally:
        await asyncio.to_thread(server.stop)

    late = await outbox_of(database_url, "o_held")
    assert [reason for reason, _ in late] == ["late_reply"]
    assert "released" in str(late[0][1])
    topups = await rows(
        database_url, "SELECT count(*) FROM ledger_transaction WHERE key LIKE :held", held="%:hold"
    )
    assert topups == [(1,)]
    logged = await rows(
        database_url, "SELECT count(*) FROM inbound_message WHERE openid = 'o_held'"
    )
    assert logged == [(2,)]  # the hold (once, however often sent) and the balance
    assert await rows(database_url, "SELECT DISTINCT state FROM processed_message") == [("done",)]
    await assert_money_invariants(database_url)
