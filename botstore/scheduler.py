"""The scheduler: the job registry, the persisted emulated clock, PostgreSQL leadership and the
APScheduler wiring that runs the jobs in the background.

Time. Business time comes from the app's clock. Its offset from wall time lives in the
`clock_state` row, so every process and the CLI agree: advancing adds to it atomically, and every
process re-reads it each `scheduler.leader_retry_seconds` (a process that did not advance lags
by at most that much). A test's FrozenClock is moved by the same advances.

Jobs. Each job does all its work due by `now` (catch-up), idempotently: running it twice, late,
or on two processes at once does each thing once. Advancing the clock runs every job that fell
due in time order: the runner visits each instant something falls due (a job's `next_due`,
rounded up to the hour: `STEP`), runs every job there, and runs them all once more at the
target time. So advancing 30 days in one step does what 30 one-day steps do. To add a job
(ad revenue, monthly coupons, coupon expiry...), append a `Job` to `JOBS`; give it a
`next_due` if it should run at the instants it falls due rather than only at the end.

Leadership. The background ticks run in one process only: on PostgreSQL the holder of an
advisory lock, taken on a dedicated connection held for the process's lifetime (the lock frees
when that session ends, i.e. when the process dies, and another process takes over at its next
retry). On SQLite, one process is the assumption: it always leads. Advances asked of any process
run there and then; the jobs' idempotency makes that safe alongside the leader.
"""

import asyncio
import logging
import os
from collections import ChainMap
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from jinja2 import Template
from jinja2.runtime import Context
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.clock import Clock, SystemClock
from botstore.config import Config
from botstore.models import ClockState, Fan
from botstore.services import articles, coupons, groups, membership, orders, wealth, wxpay
from botstore.templating import reply_environments
from botstore.wxpay import notify as wxpay_notify

log = logging.getLogger(__name__)

STEP = timedelta(hours=1)  # the resolution at which an advance visits due instants
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LOCK_KEY = int.from_bytes(b"botstore", "big")  # the advisory lock's key, a signed bigint


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a job gets besides `now`."""

    sessions: async_sessionmaker[AsyncSession]
    config: Config
    render: wealth.Render


# Finds the earliest moment after `after` when a job has something to do (None: nothing).
NextDue = Callable[[JobContext, AsyncSession, datetime], Awaitable[datetime | None]]


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    # Does everything due by `now`; returns how many things it did.
    run: Callable[[JobContext, datetime], Awaitable[int]]
    next_due: NextDue | None = None
    # Visited at the very instant it falls due, not rounded up to the hour (`STEP`): for work
    # due seconds apart, such as WeChat Pay's notification retries.
    exact: bool = False


@dataclass(frozen=True, slots=True)
class Ran:
    job: str
    at: datetime
    done: int
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"job": self.job, "at": self.at.isoformat(), "done": self.done}
        if self.error:
            out["error"] = self.error
        return out


# --- the jobs ---


async def pay_dividends(ctx: JobContext, now: datetime) -> int:
    """Every dividend period due by `now`, one batch per transaction."""
    done, short = 0, set[int]()
    while True:
        try:
            async with ctx.sessions() as session, session.begin():
                paid = await wealth.pay_due(
                    session,
                    now=now,
                    limit=ctx.config.scheduler.batch_size,
                    render=ctx.render,
                    skip_products=short,
                )
        except wealth.FundExhausted as exhausted:
            log.warning("%s; their dividends wait for a top-up", exhausted)
            short |= exhausted.product_ids
            continue
        if not paid:
            return done
        done += paid


async def mature_holdings(ctx: JobContext, now: datetime) -> int:
    """Return the principal of every fully paid holding past maturity."""
    done = 0
    while True:
        async with ctx.sessions() as session, session.begin():
            matured = await wealth.mature_due(
                session, now=now, limit=ctx.config.scheduler.batch_size, render=ctx.render
            )
        if not matured:
            return done
        done += matured


async def expire_group_buys(ctx: JobContext, now: datetime) -> int:
    """Fail open group buys past their deadline and refund their members."""
    async with ctx.sessions() as session, session.begin():
        return len(await groups.expire_due(session, now=now, render=ctx.render))


def _membership_rules(config: Config) -> membership.Rules:
    return membership.Rules(config.membership.points_per_yuan, config.membership.level_thresholds)


async def complete_shipped_orders(ctx: JobContext, now: datetime) -> int:
    """Complete shipped orders the buyer has not confirmed in time."""
    after = timedelta(hours=ctx.config.orders.auto_complete_after_hours)
    async with ctx.sessions() as session, session.begin():
        completed = await orders.auto_complete_shipped(
            session, now=now, after=after, render=ctx.render
        )
        # A completed order earns its buyer points: a level reached gives its coupon, in the
        # same transaction as the completion.
        for buyer_id in sorted({order.buyer_fan_id for order in completed}):
            buyer = await session.get(Fan, buyer_id)
            assert buyer is not None
            await coupons.level_up(
                session, buyer, rules=_membership_rules(ctx.config), now=now, render=ctx.render
            )
        return len(completed)


async def issue_monthly_coupons(ctx: JobContext, now: datetime) -> int:
    """This month's coupon of every monthly campaign to the fans at its level, once per month."""
    async with ctx.sessions() as session, session.begin():
        return await coupons.issue_monthly(
            session,
            now=now,
            rules=_membership_rules(ctx.config),
            render=ctx.render,
            timezone=ctx.config.wallet.timezone,
        )


