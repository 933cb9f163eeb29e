"""The custom menu APIs (wechat-protocol.md 7.3, limits in 8): create, get, delete, the current
self-menu, conditional menus, and the official errcodes for menus the platform refuses."""

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import Menu
from botstore.services import menu
from tests.api.cgi import OK, get, get_token, post
from tests.helpers import count

# The example of §7.3.
EXAMPLE = [
    {"type": "click", "name": "今日歌曲", "key": "V1001_TODAY_MUSIC"},
    {
        "name": "菜单",
        "sub_button": [
            {"type": "view", "name": "搜索", "url": "http://www.soso.com/"},
            {
                "type": "miniprogram",
                "name": "wxa",
                "url": "http://mp.weixin.qq.com",
                "appid": "wx286b93c14bbf93aa",
                "pagepath": "pages/lunar/index",
            },
            {"type": "click", "name": "赞一下我们", "key": "V1001_GOOD"},
        ],
    },
]


def click(name: str = "help", key: str = "help") -> dict[str, Any]:
    return {"type": "click", "name": name, "key": key}


def view(url: str, name: str = "site") -> dict[str, Any]:
    return {"type": "view", "name": name, "url": url}


def parent(*subs: dict[str, Any], name: str = "more") -> dict[str, Any]:
    return {"name": name, "sub_button": list(subs)}


@pytest.fixture
async def token(client: TestClient, config: Config) -> str:
    return await get_token(client, config)


async def test_a_created_menu_comes_back_from_get_in_the_official_shape(
    client: TestClient, token: str
) -> None:
    assert await post(client, "/cgi-bin/menu/create", token, {"button": EXAMPLE}) == OK
    got = await get(client, "/cgi-bin/menu/get", token)
    assert got == {
        "menu": {
            "button": [
                {**EXAMPLE[0], "sub_button": []},
                {
                    "name": "菜单",
                    "sub_button": [{**sub, "sub_button": []} for sub in EXAMPLE[1]["sub_button"]],
                },
            ]
        }
    }
    info = await get(client, "/cgi-bin/get_current_selfmenu_info", token)
    assert info == {
        "is_menu_open": 1,
        "selfmenu_info": {
            "button": [
                EXAMPLE[0],
                {"name": "菜单", "sub_button": {"list": EXAMPLE[1]["sub_button"]}},
            ]
        },
    }


async def test_create_replaces_the_menu_and_keeps_only_official_fields(
    client: TestClient, token: str, sessions
) -> None:
    await post(client, "/cgi-bin/menu/create", token, {"button": EXAMPLE})
    button = {**click("帮助", "help"), "color": "red", "sub_button": []}
    assert await post(client, "/cgi-bin/menu/create", token, {"button": [button]}) == OK
    got = await get(client, "/cgi-bin/menu/get", token)
    assert got == {"menu": {"button": [{**click("帮助", "help"), "sub_button": []}]}}
    assert await count(sessions, Menu) == 1


async def test_a_menu_read_back_from_get_can_be_created_again(
    client: TestClient, token: str
) -> None:
    await post(client, "/cgi-bin/menu/create", token, {"button": EXAMPLE})
    got = await get(client, "/cgi-bin/menu/get", token)
    assert await post(client, "/cgi-bin/menu/create", token, got["menu"]) == OK
    assert await get(client, "/cgi-bin/menu/get", token) == got


async def test_delete_removes_the_menu_and_get_answers_46003(
    client: TestClient, token: str, sessions
) -> None:
    await post(client, "/cgi-bin/menu/create", token, {"button": EXAMPLE})
    assert await get(client, "/cgi-bin/menu/delete", token) == OK
    assert await get(client, "/cgi-bin/menu/get", token) == {
        "errcode": 46003,
        "errmsg": "menu no exist",
    }
    assert await get(client, "/cgi-bin/get_current_selfmenu_info", token) == {
        "is_menu_open": 0,
        "selfmenu_info": {"button": []},
    }
    assert await count(sessions, Menu) == 0
    assert await get(client, "/cgi-bin/menu/delete", token) == OK  # nothing left: still ok


