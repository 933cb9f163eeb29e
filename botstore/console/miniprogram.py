"""The console's mini program: the fan's side of it, played by the console (loopback or the admin
token, as the rest of the console). wx.login, the "allow" of wx.requestSubscribeMessage, the
subscribe messages a fan got and the page a scanned code opens.

    POST /console/api/miniprogram/login      {"fan"} -> {"code", "openid", "unionid"}
    POST /console/api/miniprogram/subscribe  {"fan", "template_id"} -> {"grant": {...}, ...}
    GET  /console/api/miniprogram/state?fan= -> pages, templates, grants, messages
    GET  /console/api/miniprogram/page?fan=&page=&scene= -> the page's part that knows the fan
    POST /console/api/miniprogram/scan       {"png": base64} -> the code's link, page and scene

and the backend of the mini program's shop, which botstore plays for its own mini program
(botstore/services/miniprogram_shop.py): the demo WeChat Pay merchant takes the payment.

    POST /console/api/miniprogram/checkout {"fan", "product_id", "qty"} -> wx.requestPayment's
         parameters, signed with the merchant's key
    POST /console/api/miniprogram/paid     {"fan", "out_trade_no"} -> the shop order (or refund)
"""

import asyncio
import base64
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from pydantic import Field
from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore import jsonbody
from botstore.api.miniprogram import SCENE
from botstore.console.web import OPENID, BadInput, guarded
from botstore.errors import DomainError, NotFound
from botstore.keys import clock_key, config_key, db_key
from botstore.models import (
    Fan,
    Order,
    Store,
    SubscribeMessage,
    SubscribeTemplate,
    WxPayMerchant,
)
from botstore.numbers import ID_MAX
from botstore.scheduler import template_renderer
from botstore.seed.wxpay import DEMO_MCHID, DEMO_PRIVATE_KEY
from botstore.services import miniprogram, miniprogram_shop, wallet, wxpay
from botstore.wechat import pay
from botstore.wxpay import platform

FanOpenid = Field(pattern=f"^{OPENID.pattern}$")


# The web pages (botstore/pages/) that show each page of the mini program: `url` with the id
# the scene carries, `fallback` when it carries none.
PAGE_URLS = {
    "pages/index/index": ("/stores", "/stores"),
    "pages/store/store": ("/stores/{id}", "/stores"),
    "pages/product/product": ("/products/{id}", "/stores"),
    "pages/articles/articles": ("/articles", "/articles"),
    "pages/article/article": ("/articles/{id}", "/articles"),
    "pages/services/services": ("/services", "/services"),
}


# A code's image up to 3 MB (as base64): the largest code botstore draws is far smaller.
MAX_SCAN_BASE64 = 4 * 1024 * 1024
# Where the payment's notification goes: the shop backend's own notify handler.
NOTIFY_PATH = "/miniprogram/pay/notify"


class LoginBody(jsonbody.JsonBody):
    fan: str = FanOpenid


class SubscribeBody(jsonbody.JsonBody):
    fan: str = FanOpenid
    template_id: str = Field(min_length=1, max_length=64)


class CheckoutBody(jsonbody.JsonBody):
    fan: str = FanOpenid
    product_id: int = Field(ge=1, le=ID_MAX)
    qty: int = Field(default=1, ge=1, le=miniprogram_shop.MAX_QTY)


class ScanBody(jsonbody.JsonBody):
    png: str = Field(min_length=1, max_length=MAX_SCAN_BASE64)


class PaidBody(jsonbody.JsonBody):
    fan: str = FanOpenid
    out_trade_no: str = Field(pattern=r"^[A-Za-z0-9_*|-]{6,32}$")


class _Notified(jsonbody.JsonBody):
    # As a merchant's SDK reads it: fields WeChat Pay may add later are passed over.
    model_config = jsonbody.JsonBody.model_config | {"extra": "ignore"}


class NoticeResource(_Notified):
    algorithm: str = Field(max_length=32)
    ciphertext: str = Field(min_length=1, max_length=64 * 1024)
    associated_data: str = Field(default="", max_length=64)
    nonce: str = Field(min_length=1, max_length=32)
    original_type: str = Field(default="", max_length=32)


class PaymentNotice(_Notified):
    """WeChat Pay's notification (botstore/wxpay/notify.py writes it)."""

    id: str = Field(max_length=64)
    create_time: str = Field(max_length=32)
    resource_type: str = Field(max_length=32)
    event_type: str = Field(max_length=64)
    summary: str = Field(default="", max_length=64)
    resource: NoticeResource


class PaidResource(_Notified):
    """The part of the decrypted transaction the shop reads."""

    out_trade_no: str = Field(default="", max_length=32)


