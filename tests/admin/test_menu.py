"""The menu editor's API: the same menu /cgi-bin edits, refused with the official errcodes."""

import pytest
from aiohttp.test_utils import TestClient

from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import Menu
from tests.api.cgi import get, get_token
from tests.helpers import count

API = "/admin/api/menu"
MENU = [
    {"type": "click", "name": "Balance", "key": "balance"},
    {
        "name": "Shop",
        "sub_button": [
            {"type": "click", "name": "Stores", "key": "stores"},
            {"type": "view", "name": "Web", "url": "https://example.com/shop"},
            {"type": "scancode_push", "name": "Scan", "key": "scan"},
            {"type": "pic_photo_or_album", "name": "Photo", "key": "photo"},
            {"type": "location_select", "name": "Where", "key": "where"},
        ],
    },
    {
        "type": "miniprogram",
        "name": "App",
        "url": "https://example.com/app",
        "appid": "wx286b93c14bbf93aa",
        "pagepath": "pages/index",
    },
]


@pytest.fixture
def auth(config: Config) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.admin.token}"}


async def test_a_saved_menu_is_the_accounts_menu(
    client: TestClient, auth: dict[str, str], config: Config, wechat: Emulator
) -> None:
    assert await (await client.get(API, headers=auth)).json() == {
        "menu": None,
        "conditionalmenu": [],
    }
    response = await client.put(API, json={"button": MENU}, headers=auth)
    assert response.status == 200
    body = await response.json()
    assert (body["errcode"], body["errmsg"]) == (0, "ok")
    assert body["menu"]["button"] == MENU

    assert (await (await client.get(API, headers=auth)).json())["menu"]["button"] == MENU
    cgi = await get(client, "/cgi-bin/menu/get", await get_token(client, config))
    assert cgi["menu"]["button"][0] == MENU[0] | {"sub_button": []}
    assert cgi["menu"]["button"][1]["sub_button"] == [
        sub | {"sub_button": []} for sub in MENU[1]["sub_button"]
    ]
    # A click on the first button runs its key's command.
    clicked = await wechat.event("CLICK", fan="o_menu", event_key="balance")
    assert clicked.content == "Your balance: ¥0.00"

    page = await client.get("/admin/menu", headers=auth)
    assert page.status == 200
    assert "pages/index" in await page.text()

    response = await client.delete(API, headers=auth)
    assert (await response.json())["deleted"] is True
    assert (await (await client.get(API, headers=auth)).json())["menu"] is None


def _with(index: int, **changes: object) -> list[dict]:
    menu = [dict(button) for button in MENU]
    menu[index] = {**menu[index], **changes}
    return menu


def _with_sub(index: int, **changes: object) -> list[dict]:
    subs = [dict(sub) for sub in MENU[1]["sub_button"]]
    subs[index] = {**subs[index], **changes}
    return _with(1, sub_button=subs)


@pytest.mark.parametrize(
    ("buttons", "errcode", "errmsg"),
    [
        ([], 40016, "invalid button size"),
        ([*MENU, MENU[0]], 40016, "invalid button size"),
        (_with(0, type="shake"), 40017, "invalid button type"),
        (_with(0, name="A" * 17), 40018, "invalid button name size"),
        (_with(0, name="余额余额余额"), 40018, "invalid button name size"),  # 18 bytes
        (_with(0, key="k" * 129), 40019, "invalid button key size"),
        (_with(1, sub_button=[*MENU[1]["sub_button"], MENU[0]]), 40023, "invalid sub button size"),
        (_with_sub(0, type="nope"), 40024, "invalid sub button type"),
        (_with_sub(0, name="n" * 61), 40025, "invalid sub button name size"),
        (_with_sub(0, key=""), 40026, "invalid sub button key size"),
        (_with(2, appid=""), 40097, "invalid args"),
        ("not a list", 47001, "data format error"),
    ],
)
async def test_the_official_limits_refuse_with_errcode_and_errmsg(
    client: TestClient,
    auth: dict[str, str],
    sessions,
    buttons: object,
    errcode: int,
    errmsg: str,
) -> None:
    assert (await client.put(API, json={"button": MENU}, headers=auth)).status == 200
    response = await client.put(API, json={"button": buttons}, headers=auth)
    assert response.status == 400
    body = await response.json()
    assert body["errcode"] == errcode
    assert body["errmsg"].startswith(f"{errmsg} hint: ")
    assert body["error"] == f"errcode {errcode}: {body['errmsg']}"
    # The menu before the refusal is still the menu.
    assert (await (await client.get(API, headers=auth)).json())["menu"]["button"] == MENU
    assert await count(sessions, Menu) == 1


@pytest.mark.parametrize("body", [{}, {"button": MENU, "x": 1}, {"buttons": MENU}])
async def test_the_body_is_the_menu_create_body(
    client: TestClient, auth: dict[str, str], sessions, body: dict
) -> None:
    response = await client.put(API, json=body, headers=auth)
    assert response.status == 400
    assert (await response.json())["field"] == "button"
    assert await count(sessions, Menu) == 0