async def test_the_official_limits_are_accepted_up_to_the_byte(
    client: TestClient, token: str
) -> None:
    top = [
        click("一二三四五"[:5] + "x", "k" * 128),  # 16 bytes: 5 CJK characters and an x
        parent(
            *(click("界" * 20, f"k{i}") for i in range(4)),  # 60 bytes each
            view("https://a.example/" + "p" * (1024 - len("https://a.example/"))),
        ),
        parent(view("http://b.example/"), view("http://c.example/x")),
    ]
    assert await post(client, "/cgi-bin/menu/create", token, {"button": top}) == OK


REFUSED = [
    ([], 40016, "0 buttons, must be 1-3"),
    ([click()] * 4, 40016, "4 buttons"),
    ([{"type": "dance", "name": "x", "key": "k"}], 40017, "type 'dance'"),
    ([{"name": "x", "key": "k"}], 40017, "type None"),
    ([{"name": "x", "sub_button": []}], 40017, "button 1 type"),
    ([click("一二三四五六")], 40018, "name is 18 bytes, must be 1-16"),
    ([click("")], 40018, "name is 0 bytes"),
    ([{"type": "click", "key": "k"}], 40018, "name is missing"),
    ([click("x", "k" * 129)], 40019, "key is 129 bytes"),
    ([{"type": "scancode_push", "name": "scan"}], 40019, "key is missing"),
    ([view("http://a.example/" + "p" * 1024)], 40020, "url is 1041 bytes"),
    ([{"type": "view", "name": "v"}], 40020, "url is missing"),
    ([parent(*[click()] * 6)], 40023, "has 6 sub-buttons, must be 1-5"),
    ([parent(name="x") | {"sub_button": "no"}], 40023, "not a list"),
    ([parent({"type": "dance", "name": "x"})], 40024, "sub-button 1 type"),
    ([parent(parent(click()))], 40024, "only two levels"),
    ([parent(click("界" * 21))], 40025, "name is 63 bytes, must be 1-60"),
    ([parent(click("x", "k" * 129))], 40026, "sub-button 1 key is 129 bytes"),
    ([parent(view("http://a.example/" + "p" * 1024))], 40027, "sub-button 1 url"),
    (
        [parent(*(view(f"http://{h}.example/") for h in "abcd"))],
        65316,
        "4 link domains (a.example, b.example, c.example, d.example), at most 3",
    ),
    ([view("ftp://a.example/")], 65317, "http:// or https://"),
    ([view("http:///path")], 65317, "http:// or https://"),
    (
        [{"type": "miniprogram", "name": "m", "url": "http://a.example/", "appid": "wx1"}],
        40097,
        "needs pagepath",
    ),
    ([{"type": "media_id", "name": "m"}], 40097, "needs media_id"),
    ([{"type": "article_view_limited", "name": "a"}], 40097, "needs article_id"),
    ("not a list", 47001, "button must be a list"),
    (None, 47001, "button must be a list"),
    (["x"], 47001, "button 1 must be an object"),
    ([parent("x")], 47001, "sub-button 1 must be an object"),
]


async def test_create_refuses_what_the_platform_refuses_and_keeps_the_old_menu(
    client: TestClient, token: str
) -> None:
    await post(client, "/cgi-bin/menu/create", token, {"button": EXAMPLE})
    for buttons, errcode, hint in REFUSED:
        refused = await post(client, "/cgi-bin/menu/create", token, {"button": buttons})
        assert (refused["errcode"], hint in refused["errmsg"]) == (errcode, True), refused
    got = await get(client, "/cgi-bin/menu/get", token)
    assert got["menu"]["button"][0]["key"] == "V1001_TODAY_MUSIC"


