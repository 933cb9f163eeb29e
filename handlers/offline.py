"""Offline merchant payments: pay by code, and the amount conversation a QR scan opens."""

import re

from botstore.models import Conversation
from botstore.money import Fen, parse_yuan
from botstore.router import Context, Router, Word
from botstore.services import conversations, merchants
from botstore.wechat import Reply
from handlers.coupons import reward

router = Router(name=__name__, title="Offline payments")

CANCEL_WORDS = {"cancel", "取消"}
# What a fan types as an amount, valid or not ("25", "¥25.5", "-3", "1.234", "1,000元", full-width
# "２５"; \d takes every script's digits and parse_yuan says why it refuses most): a bad one
# gets the reason and the conversation stays open; anything else is a command, routed normally.
AMOUNT_LIKE = re.compile(r"[¥￥]?\s*[-+]?(\d[\d,，]*([.．]\d*)?|[.．]\d+)\s*元?")


@router.command("pay", "付款")
async def pay(ctx: Context, merchant_code: Word, amount: Fen) -> Reply:
    """Pays an offline merchant from your wallet."""
    payment = await merchants.pay(
        ctx.session, ctx.fan, code=merchant_code, amount=amount, key=ctx.dedup_key, now=ctx.now
    )
    await reward(ctx)  # the payment earns points: maybe a level and its coupon
    return ctx.text("offline/paid.txt", payment=payment)


@router.conversation(merchants.CONVERSATION)
async def amount_for_merchant(ctx: Context, conversation: Conversation, text: str) -> Reply | None:
    """The fan's answer after scanning a merchant's QR code: an amount, or cancel."""
    merchant = await merchants.pending_merchant(ctx.session, conversation)
    if merchant is None:
        await conversations.finish(ctx.session, ctx.fan)
        return None
    text = text.strip()
    if text.lower() in CANCEL_WORDS:
        await merchants.cancel_payment(ctx.session, ctx.fan)
        return ctx.text("offline/cancelled.txt", merchant=merchant)
    if not AMOUNT_LIKE.fullmatch(text):
        if not merchants.waits_for_topup(conversation):
            await conversations.finish(ctx.session, ctx.fan)
        return None
    outcome = await merchants.pay_pending(
        ctx.session,
        ctx.fan,
        conversation=conversation,
        merchant=merchant,
        amount=parse_yuan(text),
        key=ctx.dedup_key,
        now=ctx.now,
    )
    if isinstance(outcome, merchants.Shortfall):
        return ctx.text("offline/short.txt", shortfall=outcome)
    await reward(ctx)
    return ctx.text("offline/paid.txt", payment=outcome)