async def expire_coupons(ctx: JobContext, now: datetime) -> int:
    """Mark unused coupons past their end as expired."""
    async with ctx.sessions() as session, session.begin():
        return await coupons.expire_due(session, now=now)


async def settle_ads(ctx: JobContext, now: datetime) -> int:
    """Pay the platform what ad impressions and clicks cost since the last settlement."""
    async with ctx.sessions() as session, session.begin():
        return await articles.settle_ads(session, now=now)


async def deliver_wxpay_notifications(ctx: JobContext, now: datetime) -> int:
    """Send every WeChat Pay notification try due by `now` (botstore/wxpay/notify.py)."""
    return await wxpay_notify.deliver_due(ctx.sessions, now)


def _due(find: Callable[..., Awaitable[datetime | None]]) -> NextDue:
    """A service's `next_..._due(session, after=)` as a job's finder."""

    async def next_due(ctx: JobContext, session: AsyncSession, after: datetime) -> datetime | None:
        return await find(session, after=after)

    return next_due


async def _next_monthly_coupons(
    ctx: JobContext, session: AsyncSession, after: datetime
) -> datetime | None:
    return await coupons.next_monthly(session, after=after, timezone=ctx.config.wallet.timezone)


async def _next_auto_completion(
    ctx: JobContext, session: AsyncSession, after: datetime
) -> datetime | None:
    delay = timedelta(hours=ctx.config.orders.auto_complete_after_hours)
    return await orders.next_auto_completion(session, after=after, delay=delay)


# The registry, run in this order at each instant: payouts before maturity, so a holding's last
# dividend is paid before its principal returns.
JOBS: list[Job] = [
    Job("wealth.pay_dividends", pay_dividends, _due(wealth.next_dividend_due)),
    Job("wealth.mature_holdings", mature_holdings, _due(wealth.next_maturity_due)),
    Job("groups.expire_due", expire_group_buys, _due(groups.next_deadline)),
    Job("orders.auto_complete_shipped", complete_shipped_orders, _next_auto_completion),
    Job("articles.settle_ads", settle_ads),
    # Expiry first: a coupon ending at a month's start is gone before that month's are issued.
    Job("coupons.expire_due", expire_coupons, _due(coupons.next_expiry)),
    Job("coupons.issue_monthly", issue_monthly_coupons, _next_monthly_coupons),
    Job(
        "wxpay.notify",
        deliver_wxpay_notifications,
        _due(wxpay.next_notification_due),
        exact=True,
    ),
]


