"""Order commands: buy, orders, ship, received, cancel, and group buying (group, join)."""

from datetime import timedelta

from botstore.errors import BadArgument
from botstore.router import PARSERS, Context, Id, Qty, Router, UsageError, Word
from botstore.services import coupons, groups, orders
from botstore.wechat import Reply
from handlers.coupons import notifier, reward

router = Router(name=__name__, title="Orders")

# The options' words: the fan may type either, whatever the command word's language.
NO_COUPON = {"en": "nocoupon", "zh_CN": "不用券"}
NO_COUPON_WORDS = {word.lower() for word in NO_COUPON.values()}
# `buy #1 from #2`: bought from article #2's product card, which the sale is credited to.
FROM_ARTICLE = {"en": "from", "zh_CN": "来自"}
FROM_ARTICLE_WORDS = {word.lower() for word in FROM_ARTICLE.values()}
LEFT_OUT = Word("")


def _article(words: list[str]) -> tuple[list[str], int | None]:
    """`from <article id>` among the words: the other words and the article (None: none)."""
    at = next((i for i, word in enumerate(words) if word.lower() in FROM_ARTICLE_WORDS), None)
    if at is None:
        return words, None
    if at + 1 == len(words):
        raise UsageError(_BUY, "missing", param=_BUY.params[-1])
    try:
        return words[:at] + words[at + 2 :], PARSERS[Id](words[at + 1])
    except BadArgument as error:
        details = error.details
        raise UsageError(
            _BUY,
            "invalid",
            param=_BUY.params[-1],
            reason=details["reason"],
            values=details["values"],
        ) from None


def _qty_and_coupon(words: list[str]) -> tuple[int, bool]:
    """`[qty] [nocoupon]`: either may be left out, so they are parsed here, not by position."""
    use_coupon = not (words and words[-1].lower() in NO_COUPON_WORDS)
    if not use_coupon:
        words = words[:-1]
    if len(words) >= 2:
        if words[0].lower() in NO_COUPON_WORDS:
            raise UsageError(_BUY, "last", words=words[0])
        extra = words[2:] if words[1].lower() in NO_COUPON_WORDS else words[1:]
        raise UsageError(_BUY, "unexpected", words=" ".join(extra))
    if not words:
        return 1, use_coupon
    try:
        return PARSERS[Qty](words[0]), use_coupon
    except BadArgument as error:
        details = error.details
        raise UsageError(
            _BUY,
            "invalid",
            param=_BUY.params[1],
            reason=details["reason"],
            values=details["values"],
        ) from None


@router.command("buy", "购买", options={"nocoupon": NO_COUPON, "source": FROM_ARTICLE})
async def buy(
    ctx: Context,
    product_id: Id,
    qty: Word = LEFT_OUT,
    nocoupon: Word = LEFT_OUT,
    source: Word = LEFT_OUT,
    article_id: Word = LEFT_OUT,
) -> Reply:
    """Buys and pays from your wallet; applies your best coupon unless you add nocoupon."""
    words, article = _article([word for word in (qty, nocoupon, source, article_id) if word])
    count, use_coupon = _qty_and_coupon(words)
    order = await orders.buy(
        ctx.session,
        ctx.fan,
        product_id=product_id,
        qty=count,
        key=ctx.dedup_key,
        now=ctx.now,
        use_coupon=use_coupon,
        render=notifier(ctx),
        article_id=article,
    )
    coupon = await coupons.of_order(ctx.session, order.id or 0) if order.discount_fen else None
    return ctx.text("orders/bought.txt", order=order, coupon=coupon)


_BUY = router.commands[-1]


@router.command("orders", "订单")
async def my_orders(ctx: Context) -> Reply:
    """Your orders as buyer and seller."""
    mine = await orders.of_fan(ctx.session, ctx.fan)
    return ctx.text("orders/orders.txt", mine=mine)


@router.command("ship", "发货")
async def ship(ctx: Context, order_id: Id) -> Reply:
    """Ships an order of your store."""
    order = await orders.ship(
        ctx.session,
        ctx.fan,
        order_id=order_id,
        now=ctx.now,
        render=notifier(ctx),
        auto_complete_after=timedelta(hours=ctx.config.orders.auto_complete_after_hours),
    )
    return ctx.text("orders/shipped.txt", order=order)


@router.command("received", "收货")
async def received(ctx: Context, order_id: Id) -> Reply:
    """Confirms receipt; the seller is paid."""
    order = await orders.receive(
        ctx.session, ctx.fan, order_id=order_id, now=ctx.now, render=notifier(ctx)
    )
    await reward(ctx)  # a completed order earns points: maybe a level and its coupon
    return ctx.text("orders/received.txt", order=order)


@router.command("cancel", "取消")
async def cancel(ctx: Context, order_id: Id) -> Reply:
    """Cancels an order not shipped in time."""
    coupon = await coupons.of_order(ctx.session, order_id)  # the cancel gives it back
    order = await orders.cancel(
        ctx.session,
        ctx.fan,
        order_id=order_id,
        now=ctx.now,
        cancel_after=timedelta(hours=ctx.config.orders.cancel_after_hours),
        render=notifier(ctx),
    )
    return ctx.text("orders/cancelled.txt", order=order, coupon=coupon)


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
        ctx.session,
        ctx.fan,
        group_id=group_id,
        key=ctx.dedup_key,
        now=ctx.now,
        render=notifier(ctx),
    )
    return ctx.text("orders/group_joined.txt", joined=joined, timezone=ctx.config.wallet.timezone)
