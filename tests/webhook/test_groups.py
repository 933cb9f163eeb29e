"""Group buying through the webhook: start, join, completion into orders, expiry refunds."""

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import col, select

from botstore.clock import FrozenClock
from botstore.console.client import Emulator
from botstore.models import GroupBuy, GroupMember, GroupStatus, Order, OutboxMessage
from botstore.services import groups
from tests.helpers import count
from tests.webhook.westore import (
    balance,
    escrow_balance,
    first_id,
    list_product,
    open_store,
    say,
    stock,
    store_balance,
    topup,
)


@pytest.fixture
async def tea(wechat: Emulator) -> int:
    """Green-tea #1 at 12.50, stock 5; 3 fans together pay 9.90 each. Fans a-e have 50 each."""
    await open_store(wechat, "o_tea", "Tea House")
    product_id = await list_product(wechat, "o_tea", "Green-tea", "12.5", 5)
    await say(wechat, "o_tea", f"groupprice {product_id} 9.9 3")
    for fan in ("o_a", "o_b", "o_c", "o_d", "o_e"):
        await topup(wechat, fan, "50")
    return product_id


async def test_a_full_group_creates_every_members_order(
    wechat: Emulator, sessions, clock: FrozenClock, tea
) -> None:
    assert await say(wechat, "o_a", "拼团 1") == (
        "你已加入 Green-tea 的拼团 #1：已付 ¥9.90，已有 1/3 人参加。朋友可在 2026年1月2日 12:00 前"
        '发送"参团 #1"加入；未成团则全员退款。\n时间均为中国时间。'
    )
    assert "2/3 joined" in await say(wechat, "o_b", "join #1")
    assert await count(sessions, Order) == 0
    assert await escrow_balance(sessions) == 2 * 990
    assert await stock(sessions, tea) == 3  # each member holds a unit

    clock.advance(timedelta(hours=23))
    assert await say(wechat, "o_c", "参团 1") == (
        "拼团 #1 已成团（3/3）！你的订单 #3 已付款（¥9.90）；所有成员的订单都已下单，接下来由店铺发货。"
    )
    async with sessions() as session:
        group = await session.get(GroupBuy, 1)
        made = (await session.exec(select(Order).order_by(col(Order.id)))).all()
    assert group is not None and group.status == GroupStatus.COMPLETED
    assert [(o.buyer_fan_id, o.group_id, o.unit_price_fen, o.total_fen) for o in made] == [
        (made[0].buyer_fan_id, 1, 990, 990),
        (made[1].buyer_fan_id, 1, 990, 990),
        (made[2].buyer_fan_id, 1, 990, 990),
    ]
    assert len({o.buyer_fan_id for o in made}) == 3
    assert "#1 Green-tea x1 ¥9.90 paid (group #1)" in await say(wechat, "o_a", "orders")
    assert await balance(wechat, "o_a") == "40.10"

    # The group's orders go on like any other.
    await say(wechat, "o_tea", "ship 1")
    await say(wechat, "o_a", "received 1")
    assert await store_balance(sessions, "o_tea") == 990
    assert await escrow_balance(sessions) == 2 * 990

    # A group that filled says so, not "closed" (issue 15).
    assert await say(wechat, "o_d", "join 1") == "Group #1 is full."


async def test_group_and_join_refusals_change_nothing(
    wechat: Emulator, sessions, clock: FrozenClock, tea
) -> None:
    await list_product(wechat, "o_tea", "Cup", "3", 5)
    assert await say(wechat, "o_a", "group 2") == (
        'Product #2 has no group price; its store sets one with "groupprice <product id> '
        '<price> <size>".'
    )
    assert await say(wechat, "o_a", "group 9") == "There is no product #9."
    assert await say(wechat, "o_tea", "group 1") == (
        "Product #1 is from your own store: you can't group-buy it."
    )
    assert await say(wechat, "o_poor", "group 1") == (
        "Not enough money: this needs ¥9.90 and the balance is ¥0.00. "
        'Send "topup <amount>" to add some.'
    )
    assert await count(sessions, GroupBuy) == 0

    # On PostgreSQL the refused group above used up an id: read it from the reply.
    group_id = first_id(await say(wechat, "o_a", "group 1"))
    assert await say(wechat, "o_a", f"join {group_id}") == f"You are already in group #{group_id}."
    assert await say(wechat, "o_tea", f"join {group_id}") == (
        "Product #1 is from your own store: you can't group-buy it."
    )
    assert await say(wechat, "o_poor", f"join {group_id}") == (
        "Not enough money: this needs ¥9.90 and the balance is ¥0.00. "
        'Send "topup <amount>" to add some.'
    )
    assert await say(wechat, "o_b", "join 77") == "There is no group #77."
    clock.advance(timedelta(hours=24))
    assert (
        await say(wechat, "o_b", f"join {group_id}") == f"Group #{group_id} is past its deadline."
    )
    async with sessions() as session:
        group = await session.get(GroupBuy, group_id)
    assert group is not None and group.joined == 1
    assert await count(sessions, GroupMember) == 1
    assert await stock(sessions, tea) == 4


