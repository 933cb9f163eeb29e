"""`botstore load`: drive a bot the way WeChat does, at a given rate for a given time, and report
how it held up: latency percentiles, retries, timeouts, errors and platform-rule warnings.

Every message goes through the emulator (signed, encrypted with --aes, a fresh timestamp and
nonce per try, a 5 s cut-off per try and three tries), from a pool of fans new to the bot. The
messages come from a mix file: one per line, in `chat`'s syntax (plain text, or /subscribe,
/unsubscribe, /click KEY, /scan SCENE, /location LAT LNG, /image); a line written twice is sent
twice as often; blank lines and lines starting with # are skipped."""

import asyncio
import math
import secrets
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from botstore.clock import wall_time
from botstore.console.client import (
    AccountSettings,
    Emulator,
    EmulatorError,
    Exchange,
    ExitCode,
)

MAX_RATE = 1000  # messages per second
MAX_DURATION_SECONDS = 3600
MAX_MESSAGES = 100_000  # rate x duration
MAX_FANS = 10_000
MAX_MIX_LINES = 10_000
# Messages in flight at once: beyond it a struggling bot is not buried deeper (WeChat's own
# concurrency per account is bounded too); sends past it wait and are counted late.
MAX_IN_FLIGHT = 500


class LoadError(ValueError):
    """A bad mix file or setting; str() says what is wrong."""


@dataclass(frozen=True, slots=True)
class Turn:
    """One line of the mix: a text, or a platform action."""

    line: str

    def send(self, emulator: Emulator, fan: str) -> Awaitable[Exchange]:
        if not self.line.startswith("/"):
            return emulator.say(self.line, fan=fan)
        command, _, rest = self.line[1:].partition(" ")
        rest = rest.strip()
        match command.lower():
            case "subscribe":
                return emulator.event(
                    "subscribe", fan=fan, event_key=f"qrscene_{rest}" if rest else ""
                )
            case "unsubscribe":
                return emulator.event("unsubscribe", fan=fan)
            case "click":
                return emulator.event("CLICK", fan=fan, event_key=rest)
            case "scan":
                return emulator.event("SCAN", fan=fan, event_key=rest, extra={"Ticket": "t"})
            case "location":
                latitude, longitude = rest.split()[:2]
                extra = {"Location_X": latitude, "Location_Y": longitude, "Scale": 15, "Label": ""}
                return emulator.message("location", extra, fan=fan)
            case "image":
                extra = {"PicUrl": "http://127.0.0.1/fake.jpg", "MediaId": "load-image"}
                return emulator.message("image", extra, fan=fan)
        raise AssertionError(command)  # read_mix let only the commands above through


ACTIONS = {"subscribe", "unsubscribe", "click", "scan", "location", "image"}


def read_mix(text: str) -> list[Turn]:
    """The turns of a mix file; LoadError naming the line that is wrong."""
    turns = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("/"):
            command, _, rest = line[1:].partition(" ")
            if command.lower() not in ACTIONS:
                known = ", ".join(f"/{name}" for name in sorted(ACTIONS))
                raise LoadError(f"line {number}: unknown action /{command} (known: {known})")
            needs = {"click": 1, "scan": 1, "location": 2}.get(command.lower(), 0)
            if len(rest.split()) < needs:
                raise LoadError(f"line {number}: /{command.lower()} needs {needs} argument(s)")
            if command.lower() == "location":
                try:
                    [float(value) for value in rest.split()[:2]]
                except ValueError:
                    raise LoadError(f"line {number}: /location needs two numbers") from None
        turns.append(Turn(line))
        if len(turns) > MAX_MIX_LINES:
            raise LoadError(f"more than {MAX_MIX_LINES:,} messages in the mix")
    if not turns:
        raise LoadError("the mix has no messages")
    return turns


def load_mix(path: str | Path) -> list[Turn]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise LoadError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise LoadError(f"{path} is not UTF-8 text") from None
    return read_mix(text)


