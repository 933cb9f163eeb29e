"""Memory of a live server under a long run: RSS sampled as messages from many fans go through.

Run from the project root:

    .venv/bin/python bench/memory.py [--messages 100000] [--fans 10000] [--database-url URL]

It starts `python -m botstore serve` (on a fresh SQLite file in a temporary directory, or on the
PostgreSQL server of --database-url, in a database it creates and drops) with the demo data and
dedup pruning on a short retention (`dedup.retention_seconds` 60, pruned every 10 s), sends the
soak test's mix of commands and events (tests/reliability/load.py: top-ups, balance, buy, tip,
invest, merchant payments, help, unknown text, events; 10 % encrypted) from `--fans` fans at 32
concurrent connections, and every `--every` messages prints the server's RSS, the dedup keys it
still keeps and the rate. The target: RSS under 150 MB, and it stops growing (the second half of
the run adds less than 5 % to what the first half ended at).
"""

import argparse
import asyncio
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from random import Random

from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from botstore.console.client import Emulator  # noqa: E402
from botstore.db import create_engine  # noqa: E402
from tests.live import LiveServer  # noqa: E402
from tests.reliability.load import (  # noqa: E402
    Account,
    Mix,
    Results,
    client_session,
    send_all,
    server_settings,
)

TARGET_MB = 150
RETENTION_SECONDS = 60


async def count(url: str, table: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace, url: str, directory: Path) -> int:
    settings = server_settings(
        url,
        BOTSTORE_DEDUP_RETENTION_SECONDS=str(RETENTION_SECONDS),
        BOTSTORE_DEDUP_PRUNE_INTERVAL_SECONDS="10",
    )
    server = LiveServer(directory, **settings)
    server.start()
    rng = Random(args.seed)
    samples: list[tuple[int, float]] = []
    try:
        async with client_session() as http:
            wechat = Emulator(http, server.url, Account())
            mix = Mix(rng, fans=args.fans, product_ids=range(1, 10), start=int(time.time()))
            results = Results()
            await send_all(wechat, [(s,) for s in mix.messages(200)], rng, results)  # warm-up
            print(
                f"server pid {server.pid}, {args.fans} fans, database {make_url(url).drivername}"
            )
            print("| messages | RSS MB | dedup keys kept | msg/s (last stretch) |")
            print("| --- | --- | --- | --- |")
            rss = server.rss_bytes() / 2**20
            samples.append((0, rss))
            print(f"| 0 | {rss:.1f} | {await count(url, 'processed_message')} | |")
            sent = 0
            while sent < args.messages:
                batch = min(args.every, args.messages - sent)
                started = time.perf_counter()
                items = [(send,) for send in mix.messages(batch)]
                await send_all(wechat, items, rng, results, concurrency=(32,))
                rate = batch / (time.perf_counter() - started)
                sent += batch
                rss = server.rss_bytes() / 2**20
                samples.append((sent, rss))
                kept = await count(url, "processed_message")
                print(f"| {sent} | {rss:.1f} | {kept} | {rate:.0f} |", flush=True)
            fans = await count(url, "fan")
    finally:
        server.stop()

    peak = max(rss for _, rss in samples)
    half = samples[len(samples) // 2][1]
    growth = (samples[-1][1] - half) / half
    print(f"fans in the database: {fans}; peak RSS {peak:.1f} MB (target < {TARGET_MB} MB)")
    print(f"second half of the run: {growth:+.1%} (target < +5 %: it stops growing)")
    ok = peak < TARGET_MB and growth < 0.05
    print("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--fans", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=10_000, help="sample RSS every N messages")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="a PostgreSQL server URL; a database is made on it")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="botstore-memory-"))
    try:
        if not args.database_url:
            return asyncio.run(run(args, f"sqlite+aiosqlite:///{directory}/memory.db", directory))
        return asyncio.run(with_postgres(args, directory))
    finally:
        if args.keep:
            print(f"kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)


async def with_postgres(args: argparse.Namespace, directory: Path) -> int:
    async with fresh_postgres(args.database_url, "botstore_memory") as url:
        return await run(args, url, directory)


class fresh_postgres:  # noqa: N801 (used as a context manager, like contextlib's)
    """A new database on the server of `server_url`, dropped (with its connections) at exit."""

    def __init__(self, server_url: str, prefix: str) -> None:
        self.server_url = server_url
        self.name = f"{prefix}_{secrets.token_hex(4)}"

    async def __aenter__(self) -> str:
        await self._admin(f'CREATE DATABASE "{self.name}"')
        return make_url(self.server_url).set(database=self.name).render_as_string(False)

    async def __aexit__(self, *_exc: object) -> None:
        await self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    async def _admin(self, statement: str) -> None:
        engine = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
