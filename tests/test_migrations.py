"""The migrations build exactly the schema the models describe, and come down again cleanly."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from botstore.db import alembic_config, create_engine, migrate
from botstore.models import metadata


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, metadata)


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []


def _downgrade_to_base(connection: Connection) -> list[str]:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")
    return [name for name in inspect(connection).get_table_names() if name != "alembic_version"]


async def test_every_migration_comes_down_and_goes_up_again(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            left = await connection.run_sync(_downgrade_to_base)
        assert left == []
        await migrate(engine)
    finally:
        await engine.dispose()
