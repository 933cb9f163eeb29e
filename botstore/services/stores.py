"""WeStore shops: opening a store, listing products, affiliate resale, group prices, browsing,
and the owner's upkeep of its products (restock, price, delist, relist)."""

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore import images
from botstore.db import get
from botstore.errors import (
    AlreadyReselling,
    BadArgument,
    Deactivated,
    Delisted,
    NoStore,
    NotFound,
    NotYours,
    OwnProduct,
    PriceRefused,
    StoreExists,
)
from botstore.i18n import N_
from botstore.models import Account, AccountKind, Fan, Product, Store
from botstore.money import Fen, format_yuan
from botstore.numbers import parse_whole
from botstore.services import notices

MAX_NAME = 60
MAX_STOCK = 100_000
MAX_GROUP_SIZE = 100
MOMENTS_SIZE = 10


@dataclass(frozen=True, slots=True)
class Listing:
    """A product as a buyer sees it; for a resale, the supplier's product holds stock and ships."""

    product: Product
    store: Store
    supplier: Product
    supplier_store: Store

    @property
    def is_resale(self) -> bool:
        return self.product.supplier_product_id is not None

    @property
    def stock(self) -> int:
        return self.supplier.stock

    @property
    def margin_fen(self) -> int:
        return self.product.price_fen - self.supplier.price_fen

    @property
    def active(self) -> bool:
        """The admin turned none of it off: it, its store and (for a resale) its supplier's
        product and store."""
        rows = (self.product, self.store, self.supplier, self.supplier_store)
        return all(row.active for row in rows)

    @property
    def listed(self) -> bool:
        """Its owner sells it, and for a resale so does the supplier (`delist` turns it off)."""
        return self.product.listed and self.supplier.listed

    @property
    def on_sale(self) -> bool:
        """Fans see it and may buy it: active and listed."""
        return self.active and self.listed


def refuse_if_closed(store: Store, fan: Fan | None = None) -> None:
    """Raise Deactivated for a store the admin turned off, telling `fan` when it is theirs."""
    if not store.active:
        own = fan is not None and store.owner_fan_id == fan.id
        raise Deactivated("store", store.id or 0, store.name, own=own)


def refuse_unless_on_sale(listing: Listing, fan: Fan | None = None) -> None:
    """Raise Deactivated unless the listing is active, naming the store when the store is off
    (the fan's own, when it is theirs) and the product otherwise (for a resale, whatever of its
    supplier is off: the fan only knows the listing); Delisted when an owner took it off sale
    (`own` when the fan delisted it)."""
    refuse_if_closed(listing.store, fan)
    product = listing.product
    if not listing.active:
        raise Deactivated("product", product.id or 0, product.name)
    if not listing.listed:
        own = fan is not None and listing.store.owner_fan_id == fan.id and not product.listed
        raise Delisted(product.id or 0, product.name, own=own)


def on_sale(statement: Any) -> Any:
    """`statement` (selecting from Product) narrowed to the products on sale, as
    Listing.on_sale decides it, in SQL: for lists with a limit."""
    supplier, supplier_store = aliased(Product), aliased(Store)
    return (
        statement.join(Store, col(Store.id) == Product.store_id)
        .outerjoin(supplier, col(supplier.id) == Product.supplier_product_id)
        .outerjoin(supplier_store, col(supplier_store.id) == supplier.store_id)
        .where(
            col(Product.active),
            col(Product.listed),
            col(Store.active),
            or_(
                col(Product.supplier_product_id).is_(None),
                and_(col(supplier.active), col(supplier.listed), col(supplier_store.active)),
            ),
        )
    )


@dataclass(frozen=True, slots=True)
class StoreSummary:
    store: Store
    products: int


@dataclass(frozen=True, slots=True)
class StoreView:
    store: Store
    listings: list[Listing]