def _ceil(moment: datetime) -> datetime:
    steps = -(-(moment - EPOCH) // STEP)
    return EPOCH + steps * STEP


def template_renderer(config: Config | None = None) -> wealth.Render:
    """Notifications from templates/replies/, as the replies are rendered: each in the language
    its values' `locale` names (the fan's), else the account's default."""
    config = config or Config()
    envs = reply_environments(config)
    default = config.wechat.language
    templates: dict[tuple[str, str], tuple[Template, Context, ChainMap[str, Any]]] = {}

    def render(name: str, values: Mapping[str, Any]) -> str:
        # Template.render() builds a new Context per call (copying the globals, making an eval
        # context); at 100,000 payouts that costs as much as the text. One Context per template
        # and locale, given each notification's values before the locale's globals (gettext)
        # as its `parent`, renders the same text: rendering never awaits, so no two renders
        # share it at once.
        locale = values.get("locale") or default
        found = templates.get((locale, name))
        if found is None:
            env = envs[locale]
            template = env.get_template(f"replies/{name}")
            context = Context(env, {}, template.name, template.blocks)
            parent: ChainMap[str, Any] = ChainMap({}, env.globals)
            found = templates[locale, name] = (template, context, parent)
        template, context, parent = found
        parent.maps[0] = values  # type: ignore[assignment]
        context.parent = parent  # type: ignore[assignment]
        context.vars.clear()  # what a {% set %} left behind
        context.exported_vars.clear()
        return "".join(template.root_render_func(context)).strip()

    return render


# --- the emulated clock's persisted offset ---


async def stored_offset(session: AsyncSession) -> timedelta:
    state = await session.get(ClockState, 1, populate_existing=True)
    if state is None:
        raise LookupError("no clock_state row: is the database migrated?")
    return timedelta(seconds=state.offset_seconds)


async def add_offset(session: AsyncSession, delta: timedelta, *, now: datetime) -> timedelta:
    """Add `delta` to the shared offset in one atomic UPDATE; the new offset."""
    await session.exec(
        update(ClockState)
        .where(col(ClockState.id) == 1)
        .values(
            offset_seconds=col(ClockState.offset_seconds) + int(delta.total_seconds()),
            updated_at=now,
        )
    )
    return await stored_offset(session)


# --- leadership ---


class Leadership:
    """Whether this process runs the background jobs: a PostgreSQL advisory lock, or SQLite."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.leader = False
        self._connection: AsyncConnection | None = None

    async def try_lead(self) -> bool:
        """Take the lead if free; check a held lead is still alive."""
        if self.engine.dialect.name != "postgresql":
            self.leader = True
            return True
        try:
            if self._connection is None:
                self._connection = await self.engine.connect()
                await self._connection.execution_options(isolation_level="AUTOCOMMIT")
            if self.leader:
                await self._connection.execute(text("SELECT 1"))
            else:
                taken = await self._connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
                )
                self.leader = bool(taken.scalar())
                if self.leader:
                    log.info("this process now runs the scheduler")
        except Exception:  # the connection died: whatever we held is gone with it
            log.warning("scheduler leadership check failed", exc_info=True)
            self.leader = False
            await self._drop()
        return self.leader

    async def resign(self) -> None:
        if self._connection is not None and self.leader:
            try:
                await self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY}
                )
            except Exception:
                log.warning("could not release the scheduler lock", exc_info=True)
        self.leader = False
        await self._drop()

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            # Invalidate rather than return it to the pool: a pooled session would keep the lock.
            try:
                await connection.invalidate()
                await connection.close()
            except Exception:
                log.debug("closing the leadership connection failed", exc_info=True)


# --- the scheduler ---


@dataclass
class Scheduler:
    """Runs the registry: on advances, on demand, and in the background when leading."""

    sessions: async_sessionmaker[AsyncSession]
    engine: AsyncEngine
    config: Config
    clock: Clock
    jobs: Sequence[Job] = field(default_factory=lambda: list(JOBS))
    render: wealth.Render | None = None  # notices: templates/replies/ unless a test's own
    leadership: Leadership = field(init=False)
    _lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)
    _aps: AsyncIOScheduler | None = field(init=False, default=None)
    # The background jobs running now (a tick, a heartbeat): stop() waits for them.
    _running: set[asyncio.Task[Any]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.leadership = Leadership(self.engine)
        if self.render is None:
            self.render = template_renderer(self.config)
        self.context = JobContext(self.sessions, self.config, self.render)

    async def sync_clock(self) -> timedelta:
        """Adopt the offset other processes (or the CLI) stored."""
        async with self.sessions() as session:
            offset = await stored_offset(session)
        if isinstance(self.clock, SystemClock):
            self.clock.offset = offset
        return offset

    async def advance(self, delta: timedelta) -> tuple[datetime, timedelta, list[Ran]]:
        """Move the clock on and run every job that fell due, in time order."""
        if delta < timedelta():
            raise ValueError("the clock only moves forward")
        async with self._lock:
            async with self.sessions() as session, session.begin():
                offset = await add_offset(session, delta, now=self.clock.now() + delta)
            if isinstance(self.clock, SystemClock):
                self.clock.offset = offset
            else:
                self.clock.advance(delta)  # type: ignore[attr-defined]
            now = self.clock.now()
            return now, offset, await self._run_due(now)

    async def run_due(self) -> list[Ran]:
        """Run every job that fell due by the clock's now."""
        async with self._lock:
            return await self._run_due(self.clock.now())

    async def run_job(self, name: str) -> list[Ran]:
        """Run one job at the clock's now, between advances (never during one)."""
        async with self._lock:
            return await self._run_all(self.clock.now(), [j for j in self.jobs if j.name == name])

    async def _run_due(self, until: datetime) -> list[Ran]:
        ran: list[Ran] = []
        cursor = EPOCH
        while True:
            due = []
            async with self.sessions() as session:
                for job in self.jobs:
                    if job.next_due is not None:
                        moment = await job.next_due(self.context, session, cursor)
                        if moment is not None:
                            due.append(moment if job.exact else _ceil(moment))
            if not due or min(due) > until:
                break
            cursor = min(min(due), until)
            ran += await self._run_all(cursor)
            if cursor == until:
                return ran
        return ran + await self._run_all(until)

    async def _run_all(self, now: datetime, jobs: Sequence[Job] | None = None) -> list[Ran]:
        ran = []
        for job in self.jobs if jobs is None else jobs:
            try:
                done = await job.run(self.context, now)
            except Exception as error:  # one failing job must not stop the others
                log.exception("job %s failed at %s", job.name, now.isoformat())
                ran.append(Ran(job.name, now, 0, f"{type(error).__name__}: {error}"))
                continue
            if done:
                ran.append(Ran(job.name, now, done))
        return ran

    # --- background ---

    async def start(self) -> None:
        await self.sync_clock()
        settings = self.config.scheduler
        if not settings.enabled:
            return
        await self.leadership.try_lead()
        aps = AsyncIOScheduler(timezone=UTC)
        aps.add_job(
            self._tracked(self._heartbeat),
            "interval",
            seconds=settings.leader_retry_seconds,
            id="heartbeat",
            max_instances=1,
            coalesce=True,
        )
        aps.add_job(
            self._tracked(self._tick),
            "interval",
            seconds=settings.tick_seconds,
            id="tick",
            max_instances=1,
            coalesce=True,
        )
        aps.start()
        self._aps = aps

    def _tracked(self, job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            try:
                await job()
            finally:
                self._running.discard(task)

        return run

    async def stop(self) -> None:
        if self._aps is not None:
            # APScheduler's shutdown cancels the jobs still running, mid-statement. So: no new
            # runs, then let a running tick finish its batch and a heartbeat its read (either
            # holds a database connection, which must be back before the app disposes of its
            # engine), then shut down.
            self._aps.pause()
            await asyncio.gather(*self._running, return_exceptions=True)
            self._aps.shutdown(wait=False)
            self._aps = None
        async with self._lock:  # an advance asked for through the API
            pass
        await self.leadership.resign()

    async def _heartbeat(self) -> None:
        try:
            await self.sync_clock()
        except Exception:
            log.warning("could not read the clock offset", exc_info=True)
        await self.leadership.try_lead()

    async def _tick(self) -> None:
        if not self.leadership.leader:
            return
        try:
            await self.sync_clock()
            for ran in await self.run_due():
                log.info("job %s at %s: %s", ran.job, ran.at.isoformat(), ran.error or ran.done)
        except Exception:
            log.exception("scheduler tick failed")

    def status(self) -> dict[str, Any]:
        return {
            "enabled": self.config.scheduler.enabled,
            "leader": self.config.scheduler.enabled and self.leadership.leader,
            "pid": os.getpid(),
            "jobs": [job.name for job in self.jobs],
        }
