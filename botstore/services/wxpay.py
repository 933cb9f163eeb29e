"""WeChat Pay, emulated: merchants, prepay orders, paying from the wallet, refunds, and the
notifications owed to the merchant's notify_url with their retry schedule. Money moves through the
ledger: fan wallet -> the merchant's account on payment, back on refund. Knows no HTTP or crypto:
the gateway (botstore/wxpay/) verifies, encrypts and delivers."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.errors import BadArgument, DomainError, InsufficientFunds
from botstore.models import (
    Account,
    AccountKind,
    Fan,
    MiniProgramUser,
    WxPayMerchant,
    WxPayNotification,
    WxPayNotificationAttempt,
    WxPayOrder,
    WxPayPlatform,
    WxPayRefund,
    WxPayTradeState,
)
from botstore.services import ledger, wallet

PAYMENT = "wxpay"
REFUND = "wxpay_refund"
CHINA = timezone(timedelta(hours=8), "CST")
# The gap before each retry of an unacknowledged notification, as WeChat Pay documents it:
# sixteen tries in all over about 24 hours.
_MINUTES = (0.25, 0.25, 0.5, 3, 10, 20, 30, 30, 30, 60, 180, 180, 180, 360, 360)
RETRY_SCHEDULE: tuple[timedelta, ...] = tuple(timedelta(minutes=m) for m in _MINUTES)
# A prepay_id is valid two hours on the platform; an order's time_expire can shorten that.
PREPAY_VALIDITY = timedelta(hours=2)
TRADE_TYPES = ("JSAPI", "NATIVE", "H5")
STATE_TEXT = {
    WxPayTradeState.NOTPAY: "订单未支付",
    WxPayTradeState.SUCCESS: "支付成功",
    WxPayTradeState.CLOSED: "订单已关闭",
    WxPayTradeState.REFUND: "转入退款",
}


class WxPayError(DomainError):
    """A refusal in the platform's words: `code` (PARAM_ERROR, ORDER_NOT_EXIST...) and `message`;
    the gateway gives each code its HTTP status."""

    template = "domain_error"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code=code, message=message)
        self.code = code
        self.message = message


class PaymentRefused(DomainError):
    """A fan's `wxpay` that can't go through: `reason` is paid, closed, expired or other_payer."""

    template = "wxpay_refused"

    def __init__(self, reference: str, reason: str, order: WxPayOrder | None = None) -> None:
        super().__init__(reference=reference, reason=reason, order=order)


@dataclass(frozen=True, slots=True)
class Paid:
    order: WxPayOrder
    merchant: WxPayMerchant
    balance_fen: int


@dataclass(frozen=True, slots=True)
class Claim:
    """A notification try this runner now owns."""

    notification: WxPayNotification
    merchant: WxPayMerchant
    number: int
    scheduled_at: datetime


def china_time(moment: datetime) -> str:
    """RFC 3339 in Beijing time, as every WeChat Pay time is written: 2026-01-01T12:00:00+08:00."""
    return moment.astimezone(CHINA).isoformat(timespec="seconds")


def _digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))


# --- the platform's key ---


async def platform(session: AsyncSession) -> WxPayPlatform | None:
    return await session.get(WxPayPlatform, 1)


async def keep_platform(session: AsyncSession, made: WxPayPlatform) -> WxPayPlatform:
    """Store freshly made platform keys unless another process stored its own first: the one
    stored wins, so every process signs with the same key."""
    try:
        async with session.begin_nested():
            session.add(made)
    except IntegrityError:
        pass
    stored = await session.get(WxPayPlatform, 1, populate_existing=True)
    assert stored is not None
    return stored


# --- merchants ---


async def register_merchant(
    session: AsyncSession,
    *,
    mchid: str,
    appid: str,
    apiv3_key: str,
    serial_no: str,
    public_key_pem: str,
    now: datetime,
) -> WxPayMerchant:
    """A merchant with its own ledger account; one per mchid."""
    if await merchant_by_mchid(session, mchid) is not None:
        raise BadArgument("mchid", mchid, "another merchant has this mchid")
    account = Account(kind=AccountKind.MERCHANT, name=f"wxpay {mchid}", created_at=now)
    session.add(account)
    await session.flush()
    assert account.id is not None
    merchant = WxPayMerchant(
        mchid=mchid,
        appid=appid,
        apiv3_key=apiv3_key,
        serial_no=serial_no.upper(),
        public_key_pem=public_key_pem,
        account_id=account.id,
        created_at=now,
    )
    session.add(merchant)
    await session.flush()
    return merchant


async def merchant_by_mchid(session: AsyncSession, mchid: str) -> WxPayMerchant | None:
    return (await session.exec(select(WxPayMerchant).where(WxPayMerchant.mchid == mchid))).first()


async def all_merchants(session: AsyncSession) -> list[WxPayMerchant]:
    return list((await session.exec(select(WxPayMerchant).order_by(col(WxPayMerchant.id)))).all())


async def use_public_key_mode(session: AsyncSession, merchant: WxPayMerchant) -> None:
    """The merchant names the platform's public key id: sign its notifications with that id."""
    if not merchant.public_key_mode:
        merchant.public_key_mode = True
        session.add(merchant)
        await session.flush()


