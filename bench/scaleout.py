"""Scale-out: the same load against one and then two server processes on PostgreSQL.

Run from the project root:

    .venv/bin/python bench/scaleout.py [--messages 6000] [--fans 1000] [--concurrency 64] \
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

For each of 1 and 2 processes it creates a fresh database on the server of --database-url
(dropped afterwards; the database named in the URL is only used to connect), starts that many
`python -m botstore serve` processes on it (demo data, one scheduler leader by advisory lock),
and sends the same seeded mix as the soak test (tests/reliability/load.py: top-ups, balance,
buy, tip, invest, merchant payments, help, unknown text, events; 10 % encrypted) from `--fans`
fans at `--concurrency` connections, spread round-robin over the processes as a load balancer
would. It prints throughput, latency and each process's CPU for both runs, and the scaling factor
(messages per second with two processes / with one), and the messages per server CPU-second
of each run (the load generator shares the machine's cores, so throughput alone understates a
second process). With --workers, each run is one `python -m botstore serve --workers N` on one
port (the kernel spreads connections over the workers) instead of N servers behind a round robin.
"""

import argparse
import asyncio
import itertools
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from random import Random
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.memory import fresh_postgres  # noqa: E402
from botstore.console.client import Emulator  # noqa: E402
from tests.live import LiveServer, cpu_seconds  # noqa: E402
from tests.reliability.load import (  # noqa: E402
    Account,
    Mix,
    Results,
    client_session,
    send_all,
    server_settings,
)

DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


class RoundRobin:
    """A transport that sends each request to the next server, like a load balancer."""

    def __init__(self, session: Any, urls: list[str]) -> None:
        self.session = session
        self.urls = itertools.cycle(urls)

    def post(self, _url: str, **kwargs: Any) -> Any:
        return self.session.post(next(self.urls), **kwargs)

    def get(self, _url: str, **kwargs: Any) -> Any:
        return self.session.get(next(self.urls), **kwargs)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]


async def run(args: argparse.Namespace, processes: int, directory: Path) -> dict[str, float]:
    async with fresh_postgres(args.database_url, "botstore_scaleout") as url:
        if args.workers:  # one `serve --workers N`: the kernel spreads the connections
            servers = [
                LiveServer(
                    directory,
                    name=f"serve-workers-{processes}",
                    **server_settings(url, BOTSTORE_SERVER_WORKERS=str(processes)),
                )
            ]
        else:  # N separate servers, behind this script's round robin
            servers = [
                LiveServer(directory, name=f"serve-{processes}-{index}", **server_settings(url))
                for index in range(processes)
            ]
        for server in servers:
            server.start()
        try:
            if args.workers and processes > 1:
                await asyncio.to_thread(servers[0].wait_listening, processes)
                pids = servers[0].workers()
            else:
                pids = [server.pid for server in servers]
            async with client_session() as http:
                wechat = Emulator(RoundRobin(http, [s.url for s in servers]), "", Account())
                rng = Random(args.seed)
                mix = Mix(rng, fans=args.fans, product_ids=range(1, 10), start=int(time.time()))
                results = Results()
                warm = [(send,) for send in mix.first_topups()]
                await send_all(wechat, warm, rng, results, concurrency=(args.concurrency,))
                items = [(send,) for send in mix.messages(args.messages)]
                cpu = [cpu_seconds(pid) for pid in pids]
                started_cpu = time.process_time()
                started = time.perf_counter()
                results = Results()
                await send_all(wechat, items, rng, results, concurrency=(args.concurrency,))
                seconds = time.perf_counter() - started
                client_cpu = time.process_time() - started_cpu
                used = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu, strict=True)]
        finally:
            for server in servers:
                server.stop()
    latencies = [e.elapsed_seconds * 1000 for ex in results.answers.values() for e in ex]
    return {
        "processes": processes,
        "messages": len(items),
        "seconds": seconds,
        "rps": len(items) / seconds,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "server_cpu": sum(used) / seconds,
        "per_process_cpu": max(used) / seconds,
        "client_cpu": client_cpu / seconds,
    }


async def main_async(args: argparse.Namespace, directory: Path) -> None:
    print(f"{os.cpu_count()} CPUs; {args.messages} messages from {args.fans} fans", end="")
    print(f" at c={args.concurrency}")
    columns = ["processes", "messages", "seconds", "msg/s", "p50 ms", "p99 ms"]
    columns += ["servers' CPU (cores)", "busiest process", "client CPU"]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    rows = []
    for processes in (1, 2):
        row = await run(args, processes, directory)
        rows.append(row)
        print(
            f"| {processes} | {row['messages']:.0f} | {row['seconds']:.1f} | {row['rps']:.0f} | "
            f"{row['p50']:.0f} | {row['p99']:.0f} | {row['server_cpu']:.2f} | "
            f"{row['per_process_cpu']:.0%} | {row['client_cpu']:.0%} |",
            flush=True,
        )
    print(f"scaling factor (2 processes / 1): {rows[1]['rps'] / rows[0]['rps']:.2f}")
    per_cpu = [row["rps"] / row["server_cpu"] for row in rows]
    print(
        f"messages per server CPU-second: {per_cpu[0]:.0f} (1), {per_cpu[1]:.0f} (2); "
        f"ratio {per_cpu[1] / per_cpu[0]:.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=6000)
    parser.add_argument("--fans", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--database-url", default=DEFAULT_SERVER)
    parser.add_argument(
        "--workers",
        action="store_true",
        help="one `serve --workers N` instead of N servers behind a round robin",
    )
    parser.add_argument("--keep", action="store_true", help="keep the servers' logs")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="botstore-scaleout-"))
    try:
        asyncio.run(main_async(args, directory))
    finally:
        if args.keep:
            print(f"kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
