"""Admin: offline merchants and their QR scenes (GET /admin/merchants, JSON under
/admin/api/merchants). A new merchant gets its permanent QR code (QR_LIMIT_STR_SCENE) at once.
A deactivated merchant takes no payments, by code or scan; its code and QR code stay its own."""

from typing import Any

from aiohttp import web

from botstore.admin.common import (
    active_flag,
    add_switch_routes,
    body,
    path_id,
    reading,
    render,
    text_field,
    transaction,
)
from botstore.admin.common import now as clock_now
from botstore.errors import NotFound
from botstore.keys import config_key
from botstore.models import Merchant, QrCode
from botstore.services import ledger, merchants, qrcodes

FIELDS = {"code", "name", "scene"}


def merchant_json(
    request: web.Request, merchant: Merchant, code: QrCode | None, balance_fen: int
) -> dict[str, Any]:
    base = request.config_dict[config_key].server.base_url
    qr = None
    if code is not None:
        qr = {
            "ticket": code.ticket,
            "url": qrcodes.url_of(code),
            "showqrcode": f"{base}/cgi-bin/showqrcode?ticket={code.ticket}",
        }
    return {
        "id": merchant.id,
        "code": merchant.code,
        "name": merchant.name,
        "scene": merchant.scene,
        "balance_fen": balance_fen,
        "qr": qr,
        "active": merchant.active,
        "created_at": merchant.created_at.isoformat(),
    }


async def _list(request: web.Request, session: Any) -> list[dict[str, Any]]:
    rows = await merchants.all_merchants(session)
    codes = await merchants.qr_codes_of(session, [m.scene for m in rows])
    return [
        merchant_json(
            request, m, codes.get(m.scene), await ledger.balance_of(session, m.account_id)
        )
        for m in rows
    ]


async def _one(request: web.Request, session: Any, merchant_id: int) -> dict[str, Any]:
    return next(row for row in await _list(request, session) if row["id"] == merchant_id)


async def list_merchants(request: web.Request) -> web.Response:
    async with reading(request) as session:
        return web.json_response({"merchants": await _list(request, session)})


async def create(request: web.Request) -> web.Response:
    data = await body(request, FIELDS)
    code = text_field(data, "code", max_length=32)
    name = text_field(data, "name", max_length=60)
    scene = text_field(data, "scene", max_length=64) if data.get("scene") else None
    now = clock_now(request)
    async with transaction(request) as session:
        merchant = await merchants.create(session, code=code, name=name, scene=scene, now=now)
        qr = await merchants.qr_code(session, merchant, now=now)
        return web.json_response({"merchant": merchant_json(request, merchant, qr, 0)}, status=201)


async def edit(request: web.Request) -> web.Response:
    merchant_id = path_id(request)
    # The code and scene are printed on the merchant's QR code: only the name changes.
    data = await body(request, {"name"})
    name = text_field(data, "name", max_length=60)
    async with transaction(request) as session:
        merchant = await merchants.rename(session, merchant_id, name=name)
        codes = await merchants.qr_codes_of(session, [merchant.scene])
        balance = await ledger.balance_of(session, merchant.account_id)
        return web.json_response(
            {"merchant": merchant_json(request, merchant, codes.get(merchant.scene), balance)}
        )


async def make_qr(request: web.Request) -> web.Response:
    """The merchant's QR code, made if it has none yet (a permanent scene is made once)."""
    merchant_id = path_id(request)
    async with transaction(request) as session:
        merchant = await session.get(Merchant, merchant_id)
        if merchant is None:
            raise NotFound("merchant", merchant_id)
        qr = await merchants.qr_code(session, merchant, now=clock_now(request))
        balance = await ledger.balance_of(session, merchant.account_id)
        return web.json_response({"merchant": merchant_json(request, merchant, qr, balance)})


async def page(request: web.Request) -> web.Response:
    async with reading(request) as session:
        rows = await _list(request, session)
    return render(request, "admin/merchants.html", active="merchants", merchants=rows)


def setup(admin: web.Application) -> None:
    admin.router.add_get("/merchants", page)
    admin.router.add_get("/api/merchants", list_merchants)
    admin.router.add_post("/api/merchants", create)
    admin.router.add_patch("/api/merchants/{id}", edit)
    admin.router.add_post("/api/merchants/{id}/qrcode", make_qr)
    add_switch_routes(
        admin,
        "/api/merchants",
        name="merchant",
        switch=active_flag(Merchant, "merchant"),
        show=_one,
    )