# --- orders ---


async def create_order(
    session: AsyncSession,
    merchant: WxPayMerchant,
    *,
    trade_type: str,
    request: dict[str, Any],
    now: datetime,
) -> WxPayOrder:
    """A prepay order from a validated request, or the same order again for the same request.

    The same out_trade_no with other fields (another amount...) is INVALID_REQUEST; one already
    paid is ORDERPAID, one closed ORDER_CLOSED, as on the platform.
    """
    out_trade_no = request["out_trade_no"]
    existing = await _order(session, merchant, out_trade_no)
    if existing is None:
        order = _new_order(merchant, trade_type=trade_type, request=request, now=now)
        try:
            async with session.begin_nested():
                session.add(order)
            return order
        except IntegrityError:  # the same out_trade_no created concurrently: compare with it
            existing = await _order(session, merchant, out_trade_no)
            if existing is None:
                raise
    if existing.state in (WxPayTradeState.SUCCESS, WxPayTradeState.REFUND):
        raise WxPayError("ORDERPAID", "该订单已支付")
    if existing.state == WxPayTradeState.CLOSED:
        raise WxPayError("ORDER_CLOSED", "订单已关闭")
    if existing.trade_type != trade_type or existing.request != request:
        raise WxPayError("INVALID_REQUEST", "201 商户订单号重复")
    return existing


def _new_order(
    merchant: WxPayMerchant, *, trade_type: str, request: dict[str, Any], now: datetime
) -> WxPayOrder:
    expires_at = now + PREPAY_VALIDITY
    if request.get("time_expire"):
        expires_at = datetime.fromisoformat(request["time_expire"]).astimezone(UTC)
    assert merchant.id is not None
    return WxPayOrder(
        merchant_id=merchant.id,
        out_trade_no=request["out_trade_no"],
        trade_type=trade_type,
        appid=request["appid"],
        description=request["description"],
        total_fen=request["amount"]["total"],
        currency=request["amount"].get("currency") or "CNY",
        notify_url=request["notify_url"],
        attach=request.get("attach"),
        payer_openid=(request.get("payer") or {}).get("openid"),
        request=request,
        prepay_id="wx" + now.astimezone(CHINA).strftime("%Y%m%d%H%M%S") + secrets.token_hex(10),
        code=secrets.token_hex(8),
        expires_at=expires_at,
        created_at=now,
    )


async def _order(
    session: AsyncSession, merchant: WxPayMerchant, out_trade_no: str
) -> WxPayOrder | None:
    statement = select(WxPayOrder).where(
        WxPayOrder.merchant_id == merchant.id, WxPayOrder.out_trade_no == out_trade_no
    )
    return (await session.exec(statement.execution_options(populate_existing=True))).first()


async def order_by_out_trade_no(
    session: AsyncSession, merchant: WxPayMerchant, out_trade_no: str
) -> WxPayOrder:
    order = await _order(session, merchant, out_trade_no)
    if order is None:
        raise WxPayError("ORDER_NOT_EXIST", "订单不存在")
    return order


async def order_by_transaction_id(
    session: AsyncSession, merchant: WxPayMerchant, transaction_id: str
) -> WxPayOrder:
    order = (
        await session.exec(
            select(WxPayOrder).where(
                WxPayOrder.merchant_id == merchant.id, WxPayOrder.transaction_id == transaction_id
            )
        )
    ).first()
    if order is None:
        raise WxPayError("ORDER_NOT_EXIST", "订单不存在")
    return order


async def payer_openid(session: AsyncSession, order: WxPayOrder) -> str | None:
    if order.payer_openid:
        return order.payer_openid
    if order.payer_fan_id is None:
        return None
    fan = await session.get(Fan, order.payer_fan_id)
    return fan.openid if fan is not None else None


