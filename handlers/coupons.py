"""Coupon commands: coupons; and the level-up check every completed payment runs."""

from collections.abc import Mapping
from typing import Any

from botstore.models import Coupon
from botstore.router import Context, Router
from botstore.services import coupons, membership
from botstore.wechat import Reply

router = Router(name=__name__, title="Coupons")


def rules(ctx: Context) -> membership.Rules:
    settings = ctx.config.membership
    return membership.Rules(settings.points_per_yuan, settings.level_thresholds)


def notifier(ctx: Context) -> coupons.Render:
    """Renders outbox notifications with the reply templates."""

    def render(template: str, values: Mapping[str, Any]) -> str:
        # The recipient's language (values' `locale`), else the account's, as the scheduler's
        # notices do: a notice may go to another fan than the one writing.
        context = {name: value for name, value in values.items() if name != "locale"}
        locale = values.get("locale") or ctx.config.wechat.language
        return ctx.replies.render(template, locale, fan=ctx.fan, config=ctx.config, **context)

    return render


async def reward(ctx: Context) -> list[Coupon]:
    """After a completed payment, in its transaction: the coupons of any level just reached."""
    return await coupons.level_up(
        ctx.session, ctx.fan, rules=rules(ctx), now=ctx.now, render=notifier(ctx)
    )


@router.command("coupons", "优惠券")
async def my_coupons(ctx: Context) -> Reply:
    """Your unused coupons and when they expire."""
    held = await coupons.unused(ctx.session, ctx.fan, ctx.now)
    return ctx.text("coupons/list.txt", held=held, timezone=ctx.config.wallet.timezone)
