"""Account statements as people read them: each ledger movement with what it was and who was on
the other side ("Paid Tea House, order #12", "Tip to 'How we brew Longjing'"), found from the
rows the movement belongs to. Knows which key and memo each service gives its transactions."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.models import (
    Article,
    ArticleTip,
    Fan,
    GroupBuy,
    GroupMember,
    Holding,
    LedgerEntry,
    LedgerTransaction,
    Merchant,
    Order,
    PartnerService,
    Product,
    Store,
    WealthProduct,
    WxPayMerchant,
    WxPayOrder,
    WxPayRefund,
)
from botstore.numbers import ID_MAX, parse_whole
from botstore.services import (
    earnings,
    groups,
    merchants,
    orders,
    partners,
    stores,
    wallet,
    wealth,
    wxpay,
)


@dataclass(frozen=True, slots=True)
class Movement:
    """One movement of one account: `kind` is the ledger kind, `about` the values that name its
    counterparty (store, order_id, title, ...; empty when nothing more is known)."""

    at: datetime
    amount_fen: int
    kind: str
    about: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class History:
    """A fan's newest wallet movements and, for a store owner, the store's."""

    wallet: list[Movement]
    store: Store | None
    store_movements: list[Movement]


async def history(session: AsyncSession, fan: Fan, *, limit: int) -> History:
    mine = await movements_of(session, wallet.wallet_id(fan), limit=limit)
    store = await stores.store_of(session, fan)
    if store is None:
        return History(mine, None, [])
    return History(mine, store, await movements_of(session, store.account_id, limit=limit))


async def movements_of(session: AsyncSession, account_id: int, *, limit: int) -> list[Movement]:
    """The newest movements of an account, newest first, each described."""
    rows = await session.exec(
        select(LedgerEntry, LedgerTransaction)
        .join(LedgerTransaction, col(LedgerTransaction.id) == LedgerEntry.transaction_id)
        .where(LedgerEntry.account_id == account_id)
        .order_by(col(LedgerEntry.id).desc())
        .limit(limit)
    )
    out = []
    for entry, txn in rows.all():
        describe = _DESCRIBERS.get(entry.kind)
        about = await describe(session, entry, txn) if describe else {}
        out.append(Movement(entry.created_at, entry.amount_fen, entry.kind, about or {}))
    return out


Describer = Callable[[AsyncSession, LedgerEntry, LedgerTransaction], Awaitable[dict[str, Any]]]


def _id_in(text: str, prefix: str) -> int | None:
    """The id after `prefix` in a key or memo: 'order:12:refund' with 'order:' -> 12."""
    if not text.startswith(prefix):
        return None
    return parse_whole(text[len(prefix) :].split(":")[0].split(" ")[0], maximum=ID_MAX)


async def _first(session: AsyncSession, statement: Any) -> Any:
    return (await session.exec(statement)).first()


async def _store_name(session: AsyncSession, store_id: int | None) -> str:
    store = await session.get(Store, store_id) if store_id else None
    return store.name if store else ""


async def _order_pay(session: AsyncSession, entry: LedgerEntry, txn: LedgerTransaction) -> dict:
    # orders.buy keys the payment `<message key>:pay` and the order `<message key>:order`.
    key = txn.key.removesuffix(":pay") + ":order"
    order = await _first(session, select(Order).where(Order.key == key))
    if order is None:
        return {}
    seller = order.affiliate_store_id or order.supplier_store_id
    return {"order_id": order.id, "store": await _store_name(session, seller)}


async def _order_id(session: AsyncSession, entry: LedgerEntry, txn: LedgerTransaction) -> dict:
    # Releases and refunds are keyed on the order: `order:<id>:release`, `order:<id>:refund`.
    order_id = _id_in(txn.key, "order:")
    order = await session.get(Order, order_id) if order_id else None
    if order is None:
        return {}
    if entry.kind != orders.RELEASE:
        return {"order_id": order.id}
    # A release pays the supplier's store its price and a reseller's store its margin.
    store = await _first(session, select(Store).where(Store.account_id == entry.account_id))
    role = "supplier" if store is not None and store.id == order.supplier_store_id else "affiliate"
    return {"order_id": order.id, "role": role}


async def _group_pay(session: AsyncSession, entry: LedgerEntry, txn: LedgerTransaction) -> dict:
    key = txn.key.removesuffix(":group-pay") + ":group-member"
    member = await _first(session, select(GroupMember).where(GroupMember.key == key))
    group = await session.get(GroupBuy, member.group_id) if member else None
    if group is None:
        return {}
    product = await session.get(Product, group.product_id)
    return {
        "group_id": group.id,
        "store": await _store_name(session, product.store_id if product else None),
    }


async def _group_refund(session: AsyncSession, entry: LedgerEntry, txn: LedgerTransaction) -> dict:
    group_id = _id_in(txn.key, "group:")
    return {"group_id": group_id} if group_id else {}


async def _merchant(session: AsyncSession, entry: LedgerEntry, txn: LedgerTransaction) -> dict:
    code = txn.memo.removeprefix("merchant ")
    merchant = await _first(session, select(Merchant).where(Merchant.code == code))
    return {"name": merchant.name} if merchant else {}


async def _partner(session: AsyncSession, entry: LedgerEntry, txn: LedgerTransaction) -> dict:
    service_id = _id_in(txn.memo, "partner #")
    service = await session.get(PartnerService, service_id) if service_id else None
    return {"name": service.name} if service else {}


async def _tip(session: AsyncSession, entry: LedgerEntry, txn: LedgerTransaction) -> dict:
    tip = await _first(session, select(ArticleTip).where(ArticleTip.transaction_id == txn.id))
    article = await session.get(Article, tip.article_id) if tip else None
    return {"title": article.title} if article else {}


async def _product_of_holding(session: AsyncSession, holding: Holding | None) -> dict:
    product = await session.get(WealthProduct, holding.product_id) if holding else None
    return {"product": product.name} if product else {}


async def _invest(session: AsyncSession, entry: LedgerEntry, txn: LedgerTransaction) -> dict:
    # wealth.invest keys both the transaction and the holding `<message key>:invest`.
    holding = await _first(session, select(Holding).where(Holding.key == txn.key))
    return await _product_of_holding(session, holding)


async def _payout(session: AsyncSession, entry: LedgerEntry, txn: LedgerTransaction) -> dict:
    # Dividends are keyed `payout:<holding>:<period>`, maturities `maturity:<holding>`.
    holding_id = _id_in(txn.key, "payout:") or _id_in(txn.key, "maturity:")
    holding = await session.get(Holding, holding_id) if holding_id else None
    return await _product_of_holding(session, holding)


async def _wxpay(session: AsyncSession, entry: LedgerEntry, txn: LedgerTransaction) -> dict:
    # The memo is `wxpay <mchid> <out_trade_no>`.
    _, mchid, out_trade_no = (txn.memo.split(" ", 2) + ["", ""])[:3]
    order = await _first(
        session,
        select(WxPayOrder)
        .join(WxPayMerchant, col(WxPayMerchant.id) == WxPayOrder.merchant_id)
        .where(WxPayMerchant.mchid == mchid, WxPayOrder.out_trade_no == out_trade_no),
    )
    return {"description": order.description} if order else {}


async def _wxpay_refund(session: AsyncSession, entry: LedgerEntry, txn: LedgerTransaction) -> dict:
    refund_id = _id_in(txn.key, "wxpay_refund:")
    refund = await session.get(WxPayRefund, refund_id) if refund_id else None
    order = await session.get(WxPayOrder, refund.order_id) if refund else None
    return {"description": order.description} if order else {}


async def _withdraw(session: AsyncSession, entry: LedgerEntry, txn: LedgerTransaction) -> dict:
    store_id = _id_in(txn.memo, "store #")
    name = await _store_name(session, store_id)
    return {"store": name} if name else {}


_DESCRIBERS: dict[str, Describer] = {
    orders.PAY: _order_pay,
    orders.RELEASE: _order_id,
    orders.REFUND: _order_id,
    groups.PAY: _group_pay,
    groups.REFUND: _group_refund,
    merchants.PAYMENT: _merchant,
    partners.USE: _partner,
    "tip": _tip,  # articles.tip's kind
    wealth.INVEST: _invest,
    wealth.DIVIDEND: _payout,
    wealth.MATURITY: _payout,
    wxpay.PAYMENT: _wxpay,
    wxpay.REFUND: _wxpay_refund,
    earnings.WITHDRAW: _withdraw,
}
