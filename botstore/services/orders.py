"""Orders: buying into escrow, shipping, receipt and completion, cancellation and refunds.

The buyer's money waits in the platform's escrow account from payment until the order completes
(released to the supplier's store and, for a resale, the affiliate's) or is cancelled (refunded).
Every status change is a conditional UPDATE on the old status, so two messages racing on one
order can't both ship, complete or cancel it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.db import get, insert, rowcount, scalar
from botstore.errors import (
    CouponUnfunded,
    Deactivated,
    Delisted,
    InsufficientFunds,
    NotFound,
    NotYours,
    OutOfStock,
    OwnProduct,
    TooEarly,
    WrongStatus,
)
from botstore.models import AccountKind, Fan, Order, OrderStatus, Product, Store
from botstore.services import articles, coupons, ledger, notices, stores, wallet
from botstore.services.ledger import Leg
from botstore.services.notices import Render

PAY = "order_pay"
RELEASE = "order_release"
REFUND = "order_refund"
# The notices' outbox reasons.
SOLD = "order_paid"
RESOLD = "resale_sold"
CANCELLED = "order_cancelled"
SHIPPED = "order_shipped"
AUTO_COMPLETED = "order_completed"
PAYOUT = "order_payout"
MARGIN = "resale_margin"


@dataclass(frozen=True, slots=True)
class OrderLine:
    """An order with what a list shows about it; `role` is buyer, supplier or affiliate."""

    order: Order
    product_name: str
    role: str

    @property
    def margin_fen(self) -> int:
        return (self.order.unit_price_fen - self.order.supplier_unit_fen) * self.order.qty

    @property
    def amount_fen(self) -> int:
        """What this order is worth to the fan in this role: the buyer paid its total, the
        supplier receives its price x qty (a resale's price is the reseller's), the reseller its
        margin."""
        if self.role == "supplier":
            return self.order.supplier_unit_fen * self.order.qty
        if self.role == "affiliate":
            return self.margin_fen
        return self.order.total_fen


@dataclass(frozen=True, slots=True)
class FanOrders:
    bought: list[OrderLine]
    sold: list[OrderLine]


async def reserve_stock(session: AsyncSession, product_id: int, qty: int) -> None:
    """Take `qty` from the supplier product's stock, or refuse: never below zero, and never
    from a product the admin has deactivated or its owner delisted."""
    # One conditional UPDATE, as for money: concurrent buyers queue on the row and the ones
    # who find too little stock change nothing. The active test is here too, not only in the
    # caller's earlier read: on PostgreSQL a deactivation committed in between is seen here.
    if await rowcount(session, _RESERVE, product_id=product_id, qty=qty) != 1:
        product = await session.get(Product, product_id, populate_existing=True)
        if product is not None and not product.active:
            raise Deactivated("product", product_id, product.name)
        if product is not None and not product.listed:
            raise Delisted(product_id, product.name)
        raise OutOfStock(product_id, qty, product.stock if product else 0)


_ORDER_OF_KEY = select(Order.id).where(col(Order.key) == bindparam("key"))
_PRODUCTS = Product.__table__  # type: ignore[attr-defined]
_RESERVE = (
    update(_PRODUCTS)
    .where(
        _PRODUCTS.c.id == bindparam("product_id"),
        _PRODUCTS.c.active,
        _PRODUCTS.c.listed,
        _PRODUCTS.c.stock >= bindparam("qty"),
    )
    .values(stock=_PRODUCTS.c.stock - bindparam("qty"))
)


async def restock(session: AsyncSession, product_id: int, qty: int) -> None:
    await session.exec(
        update(Product).where(col(Product.id) == product_id).values(stock=col(Product.stock) + qty)
    )


async def buy(
    session: AsyncSession,
    fan: Fan,
    *,
    product_id: int,
    qty: int,
    key: str,
    now: datetime,
    use_coupon: bool = True,
    render: Render | None = None,
    article_id: int | None = None,
    paid_from: int | None = None,
) -> Order:
    """Reserve stock, pay from the wallet into escrow and create the paid order, once per key.

    With `use_coupon`, the best applicable coupon is claimed for the order and the platform pays
    its discount into escrow beside the buyer's money, so escrow always holds the full price.
    With `render`, the supplier's owner is told of the new order and, for a resale, the
    reseller of its sale.
    With `article_id`, the order was bought from that article's product card and counts among
    its sales; an article that shows no card of the product refuses the order.
    With `paid_from`, the money comes from that ledger account instead of the wallet: the fan
    paid it there first (the mini program's shop, through WeChat Pay).
    """
    existing = await scalar(session, _ORDER_OF_KEY, key=f"{key}:order")
    if existing is not None:  # a retried message
        return await _order(session, existing)
    # Nothing is written before this: a product, store or supplier the admin turned off
    # refuses the order with no stock or money moved.
    listing = await stores.listing_on_sale(session, product_id, fan)
    if fan.id in (listing.store.owner_fan_id, listing.supplier_store.owner_fan_id):
        raise OwnProduct(product_id, "buy")
    if article_id is not None:
        await articles.check_card(session, article_id=article_id, product_id=product_id)
    # Lock order: product row, then the coupon, then accounts (ledger sorts them) - the same in
    # every writer.
    await reserve_stock(session, listing.supplier.id or 0, qty)
    unit_fen = listing.product.price_fen
    price = unit_fen * qty
    order = Order(
        key=f"{key}:order",
        buyer_fan_id=fan.id or 0,
        product_id=product_id,
        supplier_product_id=listing.supplier.id or 0,
        supplier_store_id=listing.supplier_store.id or 0,
        affiliate_store_id=listing.store.id if listing.is_resale else None,
        article_id=article_id,
        qty=qty,
        unit_price_fen=unit_fen,
        supplier_unit_fen=listing.supplier.price_fen,
        discount_fen=0,
        total_fen=price,
        status=OrderStatus.PAID,
        paid_at=now,
    )
    await insert(session, order)  # its id, for the coupon's claim
    offer = None
    if use_coupon:
        offer = await coupons.claim_best(
            session, fan, order_id=order.id or 0, amount_fen=price, now=now
        )
    discount = offer.discount_fen if offer else 0
    order.discount_fen = discount
    order.total_fen = price - discount
    legs = [Leg(await ledger.system_account_id(session, AccountKind.ESCROW), price)]
    if order.total_fen:
        payer_id = wallet.wallet_id(fan) if paid_from is None else paid_from
        legs.append(Leg(payer_id, -order.total_fen))
    platform_id = None
    if discount:
        platform_id = await ledger.system_account_id(session, AccountKind.PLATFORM)
        legs.append(Leg(platform_id, -discount))
    try:
        await ledger.transfer(session, key=f"{key}:pay", kind=PAY, legs=legs, now=now)
    except InsufficientFunds as short:
        if offer is not None and short.details["account_id"] == platform_id:
            raise CouponUnfunded(offer.coupon.id or 0, discount, product_id) from None
        raise
    session.add(order)
    await session.flush()
    if render is not None:
        await _notify_sale(session, order, listing, fan, render=render, now=now)
    return order


async def _notify_sale(
    session: AsyncSession,
    order: Order,
    listing: stores.Listing,
    buyer: Fan,
    *,
    render: Render,
    now: datetime,
) -> None:
    values = {
        "order_id": order.id,
        "product": listing.product.name,
        "qty": order.qty,
        "buyer": notices.name_of(buyer),
    }
    supplier = await get(session, Fan, listing.supplier_store.owner_fan_id)
    assert supplier is not None
    await notices.notify(
        session,
        supplier,
        "notifications/order_paid.txt",
        values
        | {
            "amount_fen": _supplier_fen(order),
            "reseller": listing.store.name if listing.is_resale else None,
        },
        render=render,
        reason=SOLD,
        now=now,
        store=listing.supplier_store,
    )
    if listing.is_resale:
        reseller = await get(session, Fan, listing.store.owner_fan_id)
        assert reseller is not None
        await notices.notify(
            session,
            reseller,
            "notifications/resale_sold.txt",
            values | {"margin_fen": _margin_fen(order)},
            render=render,
            reason=RESOLD,
            now=now,
            store=listing.store,
        )


def _supplier_fen(order: Order) -> int:
    return order.supplier_unit_fen * order.qty


def _margin_fen(order: Order) -> int:
    return (order.unit_price_fen - order.supplier_unit_fen) * order.qty


async def _about(session: AsyncSession, order: Order) -> dict[str, object]:
    """What every notice about the order names: its id, product and quantity."""
    product = await session.get(Product, order.product_id)
    assert product is not None
    return {"order_id": order.id, "product": product.name, "qty": order.qty}


async def _order(session: AsyncSession, order_id: int) -> Order:
    order = await session.get(Order, order_id, populate_existing=True)
    if order is None:
        raise NotFound("order", order_id)
    return order


async def _move(
    session: AsyncSession, order: Order, *, action: str, to: str, since: str, **values: object
) -> None:
    result = await session.exec(
        update(Order)
        .where(col(Order.id) == order.id, col(Order.status) == since)
        .values(status=to, **values)
    )
    if result.rowcount != 1:
        order = await _order(session, order.id or 0)
        raise WrongStatus("order", order.id or 0, order.status, action)
    await session.refresh(order)


async def ship(
    session: AsyncSession,
    fan: Fan,
    *,
    order_id: int,
    now: datetime,
    render: Render | None = None,
    auto_complete_after: timedelta | None = None,
) -> Order:
    """Mark a paid order shipped; only the supplying store's owner ships (not an affiliate).
    With `render`, the buyer is told, with when the order completes by itself."""
    order = await _order(session, order_id)
    supplier = await session.get(Store, order.supplier_store_id)
    if supplier is None or supplier.owner_fan_id != fan.id:
        raise NotYours("order", order_id, "supplying store's owner")
    await _move(
        session,
        order,
        action="ship",
        to=OrderStatus.SHIPPED,
        since=OrderStatus.PAID,
        shipped_at=now,
    )
    if render is not None:
        buyer = await session.get(Fan, order.buyer_fan_id)
        assert buyer is not None
        values = await _about(session, order)
        values["complete_at"] = now + auto_complete_after if auto_complete_after else None
        await notices.notify(
            session,
            buyer,
            "notifications/order_shipped.txt",
            values,
            render=render,
            reason=SHIPPED,
            now=now,
        )
    return order


async def receive(
    session: AsyncSession,
    fan: Fan,
    *,
    order_id: int,
    now: datetime,
    render: Render | None = None,
) -> Order:
    """The buyer confirms receipt of a shipped order, which completes it and pays the sellers
    (told of their payout with `render`)."""
    order = await _order(session, order_id)
    if order.buyer_fan_id != fan.id:
        raise NotYours("order", order_id, "buyer")
    await _move(
        session,
        order,
        action="receive",
        to=OrderStatus.COMPLETED,
        since=OrderStatus.SHIPPED,
        received_at=now,
        completed_at=now,
    )
    await _release(session, order, now=now)
    if render is not None:
        await _notify_completion(session, order, buyer=fan, auto=False, render=render, now=now)
    return order


async def _notify_completion(
    session: AsyncSession,
    order: Order,
    *,
    buyer: Fan,
    auto: bool,
    render: Render,
    now: datetime,
) -> None:
    """The sellers' payouts; on an auto-completion (the buyer did not confirm) the buyer too."""
    values = await _about(session, order) | {"buyer": notices.name_of(buyer)}
    supplier, owner = await notices.owner_of(session, order.supplier_store_id)
    await notices.notify(
        session,
        owner,
        "notifications/order_payout.txt",
        values | {"amount_fen": _supplier_fen(order), "store": supplier.name, "auto": auto},
        render=render,
        reason=PAYOUT,
        now=now,
        store=supplier,
    )
    margin = _margin_fen(order)
    if order.affiliate_store_id is not None and margin:
        affiliate, reseller = await notices.owner_of(session, order.affiliate_store_id)
        await notices.notify(
            session,
            reseller,
            "notifications/resale_margin.txt",
            values | {"margin_fen": margin, "store": affiliate.name},
            render=render,
            reason=MARGIN,
            now=now,
            store=affiliate,
        )
    if auto:
        await notices.notify(
            session,
            buyer,
            "notifications/order_completed.txt",
            values,
            render=render,
            reason=AUTO_COMPLETED,
            now=now,
        )


async def _release(session: AsyncSession, order: Order, *, now: datetime) -> None:
    # Keyed on the order, not the message: the status change above lets one path through
    # (the buyer's "received" or the scheduler's auto-completion), and the key makes sure of it.
    escrow = await ledger.system_account(session, AccountKind.ESCROW)
    supplier = await session.get(Store, order.supplier_store_id)
    assert supplier is not None
    supplier_fen = order.supplier_unit_fen * order.qty
    margin_fen = order.unit_price_fen * order.qty - supplier_fen
    # Escrow holds the full price: what the buyer paid plus the coupon's discount, which the
    # platform paid in at purchase (so a release never waits on the platform's balance).
    held = order.total_fen + order.discount_fen
    legs = [Leg(escrow.id or 0, -held), Leg(supplier.account_id, supplier_fen)]
    if margin_fen and order.affiliate_store_id is not None:
        affiliate = await session.get(Store, order.affiliate_store_id)
        assert affiliate is not None
        legs.append(Leg(affiliate.account_id, margin_fen))
    await ledger.transfer(
        session, key=f"order:{order.id}:release", kind=RELEASE, legs=legs, now=now
    )


async def cancel(
    session: AsyncSession,
    fan: Fan,
    *,
    order_id: int,
    now: datetime,
    cancel_after: timedelta,
    render: Render | None = None,
) -> Order:
    """The buyer cancels a paid order not shipped within `cancel_after`: full refund, restock.

    The buyer gets back what they paid, the platform the coupon's discount it paid in, and the
    coupon is the buyer's again (unused, same expiry). With `render`, the buyer also gets a
    customer-service message about the refund, and the sellers one about the cancellation.
    """
    order = await _order(session, order_id)
    if order.buyer_fan_id != fan.id:
        raise NotYours("order", order_id, "buyer")
    if order.status != OrderStatus.PAID:
        raise WrongStatus("order", order_id, order.status, "cancel")
    allowed_at = order.paid_at + cancel_after
    if now < allowed_at:
        raise TooEarly("order", order_id, "cancel", allowed_at)
    await _move(
        session,
        order,
        action="cancel",
        to=OrderStatus.CANCELLED,
        since=OrderStatus.PAID,
        cancelled_at=now,
    )
    await restock(session, order.supplier_product_id, order.qty)
    escrow = await ledger.system_account(session, AccountKind.ESCROW)
    buyer = await session.get(Fan, order.buyer_fan_id)
    assert buyer is not None
    legs = [Leg(escrow.id or 0, -(order.total_fen + order.discount_fen))]
    if order.total_fen:
        legs.append(Leg(wallet.wallet_id(buyer), order.total_fen))
    if order.discount_fen:
        platform = await ledger.system_account(session, AccountKind.PLATFORM)
        legs.append(Leg(platform.id or 0, order.discount_fen))
    await ledger.transfer(session, key=f"order:{order.id}:refund", kind=REFUND, legs=legs, now=now)
    coupon = await coupons.give_back(session, order_id=order.id or 0)
    if render is not None:
        await notices.notify(
            session,
            buyer,
            "notifications/order_refunded.txt",
            {"order": order, "coupon": coupon},
            render=render,
            reason=REFUND,
            now=now,
        )
        await _notify_cancellation(session, order, render=render, now=now)
    return order


async def _notify_cancellation(
    session: AsyncSession, order: Order, *, render: Render, now: datetime
) -> None:
    """The supplier (who must not ship) and a reseller (whose margin is gone) are told."""
    values = await _about(session, order)
    stores_told = [(order.supplier_store_id, True)]
    if order.affiliate_store_id is not None:
        stores_told.append((order.affiliate_store_id, False))
    for store_id, ships in stores_told:
        store, owner = await notices.owner_of(session, store_id)
        await notices.notify(
            session,
            owner,
            "notifications/order_cancelled.txt",
            values | {"ships": ships},
            render=render,
            reason=CANCELLED,
            now=now,
            store=store,
        )


async def next_auto_completion(
    session: AsyncSession, *, after: datetime, delay: timedelta
) -> datetime | None:
    """When the earliest shipped order completes by itself (`delay` after shipping), if after
    `after`."""
    shipped = (
        await session.exec(
            select(func.min(Order.shipped_at)).where(
                Order.status == OrderStatus.SHIPPED, col(Order.shipped_at) > after - delay
            )
        )
    ).one()
    return None if shipped is None else shipped + delay


async def auto_complete_shipped(
    session: AsyncSession, *, now: datetime, after: timedelta, render: Render | None = None
) -> list[Order]:
    """Complete shipped orders the buyer has not confirmed within `after` (for the scheduler);
    with `render`, the buyer and the sellers are told, in the completion's transaction."""
    due = await session.exec(
        select(Order)
        .where(Order.status == OrderStatus.SHIPPED, col(Order.shipped_at) <= now - after)
        .order_by(col(Order.id))
    )
    completed = []
    for order in due.all():
        result = await session.exec(
            update(Order)
            .where(col(Order.id) == order.id, col(Order.status) == OrderStatus.SHIPPED)
            .values(status=OrderStatus.COMPLETED, completed_at=now)
        )
        if result.rowcount == 1:  # else the buyer confirmed it meanwhile
            await session.refresh(order)
            await _release(session, order, now=now)
            if render is not None:
                buyer = await session.get(Fan, order.buyer_fan_id)
                assert buyer is not None
                await _notify_completion(
                    session, order, buyer=buyer, auto=True, render=render, now=now
                )
            completed.append(order)
    return completed


async def of_fan(session: AsyncSession, fan: Fan, *, limit: int = 10) -> FanOrders:
    """The fan's newest orders as buyer, and the newest sales of the fan's store."""
    rows = await session.exec(
        select(Order, Product.name)
        .join(Product, col(Product.id) == Order.product_id)
        .where(Order.buyer_fan_id == fan.id)
        .order_by(col(Order.id).desc())
        .limit(limit)
    )
    bought = [OrderLine(order, name, "buyer") for order, name in rows.all()]
    sold: list[OrderLine] = []
    store = await stores.store_of(session, fan)
    if store is not None:
        rows = await session.exec(
            select(Order, Product.name)
            .join(Product, col(Product.id) == Order.product_id)
            .where(
                or_(
                    col(Order.supplier_store_id) == store.id,
                    col(Order.affiliate_store_id) == store.id,
                )
            )
            .order_by(col(Order.id).desc())
            .limit(limit)
        )
        sold = [
            OrderLine(
                order, name, "supplier" if order.supplier_store_id == store.id else "affiliate"
            )
            for order, name in rows.all()
        ]
    return FanOrders(bought, sold)
