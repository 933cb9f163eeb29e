"""Wallet commands: balance, topup, history (see shared/COMMANDS.md)."""

from botstore.money import Fen
from botstore.router import Context, Router
from botstore.services import wallet
from botstore.wechat import Reply

router = Router(name=__name__, title="Wallet")


@router.command("balance", "余额")
async def balance(ctx: Context) -> Reply:
    """Your wallet balance in yuan."""
    return ctx.text("wallet/balance.txt", balance_fen=await wallet.balance(ctx.session, ctx.fan))


@router.command("topup", "充值")
async def topup(ctx: Context, amount: Fen) -> Reply:
    """Adds sandbox money to your wallet (daily cap)."""
    receipt = await wallet.topup(
        ctx.session,
        ctx.fan,
        amount=amount,
        key=ctx.dedup_key,
        now=ctx.now,
        daily_cap_fen=ctx.config.wallet.topup_daily_cap_fen,
        timezone=ctx.config.wallet.timezone,
    )
    return ctx.text("wallet/topped_up.txt", receipt=receipt)


@router.command("history", "账单")
async def history(ctx: Context) -> Reply:
    """The last movements of your wallet."""
    entries = await wallet.history(ctx.session, ctx.fan, limit=ctx.config.wallet.history_size)
    return ctx.text("wallet/history.txt", entries=entries, timezone=ctx.config.wallet.timezone)
