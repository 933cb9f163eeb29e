"""Admin: wealth products (GET /admin/wealth, JSON under /admin/api/wealth).

A new product's fund is pre-funded from outside with the reserve its whole quota needs, in the
same transaction. Edits apply to new investments only (a holding keeps the terms it was bought
on); when new terms need more reserve, the fund is topped up from outside in the same transaction.
"""

import secrets
from typing import Any

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.admin.common import (
    add_switch_routes,
    body,
    bool_field,
    given,
    int_field,
    path_id,
    rate_field,
    reading,
    render,
    text_field,
    transaction,
    yuan_field,
)
from botstore.admin.common import now as clock_now
from botstore.errors import NotFound
from botstore.models import WealthProduct
from botstore.services import ledger, wealth

TERM_FIELDS = {
    "name",
    "rate_bps",
    "rate_percent",
    "term_days",
    "interval_days",
    "minimum",
    "per_fan_quota",
    "total_quota",
    "commission_bps",
    "commission_percent",
}
DEFAULT_AGENCY = "Sandbox Fund Co."


def product_json(product: WealthProduct, holders: int, fund_fen: int) -> dict[str, Any]:
    return {
        "id": product.id,
        "name": product.name,
        "rate_bps": product.rate_bps,
        "term_days": product.term_days,
        "interval_days": product.interval_days,
        "min_fen": product.min_fen,
        "per_fan_quota_fen": product.per_fan_quota_fen,
        "total_quota_fen": product.total_quota_fen,
        "sold_fen": product.sold_fen,
        "commission_bps": product.commission_bps,
        "agency": product.agency_name,
        "enabled": product.enabled,
        "open_holdings": holders,
        "fund_balance_fen": fund_fen,
    }


def _terms(data: dict[str, Any], current: WealthProduct | None = None) -> wealth.Terms:
    """The terms from the body; on an edit, fields not given keep their current values."""

    def keep(name: str) -> bool:
        return current is not None and not given(data, name)

    c = current
    name = c.name if c and keep("name") else text_field(data, "name", max_length=60)
    rate_given = given(data, "rate_bps") or given(data, "rate_percent")
    rate = (
        c.rate_bps
        if c and not rate_given
        else rate_field(data, "rate", maximum_bps=wealth.MAX_RATE_BPS)
    )
    term = (
        c.term_days
        if c and keep("term_days")
        else int_field(data, "term_days", minimum=1, maximum=wealth.MAX_TERM_DAYS)
    )
    interval_default = c.interval_days if c else 1
    interval = int_field(
        data, "interval_days", minimum=1, maximum=wealth.MAX_TERM_DAYS, default=interval_default
    )
    minimum = c.min_fen if c and keep("minimum") else yuan_field(data, "minimum")
    per_fan = (
        c.per_fan_quota_fen if c and keep("per_fan_quota") else yuan_field(data, "per_fan_quota")
    )
    total = c.total_quota_fen if c and keep("total_quota") else yuan_field(data, "total_quota")
    commission = rate_field(
        data, "commission", maximum_bps=10_000, default=c.commission_bps if c else 0
    )
    return wealth.Terms(name, rate, term, interval, minimum, per_fan, total, commission)


def _key() -> str:
    # Admin actions carry no message dedup key; each funding is its own ledger transaction.
    return f"admin:wealth_fund:{secrets.token_hex(8)}"


async def _list(session: Any) -> list[dict[str, Any]]:
    return [product_json(*row) for row in await wealth.all_products(session)]


async def list_products(request: web.Request) -> web.Response:
    async with reading(request) as session:
        return web.json_response({"products": await _list(session)})


async def create(request: web.Request) -> web.Response:
    data = await body(request, TERM_FIELDS | {"agency"})
    terms = _terms(data)
    agency = text_field(data, "agency", max_length=60, default=DEFAULT_AGENCY)
    async with transaction(request) as session:
        product = await wealth.open_product(
            session, terms, agency_name=agency, key=_key(), now=clock_now(request)
        )
        fund = await ledger.balance_of(session, product.fund_account_id)
        return web.json_response({"product": product_json(product, 0, fund)}, status=201)


async def edit(request: web.Request) -> web.Response:
    product_id = path_id(request)
    data = await body(request, TERM_FIELDS | {"enabled"})
    async with transaction(request) as session:
        current = await session.get(WealthProduct, product_id)
        if current is None:
            raise NotFound("wealth product", product_id)
        terms = _terms(data, current)
        enabled = bool_field(data, "enabled", default=current.enabled)
        _, topped_up = await wealth.edit_product(
            session, product_id, terms, enabled=enabled, key=_key(), now=clock_now(request)
        )
        return web.json_response(
            {"product": await _one(session, product_id), "topped_up_fen": topped_up}
        )


async def _one(session: AsyncSession, product_id: int) -> dict[str, Any]:
    (row,) = await wealth.all_products(session, product_id=product_id)
    return product_json(*row)


async def page(request: web.Request) -> web.Response:
    async with reading(request) as session:
        rows = await _list(session)
    return render(request, "admin/wealth.html", active="wealth", products=rows)


def setup(admin: web.Application) -> None:
    admin.router.add_get("/wealth", page)
    admin.router.add_get("/api/wealth", list_products)
    admin.router.add_post("/api/wealth", create)
    admin.router.add_patch("/api/wealth/{id}", edit)
    add_switch_routes(
        admin,
        "/api/wealth",
        name="product",
        switch=lambda session, product_id, on: wealth.set_enabled(session, product_id, enabled=on),
        show=lambda _request, session, product_id: _one(session, product_id),
    )
