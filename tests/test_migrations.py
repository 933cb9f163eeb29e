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


DEACTIVATABLE = ("store", "product", "merchant", "partner_service")


async def test_0010_keeps_rows_written_at_0009_active_and_comes_down_again(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to("0009"))
            # One row in each table as 0009's schema had it: no active column yet.
            await connection.execute(
                text(
                    "INSERT INTO account (kind, name, balance_fen, created_at) VALUES "
                    "('wallet', 'w', 0, '2026-01-01 00:00:00'), "
                    "('store', 's', 0, '2026-01-01 00:00:00')"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO fan (openid, nickname, subscribed, created_at, last_seen_at) "
                    "VALUES ('o_old', '', false, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO store (owner_fan_id, account_id, name, description, cover_url,"
                    " created_at) SELECT fan.id, account.id, 'Old Shop', '', '', '2026-01-01'"
                    " FROM fan, account WHERE account.kind = 'store'"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO product (store_id, name, description, image_url, price_fen,"
                    " stock, group_hours, created_at) SELECT id, 'Old Tea', '', '', 100, 5, 24,"
                    " '2026-01-01' FROM store"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO merchant (code, name, scene, account_id, created_at)"
                    " SELECT 'OLD1', 'Old Merchant', 'merchant_OLD1', id, '2026-01-01'"
                    " FROM account WHERE kind = 'wallet'"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO partner_service (name, category, description, app_id, page_path,"
                    " icon_url, account_id, commission_bps, created_at) SELECT 'Old Ride',"
                    " 'ride', '', 'wxold', 'pages/index/index', '', id, 0, '2026-01-01'"
                    " FROM account WHERE kind = 'wallet'"
                )
            )
        await migrate(engine)
        async with engine.connect() as connection:
            for table in DEACTIVATABLE:
                # The rows got the server default: counted as active, and none as inactive.
                active = await connection.scalar(
                    text(f"SELECT count(*) FROM {table} WHERE active")
                )
                assert active == 1, table
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to("0009"))
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda sync: {
                    table: {column["name"] for column in inspect(sync).get_columns(table)}
                    for table in DEACTIVATABLE
                }
            )
            assert all("active" not in names for names in columns.values()), columns
            # The rows themselves survive the way down.
            assert await connection.scalar(text("SELECT name FROM product")) == "Old Tea"
        await migrate(engine)
    finally:
        await engine.dispose()
