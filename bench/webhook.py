"""Webhook throughput and latency: botstore against bare aiohttp doing the same protocol work.

Run from the project root:

    .venv/bin/python bench/webhook.py [--requests N] [--concurrency 1,32,256]
        [--commands help,balance,buy,tip] [--database-url URL] [--pin CORE]

(--keep keeps the temporary directory with the server logs and the database.)

It starts two servers as subprocesses on free local ports, each with its output in a temporary
directory:

- botstore (`python -m botstore serve`) on a fresh SQLite file in that directory, or on the
  database given by --database-url (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/bench;
  that database must exist, its schema is migrated and it is written to);
- bench/bare_server.py: aiohttp checking `signature`, checking `msg_signature` and decrypting,
  parsing the message and rendering (and encrypting) a constant text reply with
  botstore.wechat, but with no routing and no database.

Then, for plaintext and AES and every concurrency, it sends each command as fans through
botstore's Emulator (signed, encrypted like WeChat; one fan per worker, a fresh MsgId per
message) over one aiohttp session with as many connections as workers, checks every reply,
and prints req/s, p50, p99 and max latency and errors for both servers, and botstore's share
of the bare figure against the targets: read commands (`help`, `balance`) >= 60 % of bare
req/s, money-moving ones (`buy` the cheapest demo product, `tip` the first demo article ¥0.01)
>= 30 %; p99 < 50 ms at 32 connections; AES costs botstore < 15 % of its plaintext req/s.

botstore runs with the demo data (the product's stock is raised so buyers never run out) and
a top-up cap high enough for every buy. Each fan tops up before timing so its wallet exists,
and each run starts with a few unmeasured requests. Latency is the client's view: it includes
signing and encrypting the message and decrypting and parsing the reply in this process, which
shares the machine with both servers. Exit status: 0 when every request succeeded, 1 otherwise
(the targets are reported, not enforced).
"""

import argparse
import asyncio
import contextlib
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import make_url

from botstore.console.client import Emulator, EmulatorError, Exchange
from botstore.db import create_engine

ROOT = Path(__file__).resolve().parent.parent
BARE_SERVER = Path(__file__).resolve().parent / "bare_server.py"
PYTHON = sys.executable

PATH = "/wechat"
TOKEN = "benchtoken"
APP_ID = "wxbench0123456789"
AES_KEY = "BenchBenchBench0123456789abcdefghijklmnopqr"
ACCOUNT_ID = "gh_bench000001"
BARE_REPLY = "bare reply: your balance is not looked up here"
BALANCE_PREFIX = "Your balance"
TOPUP_YUAN = 100_000

DEFAULT_REQUESTS = {1: 300, 32: 2000}
DEFAULT_REQUESTS_OTHER = 2000
TARGET_P99_MS = 50.0
TARGET_P99_CONCURRENCY = 32
TARGET_AES_COST = 0.15


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    text: str  # "{product}" and "{article}" are filled in from the demo data
    expected: str  # how a successful reply starts
    target: float  # share of bare aiohttp's req/s


COMMANDS = {
    "help": Command("help", "help", "Commands by area", 0.6),
    "balance": Command("balance", "balance", BALANCE_PREFIX, 0.6),
    "buy": Command("buy", "buy {product}", "Order #", 0.3),
    "tip": Command("tip", "tip {article} 0.01", "You tipped", 0.3),
}
START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Account:
    """The settings the Emulator shares with both servers."""

    token: str = TOKEN
    app_id: str = APP_ID
    encoding_aes_key: str = AES_KEY
    account_id: str = ACCOUNT_ID


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server process (Linux), for utilisation."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    server: str
    command: str
    mode: str
    concurrency: int
    requests: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    server_cpu: float | None = None  # server CPU seconds per wall second
    client_cpu: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile of the latencies, in ms."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        rank = min(max(1, math.ceil(q / 100 * len(ordered))), len(ordered))
        return ordered[rank - 1]

    def add_error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text[:200])