def parse_stock(text: str) -> int:
    """'5' -> 5; stock may be zero (listed, sold out) up to MAX_STOCK."""
    stock = parse_whole(text, maximum=MAX_STOCK)
    if stock is None:
        raise BadArgument("stock", text, N_("a whole number from 0 to %(most)s"), most=MAX_STOCK)
    return stock


def _clean_name(name: str, what: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME or not cleaned.isprintable():
        raise BadArgument(what, name, N_("1 to %(most)s printable characters"), most=MAX_NAME)
    return cleaned


async def store_of(session: AsyncSession, fan: Fan) -> Store | None:
    return (await session.exec(select(Store).where(Store.owner_fan_id == fan.id))).first()


async def own_store(session: AsyncSession, fan: Fan) -> Store:
    """The fan's store to sell from; refuses fans who have not opened one, and fans whose store
    the admin deactivated (the store stays theirs: `open` can't make a second one)."""
    store = await store_of(session, fan)
    if store is None:
        raise NoStore()
    refuse_if_closed(store, fan)
    return store


async def open_store(session: AsyncSession, fan: Fan, *, name: str, now: datetime) -> Store:
    """Open the fan's one store, free, with an empty store account."""
    name = _clean_name(name, "store name")
    existing = await store_of(session, fan)
    if existing is not None:
        raise StoreExists(existing.id or 0, existing.name)
    account = Account(kind=AccountKind.STORE, name=f"store of {fan.openid}", created_at=now)
    session.add(account)
    await session.flush()
    store = Store(owner_fan_id=fan.id or 0, account_id=account.id or 0, name=name, created_at=now)
    try:
        # The same fan opening twice at once: the unique owner makes the loser a refusal.
        async with session.begin_nested():
            session.add(store)
            await session.flush()
    except IntegrityError:
        raise StoreExists(0, name) from None
    return store


async def list_product(
    session: AsyncSession,
    fan: Fan,
    *,
    name: str,
    price: Fen,
    stock: int,
    now: datetime,
    image_url: str = "",
    description: str = "",
) -> Listing:
    """Add a product to the fan's own store; a listed product is posted to moments. Without an
    image it gets its name's card (botstore/images.py)."""
    store = await own_store(session, fan)
    name = _clean_name(name, "product name")
    if not 0 <= stock <= MAX_STOCK:
        raise BadArgument("stock", str(stock), f"a whole number from 0 to {MAX_STOCK}")
    if price <= 0:
        raise BadArgument("price", str(price), N_("must be more than zero"))
    product = Product(
        store_id=store.id or 0,
        name=name,
        description=description,
        image_url=image_url or images.card_path(name),
        price_fen=price,
        stock=stock,
        created_at=now,
    )
    session.add(product)
    await session.flush()
    return Listing(product, store, product, store)


async def set_group_price(
    session: AsyncSession, fan: Fan, *, product_id: int, price: Fen, size: int
) -> Listing:
    """Let `size` fans buy the store's own product together at `price`, below the normal one."""
    listing = await listing_of(session, product_id)
    if listing.store.owner_fan_id != fan.id:
        raise NotYours("product", product_id, "store owner")
    refuse_unless_on_sale(listing, fan)
    if listing.is_resale:
        # The supplier sets the discount; an affiliate can't promise stock at a lower price.
        raise NotYours("product", listing.supplier.id or 0, "supplying store's owner")
    if not 2 <= size <= MAX_GROUP_SIZE:
        raise BadArgument(
            "group size", str(size), N_("a whole number from 2 to %(most)s"), most=MAX_GROUP_SIZE
        )
    if price >= listing.product.price_fen:
        raise PriceRefused("group", price, listing.product.price_fen)
    listing.product.group_price_fen = price
    listing.product.group_size = size
    session.add(listing.product)
    await session.flush()
    return listing


async def resell(
    session: AsyncSession, fan: Fan, *, product_id: int, price: Fen, now: datetime
) -> Listing:
    """List another store's product in the fan's store at `price`, at least the supplier's."""
    store = await own_store(session, fan)
    source = await listing_of(session, product_id)
    supplier, supplier_store = source.supplier, source.supplier_store
    if supplier_store.id == store.id:
        raise OwnProduct(supplier.id or 0, "resell")
    refuse_unless_on_sale(source, fan)
    if price < supplier.price_fen:
        raise PriceRefused("resale", price, supplier.price_fen)
    existing = (
        await session.exec(
            select(Product.id).where(
                Product.store_id == store.id, Product.supplier_product_id == supplier.id
            )
        )
    ).first()
    if existing is not None:
        raise AlreadyReselling(supplier.id or 0, existing)
    product = Product(
        store_id=store.id or 0,
        name=supplier.name,
        description=supplier.description,
        image_url=supplier.image_url,
        price_fen=price,
        stock=0,
        supplier_product_id=supplier.id,
        created_at=now,
    )
    session.add(product)
    await session.flush()
    return Listing(product, store, supplier, supplier_store)


# --- the owner's upkeep: restock, price, delist, relist ---

Render = Callable[[str, Mapping[str, Any]], str]
# The outbox reasons of a reseller's notices: its resale off sale (the supplier's price passed
# it, or the supplier delisted its product) and back on sale (the supplier relisted it).
RESALE_DELISTED = "resale_delisted"
RESALE_RELISTED = "resale_relisted"


@dataclass(frozen=True, slots=True)
class Repriced:
    """A new price, and the resales it left below their supplier's: delisted, owners told."""

    listing: Listing
    old_price_fen: int
    delisted: list[Listing]


@dataclass(frozen=True, slots=True)
class Switched:
    """A delist or relist; `changed` is False when the product was so already. `resales`: the
    listed resales it took off sale or put back (their owners told)."""

    listing: Listing
    changed: bool
    resales: list[Listing] = dataclasses.field(default_factory=list)


async def own_listing(session: AsyncSession, fan: Fan, product_id: int) -> Listing:
    """The fan's own product to look after: NotYours for another store's, and refused while the
    admin has the fan's store deactivated."""
    listing = await listing_of(session, product_id)
    if listing.store.owner_fan_id != fan.id:
        raise NotYours("product", product_id, "store owner")
    refuse_if_closed(listing.store, fan)
    return listing


async def _supplier_price(session: AsyncSession, listing: Listing) -> int:
    """A resale's supplier price, its row share-locked on PostgreSQL: a supplier raising the
    price at the same moment waits, or is waited for, so a resale never stays listed below."""
    supplier = await session.get(
        Product, listing.supplier.id, with_for_update={"read": True}, populate_existing=True
    )
    assert supplier is not None
    return supplier.price_fen


def parse_restock(text: str) -> int:
    """'20' -> 20: units to add, 1 up to MAX_STOCK."""
    qty = parse_whole(text, minimum=1, maximum=MAX_STOCK)
    if qty is None:
        raise BadArgument(
            "quantity", text, N_("a whole number from 1 to %(most)s"), most=MAX_STOCK
        )
    return qty


async def restock(session: AsyncSession, fan: Fan, *, product_id: int, qty: int) -> Listing:
    """Add `qty` units to the owner's product; a resale's stock is its supplier's to add."""
    listing = await own_listing(session, fan, product_id)
    if listing.is_resale:
        raise NotYours("product", listing.supplier.id or 0, "supplying store's owner")
    # One conditional UPDATE, as buying takes stock: units bought meanwhile are never lost.
    added = await session.exec(
        update(Product)
        .where(col(Product.id) == product_id, col(Product.stock) + qty <= MAX_STOCK)
        .values(stock=col(Product.stock) + qty)
    )
    await session.refresh(listing.product)
    if added.rowcount != 1:
        raise BadArgument(
            "quantity",
            str(qty),
            N_("the stock would pass %(most)s (it is %(stock)s)"),
            most=MAX_STOCK,
            stock=listing.product.stock,
        )
    return listing


async def reprice(
    session: AsyncSession,
    fan: Fan,
    *,
    product_id: int,
    price: Fen,
    now: datetime,
    render: Render | None = None,
) -> Repriced:
    """Set the owner's product's price. It stays above its group price; a resale's stays at
    least its supplier's. A supplier's new price delists each resale now below it, and its
    store's owner gets a customer-service message saying so (with `render`), in their language.
    Orders and open group buys keep the prices they were paid at."""
    listing = await own_listing(session, fan, product_id)
    product = listing.product
    if price <= 0:
        raise BadArgument("price", str(price), N_("must be more than zero"))
    if listing.is_resale:
        floor = await _supplier_price(session, listing)
        if price < floor:
            raise PriceRefused("below_supplier", price, floor)
    if product.group_price_fen is not None and price <= product.group_price_fen:
        raise PriceRefused("above_group", price, product.group_price_fen, product_id=product_id)
    old_price = product.price_fen
    product.price_fen = price
    session.add(product)
    await session.flush()
    delisted: list[Listing] = []
    if not listing.is_resale:
        delisted = await _delist_resales_below(session, product, render=render, now=now)
    return Repriced(listing, old_price, delisted)


async def _delist_resales_below(
    session: AsyncSession, supplier: Product, *, render: Render | None, now: datetime
) -> list[Listing]:
    """The rule of a supplier's new price, for the chat's `price` and the admin's edit alike:
    each listed resale of it now priced below it goes off sale (the reseller's margin would be
    negative), and its owner is told (with `render`), in their language."""
    below = await session.exec(
        select(Product)
        .where(
            Product.supplier_product_id == supplier.id,
            col(Product.listed),
            col(Product.price_fen) < supplier.price_fen,
        )
        .order_by(col(Product.id))
    )
    resales = list(below.all())
    for resale in resales:
        resale.listed = False
        session.add(resale)
    delisted = await _listings(session, resales)
    await session.flush()
    if render is not None:
        await _tell_resellers(
            session,
            delisted,
            "notifications/resale_delisted.txt",
            RESALE_DELISTED,
            render=render,
            now=now,
        )
    return delisted


async def _listed_resales(session: AsyncSession, supplier: Product) -> list[Listing]:
    """The resales of `supplier` their owners have on sale (not ones they delisted)."""
    rows = await session.exec(
        select(Product)
        .where(Product.supplier_product_id == supplier.id, col(Product.listed))
        .order_by(col(Product.id))
    )
    return await _listings(session, rows.all())


async def _tell_resellers(
    session: AsyncSession,
    resales: list[Listing],
    template: str,
    reason: str,
    *,
    render: Render,
    now: datetime,
) -> None:
    """A notice about each resale to its store's owner, in their language (held outside the
    48-hour window)."""
    owners = {
        owner.id: owner
        for owner in await session.exec(
            select(Fan).where(col(Fan.id).in_({item.store.owner_fan_id for item in resales}))
        )
    }
    for item in resales:
        await notices.notify(
            session,
            owners[item.store.owner_fan_id],
            template,
            {"item": item},
            render=render,
            reason=reason,
            now=now,
            store=item.store,
        )


async def delist(
    session: AsyncSession,
    fan: Fan,
    *,
    product_id: int,
    now: datetime,
    render: Render | None = None,
) -> Switched:
    """Take the owner's product off sale: fans no longer see or buy it (nor its resales, whose
    owners are told with `render`); orders already paid still ship."""
    listing = await own_listing(session, fan, product_id)
    changed = listing.product.listed
    resales: list[Listing] = []
    if changed:
        listing.product.listed = False
        session.add(listing.product)
        await session.flush()
        if not listing.is_resale:
            # Those that were on sale: not the ones the admin has turned off.
            resales = [
                item for item in await _listed_resales(session, listing.product) if item.active
            ]
        if render is not None and resales:
            await _tell_resellers(
                session,
                resales,
                "notifications/resale_supplier_delisted.txt",
                RESALE_DELISTED,
                render=render,
                now=now,
            )
    return Switched(listing, changed, resales)


async def relist(
    session: AsyncSession,
    fan: Fan,
    *,
    product_id: int,
    now: datetime,
    render: Render | None = None,
) -> Switched:
    """Put the owner's product on sale again: not one the admin deactivated, nor a resale
    priced below its supplier's (`price` it first). The owners of its listed resales, back on
    sale with it, are told (with `render`)."""
    listing = await own_listing(session, fan, product_id)
    product = listing.product
    if not product.active:
        raise Deactivated("product", product_id, product.name)
    if listing.is_resale:
        floor = await _supplier_price(session, listing)
        if product.price_fen < floor:
            raise PriceRefused("relist", product.price_fen, floor, product_id=product_id)
    changed = not product.listed
    resales: list[Listing] = []
    if changed:
        product.listed = True
        session.add(product)
        await session.flush()
        if not listing.is_resale:
            resales = [item for item in await _listed_resales(session, product) if item.on_sale]
        if render is not None and resales:
            await _tell_resellers(
                session,
                resales,
                "notifications/resale_relisted.txt",
                RESALE_RELISTED,
                render=render,
                now=now,
            )
    return Switched(listing, changed, resales)


async def listing_of(session: AsyncSession, product_id: int) -> Listing:
    """One product with its store and, for a resale, its supplier; on sale or not."""
    # Every purchase starts here: a few loads by primary key (db.get), not the ORM's queries.
    product = await get(session, Product, product_id)
    if product is None:
        raise NotFound("product", product_id)
    supplier = product
    if product.supplier_product_id is not None:
        supplier = await get(session, Product, product.supplier_product_id)
        assert supplier is not None  # a foreign key
    store = await get(session, Store, product.store_id)
    supplier_store = await get(session, Store, supplier.store_id)
    assert store is not None and supplier_store is not None  # foreign keys
    return Listing(product, store, supplier, supplier_store)


async def listing_on_sale(
    session: AsyncSession, product_id: int, fan: Fan | None = None
) -> Listing:
    """One product a fan may see and buy; Deactivated if it, its store or its supplier is off."""
    listing = await listing_of(session, product_id)
    refuse_unless_on_sale(listing, fan)
    return listing


async def _listings(session: AsyncSession, products: Sequence[Product]) -> list[Listing]:
    supplier_ids = {p.supplier_product_id for p in products if p.supplier_product_id is not None}
    suppliers = {p.id: p for p in products}
    if supplier_ids - suppliers.keys():
        rows = await session.exec(
            select(Product).where(col(Product.id).in_(supplier_ids - suppliers.keys()))
        )
        suppliers.update({p.id: p for p in rows.all()})
    store_ids = {p.store_id for p in products} | {p.store_id for p in suppliers.values()}
    stores = {
        s.id: s for s in (await session.exec(select(Store).where(col(Store.id).in_(store_ids))))
    }
    out = []
    for product in products:
        supplier = suppliers[product.supplier_product_id or product.id]
        out.append(Listing(product, stores[product.store_id], supplier, stores[supplier.store_id]))
    return out


async def all_stores(
    session: AsyncSession, *, include_inactive: bool = False
) -> list[StoreSummary]:
    """The active stores with their products on sale, oldest first; with `include_inactive`
    (the admin's view), every store with all its products."""
    counted = select(Product.store_id, func.count().label("n"))
    if not include_inactive:
        counted = on_sale(counted)
    counts = counted.group_by(col(Product.store_id)).subquery()
    statement = (
        select(Store, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.store_id == Store.id)
        .order_by(col(Store.id))
    )
    if not include_inactive:
        statement = statement.where(col(Store.active))
    rows = await session.exec(statement)
    return [StoreSummary(store, int(n)) for store, n in rows.all()]


async def store_view(session: AsyncSession, store_id: int, fan: Fan | None = None) -> StoreView:
    """One active store and its products on sale, oldest first; Deactivated for a store the
    admin turned off (telling `fan` when it is theirs)."""
    store = await session.get(Store, store_id)
    if store is None:
        raise NotFound("store", store_id)
    refuse_if_closed(store, fan)
    products = await session.exec(
        on_sale(select(Product)).where(Product.store_id == store_id).order_by(col(Product.id))
    )
    return StoreView(store, await _listings(session, products.all()))


async def moments(session: AsyncSession, *, limit: int = MOMENTS_SIZE) -> list[Listing]:
    """The newest posts of products on sale, newest first (listing a product posts it)."""
    products = await session.exec(
        on_sale(select(Product))
        .order_by(col(Product.created_at).desc(), col(Product.id).desc())
        .limit(limit)
    )
    return await _listings(session, products.all())


# --- the merchant admin: stores and products set up by the account's operator ---

MAX_TEXT = 500
MAX_GROUP_HOURS = 720  # thirty days


@dataclass(frozen=True, slots=True)
class GroupTerms:
    """A group price: `size` fans buy together at `price_fen` within `hours`."""

    price_fen: int
    size: int
    hours: int = 24


def _text(value: str, field: str, limit: int = MAX_TEXT) -> str:
    if len(value) > limit:
        raise BadArgument(field, value[:40], f"at most {limit} characters")
    return value.strip()


def _url(value: str, field: str) -> str:
    value = _text(value, field)
    # A root-relative path is botstore's own picture (botstore/images.py): the demo's cards.
    if value and not (value.startswith(("http://", "https://")) or images.is_local(value)):
        raise BadArgument(
            field, value[:40], "an http:// or https:// address, a /path here, or empty"
        )
    return value


def _check_group(group: GroupTerms, price_fen: int) -> None:
    if not 2 <= group.size <= MAX_GROUP_SIZE:
        raise BadArgument(
            "group_size", str(group.size), f"a whole number from 2 to {MAX_GROUP_SIZE}"
        )
    if not 1 <= group.hours <= MAX_GROUP_HOURS:
        raise BadArgument("group_hours", str(group.hours), f"1 to {MAX_GROUP_HOURS} hours")
    if not 0 < group.price_fen < price_fen:
        raise BadArgument("group_price", str(group.price_fen), "must be below the normal price")


def _check_stock(stock: int) -> None:
    if not 0 <= stock <= MAX_STOCK:
        raise BadArgument("stock", str(stock), f"a whole number from 0 to {MAX_STOCK}")


async def create_store(
    session: AsyncSession,
    *,
    owner_openid: str,
    name: str,
    now: datetime,
    description: str = "",
    cover_url: str = "",
) -> Store:
    """Open a store for an existing fan, as `open` would, with its description and cover."""
    name = _clean_name(name, "name")
    description = _text(description, "description")
    cover_url = _url(cover_url, "cover_url")
    fan = (await session.exec(select(Fan).where(Fan.openid == owner_openid))).first()
    if fan is None:
        raise BadArgument("owner_openid", owner_openid[:64], "no fan has this openid yet")
    existing = await store_of(session, fan)
    if existing is not None:
        raise BadArgument(
            "owner_openid", owner_openid, f"this fan already owns store #{existing.id}"
        )
    store = await open_store(session, fan, name=name, now=now)
    store.description = description
    store.cover_url = cover_url
    session.add(store)
    await session.flush()
    return store


async def update_store(
    session: AsyncSession,
    store_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    cover_url: str | None = None,
) -> Store:
    """Rename a store or change its description or cover; its owner and money stay."""
    store = await session.get(Store, store_id)
    if store is None:
        raise NotFound("store", store_id)
    if name is not None:
        store.name = _clean_name(name, "name")
    if description is not None:
        store.description = _text(description, "description")
    if cover_url is not None:
        store.cover_url = _url(cover_url, "cover_url")
    session.add(store)
    await session.flush()
    return store


async def create_product(
    session: AsyncSession,
    *,
    store_id: int,
    name: str,
    price: Fen,
    stock: int,
    now: datetime,
    description: str = "",
    image_url: str = "",
    group: GroupTerms | None = None,
) -> Listing:
    """List a product in a store (posted to moments, as `list` does), maybe with a group price."""
    store = await session.get(Store, store_id)
    if store is None:
        raise BadArgument("store_id", str(store_id), "no store has this id")
    product = Product(
        store_id=store_id,
        name=_clean_name(name, "name"),
        description=_text(description, "description"),
        image_url=_url(image_url, "image_url"),
        price_fen=price,
        stock=stock,
        created_at=now,
    )
    if price <= 0:
        raise BadArgument("price", str(price), N_("must be more than zero"))
    _check_stock(stock)
    if group is not None:
        _check_group(group, price)
        product.group_price_fen, product.group_size = group.price_fen, group.size
        product.group_hours = group.hours
    session.add(product)
    await session.flush()
    return Listing(product, store, product, store)


async def update_product(
    session: AsyncSession,
    product_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    image_url: str | None = None,
    price: Fen | None = None,
    stock: int | None = None,
    group: GroupTerms | None = None,
    clear_group: bool = False,
    now: datetime,
    render: Render | None = None,
) -> Repriced:
    """Change a product. Orders keep the prices they were paid at (they copy them); open group
    buys keep theirs. A resale's price may not fall below its supplier's; a supplier's new
    price delists each resale left below it, its owner told (with `render`), as `price` in
    the chat does."""
    listing = await listing_of(session, product_id)
    product = listing.product
    old_price = product.price_fen
    if name is not None:
        product.name = _clean_name(name, "name")
    if description is not None:
        product.description = _text(description, "description")
    if image_url is not None:
        product.image_url = _url(image_url, "image_url")
    if price is not None:
        if price <= 0:
            raise BadArgument("price", str(price), N_("must be more than zero"))
        if listing.is_resale and price < listing.supplier.price_fen:
            supplier_price = format_yuan(listing.supplier.price_fen)
            raise BadArgument(
                "price", str(price), f"below the supplier's price (¥{supplier_price})"
            )
        product.price_fen = price
    if stock is not None:
        if listing.is_resale:
            raise BadArgument("stock", str(stock), "a resale listing's stock is its supplier's")
        _check_stock(stock)
        product.stock = stock
    if clear_group:
        product.group_price_fen = product.group_size = None
    if group is not None:
        if listing.is_resale:
            raise BadArgument("group_price", str(group.price_fen), "only the supplier sets one")
        _check_group(group, product.price_fen)
        product.group_price_fen, product.group_size = group.price_fen, group.size
        product.group_hours = group.hours
    elif product.group_price_fen is not None and product.group_price_fen >= product.price_fen:
        raise BadArgument(
            "price", str(product.price_fen), "must stay above the group price (change both)"
        )
    session.add(product)
    await session.flush()
    delisted: list[Listing] = []
    if price is not None and not listing.is_resale:
        delisted = await _delist_resales_below(session, product, render=render, now=now)
    return Repriced(listing, old_price, delisted)


async def owner_openids(session: AsyncSession, fan_ids: set[int]) -> dict[int, str]:
    """The openids of store owners, by fan id."""
    rows = await session.exec(select(Fan.id, Fan.openid).where(col(Fan.id).in_(fan_ids)))
    return {fan_id or 0: openid for fan_id, openid in rows.all()}


async def products_of(session: AsyncSession, store_id: int | None = None) -> list[Listing]:
    """Every product (of one store, if given), oldest first."""
    statement = select(Product).order_by(col(Product.id))
    if store_id is not None:
        statement = statement.where(Product.store_id == store_id)
    return await _listings(session, (await session.exec(statement)).all())
