"""Membership commands: points (see shared/COMMANDS.md)."""

from botstore.router import Context, Router
from botstore.services import membership
from botstore.wechat import Reply

router = Router(name=__name__, title="Membership")


@router.command("points", "积分")
async def points(ctx: Context) -> Reply:
    """Your points, level, and what the next level needs."""
    settings = ctx.config.membership
    standing = await membership.standing(
        ctx.session,
        ctx.fan,
        points_per_yuan=settings.points_per_yuan,
        levels=settings.level_thresholds,
    )
    return ctx.text("membership/points.txt", standing=standing, rate=settings.points_per_yuan)
