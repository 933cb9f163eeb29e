"""Admin stores and products: create, edit, refusals naming the field, and a product made in the
admin bought by a fan through the signed webhook."""

import pytest
from aiohttp.test_utils import TestClient
from sqlmodel import col, select

from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import OutboxMessage
from tests.admin.test_entities import api, refused, signed_in_page
from tests.webhook.westore import balance, say, store_balance, topup


async def outbox_texts(sessions, openid: str, reason: str) -> list[str]:
    async with sessions() as session:
        rows = await session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.openid == openid, OutboxMessage.reason == reason)
            .order_by(col(OutboxMessage.id))
        )
        return [row.payload["text"]["content"] for row in rows.all()]


async def owner_store(client: TestClient, config: Config, wechat: Emulator) -> int:
    await wechat.say("balance", fan="o_owner")  # first contact makes the fan
    status, data = await api(
        client,
        config,
        "POST",
        "stores",
        {"owner_openid": "o_owner", "name": "  Tea   Corner ", "description": "Leaves"},
    )
    assert status == 201, data
    assert data["store"]["name"] == "Tea Corner"
    assert data["store"]["owner_openid"] == "o_owner"
    return data["store"]["id"]


async def test_a_store_and_product_made_in_the_admin_can_be_bought_by_chat(
    client: TestClient, config: Config, wechat: Emulator, sessions
) -> None:
    store_id = await owner_store(client, config, wechat)
    status, data = await api(
        client,
        config,
        "POST",
        "products",
        {"store_id": store_id, "name": "Oolong", "price": "12.5", "stock": 3},
    )
    assert status == 201, data
    product = data["product"]
    assert (product["price_fen"], product["stock"], product["store_name"]) == (
        1250,
        3,
        "Tea Corner",
    )

    await topup(wechat, "o_buyer", "100")
    reply = await say(wechat, "o_buyer", f"buy {product['id']} 2")
    assert reply.startswith("Order #") and "paid ¥25.00" in reply, reply
    assert await balance(wechat, "o_buyer") == "75.00"
    status, data = await api(client, config, "GET", f"products?store_id={store_id}")
    assert data["products"][0]["stock"] == 1
    order = int(reply.split("#")[1].split()[0].rstrip(":.,"))
    await say(wechat, "o_owner", f"ship {order}")
    await say(wechat, "o_buyer", f"received {order}")
    assert await store_balance(sessions, "o_owner") == 2500


async def test_editing_a_price_leaves_paid_orders_alone(
    client: TestClient, config: Config, wechat: Emulator, sessions
) -> None:
    store_id = await owner_store(client, config, wechat)
    _, data = await api(
        client,
        config,
        "POST",
        "products",
        {"store_id": store_id, "name": "Puer", "price": 10, "stock": 5},
    )
    product_id = data["product"]["id"]
    await topup(wechat, "o_buyer", "100")
    reply = await say(wechat, "o_buyer", f"buy {product_id}")
    order = int(reply.split("#")[1].split()[0].rstrip(":.,"))

    status, data = await api(
        client,
        config,
        "PATCH",
        f"products/{product_id}",
        {"price": "30", "stock": 9, "name": "Puer-2010", "group_price": "20", "group_size": 3},
    )
    assert status == 200, data
    assert data["product"]["price_fen"] == 3000
    assert data["product"]["stock"] == 9
    assert (data["product"]["group_price_fen"], data["product"]["group_size"]) == (2000, 3)

    await say(wechat, "o_owner", f"ship {order}")
    await say(wechat, "o_buyer", f"received {order}")
    assert await store_balance(sessions, "o_owner") == 1000  # the price it was paid at
    assert await balance(wechat, "o_buyer") == "90.00"

    status, data = await api(
        client, config, "PATCH", f"products/{product_id}", {"group_price": None}
    )
    assert (status, data["product"]["group_price_fen"]) == (200, None)


