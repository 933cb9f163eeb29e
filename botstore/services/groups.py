"""Group buying: members pay the group price into escrow as they join; a full group turns into
paid orders, a group past its deadline fails and refunds everyone."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.errors import GroupUnavailable, NoGroupPrice, NotFound, OwnProduct
from botstore.models import (
    AccountKind,
    Fan,
    GroupBuy,
    GroupMember,
    GroupStatus,
    Order,
    OrderStatus,
    Product,
)
from botstore.services import ledger, notices, orders, stores, wallet
from botstore.services.ledger import Leg
from botstore.services.notices import Render

PAY = "group_pay"
REFUND = "group_refund"
FILLED = "group_filled"  # the notice to each member but the one who filled the group
ORDERS = "group_orders"  # the notice to the supplier: the group's orders to ship


@dataclass(frozen=True, slots=True)
class Joined:
    """A member's place in a group; `orders` is set when this member completed the group."""

    group: GroupBuy
    member: GroupMember
    product: Product
    orders: list[Order] = field(default_factory=list)

    @property
    def my_order(self) -> Order | None:
        return next((o for o in self.orders if o.buyer_fan_id == self.member.fan_id), None)


async def _pay(
    session: AsyncSession, fan: Fan, group: GroupBuy, product: Product, *, key: str, now: datetime
) -> GroupMember:
    # Each member holds one unit from joining on, so a full group can always be delivered.
    await orders.reserve_stock(session, product.id or 0, 1)
    escrow = await ledger.system_account(session, AccountKind.ESCROW)
    await ledger.transfer(
        session,
        key=f"{key}:group-pay",
        kind=PAY,
        legs=[Leg(wallet.wallet_id(fan), -group.price_fen), Leg(escrow.id or 0, group.price_fen)],
        now=now,
    )
    member = GroupMember(
        group_id=group.id or 0,
        fan_id=fan.id or 0,
        key=f"{key}:group-member",
        paid_fen=group.price_fen,
        joined_at=now,
    )
    session.add(member)
    await session.flush()
    return member


async def start(
    session: AsyncSession, fan: Fan, *, product_id: int, key: str, now: datetime
) -> Joined:
    """Start a group buy at the product's group price; the starter pays and is its first member."""
    listing = await stores.listing_on_sale(session, product_id, fan)
    product = listing.product
    if product.group_price_fen is None or product.group_size is None or listing.is_resale:
        raise NoGroupPrice(product_id)
    if listing.store.owner_fan_id == fan.id:
        raise OwnProduct(product_id, "group-buy")
    group = GroupBuy(
        product_id=product_id,
        leader_fan_id=fan.id or 0,
        price_fen=product.group_price_fen,
        size=product.group_size,
        joined=1,
        status=GroupStatus.OPEN,
        deadline_at=now + timedelta(hours=product.group_hours),
        created_at=now,
    )
    session.add(group)
    await session.flush()
    member = await _pay(session, fan, group, product, key=key, now=now)
    return Joined(group, member, product)


async def join(
    session: AsyncSession,
    fan: Fan,
    *,
    group_id: int,
    key: str,
    now: datetime,
    render: Render | None = None,
) -> Joined:
    """Join an open group and pay; the member who fills it creates every member's order (and,
    with `render`, the other members and the supplier are told)."""
    group = await session.get(GroupBuy, group_id)
    if group is None:
        raise NotFound("group", group_id)
    product = await session.get(Product, group.product_id)
    assert product is not None
    # A group of a product taken off sale can't fill any more: it fails at its deadline and
    # refunds its members, as any group that doesn't fill.
    listing = await stores.listing_on_sale(session, group.product_id, fan)
    if listing.store.owner_fan_id == fan.id:
        raise OwnProduct(group.product_id, "group-buy")
    already = await session.exec(
        select(GroupMember.id).where(
            GroupMember.group_id == group_id, GroupMember.fan_id == fan.id
        )
    )
    if already.first() is not None:
        raise GroupUnavailable(group_id, "joined")
    # The slot is taken by a conditional UPDATE: of two fans racing for the last one, the second
    # waits on the row and then finds no slot left.
    taken = await session.exec(
        update(GroupBuy)
        .where(
            col(GroupBuy.id) == group_id,
            col(GroupBuy.status) == GroupStatus.OPEN,
            col(GroupBuy.joined) < col(GroupBuy.size),
            col(GroupBuy.deadline_at) > now,
        )
        .values(joined=col(GroupBuy.joined) + 1)
    )
    await session.refresh(group)
    if taken.rowcount != 1:
        # A completed group is one that filled; a failed one refunded its members.
        if group.status == GroupStatus.FAILED:
            raise GroupUnavailable(group_id, "failed")
        if group.status != GroupStatus.OPEN:
            raise GroupUnavailable(group_id, "full")
        if group.deadline_at <= now:
            raise GroupUnavailable(group_id, "expired")
        raise GroupUnavailable(group_id, "full")
    member = await _pay(session, fan, group, product, key=key, now=now)
    if group.joined < group.size:
        return Joined(group, member, product)
    created = await _complete(session, group, listing, now=now)
    if render is not None:
        await _notify_filled(session, group, listing, created, fan, render=render, now=now)
    return Joined(group, member, product, created)


