"""WeChat Pay in the console: the fan's side of an order, played by the console (loopback or the
admin token, as the rest of it). A JSAPI order made for a fan, or an H5 order, is a card with a
"Pay" button in that fan's chat; a Native order's code_url is a QR code the console scans as the
chosen fan. Paying takes the path `wxpay <prepay_id>` takes in the chat (the wallet pays through
the ledger, the merchant is notified) and answers with the chat's own reply or refusal, in the
fan's language.

    GET  /console/api/wxpay/pending?openid=...&openid=... -> {"cards": {openid: [...]}, "codes"}
    GET  /console/api/wxpay/qr/<code>                      -> the code_url as an SVG QR code
    POST /console/api/wxpay/pay {"openid", "reference"}    -> {"paid", "text", ...}
"""

import io
import re
from functools import lru_cache
from typing import Any

import segno
from aiohttp import web
from pydantic import Field

from botstore import jsonbody
from botstore.console.web import OPENID, BadInput, guarded
from botstore.errors import DomainError
from botstore.i18n import Formats
from botstore.keys import clock_key, config_key, db_key, dispatcher_key
from botstore.models import WxPayOrder
from botstore.pages.language import page_locale
from botstore.services import fans, wxpay

MAX_FANS = 50
MAX_ORDERS = 50
QR_SCALE = 4
QR_BORDER = 2
_CODE = re.compile(r"[0-9a-f]{1,32}")


class PayBody(jsonbody.JsonBody):
    openid: str = Field(pattern=f"^{OPENID.pattern}$")
    # A prepay_id, a code_url or an h5_url: what `wxpay` takes in the chat.
    reference: str = Field(min_length=1, max_length=512)


class Refused(Exception):
    """A refusal, rendered while what it names is loaded; the payment's transaction rolls back."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.text = text


@lru_cache(maxsize=8)
def _formats(locale: str, timezone: str) -> Formats:
    # Built once per language: the page asks every 2 s.
    return Formats(locale, timezone)


def code_url(order: WxPayOrder) -> str:
    return f"weixin://wxpay/bizpayurl?pr={order.code}"


def _order_json(order: WxPayOrder, mchid: str, formats: Formats) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prepay_id": order.prepay_id,
        "trade_type": order.trade_type,
        "description": order.description,
        "total_fen": order.total_fen,
        "amount": formats.yuan(order.total_fen),
        "mchid": mchid,
        "out_trade_no": order.out_trade_no,
        "expires": formats.when(order.expires_at),
    }
    if order.trade_type == "NATIVE":
        out |= {"code_url": code_url(order), "qr": f"/console/api/wxpay/qr/{order.code}"}
    return out


async def pending(request: web.Request) -> web.Response:
    """What the open phones can pay now: each fan's cards, and the Native codes to scan."""
    openids = request.query.getall("openid", [])
    if not 1 <= len(openids) <= MAX_FANS or not all(OPENID.fullmatch(o) for o in openids):
        raise BadInput(f"give 1-{MAX_FANS} openid parameters (letters, digits, _ or -)")
    config = request.config_dict[config_key]
    formats = _formats(page_locale(request), config.wallet.timezone)
    now = request.config_dict[clock_key].now()
    async with request.app[db_key]() as session:
        rows = await wxpay.payable(session, openids=openids, now=now, limit=MAX_ORDERS)
    cards: dict[str, list[dict[str, Any]]] = {openid: [] for openid in openids}
    codes = []
    for order, mchid in reversed(rows):  # oldest first, as a chat reads
        shown = _order_json(order, mchid, formats)
        if order.trade_type == "NATIVE":
            codes.append(shown)
        elif order.trade_type == "H5":
            for openid in openids:
                cards[openid].append(shown)
        elif order.payer_openid in cards:
            cards[order.payer_openid].append(shown)
    return web.json_response({"cards": cards, "codes": codes})


async def qr(request: web.Request) -> web.Response:
    """A Native order's code_url as the merchant's screen shows it: an SVG QR code."""
    code = request.match_info["code"]
    if not _CODE.fullmatch(code):
        raise web.HTTPNotFound(text="no such WeChat Pay code")
    async with request.app[db_key]() as session:
        order = await wxpay.order_by_reference(session, code)
    if order is None or order.trade_type != "NATIVE":
        raise web.HTTPNotFound(text="no such WeChat Pay code")
    out = io.BytesIO()
    segno.make_qr(code_url(order), error="m").save(
        out, kind="svg", scale=QR_SCALE, border=QR_BORDER, xmldecl=False
    )
    return web.Response(
        body=out.getvalue(),
        content_type="image/svg+xml",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


async def pay(request: web.Request) -> web.Response:
    """Pay as the fan, as `wxpay <reference>` in the chat does; the chat's reply comes back."""
    try:
        body = jsonbody.read_model(await request.read(), PayBody)
    except jsonbody.BodyError as error:
        raise BadInput(str(error)) from None
    config = request.config_dict[config_key]
    replies = request.config_dict[dispatcher_key].replies
    now = request.config_dict[clock_key].now()
    try:
        async with request.app[db_key]() as session, session.begin():
            fan = await fans.get_or_create(session, body.openid, now=now)
            locale = fans.language(fan, default=config.wechat.language)
            try:
                paid = await wxpay.pay(
                    session,
                    fan,
                    reference=body.reference,
                    key=f"console:{body.openid}:{body.reference}"[:200],
                    now=now,
                )
            except DomainError as error:
                reason = error.details.get("reason") or error.template
                text = replies.render(
                    f"errors/{error.template}.txt",
                    locale,
                    fan=fan,
                    config=config,
                    error=error,
                    **error.details,
                )
                raise Refused(reason, text) from error
            text = replies.render("wxpay/paid.txt", locale, fan=fan, config=config, paid=paid)
            answer = {
                "paid": True,
                "text": text,
                "prepay_id": paid.order.prepay_id,
                "transaction_id": paid.order.transaction_id,
                "balance_fen": paid.balance_fen,
            }
    except Refused as refused:
        return web.json_response({"paid": False, "reason": refused.reason, "text": refused.text})
    return web.json_response(answer)


def setup_console_wxpay(app: web.Application) -> None:
    route = app.router
    route.add_get("/console/api/wxpay/pending", guarded(pending))
    route.add_get("/console/api/wxpay/qr/{code}", guarded(qr))
    route.add_post("/console/api/wxpay/pay", guarded(pay))