@dataclass(frozen=True, slots=True)
class Limits:
    """Past any given limit the run fails (exit 1); None: not checked."""

    p99_ms: float | None = None
    timeouts: int | None = None
    errors: int | None = None
    warnings: int | None = None


@dataclass
class Results:
    """What came back, message by message, as counts."""

    planned: int
    sent: int = 0
    answered: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    retried: int = 0  # answered on a second or third try
    timeouts: int = 0  # no try answered in time: the fan saw WeChat's error
    errors: int = 0  # could not connect, an HTTP error, a reply WeChat refuses
    warned: int = 0  # messages whose reply had platform-rule warnings
    warnings: Counter[str] = field(default_factory=Counter)
    error_reasons: Counter[str] = field(default_factory=Counter)
    late: int = 0  # sends that started behind schedule (the in-flight cap was reached)

    def record(self, exchange: Exchange) -> None:
        self.sent += 1
        if exchange.timed_out:
            self.timeouts += 1
        elif exchange.failure is not None:
            self.errors += 1
            self.error_reasons[_first_line(exchange.failure)] += 1
        else:
            self.answered += 1
            self.latencies_ms.append(exchange.elapsed_ms)
        if len(exchange.tries) > 1 and not exchange.timed_out:
            self.retried += 1
        # A timeout's or an error's warnings repeat what is counted already.
        if exchange.warnings and exchange.failure is None:
            self.warned += 1
            self.warnings.update(exchange.warnings)

    def record_unreachable(self, error: EmulatorError) -> None:
        self.sent += 1
        self.errors += 1
        self.error_reasons[_first_line(str(error))] += 1

    def percentile(self, fraction: float) -> float | None:
        """Nearest-rank percentile of the answered messages' latency, in ms."""
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]

    def breaches(self, limits: Limits) -> list[str]:
        """Each limit this run went past, as a sentence."""
        out = []
        p99 = self.percentile(0.99)
        if limits.p99_ms is not None and (p99 is None or p99 > limits.p99_ms):
            shown = "no answer" if p99 is None else f"{p99:.0f} ms"
            out.append(f"p99 latency {shown} is over --max-p99-ms {limits.p99_ms:g}")
        for name, count in (
            ("timeouts", self.timeouts),
            ("errors", self.errors),
            ("warnings", self.warned),
        ):
            limit = getattr(limits, name)
            if limit is not None and count > limit:
                out.append(f"{count} {name} is over --max-{name} {limit}")
        return out

    def report(self, *, rate: float, elapsed: float) -> str:
        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.0f} ms"

        lines = [
            f"{self.sent} messages in {elapsed:.1f} s ({self.sent / max(elapsed, 1e-9):.1f}/s,"
            f" asked {rate:g}/s)",
            f"answered {self.answered}, timed out {self.timeouts}, errors {self.errors},"
            f" retried {self.retried}",
            f"latency p50 {ms(self.percentile(0.5))}, p90 {ms(self.percentile(0.9))},"
            f" p99 {ms(self.percentile(0.99))}, max {ms(max(self.latencies_ms, default=None))}",
            f"lint: {self.warned} replies with warnings",
        ]
        lines += [f"  {count} x {text}" for text, count in self.warnings.most_common(5)]
        lines += [f"  error {count} x {text}" for text, count in self.error_reasons.most_common(5)]
        if self.late:
            lines.append(
                f"{self.late} sends started late: {MAX_IN_FLIGHT} messages were already waiting"
            )
        return "\n".join(lines)


def _first_line(text: str) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= 120 else line[:119] + "…"


class Progress:
    """A one-line progress bar on a terminal; a line every tenth of the run elsewhere (CI logs)."""

    def __init__(self, out: TextIO, total: int) -> None:
        self.out = out
        self.total = total
        self.tty = out.isatty()
        self.shown_tenths = 0

    def show(self, results: Results) -> None:
        done = results.sent
        if self.tty:
            width = 30
            filled = width * done // max(self.total, 1)
            p50 = results.percentile(0.5)
            latency = f", p50 {p50:.0f} ms" if p50 is not None else ""
            self.out.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}"
                f" answered {results.answered}, timeouts {results.timeouts},"
                f" errors {results.errors}{latency}  "
            )
            self.out.flush()
            return
        tenths = 10 * done // max(self.total, 1)
        if tenths > self.shown_tenths:
            self.shown_tenths = tenths
            self.out.write(f"{done}/{self.total} done, {results.answered} answered\n")
            self.out.flush()

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()