def transaction_json(
    order: WxPayOrder, merchant: WxPayMerchant, openid: str | None
) -> dict[str, Any]:
    """The order as the query answers it and TRANSACTION.SUCCESS carries it."""
    out: dict[str, Any] = {
        "appid": order.appid,
        "mchid": merchant.mchid,
        "out_trade_no": order.out_trade_no,
        "trade_state": order.state,
        "trade_state_desc": STATE_TEXT[order.state],
        "attach": order.attach or "",
        "amount": {"total": order.total_fen, "currency": order.currency, "payer_currency": "CNY"},
        "promotion_detail": [],
    }
    if order.transaction_id is not None:
        assert order.paid_at is not None
        out |= {
            "transaction_id": order.transaction_id,
            "trade_type": order.trade_type,
            "bank_type": "OTHERS",
            "success_time": china_time(order.paid_at),
        }
        out["amount"]["payer_total"] = order.total_fen
    if openid is not None:
        out["payer"] = {"openid": openid}
    return out


async def close_order(
    session: AsyncSession, merchant: WxPayMerchant, out_trade_no: str, *, now: datetime
) -> WxPayOrder:
    """Close an unpaid order (closing a closed one again is fine); a paid one is ORDERPAID."""
    order = await order_by_out_trade_no(session, merchant, out_trade_no)
    closed = await session.exec(
        update(WxPayOrder)
        .where(col(WxPayOrder.id) == order.id, col(WxPayOrder.state) == WxPayTradeState.NOTPAY)
        .values(state=WxPayTradeState.CLOSED, closed_at=now)
    )
    order = await order_by_out_trade_no(session, merchant, out_trade_no)
    if closed.rowcount != 1 and order.state != WxPayTradeState.CLOSED:
        raise WxPayError("ORDERPAID", "订单已支付，不能关闭")
    return order


# --- paying from the chat ---


async def order_by_reference(session: AsyncSession, reference: str) -> WxPayOrder | None:
    """The order a fan names: its prepay_id, its code_url or h5_url, or their code."""
    reference = reference.strip()
    for marker in ("prepay_id=", "pr="):
        if marker in reference:
            reference = reference.split(marker, 1)[1].split("&", 1)[0]
    statement = select(WxPayOrder).where(
        (col(WxPayOrder.prepay_id) == reference) | (col(WxPayOrder.code) == reference)
    )
    return (await session.exec(statement)).first()


async def pay(session: AsyncSession, fan: Fan, *, reference: str, key: str, now: datetime) -> Paid:
    """Pay a prepay order from the fan's wallet, once; the merchant is notified."""
    order = await order_by_reference(session, reference)
    if order is None:
        raise PaymentRefused(reference, "unknown")
    if order.state in (WxPayTradeState.SUCCESS, WxPayTradeState.REFUND):
        raise PaymentRefused(reference, "paid", order)
    if order.state == WxPayTradeState.CLOSED:
        raise PaymentRefused(reference, "closed", order)
    if now >= order.expires_at:
        raise PaymentRefused(reference, "expired", order)
    if order.trade_type == "JSAPI" and not await _payer_is(session, order, fan):
        raise PaymentRefused(reference, "other_payer", order)
    merchant = await session.get(WxPayMerchant, order.merchant_id)
    assert merchant is not None and order.id is not None
    transaction_id = "4200" + now.astimezone(CHINA).strftime("%Y%m%d") + _digits(16)
    # The state moves once, conditionally: two fans (or two messages) paying at once can't both.
    claimed = await session.exec(
        update(WxPayOrder)
        .where(col(WxPayOrder.id) == order.id, col(WxPayOrder.state) == WxPayTradeState.NOTPAY)
        .values(
            state=WxPayTradeState.SUCCESS,
            transaction_id=transaction_id,
            payer_fan_id=fan.id,
            paid_at=now,
        )
    )
    if claimed.rowcount != 1:
        raise PaymentRefused(reference, "paid", order)
    account_id = wallet.wallet_id(fan)
    await ledger.transfer(
        session,
        key=f"{key}:{PAYMENT}",
        kind=PAYMENT,
        legs=[
            ledger.Leg(account_id, -order.total_fen),
            ledger.Leg(merchant.account_id, order.total_fen),
        ],
        now=now,
        memo=f"wxpay {merchant.mchid} {order.out_trade_no}"[:200],
    )
    await session.refresh(order)
    resource = transaction_json(order, merchant, order.payer_openid or fan.openid)
    await _notify(
        session,
        merchant,
        order,
        event_type="TRANSACTION.SUCCESS",
        url=order.notify_url,
        resource=resource,
        now=now,
    )
    return Paid(order, merchant, await ledger.balance_of(session, account_id))


