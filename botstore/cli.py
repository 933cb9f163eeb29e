"""`botstore serve | migrate | seed | send | chat | replay | load | clock | secrets` (or `python
-m botstore ...`).

send, chat and replay exit 0 when every reply arrived (and matched, for replay); 1 on
platform-rule warnings under --strict, or when a replayed reply differs; 2 on bad arguments,
config or transcript file; 3 when the bot could not be reached, did not answer in time,
answered an HTTP error or a reply WeChat would refuse. load exits 0 within its --max-* limits,
1 past one, 2 on bad settings or mix file, 3 when no message reached the bot."""

import argparse
import asyncio
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from botstore.config import (
    Config,
    ConfigError,
    check_exposure,
    check_workers,
    fresh_secrets,
    load_config,
)

# The database's modules (SQLAlchemy, the models: 0.6 s) are imported by the commands that use
# them: send, chat and replay, run once per message from scripts, start in a third of the time.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
log = logging.getLogger("botstore")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="botstore", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config",
        help="config file (default: $BOTSTORE_CONFIG, else the config.toml botstore ships)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="log the scheduler's routine INFO lines too"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate, seed demo data and serve the webhook")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers",
        type=int,
        help="server processes sharing the port (PostgreSQL only; default server.workers, 1)",
    )
    serve.add_argument(
        "--database",
        metavar="URL|PATH|:memory:",
        help="the database (default database.url): a URL, a SQLite file, or :memory: for a "
        "fresh one each run, migrated and seeded, deleted on exit",
    )
    # Also after `serve`, where people type it; SUPPRESS keeps `botstore --verbose serve` true
    # (a subcommand's default would overwrite the main parser's value).
    serve.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS)
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="log every HTTP request (off by default: a log line per message costs throughput)",
    )

    up = commands.add_parser("migrate", help="bring the database schema up to date")
    up.add_argument("--revision", default="head")

    commands.add_parser("seed", help="load demo data unless the database has some")

    send = commands.add_parser(
        "send", help="sign (and encrypt) a message, post it, print the reply"
    )
    send.add_argument("text", nargs="?", help="the fan's text (omit with --event)")
    send.add_argument("--url", help="webhook URL (default: this config's server and path)")
    send.add_argument(
        "--fan", "--openid", default="o_botstore_cli_fan_000000000", help="the fan's openid"
    )
    send.add_argument("--aes", action="store_true", help="encrypt the message (safe mode)")
    send.add_argument("--event", help="send this event instead of text, e.g. subscribe, CLICK")
    send.add_argument("--key", default="", help="the event's EventKey")
    send.add_argument("--raw", action="store_true", help="print the raw reply XML too")
    _emulator_switches(send)
    _strict_switch(send)
    send.add_argument(
        "--diagnostics",
        action="store_true",
        help="print the signature inputs and the reply's decryption, step by step",
    )

    chat = commands.add_parser("chat", help="chat with a webhook in the terminal, as a fan")
    chat.add_argument("--url", help="webhook URL (default: this config's server and path)")
    chat.add_argument(
        "--openid", "--fan", default="o_botstore_terminal_fan_0001", help="the fan's openid"
    )
    chat.add_argument("--aes", action="store_true", help="encrypt messages (safe mode)")
    _emulator_switches(chat)
    _strict_switch(chat)

    replay = commands.add_parser(
        "replay", help="replay a saved transcript against a live bot, diff the replies"
    )
    replay.add_argument("file", help="a transcript saved by the console or chat's /save")
    replay.add_argument("--url", help="webhook URL (default: this config's server and path)")
    replay.add_argument("--aes", action="store_true", help="encrypt every turn (safe mode)")
    replay.add_argument(
        "--fresh-fans",
        action="store_true",
        help="play each recorded fan with a new openid (the same one throughout this run)",
    )
    _strict_switch(replay)

    load = commands.add_parser(
        "load", help="drive a bot as WeChat does at a given rate; latency, timeouts and lint"
    )
    load.add_argument("--url", help="webhook URL (default: this config's server and path)")
    load.add_argument("--aes", action="store_true", help="encrypt every message (safe mode)")
    load.add_argument("--rate", type=float, required=True, help="messages per second")
    load.add_argument("--duration", type=float, required=True, help="seconds to send for")
    load.add_argument(
        "--mix", help="messages to send, one per line in chat's syntax (default: help)"
    )
    load.add_argument("--fans", type=int, default=100, help="fresh fans sending (default 100)")
    load.add_argument(
        "--reply-timeout", type=float, default=5.0, help="seconds WeChat waits per try"
    )
    load.add_argument("--max-p99-ms", type=float, help="fail past this p99 latency")
    load.add_argument("--max-timeouts", type=int, help="fail past this many timed-out messages")
    load.add_argument("--max-errors", type=int, help="fail past this many errors (HTTP, XML...)")
    load.add_argument(
        "--max-warnings", type=int, help="fail past this many replies with lint warnings"
    )

    clock = commands.add_parser("clock", help="the emulated clock, in the configured database")
    clock_commands = clock.add_subparsers(dest="clock_command", required=True)
    clock_commands.add_parser("show", help="print the emulated now and its offset")
    advance = clock_commands.add_parser(
        "advance", help="move the clock on (30d, 12h) and run every job that fell due"
    )
    advance.add_argument("by", help="how far: <N>d or <N>h")
    clock_commands.add_parser("run", help="run every job that fell due by the emulated now")

    commands.add_parser(
        "secrets",
        help="print fresh random secrets as BOTSTORE_*=value lines, to serve beyond loopback",
    )
    return parser