def fresh_fans(count: int) -> list[str]:
    """`count` openids the bot has never seen, 28 characters as WeChat's."""
    run = secrets.token_hex(4)
    return [f"o_load_{run}_{number:012d}" for number in range(1, count + 1)]


async def run_load(
    emulator: Emulator,
    mix: Sequence[Turn],
    *,
    rate: float,
    duration: float,
    fans: int = 100,
    progress: Callable[[Results], None] | None = None,
) -> tuple[Results, float]:
    """Send rate x duration messages, evenly spaced, each from a random fan of the pool with a
    random turn of the mix; returns the results and the seconds the run took."""
    total = min(MAX_MESSAGES, max(1, round(rate * duration)))
    results = Results(planned=total)
    pool = fresh_fans(fans)
    slots = asyncio.Semaphore(MAX_IN_FLIGHT)
    loop = asyncio.get_running_loop()
    started = wall_time()
    pending: set[asyncio.Task[None]] = set()

    async def one(turn: Turn, fan: str) -> None:
        try:
            results.record(await turn.send(emulator, fan))
        except EmulatorError as error:
            results.record_unreachable(error)
        finally:
            slots.release()
            if progress is not None:
                progress(results)

    for number in range(total):
        # Open loop, as WeChat: message n leaves at n / rate, whether or not earlier ones came
        # back, so a slow bot meets the load it would meet, not one that waits for it.
        delay = started + number / rate - wall_time()
        if delay > 0:
            await asyncio.sleep(delay)
        if slots.locked():
            results.late += 1
        await slots.acquire()
        task = loop.create_task(one(secrets.choice(mix), secrets.choice(pool)))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)
    return results, wall_time() - started


def check_settings(rate: float, duration: float, fans: int) -> None:
    """LoadError unless the run stays within the bounds (see the MAX_ constants)."""
    if not 0 < rate <= MAX_RATE:
        raise LoadError(f"--rate must be above 0 and at most {MAX_RATE}")
    if not 0 < duration <= MAX_DURATION_SECONDS:
        raise LoadError(f"--duration must be above 0 and at most {MAX_DURATION_SECONDS} seconds")
    if rate * duration > MAX_MESSAGES:
        raise LoadError(f"--rate x --duration must be at most {MAX_MESSAGES:,} messages")
    if not 1 <= fans <= MAX_FANS:
        raise LoadError(f"--fans must be 1-{MAX_FANS:,}")


async def load_command(
    url: str,
    account: AccountSettings,
    *,
    mix: Sequence[Turn],
    rate: float,
    duration: float,
    fans: int,
    aes: bool,
    reply_timeout: float,
    limits: Limits,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """The whole `botstore load` run: progress on `err`, the report on `out` (stderr and stdout
    by default); the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    total = min(MAX_MESSAGES, max(1, round(rate * duration)))
    bar = Progress(err, total)
    async with Emulator.for_url(
        url,
        account,
        encrypt=aes,
        retries=True,
        reply_timeout=reply_timeout,
    ) as emulator:
        try:
            results, elapsed = await run_load(
                emulator, mix, rate=rate, duration=duration, fans=fans, progress=bar.show
            )
        finally:
            bar.close()
    print(results.report(rate=rate, elapsed=elapsed), file=out)
    unreachable = all(reason.startswith("could not reach") for reason in results.error_reasons)
    if results.sent and results.errors == results.sent and unreachable:
        print("the bot could not be reached", file=err)
        return ExitCode.BOT_ERROR
    breaches = results.breaches(limits)
    for breach in breaches:
        print(f"limit: {breach}", file=err)
    return ExitCode.FAILED if breaches else ExitCode.OK
