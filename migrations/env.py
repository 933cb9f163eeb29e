"""Alembic environment: async engines, and a shared connection when the caller passes one."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from botstore import models
from botstore.db import create_engine

config = context.config
target_metadata = models.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite can't ALTER most things in place; batch mode rebuilds the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    from botstore.config import load_config

    url = config.get_main_option("sqlalchemy.url") or load_config().database.url
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(run_with)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `python -m botstore migrate`")

shared = config.attributes.get("connection")
if shared is not None:
    run_with(shared)
else:
    asyncio.run(run_async())
