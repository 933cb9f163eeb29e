"""Admin: WeChat Pay (emulated). JSON under /admin/api/wxpay/: the platform's keys, merchants
(register with your key, or get a generated pair), orders, and every notification with its tries.
The page GET /admin/wxpay shows the same."""

from typing import Any

from aiohttp import web
from pydantic import Field

from botstore import jsonbody
from botstore.admin.common import FieldError, read_model, reading, render, transaction
from botstore.admin.common import now as clock_now
from botstore.keys import db_key, wxpay_platform_key
from botstore.models import WxPayMerchant, WxPayOrder
from botstore.services import ledger, wxpay
from botstore.wechat import pay

LIST_LIMIT = 100


class MerchantBody(jsonbody.JsonBody):
    """A merchant: its mchid, appid and APIv3 key, and the certificate serial and public key the
    platform verifies its requests with (both left out: botstore generates a pair)."""

    mchid: str = Field(pattern=r"^[0-9]{1,32}$")
    appid: str = Field(pattern=r"^[A-Za-z0-9_]{1,32}$")
    apiv3_key: str = Field(pattern=r"^[\x21-\x7e]{32}$")
    serial_no: str | None = Field(default=None, pattern=r"^[0-9A-Fa-f]{1,64}$")
    public_key: str | None = Field(default=None, min_length=1, max_length=20_000)


def merchant_json(merchant: WxPayMerchant, balance_fen: int) -> dict[str, Any]:
    return {
        "id": merchant.id,
        "mchid": merchant.mchid,
        "appid": merchant.appid,
        "serial_no": merchant.serial_no,
        "public_key": merchant.public_key_pem,
        "public_key_mode": merchant.public_key_mode,
        "balance_fen": balance_fen,
        "created_at": merchant.created_at.isoformat(),
    }


def order_json(order: WxPayOrder, mchid: str) -> dict[str, Any]:
    return {
        "id": order.id,
        "mchid": mchid,
        "out_trade_no": order.out_trade_no,
        "trade_type": order.trade_type,
        "description": order.description,
        "total_fen": order.total_fen,
        "refunded_fen": order.refunded_fen,
        "state": order.state,
        "prepay_id": order.prepay_id,
        "code_url": f"weixin://wxpay/bizpayurl?pr={order.code}",
        "transaction_id": order.transaction_id,
        "notify_url": order.notify_url,
        "expires_at": order.expires_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "created_at": order.created_at.isoformat(),
    }


def notification_json(view: wxpay.NotificationView) -> dict[str, Any]:
    note = view.notification
    return {
        "id": note.notify_id,
        "mchid": view.mchid,
        "out_trade_no": view.out_trade_no,
        "event_type": note.event_type,
        "url": note.url,
        "state": note.state,
        "next_attempt_at": note.next_attempt_at.isoformat() if note.next_attempt_at else None,
        "delivered_at": note.delivered_at.isoformat() if note.delivered_at else None,
        "body": note.body,
        "attempts": [
            {
                "number": attempt.number,
                "scheduled_at": attempt.scheduled_at.isoformat(),
                "tried_at": attempt.tried_at.isoformat(),
                "status": attempt.status,
                "outcome": attempt.outcome,
                "acknowledged": attempt.acknowledged,
            }
            for attempt in view.attempts
        ],
    }


async def show_platform(request: web.Request) -> web.Response:
    keys = await request.config_dict[wxpay_platform_key].get(
        request.config_dict[db_key], now=clock_now(request)
    )
    return web.json_response(
        {
            "public_key_id": keys.public_key_id,
            "public_key": keys.public_key_pem,
            "certificates": [
                {
                    "serial_no": keys.certificate_serial,
                    "effective_time": wxpay.china_time(keys.effective),
                    "expire_time": wxpay.china_time(keys.expires),
                    "certificate": keys.certificate_pem,
                }
            ],
        }
    )


async def list_merchants(request: web.Request) -> web.Response:
    async with reading(request) as session:
        rows = await wxpay.all_merchants(session)
        out = [merchant_json(m, await ledger.balance_of(session, m.account_id)) for m in rows]
    return web.json_response({"merchants": out})


async def create_merchant(request: web.Request) -> web.Response:
    body = await read_model(request, MerchantBody)
    private_key = None
    if body.public_key is None and body.serial_no is None:
        key = pay.new_private_key()
        private_key = pay.private_pem(key)
        public_key, serial_no = pay.public_pem(key.public_key()), pay.certificate_serial()
    elif body.public_key is None or body.serial_no is None:
        missing = "public_key" if body.public_key is None else "serial_no"
        raise FieldError(missing, "give serial_no and public_key, or neither to get a new pair")
    else:
        public_key, serial_no = body.public_key, body.serial_no
        try:
            pay.load_public_key(public_key)
        except pay.PayCryptoError as error:
            raise FieldError("public_key", str(error)) from None
    async with transaction(request) as session:
        merchant = await wxpay.register_merchant(
            session,
            mchid=body.mchid,
            appid=body.appid,
            apiv3_key=body.apiv3_key,
            serial_no=serial_no,
            public_key_pem=public_key,
            now=clock_now(request),
        )
        out = merchant_json(merchant, 0)
    if private_key is not None:
        out["private_key"] = private_key  # shown this once: botstore keeps only the public key
    return web.json_response({"merchant": out}, status=201)


async def list_orders(request: web.Request) -> web.Response:
    async with reading(request) as session:
        rows = await wxpay.orders_of(session, limit=LIST_LIMIT)
    return web.json_response({"orders": [order_json(order, mchid) for order, mchid in rows]})


async def list_notifications(request: web.Request) -> web.Response:
    out_trade_no = request.query.get("out_trade_no")
    async with reading(request) as session:
        views = await wxpay.notifications(
            session, limit=LIST_LIMIT, out_trade_no=out_trade_no or None
        )
    return web.json_response({"notifications": [notification_json(v) for v in views]})


async def page(request: web.Request) -> web.Response:
    async with reading(request) as session:
        merchants = await wxpay.all_merchants(session)
        orders = await wxpay.orders_of(session, limit=LIST_LIMIT)
        views = await wxpay.notifications(session, limit=LIST_LIMIT)
    return render(
        request,
        "admin/wxpay.html",
        active="wxpay",
        merchants=merchants,
        orders=[order_json(order, mchid) for order, mchid in orders],
        notifications=[notification_json(v) for v in views],
    )


def setup(admin: web.Application) -> None:
    admin.router.add_get("/wxpay", page)
    admin.router.add_get("/api/wxpay/platform", show_platform)
    admin.router.add_get("/api/wxpay/merchants", list_merchants)
    admin.router.add_post("/api/wxpay/merchants", create_merchant)
    admin.router.add_get("/api/wxpay/orders", list_orders)
    admin.router.add_get("/api/wxpay/notifications", list_notifications)
