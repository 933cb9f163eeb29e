"""The entity pages in Debian's chromium: a field error shown at its input, a merchant and a
product created from the forms, then changed through their Edit buttons (and the merchant
deactivated through its button)."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from botstore.config import Config
from botstore.keys import clock_key, db_key
from botstore.services import fans
from tests.browser.conftest import IN_THE_BROWSERS_LOOP, browser, browser_fixture, server  # noqa: F401 (fixtures)

try:
    from playwright.async_api import expect
except ImportError:  # the browser fixture skips (under CI: fails), saying what to install
    expect = None

pytestmark = [
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    IN_THE_BROWSERS_LOOP,
]


@browser_fixture
async def admin_page(browser: Any, server: TestServer, config: Config) -> AsyncIterator[Any]:  # noqa: F811
    """Signed in, on the merchants page; fails the test on any script error."""
    context = await browser.new_context(base_url=str(server.make_url("")))
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(30_000)
    await page.goto("/admin/login?next=/admin/merchants")
    await page.locator('input[name="token"]').fill(config.admin.token)
    await page.locator('input[name="token"]').press("Enter")
    await page.wait_for_url("**/admin/merchants")
    yield page
    await context.close()
    assert errors == []


async def test_the_merchant_form_names_the_bad_field_then_creates_and_renames(
    admin_page: Any,
) -> None:
    page = admin_page
    form = page.locator("#merchant-form")
    await form.locator('input[name="code"]').fill("two words")
    await form.locator('input[name="name"]').fill("Tea Stall")
    await form.get_by_role("button", name="Save").click()
    await expect(form.locator(".field-error")).to_have_text("code: 1-32 letters or digits")
    await expect(form.locator('input[name="code"]')).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#flash")).to_contain_text("code: 1-32 letters or digits")

    await form.locator('input[name="code"]').fill("stall9")
    await form.get_by_role("button", name="Save").click()
    await expect(page.locator("#flash")).to_have_text("Created.")
    row = page.locator("tbody tr").first
    await expect(row).to_contain_text("STALL9")
    await expect(row).to_contain_text("merchant_STALL9")
    await expect(row.get_by_role("link", name="showqrcode")).to_be_visible()

    await row.get_by_role("button", name="Rename").click()
    await expect(form.locator("[data-form-title]")).to_have_text("Edit #1")
    await form.locator('input[name="name"]').fill("Tea Stall No. 9")
    await form.get_by_role("button", name="Save").click()
    await expect(page.locator("#flash")).to_have_text("Saved.")
    await expect(page.locator("tbody tr").first).to_contain_text("Tea Stall No. 9")

    await page.locator("tbody tr").first.get_by_role("button", name="Deactivate").click()
    await expect(page.locator("#flash")).to_have_text("Merchant deactivated.")
    await expect(page.locator("tbody tr").first).to_contain_text("(deactivated)")
    await expect(
        page.locator("tbody tr").first.get_by_role("button", name="Activate")
    ).to_be_visible()


async def test_a_product_is_created_and_repriced_from_the_stores_page(
    admin_page: Any,
    server: TestServer,  # noqa: F811
) -> None:
    page = admin_page
    # The owner must have messaged the account: a fan is made on first contact.
    app = server.app
    async with app[db_key]() as session, session.begin():
        await fans.get_or_create(session, "o_owner", now=app[clock_key].now())
    await page.goto("/admin/stores")
    stores = page.locator("#store-form")
    await stores.locator('input[name="owner_openid"]').fill("o_owner")
    await stores.locator('input[name="name"]').fill("Leaf")
    await stores.get_by_role("button", name="Save").click()
    await expect(page.locator("#flash")).to_have_text("Created.")

    products = page.locator("#product-form")
    await products.locator('input[name="store_id"]').fill("1")
    await products.locator('input[name="name"]').fill("Oolong")
    await products.locator('input[name="price"]').fill("12.345")
    await products.get_by_role("button", name="Save").click()
    await expect(products.locator(".field-error")).to_have_text(
        "price: at most two decimals (fen)"
    )
    await products.locator('input[name="price"]').fill("12.5")
    await products.get_by_role("button", name="Save").click()
    await expect(page.locator("#flash")).to_have_text("Created.")
    await expect(page.get_by_role("cell", name="¥12.50")).to_be_visible()

    await page.locator("tr", has_text="Oolong").get_by_role("button", name="Edit").click()
    await products.locator('input[name="price"]').fill("14")
    await products.get_by_role("button", name="Save").click()
    await expect(page.locator("#flash")).to_have_text("Saved.")
    await expect(page.get_by_role("cell", name="¥14.00")).to_be_visible()
