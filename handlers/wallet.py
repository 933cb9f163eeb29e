"""Wallet commands: balance, topup, history, and withdrawing a store's earnings."""

from botstore.money import Fen
from botstore.router import Context, Router
from botstore.services import earnings, statement, wallet
from botstore.wechat import Reply

router = Router(name=__name__, title="Wallet")

# `withdraw` without an amount takes everything settled (a typed amount is never zero).
EVERYTHING = Fen(0)


@router.command("balance", "余额")
async def balance(ctx: Context) -> Reply:
    """Your wallet balance in yuan, and your store's earnings."""
    return ctx.text(
        "wallet/balance.txt",
        balance_fen=await wallet.balance(ctx.session, ctx.fan),
        earnings=await earnings.of_owner(ctx.session, ctx.fan),
    )


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
    """The last movements of your wallet (and of your store)."""
    mine = await statement.history(ctx.session, ctx.fan, limit=ctx.config.wallet.history_size)
    return ctx.text("wallet/history.txt", history=mine)


@router.command("withdraw", "提现")
async def withdraw(ctx: Context, amount: Fen = EVERYTHING) -> Reply:
    """Moves your store's settled earnings (all, or the amount) to your wallet."""
    withdrawal = await earnings.withdraw(
        ctx.session, ctx.fan, amount=amount or None, key=ctx.dedup_key, now=ctx.now
    )
    return ctx.text("wallet/withdrawn.txt", withdrawal=withdrawal)