async def test_a_group_that_does_not_fill_refunds_everyone_once(
    wechat: Emulator, sessions, clock: FrozenClock, tea
) -> None:
    await say(wechat, "o_a", "group 1")
    await say(wechat, "o_b", "join 1")
    await say(wechat, "o_c", "group 1")  # a second group, still open when the first expires
    clock.advance(timedelta(hours=1))
    await say(wechat, "o_d", "group 1")
    clock.advance(timedelta(hours=23))

    async with sessions() as session, session.begin():
        failed = await groups.expire_due(session, now=clock.now())
    assert [group.id for group in failed] == [1, 2]
    async with sessions() as session, session.begin():
        assert await groups.expire_due(session, now=clock.now()) == []

    for fan in ("o_a", "o_b", "o_c"):
        assert await balance(wechat, fan) == "50.00"
    assert await balance(wechat, "o_d") == "40.10"
    assert await escrow_balance(sessions) == 990
    assert await stock(sessions, tea) == 4
    assert await count(sessions, Order) == 0
    # A failed group says it failed and refunded its members (issue 15).
    assert await say(wechat, "o_e", "join 1") == (
        "Group #1 failed and was refunded: it did not fill before its deadline. Start a new one "
        'with "group <product id>".'
    )
    assert await say(wechat, "o_e", "参团 1") == (
        '拼团 #1 未成团，已全额退款：截止前没有凑满人数。发送"拼团 <商品编号>"发起新的拼团。'
    )


async def test_two_fans_racing_for_the_last_slot_do_not_both_get_in(
    wechat: Emulator, sessions, tea
) -> None:
    await say(wechat, "o_a", "group 1")
    await say(wechat, "o_b", "join 1")
    replies = await asyncio.gather(*(say(wechat, fan, "join 1") for fan in ("o_c", "o_d", "o_e")))

    assert sum(reply.startswith("Group #1 is complete") for reply in replies) == 1
    assert sum(reply == "Group #1 is full." for reply in replies) == 2
    assert await count(sessions, GroupMember) == 3
    assert await count(sessions, Order) == 3
    assert await escrow_balance(sessions) == 3 * 990
    assert await stock(sessions, tea) == 2
    left = sorted([await balance(wechat, fan) for fan in ("o_c", "o_d", "o_e")])
    assert left == ["40.10", "50.00", "50.00"]


async def test_a_group_needs_stock_for_each_member(wechat: Emulator, sessions) -> None:
    await open_store(wechat, "o_tea", "Tea House")
    await list_product(wechat, "o_tea", "Green-tea", "12.5", 1)
    await say(wechat, "o_tea", "groupprice 1 9.9 2")
    await topup(wechat, "o_a", "50")
    await topup(wechat, "o_b", "50")
    await say(wechat, "o_a", "group 1")
    assert await say(wechat, "o_b", "join 1") == "Product #1 is sold out; you asked for 1."
    async with sessions() as session:
        group = await session.get(GroupBuy, 1)
    assert group is not None and group.joined == 1
    assert await balance(wechat, "o_b") == "50.00"


async def test_advancing_the_clock_past_the_deadline_refunds_and_notifies_each_member(
    wechat: Emulator, sessions, client, config, tea
) -> None:
    await say(wechat, "o_a", "group 1")
    await say(wechat, "o_b", "join 1")
    headers = {"Authorization": f"Bearer {config.admin.token}"}
    response = await client.post("/admin/api/clock/advance", json={"hours": 25}, headers=headers)
    assert response.status == 200
    ran = [entry["job"] for entry in (await response.json())["ran"]]
    assert "groups.expire_due" in ran

    async with sessions() as session:
        notes = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    refunds = [note for note in notes if note.reason == "group_refund"]
    assert [note.openid for note in refunds] == ["o_a", "o_b"]
    assert refunds[0].payload["text"]["content"] == (
        "Group buy #1 did not fill before its deadline: ¥9.90 is back in your wallet."
    )
    for fan in ("o_a", "o_b"):
        assert await balance(wechat, fan) == "50.00"