async def test_a_store_can_be_renamed(
    client: TestClient, config: Config, wechat: Emulator
) -> None:
    store_id = await owner_store(client, config, wechat)
    status, data = await api(
        client, config, "PATCH", f"stores/{store_id}", {"name": "Leaf", "cover_url": ""}
    )
    assert (status, data["store"]["name"]) == (200, "Leaf")
    _, data = await api(client, config, "GET", "stores")
    assert [(s["name"], s["products"]) for s in data["stores"]] == [("Leaf", 0)]
    assert "Leaf" in await say(wechat, "o_buyer", "stores")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X"}, "owner_openid"),
        ({"owner_openid": "o_nobody", "name": "X"}, "owner_openid"),
        ({"owner_openid": "o_owner", "name": ""}, "name"),
        ({"owner_openid": "o_owner", "name": "x" * 61}, "name"),
        ({"owner_openid": "o_owner", "name": "X", "cover_url": "ftp://x"}, "cover_url"),
        ({"owner_openid": "o_owner", "name": "X", "colour": "red"}, "colour"),
        ({"owner_openid": 7, "name": "X"}, "owner_openid"),
    ],
)
async def test_bad_stores_are_refused_naming_the_field(
    client: TestClient, config: Config, wechat: Emulator, sessions, body: dict, field: str
) -> None:
    await wechat.say("balance", fan="o_owner")
    await refused(client, config, sessions, "POST", "stores", body, field)


async def test_a_fan_gets_one_store_only(
    client: TestClient, config: Config, wechat: Emulator, sessions
) -> None:
    store_id = await owner_store(client, config, wechat)
    error = await refused(
        client,
        config,
        sessions,
        "POST",
        "stores",
        {"owner_openid": "o_owner", "name": "Second"},
        "owner_openid",
    )
    assert f"store #{store_id}" in error


PRODUCT = {"name": "Tea", "price": "10", "stock": 5}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"store_id": 999}, "store_id"),
        ({"price": "0"}, "price"),
        ({"price": "-1"}, "price"),
        ({"price": "1.234"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": True}, "price"),
        ({"stock": -1}, "stock"),
        ({"stock": 100001}, "stock"),
        ({"stock": "5"}, "stock"),
        ({"name": ""}, "name"),
        ({"group_price": "10", "group_size": 3}, "group_price"),
        ({"group_price": "5"}, "group_size"),
        ({"group_price": "5", "group_size": 1}, "group_size"),
        ({"group_size": 3}, "group_price"),
        ({"image_url": "javascript:alert(1)"}, "image_url"),
    ],
)
async def test_bad_products_are_refused_naming_the_field(
    client: TestClient, config: Config, wechat: Emulator, sessions, changes: dict, field: str
) -> None:
    store_id = await owner_store(client, config, wechat)
    body = {"store_id": store_id, **PRODUCT, **changes}
    await refused(client, config, sessions, "POST", "products", body, field)


async def test_bad_product_edits_change_nothing(
    client: TestClient, config: Config, wechat: Emulator, sessions
) -> None:
    store_id = await owner_store(client, config, wechat)
    _, data = await api(client, config, "POST", "products", {"store_id": store_id, **PRODUCT})
    product_id = data["product"]["id"]
    path = f"products/{product_id}"
    await api(client, config, "PATCH", path, {"group_price": "8", "group_size": 2})
    # A price at or under the group price, with a valid name in the same request: nothing kept.
    await refused(client, config, sessions, "PATCH", path, {"name": "New", "price": "8"}, "price")
    await refused(client, config, sessions, "PATCH", path, {"stock": -3}, "stock")
    await refused(client, config, sessions, "PATCH", path, {"store_id": 2}, "store_id")
    status, data = await api(client, config, "PATCH", "products/999", {"price": "1"})
    assert (status, data["error"]) == (404, "no product #999")
    _, data = await api(client, config, "GET", "products")
    assert [(p["name"], p["price_fen"]) for p in data["products"]] == [("Tea", 1000)]


