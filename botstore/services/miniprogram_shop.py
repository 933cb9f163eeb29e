"""The mini program's shop: a fan buys a product in the mini program with WeChat Pay, the way a
mini-program backend does it. botstore plays that backend for the account's own mini program:
`checkout` makes a JSAPI order of the shop's merchant for the fan's mini-program openid (the
caller signs wx.requestPayment's parameters), the fan pays it (wxpay.pay), and `fulfil` turns
the paid order into a shop order, once.

Money: wallet -> the merchant's account (the WeChat Pay payment) -> escrow (the shop order), so
from there on it is an order like one bought in the chat (shipping, receipt, payouts, cancel's
refund to the wallet). A payment that can no longer become an order (sold out meanwhile, taken
off sale, its price changed) is refunded in full through WeChat Pay, merchant -> wallet. Knows no
HTTP or crypto."""

import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.errors import (
    Deactivated,
    Delisted,
    DomainError,
    NotFound,
    OutOfStock,
    OwnProduct,
)
from botstore.models import Fan, Order, Product, WxPayMerchant, WxPayOrder, WxPayTradeState
from botstore.services import miniprogram, orders, stores, wallet, wxpay
from botstore.services.notices import Render

MAX_QTY = 99
# The shop's orders are told from other JSAPI orders of the merchant by their out_trade_no.
TRADE_PREFIX = "MP"
# Why a product can't be bought (or a payment became a refund): codes the console words.
SOLD_OUT = "sold_out"
NOT_ON_SALE = "not_on_sale"
OWN_PRODUCT = "own_product"
PRICE_CHANGED = "price_changed"


class CheckoutRefused(DomainError):
    """No order to pay: `reason` is one of the codes above (or `qty`)."""

    template = "domain_error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason=reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Fulfilled:
    """A paid shop order: `order`, or, when it could not be made, the refund's `refused` code."""

    order: Order | None
    refused: str | None
    payment: WxPayOrder


def refusal_of(error: DomainError) -> str:
    if isinstance(error, OutOfStock):
        return SOLD_OUT
    if isinstance(error, OwnProduct):
        return OWN_PRODUCT
    if isinstance(error, CheckoutRefused):
        return error.reason
    if isinstance(error, Deactivated | Delisted | NotFound):
        return NOT_ON_SALE
    raise error


async def can_buy(session: AsyncSession, fan: Fan, product_id: int, qty: int = 1) -> None:
    """Raise CheckoutRefused unless the fan may buy `qty` of the product now."""
    if not 1 <= qty <= MAX_QTY:
        raise CheckoutRefused("qty")
    try:
        listing = await stores.listing_on_sale(session, product_id, fan)
    except (Deactivated, Delisted, NotFound):
        raise CheckoutRefused(NOT_ON_SALE) from None
    if fan.id in (listing.store.owner_fan_id, listing.supplier_store.owner_fan_id):
        raise CheckoutRefused(OWN_PRODUCT)
    if listing.stock < qty:
        raise CheckoutRefused(SOLD_OUT)


async def checkout(
    session: AsyncSession,
    fan: Fan,
    merchant: WxPayMerchant,
    *,
    appid: str,
    product_id: int,
    qty: int,
    notify_url: str,
    now: datetime,
) -> WxPayOrder:
    """The JSAPI order the fan pays with wx.requestPayment: the product's price x qty, for the
    fan's mini-program openid. Nothing is reserved: stock and price are taken when it is paid."""
    await can_buy(session, fan, product_id, qty)
    listing = await stores.listing_on_sale(session, product_id, fan)
    user = await miniprogram.user_of(session, fan, now=now)
    request = {
        "appid": appid,
        "mchid": merchant.mchid,
        "description": listing.product.name[:127],
        "out_trade_no": TRADE_PREFIX + now.strftime("%Y%m%d%H%M%S") + secrets.token_hex(8),
        "notify_url": notify_url,
        "attach": json.dumps({"product": product_id, "qty": qty}),
        "amount": {"total": listing.product.price_fen * qty, "currency": "CNY"},
        "payer": {"openid": user.openid},
    }
    return await wxpay.create_order(
        session, merchant, trade_type="JSAPI", request=request, now=now
    )