async def _notify_filled(
    session: AsyncSession,
    group: GroupBuy,
    listing: stores.Listing,
    created: list[Order],
    filled_by: Fan,
    *,
    render: Render,
    now: datetime,
) -> None:
    values = {"group_id": group.id, "product": listing.product.name, "price_fen": group.price_fen}
    for order in created:
        if order.buyer_fan_id == filled_by.id:  # the reply tells this one
            continue
        member = await session.get(Fan, order.buyer_fan_id)
        assert member is not None
        await notices.notify(
            session,
            member,
            "notifications/group_filled.txt",
            values | {"order_id": order.id},
            render=render,
            reason=FILLED,
            now=now,
        )
    supplier, owner = await notices.owner_of(session, listing.supplier_store.id or 0)
    await notices.notify(
        session,
        owner,
        "notifications/group_orders.txt",
        values | {"order_ids": [order.id for order in created]},
        render=render,
        reason=ORDERS,
        now=now,
        store=supplier,
    )


async def _complete(
    session: AsyncSession, group: GroupBuy, listing: stores.Listing, *, now: datetime
) -> list[Order]:
    group.status = GroupStatus.COMPLETED
    group.closed_at = now
    session.add(group)
    members = await session.exec(
        select(GroupMember).where(GroupMember.group_id == group.id).order_by(col(GroupMember.id))
    )
    created = []
    for member in members.all():
        # The money is in escrow since the member joined: the order only records it.
        order = Order(
            key=f"{member.key}:order",
            buyer_fan_id=member.fan_id,
            product_id=group.product_id,
            supplier_product_id=listing.supplier.id or 0,
            supplier_store_id=listing.supplier_store.id or 0,
            group_id=group.id,
            qty=1,
            unit_price_fen=group.price_fen,
            supplier_unit_fen=group.price_fen,
            total_fen=member.paid_fen,
            status=OrderStatus.PAID,
            paid_at=now,
        )
        session.add(order)
        created.append(order)
    await session.flush()
    return created


async def next_deadline(session: AsyncSession, *, after: datetime) -> datetime | None:
    """The earliest deadline of an open group buy after `after`."""
    return (
        await session.exec(
            select(func.min(GroupBuy.deadline_at)).where(
                GroupBuy.status == GroupStatus.OPEN, col(GroupBuy.deadline_at) > after
            )
        )
    ).one()


async def expire_due(
    session: AsyncSession, *, now: datetime, render: Render | None = None
) -> list[GroupBuy]:
    """Fail every open group past its deadline and refund each member in full, exactly once.

    With `render`, each refunded member gets a customer-service message in the outbox, written in
    the same transaction as the refund.
    """
    due = await session.exec(
        select(GroupBuy)
        .where(GroupBuy.status == GroupStatus.OPEN, col(GroupBuy.deadline_at) <= now)
        .order_by(col(GroupBuy.id))
    )
    failed = []
    escrow = await ledger.system_account(session, AccountKind.ESCROW)
    for group in due.all():
        closed = await session.exec(
            update(GroupBuy)
            .where(col(GroupBuy.id) == group.id, col(GroupBuy.status) == GroupStatus.OPEN)
            .values(status=GroupStatus.FAILED, closed_at=now)
        )
        if closed.rowcount != 1:  # another scheduler run got it first
            continue
        await session.refresh(group)
        members = (
            await session.exec(
                select(GroupMember)
                .where(GroupMember.group_id == group.id)
                .order_by(col(GroupMember.id))
            )
        ).all()
        await orders.restock(session, group.product_id, len(members))
        for member in members:
            fan = await session.get(Fan, member.fan_id)
            assert fan is not None
            await ledger.transfer(
                session,
                key=f"group:{group.id}:member:{member.id}:refund",
                kind=REFUND,
                legs=[
                    Leg(escrow.id or 0, -member.paid_fen),
                    Leg(wallet.wallet_id(fan), member.paid_fen),
                ],
                now=now,
            )
            if render is not None:
                await notices.notify(
                    session,
                    fan,
                    "notifications/group_refunded.txt",
                    {"group_id": group.id, "amount_fen": member.paid_fen},
                    render=render,
                    reason=REFUND,
                    now=now,
                )
        failed.append(group)
    return failed