async def test_a_supplier_price_above_a_resale_delists_it_as_the_chat_does(
    client: TestClient, config: Config, wechat: Emulator, sessions
) -> None:
    store_id = await owner_store(client, config, wechat)
    _, data = await api(client, config, "POST", "products", {"store_id": store_id, **PRODUCT})
    product_id = data["product"]["id"]
    await say(wechat, "o_reseller", "开店 Resale")  # the reseller speaks Chinese
    reply = await say(wechat, "o_reseller", f"分销 {product_id} 12")
    resale_id = int(reply.split("#")[1].split()[0].rstrip(":.,，。"))
    status, data = await api(client, config, "PATCH", f"products/{product_id}", {"price": "13"})
    assert status == 200, data
    assert data["product"]["price_fen"] == 1300
    assert [(item["id"], item["on_sale"]) for item in data["delisted"]] == [(resale_id, False)]
    # The reseller is told in their language, as `price` in the chat tells them.
    [told] = await outbox_texts(sessions, "o_reseller", "resale_delisted")
    assert told.startswith(
        f"你分销的商品 #{resale_id} Tea 已下架：Tea Corner 把价格调到了 ¥13.00，高于你的 ¥12.00。"
    )
    await topup(wechat, "o_buyer", "100")
    assert "off the shelf" in await say(wechat, "o_buyer", f"buy {resale_id}")
    # A price that passes no resale delists nothing.
    status, data = await api(client, config, "PATCH", f"products/{product_id}", {"price": "11"})
    assert (status, data["delisted"]) == (200, [])
    await refused(
        client, config, sessions, "PATCH", f"products/{resale_id}", {"price": "9"}, "price"
    )
    await refused(
        client, config, sessions, "PATCH", f"products/{resale_id}", {"stock": 3}, "stock"
    )


async def test_a_store_and_a_product_are_deactivated_and_activated_from_the_admin(
    client: TestClient, config: Config, wechat: Emulator, sessions
) -> None:
    store_id = await owner_store(client, config, wechat)
    body = {"store_id": store_id, "name": "Oolong", "price": "5", "stock": 3}
    _, data = await api(client, config, "POST", "products", body)
    product_id = data["product"]["id"]
    await topup(wechat, "o_buyer", "100")

    status, data = await api(client, config, "POST", f"products/{product_id}/deactivate")
    assert (status, data["product"]["active"], data["product"]["on_sale"]) == (200, False, False)
    assert "not on sale" in await say(wechat, "o_buyer", f"buy {product_id}")
    status, data = await api(client, config, "POST", f"stores/{store_id}/deactivate")
    assert (status, data["store"]["active"], data["store"]["products"]) == (200, False, 1)
    _, data = await api(client, config, "POST", f"products/{product_id}/activate")
    # Active again, but not on sale while its store is off.
    assert (data["product"]["active"], data["product"]["on_sale"]) == (True, False)
    assert "is closed" in await say(wechat, "o_buyer", f"buy {product_id}")
    assert await balance(wechat, "o_buyer") == "100.00"
    _, data = await api(client, config, "GET", "stores")
    assert [s["active"] for s in data["stores"]] == [False]

    html = await signed_in_page(client, config, "/admin/stores")
    assert f'data-post="/admin/api/stores/{store_id}/activate"' in html
    assert f'data-post="/admin/api/products/{product_id}/deactivate"' in html
    assert "(off sale: its store or supplier is deactivated)" in html

    status, data = await api(client, config, "POST", f"stores/{store_id}/activate")
    assert (status, data["store"]["active"]) == (200, True)
    assert (await say(wechat, "o_buyer", f"buy {product_id}")).startswith("Order #")
    for path, error in [
        ("stores/99/deactivate", "no store #99"),
        ("products/99/activate", "no product #99"),
    ]:
        assert await api(client, config, "POST", path) == (404, {"error": error})
