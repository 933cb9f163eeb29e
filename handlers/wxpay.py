"""WeChat Pay (emulated): a fan pays a merchant's prepay order from the wallet."""

from botstore.router import Context, Router, Word
from botstore.services import wxpay as wxpay_service
from botstore.wechat import Reply

router = Router(name=__name__, title="WeChat Pay")


@router.command("wxpay", "微信支付")
async def wxpay(ctx: Context, prepay_id: Word) -> Reply:
    """Pays a WeChat Pay order (its prepay_id, code_url or h5_url) from your wallet."""
    paid = await wxpay_service.pay(
        ctx.session, ctx.fan, reference=prepay_id, key=ctx.dedup_key, now=ctx.now
    )
    return ctx.text("wxpay/paid.txt", paid=paid)
