"""Wealth commands: wealth, invest, holdings (see shared/COMMANDS.md)."""

from botstore.money import Fen
from botstore.router import Context, Id, Router
from botstore.services import wealth
from botstore.wechat import Reply

router = Router(name=__name__, title="Wealth")


@router.command("wealth", "理财")
async def products(ctx: Context) -> Reply:
    """Wealth products with rate, term, minimum and quota left."""
    return ctx.text("wealth/products.txt", lines=await wealth.products(ctx.session))


@router.command("invest", "投资")
async def invest(ctx: Context, product_id: Id, amount: Fen) -> Reply:
    """Buys a wealth product from your wallet."""
    holding = await wealth.invest(
        ctx.session, ctx.fan, product_id=product_id, amount=amount, key=ctx.dedup_key, now=ctx.now
    )
    line = next(
        line
        for line in await wealth.holdings(ctx.session, ctx.fan)
        if line.holding.id == holding.id
    )
    return ctx.text(
        "wealth/invested.txt",
        holding=holding,
        product_name=line.product_name,
        total_dividend_fen=line.total_dividend_fen,
        timezone=ctx.config.wallet.timezone,
    )


@router.command("holdings", "持仓")
async def holdings(ctx: Context) -> Reply:
    """Your holdings: principal, dividends paid, next payment, maturity."""
    return ctx.text(
        "wealth/holdings.txt",
        lines=await wealth.holdings(ctx.session, ctx.fan),
        timezone=ctx.config.wallet.timezone,
    )
