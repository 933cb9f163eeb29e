"""Soak: mixed messages from 500 fans, a tenth of them retried (some copies at the same moment as
the original), at random concurrency, through the signed webhook of a live server.

Afterwards the ledger balances, no wallet is negative, stock matches the orders, every message
had exactly one effect and every reply parsed. Seeded: the seed is printed, and
`BOTSTORE_SOAK_SEED=<seed>` (or `random`) replays it. It sends the issue's 20,000 messages per
database (about 7 minutes each on a busy 2-core machine, see bench/RESULTS.md; CI has the time);
`BOTSTORE_SOAK_MESSAGES=2000` makes a quick local run. A live server rather than the in-process
test client: 57 against 51 messages a second on the same mix, as the client signs and parses on
the other core.
"""

import os
import time
from pathlib import Path
from random import Random

import pytest

from botstore.clock import wall_now
from botstore.console.client import Emulator
from tests.databases import assert_money_invariants
from tests.live import LiveServer
from tests.reliability.load import (
    Account,
    Mix,
    Results,
    check_exactly_once,
    check_replies,
    check_stock,
    client_session,
    new_seed,
    report,
    send_all,
    server_settings,
    setup_shops,
    stock_levels,
    summary,
    with_retries,
)

MESSAGES = int(os.environ.get("BOTSTORE_SOAK_MESSAGES", "20000"))
FANS = 500
RETRIED = 0.1
SEED = 20261126  # fixed, so CI runs the same mix; set BOTSTORE_SOAK_SEED=random to explore


@pytest.mark.heavy
async def test_soak_every_message_has_exactly_one_effect(
    database_url: str, tmp_path: Path
) -> None:
    chosen = os.environ.get("BOTSTORE_SOAK_SEED", "")
    seed = new_seed() if chosen == "random" else int(chosen or SEED)
    report(f"soak seed: {seed} (replay with BOTSTORE_SOAK_SEED={seed})")
    rng = Random(seed)
    server = LiveServer(tmp_path, **server_settings(database_url))
    server.start()
    try:
        async with client_session() as http:
            wechat = Emulator(http, server.url, Account())
            mix = Mix(rng, fans=FANS, product_ids=[], start=int(wall_now().timestamp()))
            results = Results()
            mix.product_ids = await setup_shops(wechat, mix, results)
            initial_stock = await stock_levels(database_url)

            originals = mix.first_topups()
            originals += mix.messages(round(MESSAGES / (1 + RETRIED)) - len(originals))
            items = with_retries(rng, originals, RETRIED)
            started, cpu = time.perf_counter(), server.cpu_seconds()
            await send_all(wechat, items, rng, results)
            report(summary(results, time.perf_counter() - started, server.cpu_seconds() - cpu))
    finally:
        server.stop()

    check_replies(results)
    retried = sum(len(exchanges) > 1 for exchanges in results.answers.values())
    assert retried > MESSAGES * RETRIED * 0.8 / (1 + RETRIED), f"seed {seed}: too few retries"
    kinds = await check_exactly_once(database_url, results)
    sold = await check_stock(database_url, initial_stock)
    await assert_money_invariants(database_url)
    report(f"money moved by {kinds}; {sold} units sold; {retried} messages retried")
    # A mix that moved no money or sold nothing would prove little.
    assert kinds.get("Topped", 0) and kinds.get("Order", 0) and kinds.get("Paid", 0), kinds
    assert kinds.get("You", 0) and kinds.get("Bought", 0), kinds
    assert sold > 0
