"""Partner services (third-party mini programs): the catalog, and paying one through the wallet
with the platform's commission taken in the same transaction."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.errors import BadArgument, Deactivated, NotFound
from botstore.models import Account, AccountKind, Fan, PartnerService
from botstore.money import Fen
from botstore.services import ledger, wallet

USE = "partner_use"


@dataclass(frozen=True, slots=True)
class Usage:
    service: PartnerService
    amount_fen: int
    partner_fen: int
    commission_fen: int
    balance_fen: int
    transaction_id: int


def commission_of(amount_fen: int, commission_bps: int) -> int:
    """The platform's cut of a payment.

    Rounded down to the fen: the platform never takes more than its stated rate, and the odd
    fraction of a fen stays with the partner (1% of ¥0.99 is 0, 1% of ¥1.99 is ¥0.01).
    """
    return amount_fen * commission_bps // 10_000


async def create(
    session: AsyncSession,
    *,
    name: str,
    category: str,
    description: str,
    app_id: str,
    commission_bps: int,
    now: datetime,
    page_path: str = "pages/index/index",
    icon_url: str = "",
) -> PartnerService:
    """A partner service with its own account."""
    name = _check_text("name", name, 60, required=True)
    category = _check_text("category", category, 32, required=True)
    description = _check_text("description", description, 300)
    app_id = _check_app_id(app_id)
    page_path = _check_text("page_path", page_path, 200, required=True)
    icon_url = _check_url("icon_url", icon_url)
    _check_commission(commission_bps)
    account = Account(kind=AccountKind.PARTNER, name=f"partner {name}", created_at=now)
    session.add(account)
    await session.flush()
    assert account.id is not None
    service = PartnerService(
        name=name,
        category=category,
        description=description,
        app_id=app_id,
        page_path=page_path,
        icon_url=icon_url,
        account_id=account.id,
        commission_bps=commission_bps,
        created_at=now,
    )
    session.add(service)
    await session.flush()
    return service


def _check_text(field: str, value: str, limit: int, *, required: bool = False) -> str:
    value = " ".join(value.split()) if field != "description" else value.strip()
    if required and not value:
        raise BadArgument(field, value, "must not be empty")
    if len(value) > limit or not value.replace("\n", " ").isprintable():
        raise BadArgument(field, value[:40], f"at most {limit} printable characters")
    return value


def _check_app_id(app_id: str) -> str:
    # A mini program's AppID: "wx" and letters or digits (the real ones have 16 more).
    if not (3 <= len(app_id) <= 32 and app_id.startswith("wx") and app_id.isascii()) or not (
        app_id.isalnum()
    ):
        raise BadArgument("app_id", app_id[:40], "a mini program AppID: wx then letters/digits")
    return app_id


def _check_url(field: str, value: str) -> str:
    value = value.strip()
    if len(value) > 500 or (value and not value.startswith(("http://", "https://"))):
        raise BadArgument(field, value[:40], "an http:// or https:// address, or empty")
    return value


def _check_commission(commission_bps: int) -> None:
    if not 0 <= commission_bps <= 10_000:
        raise BadArgument("commission_bps", str(commission_bps), "0-10000 basis points")


async def update(
    session: AsyncSession,
    service_id: int,
    *,
    name: str | None = None,
    category: str | None = None,
    description: str | None = None,
    app_id: str | None = None,
    page_path: str | None = None,
    icon_url: str | None = None,
    commission_bps: int | None = None,
) -> PartnerService:
    """Change a partner service; a new commission applies from the next payment on (past
    payments are ledger transactions and never change)."""
    service = await session.get(PartnerService, service_id)
    if service is None:
        raise NotFound("partner service", service_id)
    if name is not None:
        service.name = _check_text("name", name, 60, required=True)
    if category is not None:
        service.category = _check_text("category", category, 32, required=True)
    if description is not None:
        service.description = _check_text("description", description, 300)
    if app_id is not None:
        service.app_id = _check_app_id(app_id)
    if page_path is not None:
        service.page_path = _check_text("page_path", page_path, 200, required=True)
    if icon_url is not None:
        service.icon_url = _check_url("icon_url", icon_url)
    if commission_bps is not None:
        _check_commission(commission_bps)
        service.commission_bps = commission_bps
    session.add(service)
    await session.flush()
    return service


async def catalog(
    session: AsyncSession, *, include_inactive: bool = False
) -> list[PartnerService]:
    """The active partner services, oldest first (their ids are what fans type); with
    `include_inactive` (the admin's view), every one."""
    statement = select(PartnerService).order_by(col(PartnerService.id))
    if not include_inactive:
        statement = statement.where(col(PartnerService.active))
    return list((await session.exec(statement)).all())


async def use(
    session: AsyncSession, fan: Fan, *, service_id: int, amount: Fen, key: str, now: datetime
) -> Usage:
    """Pay a partner service from the wallet, once per `key`; the platform keeps its commission."""
    service = await session.get(PartnerService, service_id)
    if service is None:
        raise NotFound("partner service", service_id)
    if not service.active:
        raise Deactivated("partner service", service_id, service.name)
    commission = commission_of(amount, service.commission_bps)
    partner_share = amount - commission
    account_id = wallet.wallet_id(fan)
    legs = [ledger.Leg(account_id, -amount)]
    # The ledger refuses zero legs: a 0% partner pays no commission leg, a 100% one no partner leg.
    if partner_share:
        legs.append(ledger.Leg(service.account_id, partner_share))
    if commission:
        platform = await ledger.system_account(session, AccountKind.PLATFORM)
        assert platform.id is not None
        legs.append(ledger.Leg(platform.id, commission))
    txn = await ledger.transfer(
        session, key=f"{key}:{USE}", kind=USE, legs=legs, now=now, memo=f"partner #{service.id}"
    )
    assert txn.id is not None
    balance = await ledger.balance_of(session, account_id)
    return Usage(service, amount, partner_share, commission, balance, txn.id)
