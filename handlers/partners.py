"""Partner services (third-party mini programs): services, use."""

from botstore.money import Fen
from botstore.router import Context, Id, Router
from botstore.services import partners
from botstore.wechat import Article, Reply
from handlers.coupons import reward

router = Router(name=__name__, title="Partner services")


@router.command("services", "服务")
async def services(ctx: Context) -> Reply:
    """Partner services: one card linking to the services page."""
    catalog = await partners.catalog(ctx.session)
    if not catalog:
        return ctx.text("partners/none.txt")
    # A passive reply to a fan's text carries one news item (wechat-protocol.md 8): one card
    # listing the services, linking to the page that shows each as a mini-program card.
    return ctx.news(
        Article(
            title=ctx.render("partners/card_title.txt", services=catalog),
            description=ctx.render("partners/card_description.txt", services=catalog),
            url=ctx.config.server.base_url.rstrip("/") + "/services",
        )
    )


@router.command("use", "使用")
async def use(ctx: Context, service_id: Id, amount: Fen) -> Reply:
    """Pays a partner service from your wallet."""
    usage = await partners.use(
        ctx.session, ctx.fan, service_id=service_id, amount=amount, key=ctx.dedup_key, now=ctx.now
    )
    await reward(ctx)  # the payment earns points: maybe a level and its coupon
    return ctx.text("partners/used.txt", usage=usage)
