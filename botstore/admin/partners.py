"""Admin: partner services (GET /admin/partners, JSON under /admin/api/partners): name, category,
mini program, and the platform's commission (basis points or percent); deactivate and activate
(a deactivated service is out of the fans' catalog and takes no payments)."""

from typing import Any

from aiohttp import web

from botstore.admin.common import (
    active_flag,
    add_switch_routes,
    body,
    given,
    optional_text,
    path_id,
    rate_field,
    reading,
    render,
    text_field,
    transaction,
)
from botstore.admin.common import now as clock_now
from botstore.models import PartnerService
from botstore.services import ledger, partners

FIELDS = {
    "name",
    "category",
    "description",
    "app_id",
    "page_path",
    "icon_url",
    "commission_bps",
    "commission_percent",
}


def partner_json(service: PartnerService, balance_fen: int) -> dict[str, Any]:
    return {
        "id": service.id,
        "name": service.name,
        "category": service.category,
        "description": service.description,
        "app_id": service.app_id,
        "page_path": service.page_path,
        "icon_url": service.icon_url,
        "commission_bps": service.commission_bps,
        "balance_fen": balance_fen,
        "active": service.active,
    }


async def _list(session: Any) -> list[dict[str, Any]]:
    return [
        partner_json(s, await ledger.balance_of(session, s.account_id))
        for s in await partners.catalog(session, include_inactive=True)
    ]


async def _one(_request: web.Request, session: Any, service_id: int) -> dict[str, Any]:
    return next(row for row in await _list(session) if row["id"] == service_id)


async def list_partners(request: web.Request) -> web.Response:
    async with reading(request) as session:
        return web.json_response({"partners": await _list(session)})


async def create(request: web.Request) -> web.Response:
    data = await body(request, FIELDS)
    name = text_field(data, "name", max_length=60)
    category = text_field(data, "category", max_length=32)
    app_id = text_field(data, "app_id", max_length=32)
    commission = rate_field(data, "commission", maximum_bps=10_000)
    description = text_field(data, "description", max_length=300, default="", allow_empty=True)
    page_path = text_field(data, "page_path", max_length=200, default="pages/index/index")
    icon_url = text_field(data, "icon_url", max_length=500, default="", allow_empty=True)
    async with transaction(request) as session:
        service = await partners.create(
            session,
            name=name,
            category=category,
            description=description,
            app_id=app_id,
            page_path=page_path,
            icon_url=icon_url,
            commission_bps=commission,
            now=clock_now(request),
        )
        return web.json_response({"partner": partner_json(service, 0)}, status=201)


async def edit(request: web.Request) -> web.Response:
    service_id = path_id(request)
    data = await body(request, FIELDS)
    commission = None
    if given(data, "commission_bps") or given(data, "commission_percent"):
        commission = rate_field(data, "commission", maximum_bps=10_000)
    async with transaction(request) as session:
        service = await partners.update(
            session,
            service_id,
            name=optional_text(data, "name", max_length=60),
            category=optional_text(data, "category", max_length=32),
            description=optional_text(data, "description", max_length=300),
            app_id=optional_text(data, "app_id", max_length=32),
            page_path=optional_text(data, "page_path", max_length=200),
            icon_url=optional_text(data, "icon_url", max_length=500),
            commission_bps=commission,
        )
        balance = await ledger.balance_of(session, service.account_id)
        return web.json_response({"partner": partner_json(service, balance)})


async def page(request: web.Request) -> web.Response:
    async with reading(request) as session:
        rows = await _list(session)
    return render(request, "admin/partners.html", active="partners", partners=rows)


def setup(admin: web.Application) -> None:
    admin.router.add_get("/partners", page)
    admin.router.add_get("/api/partners", list_partners)
    admin.router.add_post("/api/partners", create)
    admin.router.add_patch("/api/partners/{id}", edit)
    add_switch_routes(
        admin,
        "/api/partners",
        name="partner",
        switch=active_flag(PartnerService, "partner service"),
        show=_one,
    )
