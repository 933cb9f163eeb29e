"""Retries and duplicates: the first handling of a dedup key is stored with its reply; copies get
that reply and run nothing again, also when they arrive while the first is still running."""

import asyncio
from datetime import timedelta

import pytest
from aiohttp import web
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from botstore.app import create_app, prune_dedup
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.keys import background_key, db_key
from botstore.models import InboundMessage, LedgerTransaction, OutboxMessage, ProcessedMessage
from botstore.money import Fen
from botstore.router import TRANSIENT_ATTEMPTS, Context, Router
from botstore.services import ledger, wallet
from botstore.wechat import Reply, TextReply
from handlers import ROUTERS
from tests.helpers import count, probe


@pytest.fixture
def app(config: Config, clock: FrozenClock) -> web.Application:
    return create_app(config, clock=clock, routers=[*ROUTERS, probe])


async def balance(wechat: Emulator, fan: str) -> str:
    return (await wechat.say("balance", fan=fan)).content


@pytest.mark.parametrize("encrypt", [False, True], ids=["plaintext", "aes"])
async def test_three_sequential_copies_move_money_once(
    wechat: Emulator, sessions, encrypt: bool
) -> None:
    replies = [
        (await wechat.say("topup 12.5", fan="o_a", msg_id=42, encrypt=encrypt)).reply_xml
        for _ in range(3)
    ]
    assert replies[0] == replies[1] == replies[2]
    assert await balance(wechat, "o_a") == "Your balance: ¥12.50"
    assert await count(sessions, LedgerTransaction) == 1
    assert await count(sessions, InboundMessage) == 2  # the top-up once, and the balance


async def test_three_concurrent_copies_move_money_once(wechat: Emulator, sessions) -> None:
    await wechat.say("topup 50", fan="o_a")
    copies = await asyncio.gather(
        *(wechat.say("spend 30", fan="o_a", msg_id=4242) for _ in range(3))
    )
    assert {copy.raw for copy in copies} == {copies[0].raw}
    assert copies[0].content == "spent 3000"
    assert await balance(wechat, "o_a") == "Your balance: ¥20.00"
    async with sessions() as session:
        assert await ledger.imbalance(session) == 0


async def test_a_copy_arriving_while_the_first_runs_waits_for_its_reply(
    wechat: Emulator, sessions
) -> None:
    first = asyncio.create_task(wechat.say("slow 0.3", fan="o_a", msg_id=7))
    await asyncio.sleep(0.05)
    second = await wechat.say("slow 0.3", fan="o_a", msg_id=7)
    assert (await first).raw == second.raw
    assert second.content == "done slowly"
    assert await balance(wechat, "o_a") == "Your balance: ¥1.00"


async def test_events_are_deduplicated_on_sender_and_create_time(
    wechat: Emulator, sessions
) -> None:
    stamp = wechat.now()
    first = await wechat.event("subscribe", fan="o_a", create_time=stamp)
    again = await wechat.event("subscribe", fan="o_a", create_time=stamp)
    later = await wechat.event("subscribe", fan="o_a", create_time=stamp + 1)
    assert first.raw == again.raw
    assert "Welcome" in later.content
    assert await count(sessions, InboundMessage) == 2


async def test_another_fans_message_with_the_same_msg_id_runs_and_gets_its_own_reply(
    wechat: Emulator, sessions
) -> None:
    await wechat.say("topup 123.45", fan="o_a")
    mine = await wechat.say("history", fan="o_a", msg_id=31)
    assert "Topped up +¥123.45" in mine.content
    theirs = await wechat.say("history", fan="o_b", msg_id=31)
    assert theirs.content == 'No movements yet. Try "topup 100".'
    assert await count(sessions, InboundMessage) == 3


async def test_two_fans_money_with_the_same_msg_id_moves_for_each_once(
    wechat: Emulator, sessions
) -> None:
    first = await wechat.say("topup 5", fan="o_a", msg_id=777)
    second = await wechat.say("topup 7", fan="o_b", msg_id=777)
    assert first.content == "Topped up ¥5.00. Balance: ¥5.00"
    assert second.content == "Topped up ¥7.00. Balance: ¥7.00"
    # Each fan's own retry is still a copy, answered with that fan's first reply.
    assert (await wechat.say("topup 7", fan="o_b", msg_id=777)).raw == second.raw
    assert (await wechat.say("topup 5", fan="o_a", msg_id=777)).raw == first.raw
    assert await balance(wechat, "o_a") == "Your balance: ¥5.00"
    assert await balance(wechat, "o_b") == "Your balance: ¥7.00"
    assert await count(sessions, LedgerTransaction) == 2


async def test_a_refused_command_is_stored_with_its_reply_and_changes_nothing(
    wechat: Emulator, sessions
) -> None:
    first = await wechat.say("spend 5", fan="o_a", msg_id=9)
    assert "Not enough money" in first.content
    await wechat.say("topup 10", fan="o_a")
    retry = await wechat.say("spend 5", fan="o_a", msg_id=9)
    assert retry.raw == first.raw  # the stored refusal, not a second attempt
    assert await balance(wechat, "o_a") == "Your balance: ¥10.00"


