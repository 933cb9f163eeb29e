"""Admin: stores and their products (GET /admin/stores, JSON under /admin/api/stores and
/admin/api/products), and switching either off and on (see services/stores.py: on_sale)."""

from typing import Any

from aiohttp import web

from botstore.admin.common import (
    FieldError,
    active_flag,
    add_switch_routes,
    body,
    given,
    int_field,
    optional_text,
    path_id,
    reading,
    render,
    text_field,
    transaction,
    yuan_field,
)
from botstore.admin.common import now as clock_now
from botstore.keys import config_key
from botstore.models import Product, Store
from botstore.numbers import ID_MAX, parse_whole
from botstore.scheduler import template_renderer
from botstore.services import earnings, stores

# --- stores ---

STORE_FIELDS = {"owner_openid", "name", "description", "cover_url"}
PRODUCT_FIELDS = {
    "store_id",
    "name",
    "description",
    "image_url",
    "price",
    "stock",
    "group_price",
    "group_size",
    "group_hours",
}


def store_json(
    store: Store,
    owner_openid: str,
    products: int | None = None,
    earned: earnings.StoreEarnings | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": store.id,
        "name": store.name,
        "owner_openid": owner_openid,
        "description": store.description,
        "cover_url": store.cover_url,
        "active": store.active,
        "created_at": store.created_at.isoformat(),
        # Settled earnings (the owner may withdraw them) and its share still in escrow.
        "balance_fen": earned.settled_fen if earned else 0,
        "escrow_fen": earned.escrow_fen if earned else 0,
    }
    if products is not None:
        out["products"] = products
    return out


def product_json(listing: stores.Listing) -> dict[str, Any]:
    product = listing.product
    return {
        "id": product.id,
        "store_id": product.store_id,
        "store_name": listing.store.name,
        "name": product.name,
        "description": product.description,
        "image_url": product.image_url,
        "price_fen": product.price_fen,
        "stock": listing.stock,
        "supplier_product_id": product.supplier_product_id,
        "group_price_fen": product.group_price_fen,
        "group_size": product.group_size,
        "group_hours": product.group_hours,
        "active": product.active,
        "listed": product.listed,
        # False also when its store, or a resale's supplier, is off: fans can't buy it.
        "on_sale": listing.on_sale,
    }


async def _owners(session: Any, fan_ids: set[int]) -> dict[int, str]:
    return await stores.owner_openids(session, fan_ids)


async def _store_list(session: Any) -> list[dict[str, Any]]:
    summaries = await stores.all_stores(session, include_inactive=True)
    owners = await _owners(session, {s.store.owner_fan_id for s in summaries})
    earned = await earnings.of_stores(session, [s.store for s in summaries])
    return [
        store_json(s.store, owners.get(s.store.owner_fan_id, ""), s.products, e)
        for s, e in zip(summaries, earned, strict=True)
    ]


async def _one_store(_request: web.Request, session: Any, store_id: int) -> dict[str, Any]:
    return next(row for row in await _store_list(session) if row["id"] == store_id)


async def _one_product(_request: web.Request, session: Any, product_id: int) -> dict[str, Any]:
    return product_json(await stores.listing_of(session, product_id))


async def list_stores(request: web.Request) -> web.Response:
    async with reading(request) as session:
        return web.json_response({"stores": await _store_list(session)})


async def create_store(request: web.Request) -> web.Response:
    data = await body(request, STORE_FIELDS)
    owner = text_field(data, "owner_openid", max_length=64)
    name = text_field(data, "name", max_length=stores.MAX_NAME)
    description = text_field(data, "description", max_length=500, default="", allow_empty=True)
    cover_url = text_field(data, "cover_url", max_length=500, default="", allow_empty=True)
    async with transaction(request) as session:
        store = await stores.create_store(
            session,
            owner_openid=owner,
            name=name,
            description=description,
            cover_url=cover_url,
            now=clock_now(request),
        )
        return web.json_response({"store": store_json(store, owner, 0)}, status=201)


async def edit_store(request: web.Request) -> web.Response:
    store_id = path_id(request)
    data = await body(request, STORE_FIELDS - {"owner_openid"})
    name = data.get("name")
    if name is not None:
        name = text_field(data, "name", max_length=stores.MAX_NAME)
    async with transaction(request) as session:
        store = await stores.update_store(
            session,
            store_id,
            name=name,
            description=optional_text(data, "description", max_length=500),
            cover_url=optional_text(data, "cover_url", max_length=500),
        )
        owner = (await _owners(session, {store.owner_fan_id})).get(store.owner_fan_id, "")
        earned = (await earnings.of_stores(session, [store]))[0]
        return web.json_response({"store": store_json(store, owner, earned=earned)})


