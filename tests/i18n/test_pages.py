"""The public pages follow the browser: ?lang= (kept in a cookie), else Accept-Language, else
the account's language."""

import re

from aiohttp.test_utils import TestClient

from botstore.config import Config
from botstore.console.client import Emulator
from tests.admin.test_auth import sign_in

CJK = re.compile(r"[\u3400-\u9fff]")


async def shop(wechat: Emulator) -> None:
    await wechat.say("open Tea House", fan="o_tea")
    await wechat.say("list Oolong 1234.5 0", fan="o_tea")


async def page(client: TestClient, path: str, **headers: str) -> str:
    response = await client.get(path, headers=headers)
    assert response.status == 200
    return await response.text()


async def test_pages_speak_the_browsers_language(client: TestClient, wechat: Emulator) -> None:
    await shop(wechat)
    chinese = await page(client, "/stores/1", **{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert '<html lang="zh-CN">' in chinese
    assert "店铺 #1" in chinese and "已售罄" in chinese and "¥1,234.50" in chinese
    assert "购买请发送 <code>购买 #1</code>" in chinese
    english = await page(client, "/stores/1", **{"Accept-Language": "en-GB,en;q=0.9"})
    assert "Store #1" in english and "sold out" in english
    assert not CJK.search(english.replace("中文", ""))  # the switch names Chinese in Chinese
    products = await page(client, "/products/1", **{"Accept-Language": "zh-CN"})
    assert "在你自己的店里分销" in products
    stores = await page(client, "/stores", **{"Accept-Language": "zh"})
    assert "1 件商品 · 发送 <code>店铺 #1</code>" in stores


async def test_the_switch_overrides_the_browser_and_is_kept(
    client: TestClient, wechat: Emulator
) -> None:
    await shop(wechat)
    switched = await client.get("/stores?lang=zh_CN", headers={"Accept-Language": "en"})
    assert "还没有店铺" not in await switched.text()
    assert "1 件商品" in await switched.text()
    assert switched.cookies["botstore_lang"].value == "zh_CN"
    # The client keeps the cookie: the next page stays Chinese whatever the header says.
    services = await page(client, "/services", **{"Accept-Language": "en"})
    assert "合作服务" in services
    articles = await page(client, "/articles?lang=en", **{"Accept-Language": "zh"})
    assert "No articles yet." in articles


async def test_without_a_preference_the_accounts_language(client: TestClient) -> None:
    # The suite's account speaks English (tests/conftest.py); aiohttp's client sends no header.
    assert "No stores yet." in await page(client, "/stores")


async def test_the_admin_chrome_follows_the_browser_with_a_switch(
    client: TestClient, config: Config
) -> None:
    login = await page(client, "/admin/login", **{"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "请输入管理令牌" in login and '<button type="submit">登录</button>' in login
    await sign_in(client, config)
    dashboard = await page(client, "/admin/?lang=zh_CN", **{"Accept-Language": "en"})
    assert ">概览</a>" in dashboard and ">退出登录</button>" in dashboard
    english = await page(client, "/admin/?lang=en")
    assert ">Dashboard</a>" in english and ">Sign out</button>" in english
