"""Events: follow and unfollow, QR scans, menu views, location reports."""

from botstore.router import Context, Router
from botstore.services import fans
from botstore.wechat import LocationEvent, LocationMessage, Reply, SubscribeEvent

router = Router(name=__name__, title="Events")


@router.event("subscribe")
async def subscribe(ctx: Context) -> Reply:
    """Welcomes a new follower."""
    message = ctx.message
    scene = message.scene if isinstance(message, SubscribeEvent) else None
    fans.subscribe(ctx.fan, scene=scene, now=ctx.now)
    return ctx.text("events/welcome.txt")


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
