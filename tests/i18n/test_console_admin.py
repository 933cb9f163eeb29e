"""The web console and the admin pages follow the browser as the public pages do: ?lang= (kept in
a cookie), else Accept-Language, else the account's language; their scripts' words come from the
catalogues too (a JSON table the console's template renders)."""

import html
import json
import re
from typing import Any

from aiohttp.test_utils import TestClient

from botstore.admin.common import NAV
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.console.web import STATIC
from botstore.seed import seed_demo
from tests.admin.test_auth import sign_in

CJK = re.compile(r"[\u3400-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# A word, or an identifier as WeChat's fields write it (out_trade_no, character_string1, APIv3).
IDENTIFIER = re.compile(r"(?<![0-9])[A-Za-z][A-Za-z0-9_]+")
STRINGS = re.compile(r'<script type="application/json" id="console-strings">(.*?)</script>', re.S)
# t("key", ...) and t(test ? "key" : "other", ...) in botstore/static/console/console.js.
SCRIPT_KEYS = re.compile(r'\bt\("(\w+)"|\bt\([^;]*?\?\s*"(\w+)"\s*:\s*"(\w+)"')


async def page(client: TestClient, path: str, **headers: str) -> str:
    response = await client.get(path, headers=headers)
    assert response.status == 200
    return await response.text()


def strings_of(page_html: str) -> dict[str, str]:
    match = STRINGS.search(page_html)
    assert match, "the console page carries its script's words"
    return json.loads(match.group(1))


def visible_text(page_html: str) -> str:
    """What a reader sees: the text and the words of attributes, without scripts and styles."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page_html, flags=re.S)
    words = re.findall(r'(?:placeholder|title|aria-label|alt)="([^"]*)"', text)
    return html.unescape(re.sub(r"<[^>]+>", " ", text) + " " + " ".join(words))


async def test_the_console_speaks_the_browsers_language(client: TestClient) -> None:
    chinese = await page(client, "/console", **{"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-CN">' in chinese
    labels = ["添加粉丝", "开发者面板", "公众号", "小程序", "取消关注", "扫码关注"]
    assert all(label in chinese for label in labels)
    assert 'placeholder="昵称"' in chinese
    words = strings_of(chinese)
    assert words["followed"] == "你关注了公众号"
    assert words["reply_rejected"] == "回复被拒：{problems}"

    english = await page(client, "/console", **{"Accept-Language": "en-US,en;q=0.8"})
    assert '<html lang="en">' in english
    assert "Add fan" in english and "Developer panel" in english
    assert not CJK.search(visible_text(english).replace("中文", ""))
    assert not CJK.search("".join(strings_of(english).values()))


async def test_the_console_in_chinese_shows_no_english_words(client: TestClient) -> None:
    chinese = await page(client, "/console?lang=zh_CN")
    # Protocol names stay as WeChat's documentation writes them.
    kept = {"botstore", "AES", "Webhook", "URL", "Token", "AppID", "EncodingAESKey", "openid"}
    kept |= {"wx", "gh", "login", "requestSubscribeMessage", "EventKey", "CLICK", "SCAN", "key"}
    kept |= {"requestPayment"}
    kept |= {"English", "http", "wechat", "alice", "code", "MsgId", "ID"}
    english = set(LATIN_WORD.findall(visible_text(chinese))) - kept
    assert not english, english
    script_words = re.sub(r"\{\w+\}", "", " ".join(strings_of(chinese).values()))
    left = set(LATIN_WORD.findall(script_words)) - kept - {"success", "XML", "code"}
    assert not left, left


async def test_the_switch_is_kept_for_the_console(client: TestClient) -> None:
    switched = await client.get("/console?lang=zh_CN", headers={"Accept-Language": "en"})
    assert "添加粉丝" in await switched.text()
    assert switched.cookies["botstore_lang"].value == "zh_CN"
    assert "添加粉丝" in await page(client, "/console", **{"Accept-Language": "en"})
    assert "Add fan" in await page(client, "/console?lang=en")


async def test_every_word_the_console_script_uses_is_in_its_table(client: TestClient) -> None:
    script = (STATIC / "console.js").read_text()
    used = {key for match in SCRIPT_KEYS.findall(script) for key in match if key}
    assert len(used) > 40
    for locale in ("zh_CN", "en"):
        table = strings_of(await page(client, f"/console?lang={locale}"))
        assert used <= set(table), f"{locale}: {sorted(used - set(table))}"
        assert set(table) <= used, f"unused: {sorted(set(table) - used)}"


ADMIN_PAGES = [path for _, _, path in NAV]


def without_code(page_html: str) -> str:
    """Protocol names, commands and paths are shown (in <code>) as WeChat writes them."""
    return re.sub(r"<code>.*?</code>|>/[\w/.-]+<", "><", page_html, flags=re.S)


async def test_every_admin_page_in_chinese_shows_no_english_words(
    client: TestClient, config: Config
) -> None:
    await sign_in(client, config)
    # Protocol fields and kinds as WeChat's own documentation writes them.
    kept = {"botstore", "AppID", "JSON", "Jinja2", "UTC", "openid", "ID", "URL", "API", "PEM"}
    kept |= {"APIv3", "SDK", "mchid", "appid", "out_trade_no", "prepay_id", "transaction_id"}
    kept |= {"notify_url", "cpm", "cpc", "click", "exact", "contains", "regex", "campaign"}
    kept |= {"product", "manual", "monthly", "levelup", "errcode", "errmsg", "key", "English"}
    kept |= {"showqrcode", "ticket", "https", "wx", "v3"}
    # Placeholders: a page path, a template's keywords.
    kept |= {"pages", "index", "character_string1", "thing2", "amount3"}
    for path in ADMIN_PAGES:
        chinese = await page(client, f"{path}?lang=zh_CN")
        assert '<html lang="zh-CN">' in chinese, path
        english = set(IDENTIFIER.findall(visible_text(without_code(chinese)))) - kept
        assert not english, f"{path}: {sorted(english)}"
        # The inline scripts' words: a JSON table of translated strings each.
        tables = [json.loads(table) for table in re.findall(r"const T = (\{.*?\});", chinese)]
        assert tables or "<script>" not in chinese, path
        words = " ".join(text for table in tables for text in table.values())
        english = set(IDENTIFIER.findall(re.sub(r"\{\w+\}", "", words))) - kept
        assert not english, f"{path} script: {sorted(english)}"


async def test_an_admin_page_in_english_shows_no_chinese(
    client: TestClient, config: Config
) -> None:
    await sign_in(client, config)
    for path in ADMIN_PAGES:
        english = visible_text(await page(client, f"{path}?lang=en"))
        # The switch names Chinese in Chinese, WeChat Pay's page its Chinese command word.
        assert not CJK.search(english.replace("中文", "").replace("微信支付", "")), path


async def test_the_admin_sign_in_refusal_is_in_the_browsers_language(
    client: TestClient, config: Config
) -> None:
    refused = await client.post(
        "/admin/login",
        data={"token": "wrong", "next": "/admin/"},
        headers={"Accept-Language": "zh-CN"},
    )
    assert refused.status == 401
    assert "这不是管理令牌。" in await refused.text()


async def test_the_admin_rows_of_the_demo_data_in_chinese(
    client: TestClient, config: Config, sessions: Any, clock: FrozenClock
) -> None:
    async with sessions() as session, session.begin():
        assert await seed_demo(session, now=clock.now())
    await sign_in(client, config)
    # Each page's rows: its actions and the words around the data.
    rows = {
        "/admin/": ["粉丝（", "每小时消息数"],
        "/admin/keywords": ["提前匹配", ">编辑</button>"],
        "/admin/stores": [">停用</button>", "库存"],
        "/admin/merchants": [">改名</button>", "二维码"],
        "/admin/partners": [">编辑</button>"],
        "/admin/wealth": ["笔持仓中", " 天，每 "],
        "/admin/ads": [">追加预算</button>", 'data-ask="追加多少预算（元）？"'],
        "/admin/coupons": [">立即发放</button>", "等级：绿卡，金卡，白金卡"],
        "/admin/miniprogram": [">停用</button>", "<code>thing"],
        "/admin/wxpay": ["证书序列号"],
    }
    for path, words in rows.items():
        chinese = await page(client, f"{path}?lang=zh_CN")
        for word in words:
            assert word in chinese, (path, word)
        assert "Edit" not in visible_text(chinese), path
        await page(client, f"{path}?lang=en")  # the same rows render in English


async def test_the_admin_pages_read_refusals_in_their_language_api_clients_in_english(
    client: TestClient, config: Config, wechat: Emulator
) -> None:
    await wechat.say("balance", fan="o_owner")
    csrf = await sign_in(client, config)
    chinese = {"X-CSRF-Token": csrf, "Accept-Language": "zh-CN"}

    async def refusal(path: str, body: dict[str, Any], headers: dict[str, str]) -> str:
        response = await client.post(f"/admin/api/{path}", json=body, headers=headers)
        assert response.status in (400, 404)
        return (await response.json())["error"]

    assert await refusal("stores", {"owner_openid": "o_owner"}, chinese) == "name: 缺少"
    product = {"store_id": 99, "name": "Oolong", "price": "20000000", "stock": 1}
    assert await refusal("products", product, chinese) == "price: 最多 10,000,000 元"
    assert await refusal("stores/99/deactivate", {}, chinese) == "没有店铺 #99"
    # A script with the token reads English, whatever its machine's language.
    bearer = {"Authorization": f"Bearer {config.admin.token}", "Accept-Language": "zh-CN"}
    assert await refusal("stores/99/deactivate", {}, bearer) == "no store #99"
    assert await refusal("products", product, bearer) == "price: must be at most 10,000,000 yuan"