def setup_console_miniprogram(app: web.Application) -> None:
    route = app.router
    route.add_post("/console/api/miniprogram/login", guarded(login))
    route.add_post("/console/api/miniprogram/subscribe", guarded(subscribe))
    route.add_get("/console/api/miniprogram/state", guarded(state))
    route.add_get("/console/api/miniprogram/page", guarded(page_of_fan))
    route.add_post("/console/api/miniprogram/checkout", guarded(checkout))
    route.add_post("/console/api/miniprogram/paid", guarded(paid))
    route.add_post("/console/api/miniprogram/scan", guarded(scan))
    # Not the console's: WeChat Pay's notification, authenticated by the platform's signature.
    route.add_post(NOTIFY_PATH, payment_notified)


async def _read(request: web.Request, model: type[jsonbody.Model]) -> jsonbody.Model:
    try:
        return jsonbody.read_model(await request.read(), model)
    except jsonbody.BodyError as error:
        raise BadInput(str(error)) from None


async def _fan(session: AsyncSession, openid: str) -> Fan:
    fan = (await session.exec(select(Fan).where(col(Fan.openid) == openid))).first()
    if fan is None:
        raise web.HTTPNotFound(
            text=f"no fan {openid!r}: a fan of the account opens the mini program"
        )
    return fan


async def login(request: web.Request) -> web.Response:
    """wx.login as this fan: a one-time code for the mini program's backend to exchange."""
    body = await _read(request, LoginBody)
    now = request.config_dict[clock_key].now()
    async with request.app[db_key]() as session, session.begin():
        done = await miniprogram.login(session, await _fan(session, body.fan), now=now)
    return web.json_response({"code": done.code, "openid": done.openid, "unionid": done.unionid})


async def subscribe(request: web.Request) -> web.Response:
    """The fan allows one subscribe message of a template (wx.requestSubscribeMessage)."""
    body = await _read(request, SubscribeBody)
    now = request.config_dict[clock_key].now()
    async with request.app[db_key]() as session, session.begin():
        fan = await _fan(session, body.fan)
        try:
            granted = await miniprogram.grant(session, fan, template_id=body.template_id, now=now)
        except NotFound:
            raise web.HTTPNotFound(text=f"no subscribe template {body.template_id!r}") from None
        user = await miniprogram.user_of(session, fan, now=now)
        result = {
            "grant": {
                "id": granted.id,
                "template_id": granted.template_id,
                "granted_at": granted.granted_at.isoformat(),
            },
            "openid": user.openid,
            "grants_left": await miniprogram.grants_left(session, user),
        }
    return web.json_response(result)


def template_json(template: SubscribeTemplate) -> dict[str, Any]:
    return {
        "id": template.id,
        "title": template.title,
        "keywords": template.keywords,
        "active": template.active,
    }


def message_json(message: SubscribeMessage, template: SubscribeTemplate) -> dict[str, Any]:
    """A subscribe message as the fan reads it: the template's keyword names with the values."""
    return {
        "id": message.id,
        "template_id": message.template_id,
        "title": template.title,
        "lines": [
            {"name": keyword["name"], "value": message.data.get(keyword["key"], {}).get("value")}
            for keyword in template.keywords
            if keyword["key"] in message.data
        ],
        "page": message.page,
        "state": message.state,
        "sent_at": message.sent_at.isoformat(),
    }


async def state(request: web.Request) -> web.Response:
    """The mini program as the fan sees it: pages, templates, the fan's ids, grants and
    subscribe messages (newest first)."""
    openid = request.query.get("fan", "")
    if not OPENID.fullmatch(openid):
        raise BadInput("fan must be 1-64 letters, digits, _ or -")
    now = request.config_dict[clock_key].now()
    async with request.app[db_key]() as session, session.begin():
        fan = await _fan(session, openid)
        user = await miniprogram.user_of(session, fan, now=now)
        body = {
            "app_id": request.config_dict[config_key].miniprogram.app_id,
            "pages": [
                {"path": path, "url": PAGE_URLS[path][0], "fallback": PAGE_URLS[path][1]}
                for path in miniprogram.PAGES
            ],
            "openid": user.openid,
            "unionid": miniprogram.unionid_of(fan),
            "templates": [template_json(t) for t in await miniprogram.templates(session)],
            "grants_left": await miniprogram.grants_left(session, user),
            "messages": [
                message_json(message, template)
                for message, template in await miniprogram.messages_of(session, fan)
            ],
        }
    return web.json_response(body)


# --- the pages as the fan sees them, and the shop's backend --------------------------------------

_FIRST_NUMBER = re.compile(r"\d{1,9}")


def scene_id(scene: str) -> int | None:
    """The id a page's scene carries: its first number ("id=3", "product=3", "3"), as the
    console's view reads it."""
    found = _FIRST_NUMBER.search(scene)
    return int(found.group()) if found and 0 < int(found.group()) <= ID_MAX else None


