"""`python -m tests.reliability.held_server`: botstore's app served as `botstore serve` serves
it, with one more command, `hold`: its handler waits until the file named by
BOTSTORE_TEST_GATE exists, then tops up ¥1. A test kills the process while a `hold` waits, opens
the gate and starts the server again."""

import asyncio
import os
from pathlib import Path

from aiohttp import web

from botstore.app import create_app
from botstore.config import load_config
from botstore.db import create_engine, migrate
from botstore.router import Context, Router
from botstore.wechat import Reply, TextReply
from handlers import ROUTERS
from tests.helpers import top_up_one_yuan

held = Router(name="tests.held", title="Held")


@held.command("hold")
async def hold(ctx: Context) -> Reply:
    """Waits for the gate file, then tops up 1 yuan."""
    gate = Path(os.environ["BOTSTORE_TEST_GATE"])
    while not await asyncio.to_thread(gate.exists):  # noqa: ASYNC110 (the test creates it)
        await asyncio.sleep(0.05)
    await top_up_one_yuan(ctx, "hold")
    return TextReply("released")


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    config = load_config()
    asyncio.run(_migrate(config.database.url))
    app = create_app(config, routers=[held, *ROUTERS])
    web.run_app(app, host=config.server.host, port=config.server.port, print=None)
