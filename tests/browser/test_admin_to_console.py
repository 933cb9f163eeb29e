"""A merchant's afternoon in Debian's chromium: sign in to the admin, add a keyword rule with a
live preview, and chat with the bot in the console, which answers with the new rule at once."""

from typing import Any

import pytest

from botstore.config import Config
from tests.browser.conftest import IN_THE_BROWSERS_LOOP

try:
    from playwright.async_api import expect
except ImportError:  # the browser fixture skips (under CI: fails), saying what to install
    expect = None

pytestmark = [
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    IN_THE_BROWSERS_LOOP,
]


async def test_a_rule_added_in_the_admin_answers_in_the_console(page: Any, config: Config) -> None:
    await page.goto("/admin/login?next=/admin/keywords")
    await page.locator('input[name="token"]').fill(config.admin.token)
    await page.locator('input[name="token"]').press("Enter")
    await page.wait_for_url("**/admin/keywords")

    form = page.locator("#rule-form")
    await form.locator('select[name="match_type"]').select_option("contains")
    await form.locator('input[name="pattern"]').fill("hours")
    await form.locator('textarea[name="content"]').fill("Open 9-18 daily, {{ nickname }}!")
    await page.locator("#sample-text").fill("what are your hours")
    await expect(page.locator("#preview")).to_contain_text("Open 9-18 daily, Sample Fan!")
    await form.get_by_role("button", name="Save").click()
    await expect(page.locator("tbody tr").first).to_contain_text("hours")

    await page.goto("/console")
    await page.locator("body[data-ready=true]").wait_for()
    await page.get_by_test_id("new-openid").fill("o_customer")
    await page.get_by_test_id("add-fan").click()
    phone = page.get_by_test_id("phone-o_customer")
    await expect(phone).to_have_attribute("data-live", "true")
    await phone.get_by_test_id("message").fill("opening hours?")
    await phone.get_by_test_id("message").press("Enter")
    await expect(phone.get_by_test_id("reply").last).to_contain_text("Open 9-18 daily")