async def _payer_is(session: AsyncSession, order: WxPayOrder, fan: Fan) -> bool:
    """Whether the fan may pay this JSAPI order: it names no payer, or the fan by their openid
    of the account or of the mini program (a mini-program backend orders for the openid
    jscode2session gave it)."""
    if order.payer_openid in (None, fan.openid):
        return True
    statement = select(MiniProgramUser.id).where(
        col(MiniProgramUser.fan_id) == fan.id, col(MiniProgramUser.openid) == order.payer_openid
    )
    return (await session.exec(statement)).first() is not None


# --- refunds ---


async def refund(
    session: AsyncSession, merchant: WxPayMerchant, *, request: dict[str, Any], now: datetime
) -> WxPayRefund:
    """Refund part or all of a paid order from the merchant's account to the payer's wallet,
    once per out_refund_no (the same request answers the same refund)."""
    assert merchant.id is not None
    existing = await _refund(session, merchant, request["out_refund_no"])
    if existing is not None:
        if existing.request != request:
            raise WxPayError("INVALID_REQUEST", "退款单号重复，且与之前请求的参数不一致")
        return existing
    if request.get("transaction_id"):
        order = await order_by_transaction_id(session, merchant, request["transaction_id"])
    else:
        order = await order_by_out_trade_no(session, merchant, request["out_trade_no"])
    amount = request["amount"]
    if order.state not in (WxPayTradeState.SUCCESS, WxPayTradeState.REFUND):
        raise WxPayError("INVALID_REQUEST", "订单未支付，不能退款")
    if amount["total"] != order.total_fen:
        raise WxPayError("INVALID_REQUEST", "订单金额与原订单金额不一致")
    if amount["refund"] > order.total_fen - order.refunded_fen:
        raise WxPayError("INVALID_REQUEST", "申请退款金额超过订单可退金额")
    assert order.id is not None and order.payer_fan_id is not None
    # Conditional, like a debit: two refunds racing can't refund more than was paid.
    taken = await session.exec(
        update(WxPayOrder)
        .where(
            col(WxPayOrder.id) == order.id,
            col(WxPayOrder.refunded_fen) + amount["refund"] <= col(WxPayOrder.total_fen),
        )
        .values(
            refunded_fen=col(WxPayOrder.refunded_fen) + amount["refund"],
            state=WxPayTradeState.REFUND,
        )
    )
    if taken.rowcount != 1:
        raise WxPayError("INVALID_REQUEST", "申请退款金额超过订单可退金额")
    fan = await session.get(Fan, order.payer_fan_id)
    assert fan is not None
    record = WxPayRefund(
        merchant_id=merchant.id,
        order_id=order.id,
        out_refund_no=request["out_refund_no"],
        refund_id="50" + now.astimezone(CHINA).strftime("%Y%m%d") + _digits(19),
        amount_fen=amount["refund"],
        reason=request.get("reason"),
        notify_url=request.get("notify_url"),
        request=request,
        created_at=now,
        success_at=now,
    )
    session.add(record)
    await session.flush()
    try:
        await ledger.transfer(
            session,
            key=f"wxpay_refund:{record.id}",
            kind=REFUND,
            legs=[
                ledger.Leg(merchant.account_id, -record.amount_fen),
                ledger.Leg(wallet.wallet_id(fan), record.amount_fen),
            ],
            now=now,
            memo=f"wxpay refund {merchant.mchid} {record.out_refund_no}"[:200],
        )
    except InsufficientFunds:
        raise WxPayError("NOT_ENOUGH", "基本账户余额不足，请充值后重新发起") from None
    await session.refresh(order)
    if record.notify_url:
        await _notify(
            session,
            merchant,
            order,
            event_type="REFUND.SUCCESS",
            url=record.notify_url,
            resource=refund_notice_json(record, order, merchant),
            now=now,
            refund=record,
        )
    return record


async def _refund(
    session: AsyncSession, merchant: WxPayMerchant, out_refund_no: str
) -> WxPayRefund | None:
    statement = select(WxPayRefund).where(
        WxPayRefund.merchant_id == merchant.id, WxPayRefund.out_refund_no == out_refund_no
    )
    return (await session.exec(statement)).first()


