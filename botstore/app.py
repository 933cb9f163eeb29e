"""The aiohttp application: webhook, database and background work."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

from aiohttp import web

from botstore.admin import create_admin_app
from botstore.admin.auth import SignInLimiter, limiter_key
from botstore.api import setup_api
from botstore.clock import Clock, SystemClock
from botstore.config import Config, check_exposure
from botstore.console.miniprogram import setup_console_miniprogram
from botstore.console.web import setup_console
from botstore.console.wxpay import setup_console_wxpay
from botstore.db import create_engine, session_factory
from botstore.keys import (
    background_key,
    clock_key,
    config_key,
    crypto_key,
    db_key,
    dispatcher_key,
    engine_key,
    page_envs_key,
    routers_key,
    scheduler_key,
    wxpay_platform_key,
    xml_key,
)
from botstore.pages.articles import setup_article_pages
from botstore.pages.images import setup_images
from botstore.pages.stores import setup_pages
from botstore.redaction import AccessLog, quote_no_request_in_parser_errors
from botstore.router import Dispatcher, Router, TemplateReplies
from botstore.scheduler import Scheduler
from botstore.services import messages
from botstore.templating import (
    localized_environments,
    merchant_environment,
    project_environment,
    reply_environments,
)
from botstore.webhook import setup_webhook
from botstore.wechat import ReplyRenderer, WeChatCrypto
from botstore.wxpay.gateway import setup_gateway
from botstore.wxpay.platform import PlatformCache
from botstore.wxpay.request_payment import setup_request_payment
from handlers import ROUTERS

log = logging.getLogger(__name__)


def create_app(
    config: Config, *, clock: Clock | None = None, routers: Sequence[Router] = ROUTERS
) -> web.Application:
    """The whole server; the database schema must already be migrated."""
    check_exposure(config)
    quote_no_request_in_parser_errors()
    app = web.Application(
        client_max_size=config.server.max_body_bytes,
        # `serve --access-log` lines, with access_token and secret masked in URLs.
        handler_args={"access_log_class": AccessLog},
    )
    app[config_key] = config
    app[routers_key] = list(routers)
    app[clock_key] = clock or SystemClock()
    app[background_key] = set()
    wechat = config.wechat
    app[crypto_key] = WeChatCrypto(
        wechat.token,
        wechat.encoding_aes_key,
        wechat.app_id,
        previous_encoding_aes_key=wechat.previous_encoding_aes_key or None,
    )
    env = project_environment()
    app[xml_key] = ReplyRenderer(env)
    app[page_envs_key] = localized_environments(timezone=config.wallet.timezone)
    app[wxpay_platform_key] = PlatformCache()
    app.cleanup_ctx.extend(
        [database_ctx, background_ctx, prune_ctx, scheduler_ctx, wxpay_notify_ctx]
    )
    setup_webhook(app, path=wechat.path)
    setup_api(app)
    setup_gateway(app)
    setup_request_payment(app)
    setup_pages(app)
    setup_article_pages(app)
    setup_images(app)
    setup_console(app)
    setup_console_miniprogram(app)
    setup_console_wxpay(app)
    app[limiter_key] = SignInLimiter(config.admin.failed_signins_per_minute)
    app.add_subapp("/admin/", create_admin_app())
    return app


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[config_key].database.url)
    app[engine_key] = engine
    app[db_key] = session_factory(engine)
    app[dispatcher_key] = Dispatcher(
        routers=app[routers_key],
        sessions=app[db_key],
        config=app[config_key],
        replies=TemplateReplies(reply_environments(app[config_key])),
        merchant_env=merchant_environment(),
    )
    yield
    await engine.dispose()


async def background_ctx(app: web.Application) -> AsyncIterator[None]:
    # Messages accepted before a crash were answered "success" (or not at all): finish them.
    recovery = asyncio.create_task(_finish_accepted(app))
    app[background_key].add(recovery)
    recovery.add_done_callback(app[background_key].discard)
    yield
    # Handlers that outlived their reply budget still finish (and commit) before shutdown.
    pending = app[background_key]
    if pending:
        await asyncio.wait(pending, timeout=30)


async def _finish_accepted(app: web.Application) -> None:
    try:
        handled = await app[dispatcher_key].finish_accepted(now=app[clock_key].now())
    except Exception:  # the server serves anyway; the next start tries again
        log.exception("finishing the messages accepted before the restart failed")
        return
    if handled:
        log.warning("handled %d message(s) accepted before the restart", handled)


async def prune_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_prune_forever(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _prune_forever(app: web.Application) -> None:
    dedup = app[config_key].dedup
    while True:
        await asyncio.sleep(dedup.prune_interval_seconds)
        try:
            await prune_dedup(app)
        except Exception:  # keep pruning on the next round; the webhook is unaffected
            log.exception("pruning dedup keys failed")


async def prune_dedup(app: web.Application) -> int:
    """Forget dedup keys older than the retention period."""
    retention = timedelta(seconds=app[config_key].dedup.retention_seconds)
    async with app[db_key]() as session, session.begin():
        return await messages.prune(session, older_than=retention, now=app[clock_key].now())


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """The job runner: always there for clock advances; ticking in the background if enabled."""
    scheduler = Scheduler(
        sessions=app[db_key], engine=app[engine_key], config=app[config_key], clock=app[clock_key]
    )
    app[scheduler_key] = scheduler
    await scheduler.start()
    yield
    await scheduler.stop()


# Between clock advances, WeChat Pay notification tries due by now go out within this long.
WXPAY_POLL_SECONDS = 1.0


async def wxpay_notify_ctx(app: web.Application) -> AsyncIterator[None]:
    """Runs the `wxpay.notify` job every second (under the scheduler's lock, so never during an
    advance): a payment's notification goes out at once, retries when they fall due. Off with
    the scheduler's background work (`scheduler.enabled = false`): clock advances still send."""
    if not app[config_key].scheduler.enabled:
        yield
        return
    stopping = asyncio.Event()

    async def poll() -> None:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), WXPAY_POLL_SECONDS)
            if stopping.is_set():
                return
            try:
                await app[scheduler_key].run_job("wxpay.notify")
            except Exception:  # the next round tries again
                log.exception("delivering WeChat Pay notifications failed")

    task = asyncio.create_task(poll())
    yield
    # A try in flight finishes and is recorded (at most the 5 s the merchant gets).
    stopping.set()
    await task