# --- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("BOTSTORE_CONFIG", None)
    env.update(
        BOTSTORE_DATABASE_URL=database_url,
        BOTSTORE_DATABASE_SEED_DEMO="true",
        BOTSTORE_WALLET_TOPUP_DAILY_CAP_YUAN=str(TOPUP_YUAN * 10),
        BOTSTORE_SERVER_HOST="127.0.0.1",
        BOTSTORE_WECHAT_PATH=PATH,
        BOTSTORE_WECHAT_MODE="compatible",
        BOTSTORE_WECHAT_TIMESTAMP_WINDOW_SECONDS="0",
        BOTSTORE_WECHAT_TOKEN=TOKEN,
        BOTSTORE_WECHAT_APP_ID=APP_ID,
        BOTSTORE_WECHAT_ENCODING_AES_KEY=AES_KEY,
        BOTSTORE_WECHAT_PREVIOUS_ENCODING_AES_KEY="",
        BOTSTORE_WECHAT_ACCOUNT_ID=ACCOUNT_ID,
        PYTHONUNBUFFERED="1",
    )
    return env


# --pin: each server on this core (their threads too), the load generator on the others.
SERVER_CORES: set[int] = set()


def start(name: str, args: list[str], env: dict[str, str], tmp: Path, port: int) -> Server:
    log_path = tmp / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [PYTHON, *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: Ctrl-C reaches only this script, which then stops the servers.
            start_new_session=True,
        )
    if SERVER_CORES:  # before the interpreter starts any thread: they inherit it
        os.sched_setaffinity(process.pid, SERVER_CORES)
    return Server(name, f"http://127.0.0.1:{port}{PATH}", process, log_path)


def stop(server: Server) -> None:
    if server.process.poll() is not None:
        return
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=5)


async def wait_ready(server: Server, session: aiohttp.ClientSession) -> None:
    emulator = Emulator(session, server.url, Account())
    deadline = time.perf_counter() + START_TIMEOUT_S
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
            status, body = await emulator.verify(echostr="ready")
            if status == 200 and body == "ready":
                return
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{server.name} did not answer in {START_TIMEOUT_S:.0f} s")
        await asyncio.sleep(0.2)


# --- load -------------------------------------------------------------------------------------


def fan_of(worker: int) -> str:
    """A 28-character openid like WeChat's, distinct per worker."""
    return f"o_bench_{worker:04d}".ljust(28, "x")


def problem(exchange: Exchange, expected: str, *, exact: bool) -> str | None:
    """Why a reply is wrong, or None."""
    if exchange.status != 200:
        return f"HTTP {exchange.status}: {exchange.body[:100]}"
    if exchange.problems:
        return "; ".join(exchange.problems)
    if exchange.is_success:
        return f"answered {exchange.body!r} without a reply (past the reply budget?)"
    content = exchange.content
    if (content != expected) if exact else not content.startswith(expected):
        return f"unexpected reply: {exchange.describe()[:100]!r}"
    return None


async def send(emulator: Emulator, text: str, fan: str) -> Exchange | str:
    try:
        return await emulator.say(text, fan=fan)
    except EmulatorError as error:
        return str(error)


async def warm_up(
    emulator: Emulator,
    fans: list[str],
    *,
    topup: bool,
    message: str = "balance",
    expected: str,
    exact: bool,
) -> None:
    """Create the wallets (botstore) and warm the connections; these requests are not timed."""
    if topup:
        for fan in fans:  # one at a time: first contact creates the fan and its wallet
            exchange = await send(emulator, f"topup {TOPUP_YUAN}", fan)
            if isinstance(exchange, str) or exchange.status != 200:
                raise RuntimeError(f"warm-up top-up for {fan} failed: {exchange}")
            if not exchange.content.startswith("Topped up"):
                raise RuntimeError(f"warm-up top-up for {fan}: {exchange.describe()}")
    # Three rounds of one message per fan: all at once, 256 fans' three messages could queue
    # past the reply budget on a slow machine and fail the warm-up.
    exchanges = []
    for _ in range(3):
        exchanges += await asyncio.gather(*(send(emulator, message, fan) for fan in fans))
    for exchange in exchanges:
        if isinstance(exchange, str):
            raise RuntimeError(f"warm-up failed: {exchange}")
        why = problem(exchange, expected, exact=exact)
        if why:
            raise RuntimeError(f"warm-up failed: {why}")


async def run(
    server: Server,
    *,
    command: str,
    message: str,
    aes: bool,
    concurrency: int,
    requests: int,
    expected: str,
    exact: bool,
) -> Result:
    result = Result(server.name, command, "aes" if aes else "plaintext", concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        emulator = Emulator(session, server.url, Account(), encrypt=aes)
        fans = [fan_of(worker) for worker in range(concurrency)]
        await warm_up(emulator, fans, topup=False, message=message, expected=expected, exact=exact)
        remaining = requests

        async def worker(fan: str) -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                exchange = await send(emulator, message, fan)
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                why = (
                    exchange
                    if isinstance(exchange, str)
                    else problem(exchange, expected, exact=exact)
                )
                if why:
                    result.add_error(why)

        server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(worker(fan) for fan in fans))
        result.seconds = time.perf_counter() - started
        result.requests = requests
        server_cpu_after = server.cpu_seconds()
        if server_cpu is not None and server_cpu_after is not None:
            result.server_cpu = (server_cpu_after - server_cpu) / result.seconds
        result.client_cpu = (time.process_time() - client_cpu) / result.seconds
    return result


