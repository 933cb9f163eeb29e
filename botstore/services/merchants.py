"""Offline merchants: paid by code, or through a conversation their QR scene starts."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.errors import BadArgument, Deactivated, NotFound, UnknownMerchant
from botstore.models import Account, AccountKind, Conversation, Fan, Merchant, QrCode
from botstore.money import Fen
from botstore.services import conversations, ledger, qrcodes, wallet

PAYMENT = "merchant_pay"
# The conversation a scan opens: it waits for the amount (conversations.DEFAULT_TTL).
CONVERSATION = "merchant_pay"


@dataclass(frozen=True, slots=True)
class Payment:
    merchant: Merchant
    amount_fen: int
    balance_fen: int
    transaction_id: int


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A scan payment the wallet can't cover yet: the conversation waits for a top-up."""

    merchant: Merchant
    amount_fen: int
    balance_fen: int


def _normal_code(code: str) -> str:
    return code.strip().upper()


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= 60 or not cleaned.isprintable():
        raise BadArgument("name", name[:60], "1-60 printable characters")
    return cleaned


async def create(
    session: AsyncSession, *, code: str, name: str, scene: str | None = None, now: datetime
) -> Merchant:
    """A merchant with its own account; codes are stored upper-case, the scene defaults to
    `merchant_<CODE>`. Code and scene are unique: a QR code printed for one never pays another."""
    code = _normal_code(code)
    if not code or len(code) > 32 or not code.isascii() or not code.isalnum():
        raise BadArgument("code", code, "1-32 letters or digits")
    name = _clean_name(name)
    scene = f"merchant_{code}" if scene is None else scene
    if not 1 <= len(scene) <= 64 or not scene.isprintable() or scene != "".join(scene.split()):
        raise BadArgument("scene", scene[:64], "1-64 printable characters without spaces")
    if (await session.exec(select(Merchant.id).where(Merchant.code == code))).first():
        raise BadArgument("code", code, "another merchant has this code")
    if (await session.exec(select(Merchant.id).where(Merchant.scene == scene))).first():
        raise BadArgument("scene", scene, "another merchant has this scene")
    account = Account(kind=AccountKind.MERCHANT, name=f"merchant {code}", created_at=now)
    session.add(account)
    await session.flush()
    assert account.id is not None
    merchant = Merchant(code=code, name=name, scene=scene, account_id=account.id, created_at=now)
    session.add(merchant)
    await session.flush()
    return merchant


async def rename(session: AsyncSession, merchant_id: int, *, name: str) -> Merchant:
    """A new display name; the code and scene stay, since printed QR codes carry them."""
    merchant = await session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound("merchant", merchant_id)
    merchant.name = _clean_name(name)
    session.add(merchant)
    await session.flush()
    return merchant


async def all_merchants(session: AsyncSession) -> list[Merchant]:
    """Every merchant, oldest first, active or not (the admin's list: fans get no list)."""
    return list((await session.exec(select(Merchant).order_by(col(Merchant.id)))).all())


async def qr_code(session: AsyncSession, merchant: Merchant, *, now: datetime) -> QrCode:
    """The merchant's permanent QR code (QR_LIMIT_STR_SCENE with its scene), made once."""
    return await qrcodes.create(
        session, qrcodes.Scene("QR_LIMIT_STR_SCENE", scene_str=merchant.scene), now=now
    )


async def qr_codes_of(session: AsyncSession, scenes: list[str]) -> dict[str, QrCode]:
    """The permanent QR codes already made for these scenes, by scene."""
    rows = await session.exec(
        select(QrCode).where(
            col(QrCode.scene).in_(scenes),
            QrCode.action_name == "QR_LIMIT_STR_SCENE",
            col(QrCode.expire_at).is_(None),
        )
    )
    return {code.scene: code for code in rows.all()}


async def by_code(session: AsyncSession, code: str) -> Merchant:
    merchant = (
        await session.exec(select(Merchant).where(Merchant.code == _normal_code(code)))
    ).first()
    if merchant is None:
        raise UnknownMerchant(code)
    return merchant