# --- products ---


def _group(data: dict[str, Any]) -> stores.GroupTerms | None:
    if not given(data, "group_price"):
        for name in ("group_size", "group_hours"):
            if given(data, name):
                raise FieldError("group_price", f"missing (needed with {name})")
        return None
    price = yuan_field(data, "group_price")
    if not given(data, "group_size"):
        raise FieldError("group_size", "missing (needed with group_price)")
    size = int_field(data, "group_size", minimum=2, maximum=stores.MAX_GROUP_SIZE)
    hours = 24
    if given(data, "group_hours"):
        hours = int_field(data, "group_hours", minimum=1, maximum=stores.MAX_GROUP_HOURS)
    return stores.GroupTerms(price, size, hours)


async def list_products(request: web.Request) -> web.Response:
    raw = request.query.get("store_id")
    store_id = parse_whole(raw, minimum=1, maximum=ID_MAX) if raw is not None else None
    if raw is not None and store_id is None:
        raise FieldError("store_id", "an id is a number")
    async with reading(request) as session:
        listings = await stores.products_of(session, store_id)
        return web.json_response({"products": [product_json(item) for item in listings]})


async def create_product(request: web.Request) -> web.Response:
    data = await body(request, PRODUCT_FIELDS)
    store_id = int_field(data, "store_id", minimum=1, maximum=2**31 - 1)
    name = text_field(data, "name", max_length=stores.MAX_NAME)
    price = yuan_field(data, "price")
    stock = int_field(data, "stock", minimum=0, maximum=stores.MAX_STOCK)
    group = _group(data)
    description = text_field(data, "description", max_length=500, default="", allow_empty=True)
    image_url = text_field(data, "image_url", max_length=500, default="", allow_empty=True)
    async with transaction(request) as session:
        listing = await stores.create_product(
            session,
            store_id=store_id,
            name=name,
            price=price,
            stock=stock,
            description=description,
            image_url=image_url,
            group=group,
            now=clock_now(request),
        )
        return web.json_response({"product": product_json(listing)}, status=201)


async def edit_product(request: web.Request) -> web.Response:
    product_id = path_id(request)
    data = await body(request, PRODUCT_FIELDS - {"store_id"})
    name = text_field(data, "name", max_length=stores.MAX_NAME) if given(data, "name") else None
    price = yuan_field(data, "price") if given(data, "price") else None
    stock = (
        int_field(data, "stock", minimum=0, maximum=stores.MAX_STOCK)
        if given(data, "stock")
        else None
    )
    group = _group(data)
    # An explicit null group price takes the product out of group buying.
    clear_group = "group_price" in data and data["group_price"] is None
    async with transaction(request) as session:
        repriced = await stores.update_product(
            session,
            product_id,
            name=name,
            description=optional_text(data, "description", max_length=500),
            image_url=optional_text(data, "image_url", max_length=500),
            price=price,
            stock=stock,
            group=group,
            clear_group=clear_group,
            now=clock_now(request),
            render=template_renderer(request.config_dict[config_key]),
        )
        # The resales a new price left below it: off sale, their owners told (as in the chat).
        delisted = [product_json(item) for item in repriced.delisted]
        return web.json_response({"product": product_json(repriced.listing), "delisted": delisted})


async def page(request: web.Request) -> web.Response:
    async with reading(request) as session:
        store_list = await _store_list(session)
        products = [product_json(item) for item in await stores.products_of(session)]
    return render(
        request, "admin/stores.html", active="stores", stores=store_list, products=products
    )


def setup(admin: web.Application) -> None:
    admin.router.add_get("/stores", page)
    admin.router.add_get("/api/stores", list_stores)
    admin.router.add_post("/api/stores", create_store)
    admin.router.add_patch("/api/stores/{id}", edit_store)
    admin.router.add_get("/api/products", list_products)
    admin.router.add_post("/api/products", create_product)
    admin.router.add_patch("/api/products/{id}", edit_product)
    add_switch_routes(
        admin,
        "/api/stores",
        name="store",
        switch=active_flag(Store, "store"),
        show=_one_store,
    )
    add_switch_routes(
        admin,
        "/api/products",
        name="product",
        switch=active_flag(Product, "product"),
        show=_one_product,
    )