def _what(payment: WxPayOrder) -> tuple[int, int] | None:
    """The product and quantity a shop payment is for; None for another order of the merchant."""
    if not payment.out_trade_no.startswith(TRADE_PREFIX) or not payment.attach:
        return None
    try:
        what = json.loads(payment.attach)
        return int(what["product"]), int(what["qty"])
    except (ValueError, KeyError, TypeError):
        return None


async def fulfil(
    session: AsyncSession,
    merchant: WxPayMerchant,
    out_trade_no: str,
    *,
    now: datetime,
    render: Render | None = None,
) -> Fulfilled:
    """The shop order of a paid shop payment, made once (the mini program reporting the payment
    and the merchant's notification may both ask): else the payment refunded, with why."""
    payment = await wxpay.order_by_out_trade_no(session, merchant, out_trade_no)
    # Locks the payment's row first (PostgreSQL): two fulfilments of it queue here.
    payment = (
        await session.exec(
            select(WxPayOrder)
            .where(col(WxPayOrder.id) == payment.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    what = _what(payment)
    if what is None:
        raise wxpay.WxPayError("ORDER_NOT_EXIST", "not an order of the mini program's shop")
    product_id, qty = what
    key = f"wxpay:{merchant.mchid}:{out_trade_no}"
    made = (await session.exec(select(Order).where(col(Order.key) == f"{key}:order"))).first()
    if made is not None:
        return Fulfilled(made, None, payment)
    if payment.state == WxPayTradeState.REFUND:  # refunded by an earlier fulfilment
        record, _ = await wxpay.refund_by_out_refund_no(session, merchant, _refund_no(payment))
        return Fulfilled(None, record.reason or NOT_ON_SALE, payment)
    if payment.state != WxPayTradeState.SUCCESS:
        raise wxpay.WxPayError("ORDER_NOT_PAID", "the order is not paid")
    assert payment.payer_fan_id is not None
    fan = await session.get(Fan, payment.payer_fan_id)
    assert fan is not None
    try:
        async with session.begin_nested():  # a refusal keeps nothing of the order
            product = await session.get(Product, product_id)
            if product is not None and product.price_fen * qty != payment.total_fen:
                raise CheckoutRefused(PRICE_CHANGED)
            order = await orders.buy(
                session,
                fan,
                product_id=product_id,
                qty=qty,
                key=key,
                now=now,
                use_coupon=False,
                render=render,
                paid_from=merchant.account_id,
            )
    except DomainError as error:
        refused = refusal_of(error)
        await _refund(session, merchant, payment, refused, now=now)
        return Fulfilled(None, refused, payment)
    return Fulfilled(order, None, payment)


def _refund_no(payment: WxPayOrder) -> str:
    return payment.out_trade_no + "R"


async def _refund(
    session: AsyncSession, merchant: WxPayMerchant, payment: WxPayOrder, why: str, *, now: datetime
) -> None:
    request = {
        "out_trade_no": payment.out_trade_no,
        "out_refund_no": _refund_no(payment),
        "reason": why,
        "amount": {"refund": payment.total_fen, "total": payment.total_fen, "currency": "CNY"},
    }
    await wxpay.refund(session, merchant, request=request, now=now)


@dataclass(frozen=True, slots=True)
class ProductView:
    """A product page as this fan sees it: whether they can buy it, and what they bought."""

    listing: stores.Listing
    refused: str | None
    balance_fen: int
    bought: list[Order]


async def product_view(session: AsyncSession, fan: Fan, product_id: int) -> ProductView:
    listing = await stores.listing_of(session, product_id)
    refused = None
    try:
        await can_buy(session, fan, product_id)
    except CheckoutRefused as error:
        refused = error.reason
    bought = await session.exec(
        select(Order)
        .where(col(Order.buyer_fan_id) == fan.id, col(Order.product_id) == product_id)
        .order_by(col(Order.id).desc())
        .limit(10)
    )
    return ProductView(listing, refused, await wallet.balance(session, fan), list(bought.all()))