async def refund_by_out_refund_no(
    session: AsyncSession, merchant: WxPayMerchant, out_refund_no: str
) -> tuple[WxPayRefund, WxPayOrder]:
    record = await _refund(session, merchant, out_refund_no)
    if record is None:
        raise WxPayError("RESOURCE_NOT_EXISTS", "退款单不存在")
    order = await session.get(WxPayOrder, record.order_id)
    assert order is not None
    return record, order


def refund_json(record: WxPayRefund, order: WxPayOrder) -> dict[str, Any]:
    """A refund as the refund API and its query answer it."""
    return {
        "refund_id": record.refund_id,
        "out_refund_no": record.out_refund_no,
        "transaction_id": order.transaction_id,
        "out_trade_no": order.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "success_time": china_time(record.success_at),
        "create_time": china_time(record.created_at),
        "status": record.status,
        "funds_account": "AVAILABLE",
        "amount": {
            "total": order.total_fen,
            "refund": record.amount_fen,
            "from": [],
            "payer_total": order.total_fen,
            "payer_refund": record.amount_fen,
            "settlement_refund": record.amount_fen,
            "settlement_total": order.total_fen,
            "discount_refund": 0,
            "currency": "CNY",
        },
        "promotion_detail": [],
    }


def refund_notice_json(
    record: WxPayRefund, order: WxPayOrder, merchant: WxPayMerchant
) -> dict[str, Any]:
    """What REFUND.SUCCESS carries (encrypted)."""
    return {
        "mchid": merchant.mchid,
        "out_trade_no": order.out_trade_no,
        "transaction_id": order.transaction_id,
        "out_refund_no": record.out_refund_no,
        "refund_id": record.refund_id,
        "refund_status": record.status,
        "success_time": china_time(record.success_at),
        "user_received_account": "支付用户零钱",
        "amount": {
            "total": order.total_fen,
            "refund": record.amount_fen,
            "payer_total": order.total_fen,
            "payer_refund": record.amount_fen,
        },
    }


# --- notifications ---


async def _notify(
    session: AsyncSession,
    merchant: WxPayMerchant,
    order: WxPayOrder,
    *,
    event_type: str,
    url: str,
    resource: dict[str, Any],
    now: datetime,
    refund: WxPayRefund | None = None,
) -> WxPayNotification:
    assert merchant.id is not None and order.id is not None
    notification = WxPayNotification(
        notify_id=secrets.token_hex(16),
        merchant_id=merchant.id,
        order_id=order.id,
        refund_id=refund.id if refund is not None else None,
        event_type=event_type,
        url=url,
        resource=resource,
        next_attempt_at=now,  # the first try goes out at once
        created_at=now,
    )
    session.add(notification)
    await session.flush()
    return notification


async def next_notification_due(session: AsyncSession, *, after: datetime) -> datetime | None:
    """When the next pending notification try falls due after `after`."""
    return (
        await session.exec(
            select(func.min(WxPayNotification.next_attempt_at)).where(
                WxPayNotification.state == "pending",
                col(WxPayNotification.next_attempt_at) > after,
            )
        )
    ).one()


async def claim_due(
    session: AsyncSession, *, now: datetime, wall_now: datetime, lease_until: datetime, limit: int
) -> list[Claim]:
    """Take the tries due by `now` that no other runner holds; each is this runner's until
    `lease_until` (wall time), so two processes never send the same try."""
    rows = await session.exec(
        select(WxPayNotification)
        .where(
            WxPayNotification.state == "pending",
            col(WxPayNotification.next_attempt_at) <= now,
        )
        .order_by(col(WxPayNotification.next_attempt_at), col(WxPayNotification.id))
        .limit(limit)
    )
    claims = []
    for notification in rows.all():
        if notification.leased_until is not None and notification.leased_until > wall_now:
            continue
        # Read before the UPDATE, which also refreshes the loaded row.
        seen, scheduled_at = notification.attempts, notification.next_attempt_at
        taken = await session.exec(
            update(WxPayNotification)
            .where(
                col(WxPayNotification.id) == notification.id,
                col(WxPayNotification.attempts) == seen,
                col(WxPayNotification.state) == "pending",
            )
            .values(attempts=seen + 1, leased_until=lease_until)
        )
        if taken.rowcount != 1:
            continue
        merchant = await session.get(WxPayMerchant, notification.merchant_id)
        assert merchant is not None and scheduled_at is not None
        claims.append(Claim(notification, merchant, number=seen + 1, scheduled_at=scheduled_at))
    return claims


