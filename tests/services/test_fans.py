"""fans.get_or_create reads the fan's row without the ORM's query machinery (every message does),
as db.get reads other rows by key: what they hand back must behave exactly like ORM-loaded
objects."""

from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from botstore import db
from botstore.models import Fan, Product, Store
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


async def new_store(session: AsyncSession, openid: str) -> Store:
    """A store of a new fan's, flushed: what a product refers to."""
    owner = await fans.get_or_create(session, openid, now=NOW)
    assert owner.wallet_account_id is not None
    store = Store(
        owner_fan_id=owner.id, account_id=owner.wallet_account_id, name="Shop", created_at=NOW
    )
    session.add(store)
    await session.flush()
    return store


async def test_db_get_hands_back_what_session_get_would(database) -> None:
    # db.get reads any model's row by primary key the same way (products, stores, notified
    # owners on every purchase): the session's own object, decoded, its changes kept.
    async with database() as session, session.begin():
        store = await new_store(session, "o_owner")
        session.add(Product(store_id=store.id, name="Mug", price_fen=1500, created_at=NOW))
    async with database() as session, session.begin():
        product = await db.get(session, Product, 1)
        assert product is not None and (product.name, product.price_fen) == ("Mug", 1500)
        assert product.created_at == NOW and product.created_at.tzinfo is not None
        assert product.listed is True and product.supplier_product_id is None
        assert await db.get(session, Product, 1) is product
        assert await session.get(Product, 1) is product
        assert await db.get(session, Product, 2) is None
        known = await session.get(Store, product.store_id)
        assert await db.get(session, Store, product.store_id) is known
        product.stock = 7
    async with database() as session:
        stored = await session.get(Product, 1)
        assert stored is not None and stored.stock == 7


async def test_db_insert_leaves_what_a_flush_would(database) -> None:
    # orders.buy inserts its order with db.insert: the row written as the ORM writes it, the
    # object the session's own, persistent, with its id; later changes flushed as the ORM's.
    async with database() as session, session.begin():
        store = await new_store(session, "o_seller")
        product = Product(store_id=store.id, name="Tea", price_fen=800, created_at=NOW)
        inserted = await db.insert(session, product)
        assert inserted is product and product.id is not None
        assert await session.get(Product, product.id) is product
        assert product not in session.new and product not in session.dirty
        product.stock = 3
    async with database() as session:
        stored = await session.get(Product, product.id)
        assert stored is not None
        assert (stored.name, stored.price_fen, stored.stock) == ("Tea", 800, 3)
        assert stored.created_at == NOW and stored.listed is True
