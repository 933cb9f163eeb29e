"""Where botstore's webhook spends its CPU: py-spy sampling the served process under load.

Run from the project root (py-spy is a dev tool, not a dependency: `.venv/bin/pip install py-spy`):

    .venv/bin/python bench/hotpath.py [--command balance|help|buy|tip] [--requests N]
                                      [--concurrency C] [--aes] [--top K]
                                      [--database-url URL] [--out FILE]

It starts `python -m botstore serve` as bench/webhook.py does (a fresh SQLite file unless
--database-url), tops up one wallet per worker, attaches `py-spy record --format raw` to the
server, sends the command (`balance` unless --command; bench/webhook.py's texts) N times at
concurrency C, then prints the functions with the largest inclusive ("cumulative") share of the
samples, and their self share. py-spy skips idle threads
(epoll waits, aiosqlite's worker blocked on its queue), so the shares are of CPU time, all threads;
--gil keeps only the thread holding the GIL (Python CPU). py-spy pauses the server to sample it,
so the req/s printed here runs below bench/webhook.py's.
"""

import argparse
import asyncio
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from webhook import (  # noqa: E402  (bench/ is not a package)
    BALANCE_PREFIX,
    COMMANDS,
    Account,
    demo_ids,
    fan_of,
    free_port,
    run,
    server_env,
    start,
    stop,
    wait_ready,
    warm_up,
)

from botstore.console.client import Emulator  # noqa: E402

PY_SPY = Path(sys.executable).parent / "py-spy"


def inclusive_shares(raw: Path) -> tuple[int, Counter[str], Counter[str]]:
    """Total samples, samples per function anywhere on the stack, samples per leaf function."""
    total, inclusive, own = 0, Counter[str](), Counter[str]()
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    return total, inclusive, own


def _short(frame: str) -> str:
    # "func (path/to/module.py:123)" -> "func (module.py)": one entry per function, not per line.
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    tail = "/".join(parts[-2:]) if len(parts) > 1 else path
    return f"{name} ({tail})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--command", choices=sorted(COMMANDS), default="balance")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--aes", action="store_true")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--database-url")
    parser.add_argument("--out", help="keep py-spy's collapsed stacks in this file")
    parser.add_argument(
        "--gil", action="store_true", help="sample only the thread holding the GIL (Python CPU)"
    )
    args = parser.parse_args()
    if not PY_SPY.exists():
        print(f"no {PY_SPY}: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="botstore-profile-"))
    raw = Path(args.out) if args.out else tmp / "stacks.txt"
    port = free_port()
    database_url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'profile.db'}"
    env = server_env(database_url)
    command = COMMANDS[args.command]
    server = start("botstore", ["-m", "botstore", "serve", "--port", str(port)], env, tmp, port)
    spy = None
    try:

        async def ready_and_fund() -> str:
            async with aiohttp.ClientSession() as session:
                await wait_ready(server, session)
                emulator = Emulator(session, server.url, Account())
                fans = [fan_of(worker) for worker in range(args.concurrency)]
                await warm_up(emulator, fans, topup=True, expected=BALANCE_PREFIX, exact=False)
            return command.text.format(**await demo_ids(database_url))

        message = asyncio.run(ready_and_fund())
        spy = subprocess.Popen(
            [
                str(PY_SPY),
                "record",
                "--pid",
                str(server.process.pid),
                "--format",
                "raw",
                "--rate",
                "250",
                "--threads",
                "-o",
                str(raw),
                *(["--gil"] if args.gil else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # let py-spy attach
        result = asyncio.run(
            run(
                server,
                command=command.name,
                message=message,
                aes=args.aes,
                concurrency=args.concurrency,
                requests=args.requests,
                expected=command.expected,
                exact=False,
            )
        )
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
        print(
            f"{result.requests} requests at c={result.concurrency} ({result.mode}): "
            f"{result.rps:.0f} req/s, p50 {result.percentile(50):.1f} ms, "
            f"p99 {result.percentile(99):.1f} ms, {result.errors} errors, "
            f"server cpu {result.server_cpu * 100 if result.server_cpu else 0:.0f}%"
        )
        total, inclusive, own = inclusive_shares(raw)
        print(f"{total} samples; top functions by inclusive share (self share in brackets):")
        for name, count in inclusive.most_common(args.top):
            print(f"  {count / total:6.1%} [{own[name] / total:5.1%}]  {name}")
        return 0
    finally:
        if spy is not None and spy.poll() is None:
            spy.kill()
        stop(server)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