async def test_old_dedup_keys_are_pruned(
    wechat: Emulator, sessions, client, clock: FrozenClock, config: Config
) -> None:
    await wechat.say("topup 1", fan="o_a", msg_id=1)
    clock.advance(timedelta(seconds=config.dedup.retention_seconds - 1))
    await wechat.say("balance", fan="o_a", msg_id=2)
    clock.advance(timedelta(seconds=2))
    assert await prune_dedup(client.app) == 1
    async with sessions() as session:
        keys = (await session.exec(select(ProcessedMessage.key))).all()
    assert keys == ["msg:o_a:2"]
    # The message log and the ledger keep their records.
    assert await count(sessions, InboundMessage) == 2
    assert await count(sessions, LedgerTransaction) == 1


async def test_a_handler_past_the_budget_gets_success_and_its_reply_reaches_the_outbox(
    aiohttp_client, config: Config, clock: FrozenClock, sessions_of
) -> None:
    fast = config.replace(server={"reply_budget_seconds": 0.1})
    app = create_app(fast, clock=clock, routers=[*ROUTERS, probe])
    client = await aiohttp_client(app)
    wechat = Emulator(client, "/wechat", config.wechat, clock=clock)

    late = await wechat.say("slow 0.4", fan="o_a", msg_id=5)
    assert (late.status, late.body) == (200, "success")
    await asyncio.wait(set(app[background_key]))

    sessions = sessions_of(app)
    async with sessions() as session:
        outbox = (await session.exec(select(OutboxMessage))).one()
    assert outbox.openid == "o_a"
    assert outbox.reason == "late_reply"
    assert outbox.payload == {
        "touser": "o_a",
        "msgtype": "text",
        "text": {"content": "done slowly"},
    }
    # The work was done exactly once, and a retry now gets the stored reply.
    assert (await wechat.say("slow 0.4", fan="o_a", msg_id=5)).content == "done slowly"
    assert (await wechat.say("balance", fan="o_a")).content == "Your balance: ¥1.00"
    assert await count(sessions, OutboxMessage) == 1


async def test_a_handler_within_the_budget_leaves_the_outbox_empty(
    wechat: Emulator, sessions
) -> None:
    assert (await wechat.say("slow 0.01", fan="o_a")).content == "done slowly"
    assert await count(sessions, OutboxMessage) == 0


class FakeDeadlock(Exception):
    """What asyncpg raises when PostgreSQL breaks a deadlock by aborting this transaction."""

    sqlstate = "40P01"


@pytest.mark.parametrize("aborts", [1, 3], ids=["once", "every-time"])
async def test_a_transaction_aborted_by_a_deadlock_runs_again_from_the_start(
    config: Config, clock: FrozenClock, aiohttp_client, aborts: int
) -> None:
    # A command that writes (a top-up and its own dedup claim) and then is the deadlock's victim.
    victim = Router(name="tests.victim", title="Victim")
    attempts = []

    @victim.command("contend")
    async def contend(ctx: Context) -> Reply:
        """Tops up, then is aborted by the database `aborts` times."""
        attempts.append(ctx.dedup_key)
        await wallet.topup(
            ctx.session,
            ctx.fan,
            amount=Fen(500),
            key=ctx.dedup_key,
            now=ctx.now,
            daily_cap_fen=10**9,
            timezone="UTC",
        )
        if len(attempts) <= aborts:
            raise DBAPIError("UPDATE account ...", None, FakeDeadlock("deadlock detected"))
        return TextReply("won")

    app = create_app(config, clock=clock, routers=[victim, *ROUTERS])
    wechat = Emulator(await aiohttp_client(app), config.wechat.path, config.wechat, clock=clock)
    exchange = await wechat.say("contend", fan="o_a", msg_id=7)
    sessions = app[db_key]
    if aborts < TRANSIENT_ATTEMPTS:
        assert exchange.content == "won"
        assert len(attempts) == aborts + 1
        assert await balance(wechat, "o_a") == "Your balance: ¥5.00"
    else:  # given up after the last attempt: 503, and nothing of any attempt was kept
        assert (exchange.status, exchange.body) == (503, "database unavailable, try again")
        assert len(attempts) == TRANSIENT_ATTEMPTS
        async with sessions() as session:
            claimed = (await session.exec(select(ProcessedMessage))).one()
        assert (claimed.key, claimed.state, claimed.reply) == ("msg:o_a:7", "accepted", None)
        assert await balance(wechat, "o_a") == "Your balance: ¥0.00"
        # The message stays accepted: WeChat's retry handles it, once.
        assert (await wechat.say("contend", fan="o_a", msg_id=7)).content == "won"
        assert await balance(wechat, "o_a") == "Your balance: ¥5.00"