def _emulator_switches(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--retries",
        action="store_true",
        help="behave as WeChat: drop a try after --reply-timeout, retry, 3 tries in all",
    )
    parser.add_argument(
        "--reply-timeout", type=float, default=5.0, help="seconds per try with --retries"
    )


def _strict_switch(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 on platform-rule warnings (default: 0)"
    )


def configure_logging(*, verbose: bool = False) -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    # APScheduler logs each run of the every-10-s jobs at INFO: noise, unless asked for.
    logging.getLogger("apscheduler").setLevel(logging.INFO if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, where a closed pipe can still be caught
    except BrokenPipeError:
        # The reader went away (`botstore send ... | head`): stop quietly, as `head`'s writers
        # do, instead of a traceback; what is still buffered goes nowhere (Python's recipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "secrets":
        for name, value in fresh_secrets().items():
            print(f"{name}={value}")
        return 0
    throwaway = None
    try:
        config = load_config(args.config)
        if args.command == "serve" and args.database:
            if args.database == ":memory:":
                # A file in a directory of its own, not SQLite's :memory:: serve migrates,
                # seeds and serves through separate engines, and each would see an empty one.
                throwaway = tempfile.TemporaryDirectory(prefix="botstore-")
                url = f"sqlite+aiosqlite:///{throwaway.name}/botstore.db"
            elif "://" in args.database:
                url = args.database
            else:
                url = f"sqlite+aiosqlite:///{Path(args.database).resolve()}"
            config = config.replace(database={"url": url})
        if args.command == "serve" and (args.host or args.port or args.workers is not None):
            config = config.replace(
                server={
                    key: value
                    for key, value in (
                        ("host", args.host),
                        ("port", args.port),
                        ("workers", args.workers),
                    )
                    if value is not None
                }
            )
        if args.command == "serve":
            check_exposure(config)
            check_workers(config)
    except ConfigError as error:
        print(f"botstore: bad config: {error}", file=sys.stderr)
        return 2
    configure_logging(verbose=args.verbose)
    if args.command == "serve":
        if throwaway is None:
            return serve(config, access_log=args.access_log, verbose=args.verbose)
        with throwaway:
            print(f"botstore: a fresh database in {throwaway.name}, deleted on exit", flush=True)
            return serve(config, access_log=args.access_log, verbose=args.verbose)
    if args.command == "migrate":
        asyncio.run(_migrate(config, args.revision))
        print(f"migrated {config.database.url} to {args.revision}")
        return 0
    if args.command == "seed":
        seeded = asyncio.run(_seed(config))
        print("demo data loaded" if seeded else "demo data already present")
        return 0
    if args.command == "send":
        return asyncio.run(_send(config, args))
    if args.command == "chat":
        from botstore.console.chat import run_chat

        url = args.url or f"http://{config.server.host}:{config.server.port}{config.wechat.path}"
        return asyncio.run(
            run_chat(
                url,
                config.wechat,
                fan=args.openid,
                encrypt=args.aes,
                stdin=sys.stdin,
                retries=args.retries,
                reply_timeout=args.reply_timeout,
                strict=args.strict,
            )
        )
    if args.command == "replay":
        return asyncio.run(_replay(config, args))
    if args.command == "load":
        return asyncio.run(_load(config, args))
    if args.command == "clock":
        return asyncio.run(_clock(config, args))
    raise AssertionError(args.command)


async def _migrate(config: Config, revision: str = "head") -> None:
    from botstore.db import create_engine, migrate

    engine = create_engine(config.database.url)
    try:
        await migrate(engine, revision)
    finally:
        await engine.dispose()


async def _seed(config: Config) -> bool:
    from botstore.clock import SystemClock
    from botstore.db import create_engine, session_factory
    from botstore.seed import seed_demo

    engine = create_engine(config.database.url)
    try:
        async with session_factory(engine)() as session, session.begin():
            return await seed_demo(session, now=SystemClock().now())
    finally:
        await engine.dispose()


async def freeze_startup_heap(_app: object = None) -> None:
    """Move everything built at start-up (modules, the app, its engines) out of the garbage
    collector's reach: it lives as long as the process, and every full collection walked it.
    A 100,000-payout run spent 0.7 s of ~7 s in those collections; with it, 0.02 s."""
    gc.collect()
    gc.freeze()


def prepare_database(config: Config, *, verbose: bool = False) -> bool:
    """Migrate the schema and load the demo data unless present (whether it was loaded), in a
    process of its own: Alembic with Mako and Pygments (11 MB) and the demo data are needed
    once, and a server that had loaded them would keep them for its whole life. Errors are
    raised here, as if it had run in this process."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing imported
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_prepare, config, verbose).result()


def _prepare(config: Config, verbose: bool) -> bool:
    configure_logging(verbose=verbose)  # a spawned process has none
    # Alembic names each of its plugins at INFO as it is imported: noise.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    asyncio.run(_migrate(config))
    return config.database.seed_demo and asyncio.run(_seed(config))


def serve(config: Config, *, access_log: bool = False, verbose: bool = False) -> int:
    from sqlalchemy.exc import DBAPIError

    try:
        loaded = prepare_database(config, verbose=verbose)
    except (DBAPIError, OSError) as error:
        reason = error.orig if isinstance(error, DBAPIError) else error
        print(f"botstore: the database could not be migrated: {reason}", file=sys.stderr)
        return 1
    if loaded:
        log.info("demo data loaded")
    workers = config.server.workers
    origin = config.server.local_url
    print(
        f"botstore: webhook on {origin}{config.wechat.path}"
        + (f" ({workers} workers)" if workers > 1 else ""),
        f"          console   {origin}/console",
        f"          admin     {origin}/admin (token: admin.token)",
        sep="\n",
        flush=True,
    )
    if workers == 1:
        _serve_one(config, access_log=access_log)
        return 0
    return _serve_workers(config, access_log=access_log, verbose=verbose)


def _serve_one(config: Config, *, access_log: bool, worker_of: int | None = None) -> None:
    from botstore.app import create_app

    app = create_app(config)
    app.on_startup.append(freeze_startup_heap)
    if worker_of is not None:
        app.cleanup_ctx.append(_exit_with_parent(worker_of))
    web.run_app(
        app,
        host=config.server.host,
        port=config.server.port,
        print=None,
        # None turns aiohttp's access logger off; its lines go through logging at INFO.
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
        reuse_port=worker_of is not None,
    )


def _worker(config: Config, access_log: bool, parent: int, verbose: bool) -> None:
    configure_logging(verbose=verbose)  # a spawned process has none
    _serve_one(config, access_log=access_log, worker_of=parent)


def _exit_with_parent(parent: int) -> Callable[[web.Application], AsyncIterator[None]]:
    """A worker whose parent is gone (killed with SIGKILL, so it stopped nobody) stops too,
    instead of serving on, orphaned, on the port."""

    async def watch() -> None:
        while os.getppid() == parent:  # noqa: ASYNC110 (no event tells of a parent's death)
            await asyncio.sleep(1)
        log.error("the serving process %d is gone; stopping this worker", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    async def context(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(watch())
        yield
        task.cancel()

    return context


def _serve_workers(config: Config, *, access_log: bool, verbose: bool = False) -> int:
    """`server.workers` processes on one port: SO_REUSEPORT lets the kernel spread connections
    over them. The database keeps them consistent (dedup keys, row locks) and elects one
    scheduler (an advisory lock). One worker exiting stops them all: whatever supervises
    `serve` restarts the whole, as it would restart a single process."""
    context = multiprocessing.get_context("spawn")  # no half-copied event loop or engine
    workers = [
        context.Process(
            target=_worker,
            args=(config, access_log, os.getpid(), verbose),
            name=f"botstore-worker-{n}",
        )
        for n in range(1, config.server.workers + 1)
    ]
    asked_to_stop = False

    def stop_all() -> None:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()  # SIGTERM: aiohttp's graceful shutdown

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal asked_to_stop
        asked_to_stop = True
        stop_all()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    # An ignored SIGCHLD, inherited from whoever started us, would have the kernel reap the
    # workers unasked, hiding their exit codes and deaths.
    previous[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        for worker in workers:
            worker.start()
        by_sentinel = {worker.sentinel: worker for worker in workers}
        exited = by_sentinel[multiprocessing.connection.wait(list(by_sentinel))[0]]
        if not asked_to_stop:
            exited.join()
            log.error("%s exited with code %s; stopping the others", exited.name, exited.exitcode)
            stop_all()
        for worker in workers:
            worker.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if asked_to_stop else 1


async def _send(config: Config, args: argparse.Namespace) -> int:
    from botstore.console.client import Emulator, EmulatorError, ExitCode

    url = args.url or f"http://{config.server.host}:{config.server.port}{config.wechat.path}"
    if not args.event and not args.text:
        print("botstore send: give the text to send, or --event", file=sys.stderr)
        return ExitCode.USAGE
    async with Emulator.for_url(
        url,
        config.wechat,
        encrypt=args.aes,
        retries=args.retries,
        reply_timeout=args.reply_timeout,
    ) as emulator:
        try:
            if args.event:
                exchange = await emulator.event(args.event, fan=args.fan, event_key=args.key)
            else:
                exchange = await emulator.say(args.text, fan=args.fan)
        except EmulatorError as error:
            print(f"botstore send: {error}", file=sys.stderr)
            return ExitCode.BOT_ERROR
    if args.raw:
        print(exchange.reply_xml or exchange.body)
    print(exchange.describe())
    if args.retries or len(exchange.tries) > 1:
        for report in exchange.tries:
            print(f"try {report.number}: {report.outcome} ({report.elapsed_ms:.0f} ms)")
    if args.diagnostics and exchange.diagnostics is not None:
        from botstore.console.chat import render_diagnostics

        print(render_diagnostics(exchange.diagnostics))
    # Lint goes to stderr: stdout stays the reply, for scripts.
    for warning in exchange.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return exchange.verdict(strict=args.strict)


async def _replay(config: Config, args: argparse.Namespace) -> int:
    from botstore.console.client import Emulator, EmulatorError, ExitCode
    from botstore.console.transcript import (
        FreshFans,
        Transcript,
        TranscriptError,
        replay,
        report,
    )

    try:
        transcript = Transcript.load(args.file)
    except TranscriptError as error:
        print(f"botstore replay: {error}", file=sys.stderr)
        return ExitCode.USAGE
    url = args.url or f"http://{config.server.host}:{config.server.port}{config.wechat.path}"
    async with Emulator.for_url(url, config.wechat) as emulator:
        try:
            fresh = FreshFans() if args.fresh_fans else None
            aes = True if args.aes else None
            results = await replay(transcript, emulator, aes=aes, fresh_fans=fresh)
        except EmulatorError as error:
            print(f"botstore replay: {error}", file=sys.stderr)
            return ExitCode.BOT_ERROR
    text, same = report(results, fresh)
    print(text)
    if any(result.failure is not None for result in results):
        return ExitCode.BOT_ERROR
    warned = any(result.actual.get("warnings") for result in results)
    return ExitCode.FAILED if not same or (args.strict and warned) else ExitCode.OK


async def _load(config: Config, args: argparse.Namespace) -> int:
    from botstore.console.client import ExitCode
    from botstore.console.load import (
        Limits,
        LoadError,
        check_settings,
        load_command,
        load_mix,
        read_mix,
    )

    try:
        check_settings(args.rate, args.duration, args.fans)
        mix = load_mix(args.mix) if args.mix else read_mix("help")
    except LoadError as error:
        print(f"botstore load: {error}", file=sys.stderr)
        return ExitCode.USAGE
    url = args.url or f"http://{config.server.host}:{config.server.port}{config.wechat.path}"
    limits = Limits(
        p99_ms=args.max_p99_ms,
        timeouts=args.max_timeouts,
        errors=args.max_errors,
        warnings=args.max_warnings,
    )
    return await load_command(
        url,
        config.wechat,
        mix=mix,
        rate=args.rate,
        duration=args.duration,
        fans=args.fans,
        aes=args.aes,
        reply_timeout=args.reply_timeout,
        limits=limits,
    )


def _parse_delta(text: str) -> timedelta | None:
    match = re.fullmatch(r"(\d{1,6})([dh])", text.strip().lower())
    if match is None:
        return None
    number, unit = int(match[1]), match[2]
    return timedelta(days=number) if unit == "d" else timedelta(hours=number)


async def _clock(config: Config, args: argparse.Namespace) -> int:
    from botstore.clock import SystemClock
    from botstore.db import create_engine, session_factory
    from botstore.scheduler import Scheduler

    delta = None
    if args.clock_command == "advance":
        delta = _parse_delta(args.by)
        if delta is None:
            print(f"botstore clock: {args.by!r} is not <N>d or <N>h, e.g. 30d", file=sys.stderr)
            return 2
    engine = create_engine(config.database.url)
    try:
        scheduler = Scheduler(
            sessions=session_factory(engine), engine=engine, config=config, clock=SystemClock()
        )
        offset = await scheduler.sync_clock()
        await freeze_startup_heap()  # the jobs may pay 100,000 holdings
        if delta is not None:
            _, offset, ran = await scheduler.advance(delta)
        elif args.clock_command == "run":
            ran = await scheduler.run_due()
        else:
            ran = []
        print(f"now {scheduler.clock.now().isoformat()} (offset {offset})")
        for run in ran:
            print(f"  {run.at.isoformat()} {run.job}: {run.error or run.done}")
        return 1 if any(run.error for run in ran) else 0
    finally:
        await engine.dispose()