def order_json(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "qty": order.qty,
        "total_fen": order.total_fen,
        "status": order.status,
        "paid_at": order.paid_at.isoformat(),
    }


async def page_of_fan(request: web.Request) -> web.Response:
    """What a mini-program page shows this fan besides the page itself: who is signed in, their
    wallet, and on a product's page whether they can buy it and what they bought; on a store's,
    whether it is theirs and their orders there."""
    query = request.query
    openid, path = query.get("fan", ""), query.get("page", "")
    if not OPENID.fullmatch(openid):
        raise BadInput("fan must be 1-64 letters, digits, _ or -")
    if path not in miniprogram.PAGES:
        raise BadInput(f"page must be one of {', '.join(miniprogram.PAGES)}")
    ident = scene_id(query.get("scene", "")[:32])
    now = request.config_dict[clock_key].now()
    async with request.app[db_key]() as session, session.begin():
        fan = await _fan(session, openid)
        user = await miniprogram.user_of(session, fan, now=now)
        body: dict[str, Any] = {
            "page": path,
            "id": ident,
            "viewer": {
                "openid": fan.openid,
                "nickname": fan.nickname,
                "miniprogram_openid": user.openid,
                "balance_fen": await wallet.balance(session, fan),
            },
        }
        try:
            if path == "pages/product/product" and ident is not None:
                seen = await miniprogram_shop.product_view(session, fan, ident)
                body["product"] = {
                    "id": ident,
                    "name": seen.listing.product.name,
                    "price_fen": seen.listing.product.price_fen,
                    "stock": seen.listing.stock,
                    "refused": seen.refused,
                    "bought": [order_json(order) for order in seen.bought],
                }
            elif path == "pages/store/store" and ident is not None:
                store = await session.get(Store, ident)
                if store is not None:
                    mine = await _orders_at(session, fan, ident)
                    body["store"] = {
                        "id": ident,
                        "name": store.name,
                        "own": store.owner_fan_id == fan.id,
                        "orders": [order_json(order) for order in mine],
                    }
        except NotFound:
            pass  # the page itself says there is no such product
    return web.json_response(body)


async def _orders_at(session: AsyncSession, fan: Fan, store_id: int) -> list[Order]:
    """The fan's newest orders bought from a store (its own products or its resales)."""
    statement = (
        select(Order)
        .where(
            col(Order.buyer_fan_id) == fan.id,
            or_(
                col(Order.supplier_store_id) == store_id, col(Order.affiliate_store_id) == store_id
            ),
        )
        .order_by(col(Order.id).desc())
        .limit(10)
    )
    return list((await session.exec(statement)).all())


async def _shop_merchant(session: AsyncSession) -> WxPayMerchant:
    """The shop's WeChat Pay merchant: the demo one (botstore holds its private key)."""
    merchant = await wxpay.merchant_by_mchid(session, DEMO_MCHID)
    if merchant is None:
        raise web.HTTPConflict(
            text=f"the mini program's shop takes WeChat Pay with the demo merchant {DEMO_MCHID}:"
            " load the demo data (botstore seed)"
        )
    return merchant


def _refused(reason: str) -> web.Response:
    return web.json_response({"refused": reason}, status=409)


async def checkout(request: web.Request) -> web.Response:
    """The shop's backend, asked by the mini program to buy: a JSAPI order for the fan's
    mini-program openid, and wx.requestPayment's parameters for it, signed as the SDK signs."""
    body = await _read(request, CheckoutBody)
    config = request.config_dict[config_key]
    now = request.config_dict[clock_key].now()
    async with request.app[db_key]() as session, session.begin():
        fan = await _fan(session, body.fan)
        merchant = await _shop_merchant(session)
        try:
            order = await miniprogram_shop.checkout(
                session,
                fan,
                merchant,
                appid=config.miniprogram.app_id,
                product_id=body.product_id,
                qty=body.qty,
                notify_url=config.server.base_url.rstrip("/") + NOTIFY_PATH,
                now=now,
            )
        except miniprogram_shop.CheckoutRefused as error:
            return _refused(error.reason)
        timestamp, nonce = str(int(now.timestamp())), secrets.token_hex(16)
        message = pay.request_payment_message(order.appid, timestamp, nonce, order.prepay_id)
        result = {
            "out_trade_no": order.out_trade_no,
            "total_fen": order.total_fen,
            "description": order.description,
            "payment": {
                "timeStamp": timestamp,
                "nonceStr": nonce,
                "package": f"prepay_id={order.prepay_id}",
                "signType": "RSA",
                "paySign": pay.sign(pay.load_private_key(DEMO_PRIVATE_KEY), message),
            },
        }
    return web.json_response(result)


