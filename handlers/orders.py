"""Order commands: buy, orders, ship, received, cancel, and group buying (group, join)."""

from datetime import timedelta

from botstore.router import Context, Id, Qty, Router
from botstore.services import groups, orders
from botstore.wechat import Reply

router = Router(name=__name__, title="Orders")

ONE = Qty(1)


@router.command("buy", "购买")
async def buy(ctx: Context, product_id: Id, qty: Qty = ONE) -> Reply:
    """Buys and pays from your wallet."""
    order = await orders.buy(
        ctx.session, ctx.fan, product_id=product_id, qty=qty, key=ctx.dedup_key, now=ctx.now
    )
    return ctx.text("orders/bought.txt", order=order)


@router.command("orders", "订单")
async def my_orders(ctx: Context) -> Reply:
    """Your orders as buyer and seller."""
    mine = await orders.of_fan(ctx.session, ctx.fan)
    return ctx.text("orders/orders.txt", mine=mine)


@router.command("ship", "发货")
async def ship(ctx: Context, order_id: Id) -> Reply:
    """Ships an order of your store."""
    order = await orders.ship(ctx.session, ctx.fan, order_id=order_id, now=ctx.now)
    return ctx.text("orders/shipped.txt", order=order)


@router.command("received", "收货")
async def received(ctx: Context, order_id: Id) -> Reply:
    """Confirms receipt; the seller is paid."""
    order = await orders.receive(ctx.session, ctx.fan, order_id=order_id, now=ctx.now)
    return ctx.text("orders/received.txt", order=order)


@router.command("cancel", "取消")
async def cancel(ctx: Context, order_id: Id) -> Reply:
    """Cancels an order not shipped in time."""
    order = await orders.cancel(
        ctx.session,
        ctx.fan,
        order_id=order_id,
        now=ctx.now,
        cancel_after=timedelta(hours=ctx.config.orders.cancel_after_hours),
    )
    return ctx.text("orders/cancelled.txt", order=order)


@router.command("group", "拼团")
async def group(ctx: Context, product_id: Id) -> Reply:
    """Starts a group buy; you pay now."""
    joined = await groups.start(
        ctx.session, ctx.fan, product_id=product_id, key=ctx.dedup_key, now=ctx.now
    )
    return ctx.text("orders/group_joined.txt", joined=joined, timezone=ctx.config.wallet.timezone)


@router.command("join", "参团")
async def join(ctx: Context, group_id: Id) -> Reply:
    """Joins a group buy; you pay now."""
    joined = await groups.join(
        ctx.session, ctx.fan, group_id=group_id, key=ctx.dedup_key, now=ctx.now
    )
    return ctx.text("orders/group_joined.txt", joined=joined, timezone=ctx.config.wallet.timezone)
