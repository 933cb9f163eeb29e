"""The console and the admin in Chinese, in Debian's chromium: a browser asking for zh-CN gets
Chinese labels, buttons, placeholders and the scripts' own words, and (with a CJK font,
fonts-noto-cjk: docs/console.md) the Chinese is drawn with real glyphs, not empty boxes."""

import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from botstore.config import Config
from tests.browser.conftest import IN_THE_BROWSERS_LOOP, browser_fixture

try:
    from playwright.async_api import expect
except ImportError:  # the browser fixture skips (under CI: fails), saying what to install
    expect = None

pytestmark = [
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    IN_THE_BROWSERS_LOOP,
]
NO_CJK_FONT = (
    "no CJK font: Chinese would show as empty boxes; apt-get install -y fonts-noto-cjk "
    "(.ci/run installs it)"
)


def has_cjk_font() -> bool:
    if shutil.which("fc-list") is None:
        return False
    found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
    return bool(found.stdout.strip())


@browser_fixture
async def chinese_page(browser: Any, server: TestServer) -> AsyncIterator[Any]:
    """The console for a browser whose language is zh-CN (its Accept-Language)."""
    context = await browser.new_context(
        base_url=str(server.make_url("")), locale="zh-CN", viewport={"width": 1500, "height": 900}
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    await page.goto("/console")
    await page.locator("body[data-ready=true]").wait_for()
    yield page
    await context.close()
    assert errors == []


async def test_a_chinese_browser_gets_the_console_in_chinese(chinese_page: Any) -> None:
    page = chinese_page
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await expect(page.get_by_test_id("add-fan")).to_have_text("添加粉丝")
    await expect(page.get_by_test_id("dev-panel").locator("h2")).to_contain_text("开发者面板")
    await expect(page.get_by_test_id("new-nickname")).to_have_attribute("placeholder", "昵称")
    phone = page.get_by_test_id("phone-o_console_fan_0001")
    await expect(phone.locator(".account")).to_have_text("公众号")
    await expect(phone.get_by_test_id("subscribe")).to_have_text("关注")
    # The script's words: the fan ready to type as is "我", a follow is noted in Chinese, and
    # the bot (the suite's account speaks English to a fan without a command) answers.
    await expect(page.get_by_test_id("tab-o_console_fan_0001")).to_contain_text("我")
    await phone.get_by_test_id("subscribe").click()
    await expect(phone.get_by_test_id("note-subscribe")).to_have_text("你关注了公众号")
    await phone.get_by_test_id("message").fill("余额")
    await phone.get_by_test_id("send").click()
    await expect(phone.get_by_test_id("reply-text").last).to_have_text("你的余额：¥0.00")
    await page.get_by_test_id("advance-1").click()
    await expect(page.get_by_test_id("clock-ran")).to_contain_text("+1 天 →")
    # The switch turns it English, and the choice is kept.
    await page.get_by_role("link", name="English").click()
    await page.wait_for_url("**/console?lang=en")
    await expect(page.get_by_test_id("add-fan")).to_have_text("Add fan")
    await page.goto("/console")
    await expect(page.get_by_test_id("add-fan")).to_have_text("Add fan")


async def test_the_chinese_is_drawn_with_real_glyphs(chinese_page: Any) -> None:
    if not has_cjk_font():
        if os.environ.get("CI"):
            pytest.fail(f"CI must draw the console's Chinese: {NO_CJK_FONT}")
        pytest.skip(NO_CJK_FONT)
    page = chinese_page
    measured = await page.evaluate(
        """() => {
          // A CJK glyph is about one em wide; the boxes drawn for missing glyphs are narrower.
          const button = document.querySelector("[data-testid=add-fan]");
          const range = document.createRange();
          range.selectNodeContents(button);
          const size = parseFloat(getComputedStyle(button).fontSize);
          const perChar = range.getBoundingClientRect().width / button.textContent.length;
          // Distinct characters draw distinct pixels; missing glyphs all draw the same box.
          const font = getComputedStyle(document.body).font;
          const pixels = (text) => {
            const canvas = document.createElement("canvas");
            canvas.width = 64; canvas.height = 64;
            const context = canvas.getContext("2d");
            context.font = font.replace(/\\d+(\\.\\d+)?px/, "48px");
            context.fillText(text, 4, 52);
            return Array.from(context.getImageData(0, 0, 64, 64).data).join(",");
          };
          return {ems: perChar / size, distinct: pixels("添") !== pixels("粉"),
                  inked: pixels("添") !== pixels(" ")};
        }"""
    )
    assert measured["inked"] and measured["distinct"], measured
    assert 0.85 <= measured["ems"] <= 1.2, measured


async def test_the_admin_scripts_speak_chinese_too(chinese_page: Any, config: Config) -> None:
    page = chinese_page
    await page.goto("/admin/login?next=/admin/keywords")
    await expect(page.get_by_role("button", name="登录")).to_be_visible()
    await page.locator('input[name="token"]').fill(config.admin.token)
    await page.locator('input[name="token"]').press("Enter")
    await page.wait_for_url("**/admin/keywords")
    await expect(page.locator("#form-title")).to_have_text("新建规则")

    form = page.locator("#rule-form")
    await form.locator('input[name="pattern"]').fill("营业时间")
    await form.locator('textarea[name="content"]').fill("每天 9-18 点营业")
    await page.locator("#sample-text").fill("营业时间")
    await expect(page.locator("#preview")).to_contain_text("匹配“营业时间”。粉丝收到：")
    await form.get_by_role("button", name="保存").click()
    await expect(page.locator("#flash")).to_have_text("规则已添加。")
    await page.locator("#rules .edit").first.click()
    await expect(page.locator("#form-title")).to_have_text("编辑规则 #1")
