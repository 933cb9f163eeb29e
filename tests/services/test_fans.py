"""fans.get_or_create reads the fan's row without the ORM's query machinery (every message does):
what it hands back must behave exactly like an ORM-loaded Fan."""

from datetime import UTC, datetime, timedelta

from botstore.models import Fan
from botstore.services import fans

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


async def test_a_loaded_fan_is_the_sessions_own_object_and_its_changes_are_kept(database) -> None:
    async with database() as session, session.begin():
        created = await fans.get_or_create(session, "o_mei", now=NOW)
        assert created.wallet_account_id is not None
    async with database() as session, session.begin():
        fan = await fans.get_or_create(session, "o_mei", now=NOW)
        # Decoded as the ORM decodes: aware datetimes, booleans, the wallet's id.
        assert fan.created_at == NOW and fan.created_at.tzinfo is not None
        assert fan.subscribed is False and fan.wallet_account_id == created.wallet_account_id
        assert await fans.get_or_create(session, "o_mei", now=NOW) is fan
        assert await session.get(Fan, fan.id) is fan
        fan.nickname = "Mei"
        fans.speaks(fan, "zh_CN")
    async with database() as session, session.begin():
        fan = await fans.get_or_create(session, "o_mei", now=NOW + timedelta(minutes=5))
        assert (fan.nickname, fan.language) == ("Mei", "zh_CN")
    async with database() as session:
        # Seen again more than a minute later: last_seen_at moved, written like any change.
        stored = await session.get(Fan, fan.id)
        assert stored is not None and stored.last_seen_at == NOW + timedelta(minutes=5)


async def test_a_fan_added_in_the_session_but_not_flushed_is_found(database) -> None:
    async with database() as session, session.begin():
        session.add(Fan(openid="o_new", nickname="New", created_at=NOW, last_seen_at=NOW))
        fan = await fans.get_or_create(session, "o_new", now=NOW)
        assert fan.nickname == "New"
