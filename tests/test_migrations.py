"""The migrations build exactly the schema the models describe, and come down again cleanly."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

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


def _downgrade_to(revision: str):
    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    return downgrade


async def test_0009_turns_a_default_menus_json_null_into_sql_null(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to("0008"))
            # What 0008's JSON column wrote for a default menu, and a conditional one.
            await connection.execute(
                text(
                    "INSERT INTO menu (buttons, matchrule, created_at) VALUES "
                    "('[]', 'null', '2026-01-01 00:00:00'), "
                    """('[]', '{"language": "en"}', '2026-01-01 00:00:00')"""
                )
            )
        await migrate(engine)
        async with engine.connect() as connection:
            nulls = await connection.scalar(
                text("SELECT count(*) FROM menu WHERE matchrule IS NULL")
            )
            rules = await connection.scalar(
                text("SELECT count(*) FROM menu WHERE matchrule IS NOT NULL")
            )
        assert (nulls, rules) == (1, 1)
    finally:
        await engine.dispose()
