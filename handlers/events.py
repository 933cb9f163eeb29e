"""Events: follow and unfollow, QR scans, menu views, location reports."""

from botstore.router import Context, Router
from botstore.services import fans, merchants, settings
from botstore.wechat import LocationEvent, LocationMessage, Reply, ScanEvent, SubscribeEvent

router = Router(name=__name__, title="Events")


@router.event("subscribe")
async def subscribe(ctx: Context) -> Reply:
    """Welcomes a new follower."""
    message = ctx.message
    scene = message.scene if isinstance(message, SubscribeEvent) else None
    fans.subscribe(ctx.fan, scene=scene, now=ctx.now)
    # Following through a merchant's QR code starts paying that merchant (COMMANDS.md, Events);
    # an inactive merchant's code only welcomes: a refusal would undo the follow.
    merchant = await merchants.start_payment(
        ctx.session, ctx.fan, scene=scene, now=ctx.now, refuse_inactive=False
    )
    if merchant is not None:
        return ctx.text("offline/ask_amount.txt", merchant=merchant, welcome=True)
    welcome = await ctx.account_reply(settings.WELCOME)
    return welcome or ctx.text("events/welcome.txt")


@router.event("SCAN")
async def scan(ctx: Context) -> Reply | None:
    """A follower scanned a QR code: a merchant's starts a payment, others get "success"."""
    message = ctx.message
    scene = message.scene if isinstance(message, ScanEvent) else None
    merchant = await merchants.start_payment(ctx.session, ctx.fan, scene=scene, now=ctx.now)
    if merchant is None:
        return None
    return ctx.text("offline/ask_amount.txt", merchant=merchant, welcome=False)


@router.event("unsubscribe")
async def unsubscribe(ctx: Context) -> None:
    """Records the unfollow; the fan can no longer read a reply."""
    fans.unsubscribe(ctx.fan, now=ctx.now)


@router.event("LOCATION")
async def location_report(ctx: Context) -> None:
    """Keeps the fan's last reported position."""
    message = ctx.message
    if isinstance(message, LocationEvent):
        fans.record_location(
            ctx.fan, latitude=message.latitude, longitude=message.longitude, now=ctx.now
        )


@router.event("message:location")
async def location_message(ctx: Context) -> Reply:
    """A location the fan sent: kept, and acknowledged."""
    message = ctx.message
    assert isinstance(message, LocationMessage)
    fans.record_location(
        ctx.fan, latitude=message.latitude, longitude=message.longitude, now=ctx.now
    )
    return ctx.text("events/location.txt", message=message)