async def by_scene(session: AsyncSession, scene: str) -> Merchant | None:
    if not scene:
        return None
    return (await session.exec(select(Merchant).where(Merchant.scene == scene))).first()


async def pay(
    session: AsyncSession, fan: Fan, *, code: str, amount: Fen, key: str, now: datetime
) -> Payment:
    """Pay the merchant with this code from the fan's wallet, once per `key`."""
    return await _pay(session, fan, await by_code(session, code), amount=amount, key=key, now=now)


def refuse_if_inactive(merchant: Merchant) -> None:
    """Raise Deactivated for a merchant the admin turned off: it takes no payments."""
    if not merchant.active:
        raise Deactivated("merchant", merchant.code, merchant.name)


async def _pay(
    session: AsyncSession, fan: Fan, merchant: Merchant, *, amount: Fen, key: str, now: datetime
) -> Payment:
    # Every payment path (by code, after a scan) passes here, before anything is written.
    refuse_if_inactive(merchant)
    account_id = wallet.wallet_id(fan)
    txn = await ledger.transfer(
        session,
        key=f"{key}:{PAYMENT}",
        kind=PAYMENT,
        legs=[ledger.Leg(account_id, -amount), ledger.Leg(merchant.account_id, amount)],
        now=now,
        memo=f"merchant {merchant.code}",
    )
    assert txn.id is not None
    return Payment(merchant, amount, await ledger.balance_of(session, account_id), txn.id)


async def start_payment(
    session: AsyncSession,
    fan: Fan,
    *,
    scene: str | None,
    now: datetime,
    refuse_inactive: bool = True,
) -> Merchant | None:
    """A scan of a merchant's scene opens a payment conversation; other scenes do nothing.

    An inactive merchant's scene raises Deactivated; with `refuse_inactive` off it is treated as
    any other scene (None), for a follow, whose subscription must be kept and welcomed.
    """
    merchant = await by_scene(session, scene or "")
    if merchant is None or (not merchant.active and not refuse_inactive):
        return None
    refuse_if_inactive(merchant)
    await conversations.start(
        session, fan, kind=CONVERSATION, data={"merchant_id": merchant.id}, now=now
    )
    return merchant


async def pending_merchant(session: AsyncSession, conversation: Conversation) -> Merchant | None:
    """The merchant a payment conversation is for (None if it has gone)."""
    merchant_id = conversation.data.get("merchant_id")
    return await session.get(Merchant, merchant_id) if isinstance(merchant_id, int) else None


def waits_for_topup(conversation: Conversation) -> bool:
    """True once the fan was short: other commands (a top-up) then leave the payment open."""
    return bool(conversation.data.get("short"))


async def pay_pending(
    session: AsyncSession,
    fan: Fan,
    *,
    conversation: Conversation,
    merchant: Merchant,
    amount: Fen,
    key: str,
    now: datetime,
) -> Payment | Shortfall:
    """Pay the amount the fan sent into a scan's conversation, which then ends.

    A wallet that can't cover it keeps the conversation open, marked short, so the fan can top
    up and send the amount again. The balance read is only for that reply: the payment itself is
    the ledger's conditional debit, so a race still can't overdraw (it raises InsufficientFunds).
    """
    # Deactivated since the scan: refused before the shortfall check, so the fan isn't asked
    # to top up for a payment that can't happen.
    refuse_if_inactive(merchant)
    balance = await wallet.balance(session, fan)
    if balance < amount:
        conversation.data = {**conversation.data, "short": True}
        session.add(conversation)
        return Shortfall(merchant, amount, balance)
    payment = await _pay(session, fan, merchant, amount=amount, key=key, now=now)
    await conversations.finish(session, fan)
    return payment


async def cancel_payment(session: AsyncSession, fan: Fan) -> None:
    """End the fan's payment conversation; nothing has moved."""
    await conversations.finish(session, fan)