@pytest.mark.parametrize(
    ("errcode", "errmsg"),
    [
        (40016, "invalid button size"),
        (40017, "invalid button type"),
        (40018, "invalid button name size"),
        (40019, "invalid button key size"),
        (40020, "invalid button url size"),
        (40023, "invalid sub button size"),
        (40024, "invalid sub button type"),
        (40025, "invalid sub button name size"),
        (40026, "invalid sub button key size"),
        (40027, "invalid sub button url size"),
    ],
)
def test_menu_errors_open_with_the_official_errmsg(errcode: int, errmsg: str) -> None:
    samples = {
        40016: [],
        40017: [{"name": "x"}],
        40018: [click("x" * 17)],
        40019: [click("x", "")],
        40020: [view("")],
        40023: [parent(*[click()] * 6)],
        40024: [parent({"name": "x"})],
        40025: [parent(click("x" * 61))],
        40026: [parent(click("x", ""))],
        40027: [parent(view(""))],
    }
    with pytest.raises(menu.MenuError) as raised:
        menu.validate(samples[errcode])
    assert raised.value.errcode == errcode
    assert raised.value.errmsg.startswith(errmsg + " hint: ")


async def test_create_refuses_bad_bodies(client: TestClient, token: str, sessions) -> None:
    for body, errcode in [
        (b"{nope", 47001),
        (b"", 44002),
        (b"[]", 47001),
        ({"buttons": []}, 47001),
    ]:
        assert (await post(client, "/cgi-bin/menu/create", token, body))["errcode"] == errcode
    assert await count(sessions, Menu) == 0


MENU_CALLS = [
    ("POST", "/cgi-bin/menu/create", {"button": EXAMPLE}),
    ("GET", "/cgi-bin/menu/get", None),
    ("GET", "/cgi-bin/menu/delete", None),
    ("GET", "/cgi-bin/get_current_selfmenu_info", None),
    ("POST", "/cgi-bin/menu/addconditional", {"button": EXAMPLE, "matchrule": {"tag_id": "2"}}),
    ("POST", "/cgi-bin/menu/delconditional", {"menuid": "1"}),
    ("POST", "/cgi-bin/menu/trymatch", {"user_id": "o_fan"}),
]


async def call(client: TestClient, method: str, path: str, token: str | None, body: Any) -> Any:
    if method == "GET":
        return await get(client, path, token)
    return await post(client, path, token, body)


@pytest.mark.parametrize(("method", "path", "body"), MENU_CALLS)
async def test_every_menu_route_checks_the_access_token(
    client: TestClient,
    config: Config,
    clock: FrozenClock,
    sessions,
    method: str,
    path: str,
    body: Any,
) -> None:
    assert await call(client, method, path, None, body) == {
        "errcode": 41001,
        "errmsg": "access_token missing",
    }
    assert (await call(client, method, path, "forged", body))["errcode"] == 40001
    token = await get_token(client, config)
    clock.advance(timedelta(seconds=7201))
    assert await call(client, method, path, token, body) == {
        "errcode": 42001,
        "errmsg": "access_token expired",
    }
    assert await count(sessions, Menu) == 0


async def test_a_menu_made_with_a_token_outlives_it(
    client: TestClient, config: Config, clock: FrozenClock
) -> None:
    token = await get_token(client, config)
    await post(client, "/cgi-bin/menu/create", token, {"button": EXAMPLE})
    clock.advance(timedelta(hours=3))
    assert (await get(client, "/cgi-bin/menu/get", token))["errcode"] == 42001
    assert "menu" in await get(client, "/cgi-bin/menu/get", await get_token(client, config))