async def demo_ids(database_url: str) -> dict[str, int]:
    """The cheapest demo product (its stock raised past any run) and the first demo article."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            product = (
                await connection.execute(
                    text("SELECT id FROM product WHERE stock > 0 ORDER BY price_fen, id LIMIT 1")
                )
            ).scalar_one()
            await connection.execute(
                text("UPDATE product SET stock = 1000000000 WHERE id = :id"), {"id": product}
            )
            article = (
                await connection.execute(text("SELECT id FROM article ORDER BY id LIMIT 1"))
            ).scalar_one()
    finally:
        await engine.dispose()
    return {"product": product, "article": article}


async def bench(
    botstore: Server,
    bare: Server,
    database_url: str,
    commands: list[Command],
    concurrencies: list[int],
    requests: int | None,
) -> list[Result]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        await asyncio.gather(wait_ready(botstore, session), wait_ready(bare, session))
        ids = await demo_ids(database_url)
        # Every fan any run uses gets a wallet that can pay every buy; top-up is warmed too.
        fans = [fan_of(worker) for worker in range(max(concurrencies))]
        emulator = Emulator(session, botstore.url, Account())
        await warm_up(emulator, fans, topup=True, expected=BALANCE_PREFIX, exact=False)
    results = []
    for aes in (False, True):
        mode = "aes" if aes else "plaintext"
        for concurrency in concurrencies:
            count = requests or DEFAULT_REQUESTS.get(concurrency, DEFAULT_REQUESTS_OTHER)
            runs = [(bare, "bare", "balance", BARE_REPLY, True)] + [
                (botstore, c.name, c.text.format(**ids), c.expected, False) for c in commands
            ]
            for server, command, message, expected, exact in runs:
                print(
                    f"  {server.name:<8} {command:<8} {mode:<9} c={concurrency:<3} "
                    f"{count} requests ..."
                )
                result = await run(
                    server,
                    command=command,
                    message=message,
                    aes=aes,
                    concurrency=concurrency,
                    requests=count,
                    expected=expected,
                    exact=exact,
                )
                results.append(result)
    return results


# --- report -----------------------------------------------------------------------------------


def _cpu(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def report(results: list[Result], database: str, commands: list[Command]) -> bool:
    """Print the table and the comparison; True when every request succeeded."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    print()
    print(
        f"machine: {platform.machine()}, nproc {affinity or os.cpu_count()} "
        f"(cpu_count {os.cpu_count()}), {platform.system()} {platform.release()}"
    )
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"aiohttp {aiohttp.__version__}"
    )
    print(f"database: {database}")
    print()
    header = (
        f"{'server':<9}{'command':<9}{'mode':<10}{'conc':>5}{'requests':>10}{'req/s':>10}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}{'srv cpu':>9}{'bench cpu':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.server:<9}{r.command:<9}{r.mode:<10}{r.concurrency:>5}{r.requests:>10}{r.rps:>10.0f}"
            f"{r.percentile(50):>9.1f}{r.percentile(99):>9.1f}{r.percentile(100):>9.1f}"
            f"{r.errors:>8}"
            f"{_cpu(r.server_cpu):>9}{_cpu(r.client_cpu):>10}"
        )
    print()
    print(
        "botstore / bare (targets: read commands >= 60 %, money-moving >= 30 % of bare req/s; "
        f"p99 < {TARGET_P99_MS:.0f} ms at c={TARGET_P99_CONCURRENCY}; "
        f"AES costs < {TARGET_AES_COST:.0%}):"
    )
    by_key = {(r.server, r.command, r.mode, r.concurrency): r for r in results}
    for mode, concurrency in dict.fromkeys((r.mode, r.concurrency) for r in results):
        bare = by_key[("bare", "bare", mode, concurrency)]
        for command in commands:
            ours = by_key[("botstore", command.name, mode, concurrency)]
            ratio = ours.rps / bare.rps if bare.rps else 0.0
            verdicts = [f"ratio {'met' if ratio >= command.target else 'NOT met'}"]
            if concurrency == TARGET_P99_CONCURRENCY:
                p99 = ours.percentile(99)
                verdicts.append(f"p99 {p99:.1f} ms {'met' if p99 < TARGET_P99_MS else 'NOT met'}")
            plain = by_key.get(("botstore", command.name, "plaintext", concurrency))
            if mode == "aes" and plain is not None and plain.rps:
                cost = 1 - ours.rps / plain.rps
                verdicts.append(
                    f"AES cost {cost:.0%} {'met' if cost < TARGET_AES_COST else 'NOT met'}"
                )
            if ours.errors:
                verdicts.append(f"{ours.errors} errors")
            print(
                f"  {command.name:<8} {mode:<9} c={concurrency:<3} {ours.rps:>7.0f} / "
                f"{bare.rps:>7.0f} req/s = {ratio:>6.1%}   {', '.join(verdicts)}"
            )
    failed = [r for r in results if r.errors]
    for r in failed:
        print(f"errors of {r.server} {r.command} {r.mode} c={r.concurrency}:")
        for sample in r.error_samples:
            print(f"  {sample}")
    print(
        "\nsrv cpu / bench cpu: CPU time of the server / this load generator per wall second "
        "(100% = one core)."
    )
    return not failed