async def paid(request: web.Request) -> web.Response:
    """The mini program's word that wx.requestPayment succeeded: the backend looks the payment
    up and makes the shop order (once), or refunds it when the order can't be made any more."""
    body = await _read(request, PaidBody)
    now = request.config_dict[clock_key].now()
    render = template_renderer(request.config_dict[config_key])
    async with request.app[db_key]() as session, session.begin():
        fan = await _fan(session, body.fan)
        merchant = await _shop_merchant(session)
        try:
            done = await miniprogram_shop.fulfil(
                session, merchant, body.out_trade_no, now=now, render=render
            )
        except wxpay.WxPayError as error:
            raise BadInput(f"{body.out_trade_no}: {error.message}") from None
        except DomainError as error:  # e.g. the merchant's account drained by refunds meanwhile
            raise web.HTTPConflict(text=f"{body.out_trade_no}: not filled yet: {error}") from None
        if done.payment.payer_fan_id != fan.id:
            raise BadInput(f"{body.out_trade_no}: not paid by {fan.openid}")
        result: dict[str, Any] = {"out_trade_no": body.out_trade_no}
        if done.order is not None:
            result["order"] = order_json(done.order)
        else:
            result |= {"refused": done.refused, "refunded_fen": done.payment.refunded_fen}
        result["balance_fen"] = await wallet.balance(session, fan)
    return web.json_response(result)


def _notify_failed(reason: str, *, status: int) -> web.Response:
    """A notification not taken, answered as WeChat Pay asks a merchant to (it retries later)."""
    return web.json_response({"code": "FAIL", "message": reason}, status=status)


async def payment_notified(request: web.Request) -> web.Response:
    """The shop backend's notify_url: a TRANSACTION.SUCCESS of a shop payment makes its order,
    as `paid` does (whichever comes first; the other finds it made). Verified as a merchant
    verifies it: the platform's signature, then the resource opened with the APIv3 key."""
    raw = await request.read()
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return _notify_failed("the body is not UTF-8 text", status=400)
    now = request.config_dict[clock_key].now()
    headers = request.headers
    message = pay.response_message(
        headers.get("Wechatpay-Timestamp", ""), headers.get("Wechatpay-Nonce", ""), text
    )
    async with request.app[db_key]() as session, session.begin():
        keys = await platform.load_or_make(session, now=now)
        signature = headers.get("Wechatpay-Signature", "")
        if not pay.verify(pay.load_public_key(keys.public_key_pem), message, signature):
            return _notify_failed("bad signature", status=401)
        try:
            notice = jsonbody.read_model(raw, PaymentNotice)
        except jsonbody.BodyError as error:
            return _notify_failed(str(error), status=400)
        merchant = await _shop_merchant(session)
        try:
            plaintext = pay.decrypt_resource(merchant.apiv3_key, notice.resource.model_dump())
            resource = jsonbody.read_model(plaintext.encode(), PaidResource)
        except (pay.PayCryptoError, jsonbody.BodyError):
            return _notify_failed("bad resource", status=400)
        out_trade_no = resource.out_trade_no
        if notice.event_type == "TRANSACTION.SUCCESS" and out_trade_no.startswith(
            miniprogram_shop.TRADE_PREFIX
        ):
            render = template_renderer(request.config_dict[config_key])
            await miniprogram_shop.fulfil(session, merchant, out_trade_no, now=now, render=render)
    return web.Response(status=204)


async def scan(request: web.Request) -> web.Response:
    """A mini-program code's image, scanned: the QR code in the PNG is read (botstore/qr_reader.py,
    Pillow and zxing-cpp) and its link, if it is one of this mini program's, names the page and
    scene to open."""
    from botstore import qr_reader  # zxing-cpp: loaded by the first scan, not by every server

    body = await _read(request, ScanBody)
    try:
        png = base64.b64decode(body.png, validate=True)
    except ValueError:
        raise BadInput("png must be the image as base64") from None
    try:
        # Decoding the pixels and searching them for a code take CPU: off the event loop.
        text = await asyncio.get_running_loop().run_in_executor(None, qr_reader.read, png)
    except qr_reader.Unreadable as error:
        raise BadInput(str(error)) from None
    link = urlsplit(text)
    query = parse_qs(link.query)
    page, scene = query.get("page", [""])[0], query.get("scene", [""])[0]
    app_id = request.config_dict[config_key].miniprogram.app_id
    if (
        link.path != "/wxa/open"
        or query.get("appid", [""])[0] != app_id
        or not miniprogram.page_exists(page)
        or not SCENE.fullmatch(scene)
    ):
        raise BadInput(f"not a code of this mini program: it reads {text[:200]!r}")
    return web.json_response({"link": text, "page": page, "scene": scene})