async def test_conditional_menus_show_in_get_and_trymatch_and_go_with_delete(
    client: TestClient, token: str, wechat: Emulator, sessions
) -> None:
    await wechat.say("hi", fan="o_fan")
    conditional = {"button": [click("中文", "zh")], "matchrule": {"language": "zh_CN"}}
    assert await post(client, "/cgi-bin/menu/addconditional", token, conditional) == {
        "errcode": 65303,
        "errmsg": "there is no selfmenu, please create selfmenu first hint: menu/create",
    }
    await post(client, "/cgi-bin/menu/create", token, {"button": EXAMPLE})
    tagged = {"button": [click("tagged", "t")], "matchrule": {"tag_id": 2}}
    tagged_id = (await post(client, "/cgi-bin/menu/addconditional", token, tagged))["menuid"]
    made = await post(client, "/cgi-bin/menu/addconditional", token, conditional)
    assert list(made) == ["menuid"] and made["menuid"].isdigit()

    got = await get(client, "/cgi-bin/menu/get", token)
    assert isinstance(got["menu"]["menuid"], int)
    assert [item["matchrule"] for item in got["conditionalmenu"]] == [
        {"tag_id": "2"},
        {"language": "zh_CN"},
    ]
    assert got["conditionalmenu"][1]["button"] == [{**click("中文", "zh"), "sub_button": []}]
    # The emulator's fans speak zh_CN and carry no tags.
    matched = await post(client, "/cgi-bin/menu/trymatch", token, {"user_id": "o_fan"})
    assert matched == {"button": [{**click("中文", "zh"), "sub_button": []}]}
    assert await post(client, "/cgi-bin/menu/trymatch", token, {"user_id": "o_stranger"}) == {
        "errcode": 40003,
        "errmsg": "invalid openid",
    }

    assert (
        await post(client, "/cgi-bin/menu/delconditional", token, {"menuid": made["menuid"]}) == OK
    )
    matched = await post(client, "/cgi-bin/menu/trymatch", token, {"user_id": "o_fan"})
    assert matched["button"][0]["key"] == "V1001_TODAY_MUSIC"
    assert (await post(client, "/cgi-bin/menu/delconditional", token, {"menuid": made["menuid"]}))[
        "errcode"
    ] == 65301
    assert await get(client, "/cgi-bin/menu/delete", token) == OK
    assert await count(sessions, Menu) == 0
    assert (await post(client, "/cgi-bin/menu/trymatch", token, {"user_id": "o_fan"}))[
        "errcode"
    ] == 46003
    assert tagged_id != made["menuid"]


async def test_addconditional_and_delconditional_refuse_bad_requests(
    client: TestClient, token: str, sessions
) -> None:
    await post(client, "/cgi-bin/menu/create", token, {"button": EXAMPLE})
    for body, errcode in [
        ({"button": EXAMPLE}, 47001),
        ({"button": EXAMPLE, "matchrule": {}}, 65304),
        ({"button": EXAMPLE, "matchrule": {"sex": True}}, 47001),
        ({"button": [], "matchrule": {"tag_id": "2"}}, 40016),
    ]:
        answer = await post(client, "/cgi-bin/menu/addconditional", token, body)
        assert answer["errcode"] == errcode, answer
    for menuid in [None, "abc", True, 1.5, 0, 2**40, "99999999999999999999"]:
        answer = await post(client, "/cgi-bin/menu/delconditional", token, {"menuid": menuid})
        assert answer["errcode"] == 47001, answer
    async with sessions() as session:
        default = await menu.default(session)
    assert default is not None
    answer = await post(client, "/cgi-bin/menu/delconditional", token, {"menuid": default.id})
    assert answer["errcode"] == 65301  # the default menu is no conditional one
    assert await count(sessions, Menu) == 1 and "menu" in await get(
        client, "/cgi-bin/menu/get", token
    )


async def test_the_menu_service_that_the_admin_and_console_share(database, clock) -> None:
    async with database() as session, session.begin():
        assert await menu.current(session) is None
        assert await menu.delete(session) is False
        saved = await menu.save(session, EXAMPLE, now=clock.now())
        assert saved.id is not None
        assert await menu.current(session) == EXAMPLE
    async with database() as session, session.begin():
        with pytest.raises(menu.MenuError):
            await menu.save(session, [], now=clock.now())
        assert await menu.current(session) == EXAMPLE
        assert await menu.delete(session) is True
        assert await menu.current(session) is None
