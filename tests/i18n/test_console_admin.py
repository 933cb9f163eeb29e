"""The web console and the admin pages follow the browser as the public pages do: ?lang= (kept in
a cookie), else Accept-Language, else the account's language; their scripts' words come from the
catalogues too (a JSON table the console's template renders)."""

import html
import json
import re

from aiohttp.test_utils import TestClient

from botstore.console.web import STATIC

CJK = re.compile(r"[\u3400-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
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