# --- main -------------------------------------------------------------------------------------


def parse_concurrency(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not values or any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"concurrencies must be >= 1: {text!r}")
    return list(dict.fromkeys(values))


def parse_commands(text: str) -> list[Command]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in COMMANDS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"commands are some of {', '.join(COMMANDS)}; not {', '.join(unknown) or 'none'}"
        )
    return [COMMANDS[name] for name in dict.fromkeys(names)]


def describe_database(url: str, *, default: bool) -> str:
    parsed = make_url(url)
    if default:
        return f"SQLite ({parsed.drivername}), a fresh file in the temporary directory"
    return f"{parsed.get_backend_name()} ({parsed.render_as_string(hide_password=True)})"


@contextlib.contextmanager
def terminate_on_sigterm() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so the servers and the directory are cleaned up."""

    def on_term(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests",
        type=int,
        help="timed requests per run (default: 300 at c=1, 2000 otherwise)",
    )
    parser.add_argument(
        "--concurrency",
        type=parse_concurrency,
        default=[1, 32, 256],
        help="comma-separated connection counts (default: 1,32,256)",
    )
    parser.add_argument(
        "--commands",
        type=parse_commands,
        default=list(COMMANDS.values()),
        help=f"comma-separated commands to time (default: {','.join(COMMANDS)})",
    )
    parser.add_argument(
        "--database-url",
        help="botstore's database (default: a fresh SQLite file in a temporary directory)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (server logs, database)"
    )
    parser.add_argument(
        "--pin",
        type=int,
        metavar="CORE",
        help="run each server on this one core and the load generator on the other cores",
    )
    args = parser.parse_args()
    if args.requests is not None and args.requests < 1:
        parser.error("--requests must be at least 1")
    if args.pin is not None:
        others = os.sched_getaffinity(0) - {args.pin}
        if args.pin not in os.sched_getaffinity(0) or not others:
            parser.error("--pin needs a core of this machine and at least one other")
        SERVER_CORES.add(args.pin)
        os.sched_setaffinity(0, others)

    servers: list[Server] = []
    tmp = Path(tempfile.mkdtemp(prefix="botstore-bench-"))
    try:
        with terminate_on_sigterm():
            database_url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
            env = server_env(database_url)
            port = free_port()
            servers.append(
                start("botstore", ["-m", "botstore", "serve", "--port", str(port)], env, tmp, port)
            )
            bare_port = free_port()
            servers.append(
                start(
                    "bare",
                    [str(BARE_SERVER), "--port", str(bare_port), "--reply", BARE_REPLY],
                    env,
                    tmp,
                    bare_port,
                )
            )
            botstore, bare = servers
            print(f"botstore on {botstore.url}, bare aiohttp on {bare.url}; logs in {tmp}")
            results = asyncio.run(
                bench(botstore, bare, database_url, args.commands, args.concurrency, args.requests)
            )
            for server in servers:
                if server.process.poll() is not None:
                    print(f"{server.name} died during the run:\n{server.log_tail()}")
                    return 1
            database = describe_database(database_url, default=not args.database_url)
            ok = report(results, database, args.commands)
            return 0 if ok else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except RuntimeError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    finally:
        for server in servers:
            stop(server)
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