async def record_attempt(
    session: AsyncSession,
    claim: Claim,
    *,
    body: str,
    tried_at: datetime,
    status: int | None,
    outcome: str,
    acknowledged: bool,
) -> WxPayNotification:
    """Record one try; schedule the next (from when this one was due) or finish."""
    notification = await session.get(
        WxPayNotification, claim.notification.id, populate_existing=True
    )
    assert notification is not None and notification.id is not None
    session.add(
        WxPayNotificationAttempt(
            notification_id=notification.id,
            number=claim.number,
            scheduled_at=claim.scheduled_at,
            tried_at=tried_at,
            status=status,
            outcome=outcome[:200],
            acknowledged=acknowledged,
        )
    )
    notification.body = notification.body or body
    notification.leased_until = None
    if acknowledged:
        notification.state = "delivered"
        notification.delivered_at = tried_at
        notification.next_attempt_at = None
    elif claim.number <= len(RETRY_SCHEDULE):
        notification.next_attempt_at = claim.scheduled_at + RETRY_SCHEDULE[claim.number - 1]
    else:
        notification.state = "failed"
        notification.next_attempt_at = None
    session.add(notification)
    await session.flush()
    return notification


@dataclass(frozen=True, slots=True)
class NotificationView:
    notification: WxPayNotification
    mchid: str
    out_trade_no: str
    attempts: list[WxPayNotificationAttempt]

    kinds: ClassVar[tuple[str, ...]] = ("TRANSACTION.SUCCESS", "REFUND.SUCCESS")


async def notifications(
    session: AsyncSession, *, limit: int, out_trade_no: str | None = None
) -> list[NotificationView]:
    """The newest notifications with every try, newest first (the admin's view)."""
    statement = (
        select(WxPayNotification, WxPayOrder, WxPayMerchant)
        .join(WxPayOrder, col(WxPayOrder.id) == col(WxPayNotification.order_id))
        .join(WxPayMerchant, col(WxPayMerchant.id) == col(WxPayNotification.merchant_id))
        .order_by(col(WxPayNotification.id).desc())
        .limit(limit)
    )
    if out_trade_no is not None:
        statement = statement.where(WxPayOrder.out_trade_no == out_trade_no)
    rows = list((await session.exec(statement)).all())
    ids = [notification.id for notification, _, _ in rows]
    attempts: dict[int, list[WxPayNotificationAttempt]] = {i: [] for i in ids if i is not None}
    if ids:
        found = await session.exec(
            select(WxPayNotificationAttempt)
            .where(col(WxPayNotificationAttempt.notification_id).in_(ids))
            .order_by(col(WxPayNotificationAttempt.number))
        )
        for attempt in found.all():
            attempts[attempt.notification_id].append(attempt)
    return [
        NotificationView(note, merchant.mchid, order.out_trade_no, attempts[note.id or 0])
        for note, order, merchant in rows
    ]


async def orders_of(session: AsyncSession, *, limit: int) -> list[tuple[WxPayOrder, str]]:
    """The newest orders with their merchant's mchid (admin)."""
    rows = await session.exec(
        select(WxPayOrder, WxPayMerchant.mchid)
        .join(WxPayMerchant, col(WxPayMerchant.id) == col(WxPayOrder.merchant_id))
        .order_by(col(WxPayOrder.id).desc())
        .limit(limit)
    )
    return [(order, mchid) for order, mchid in rows.all()]


async def payable(
    session: AsyncSession, *, openids: list[str], now: datetime, limit: int
) -> list[tuple[WxPayOrder, str]]:
    """The newest orders a fan of `openids` could pay now, with their merchant's mchid (the
    console's cards and codes): JSAPI orders made for one of them, and H5 and Native orders,
    which name no payer (whoever opens the link or scans the code pays)."""
    for_them = (col(WxPayOrder.trade_type) == "JSAPI") & col(WxPayOrder.payer_openid).in_(openids)
    rows = await session.exec(
        select(WxPayOrder, WxPayMerchant.mchid)
        .join(WxPayMerchant, col(WxPayMerchant.id) == col(WxPayOrder.merchant_id))
        .where(
            col(WxPayOrder.state) == WxPayTradeState.NOTPAY,
            col(WxPayOrder.expires_at) > now,
            for_them | col(WxPayOrder.trade_type).in_(("H5", "NATIVE")),
        )
        .order_by(col(WxPayOrder.id).desc())
        .limit(limit)
    )
    return [(order, mchid) for order, mchid in rows.all()]
