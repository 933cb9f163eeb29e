"""The console from a user's first minute (issue 17), in Debian's chromium: a fan ready to type
as, chats that survive a reload, another bot with its own menu (or none) and any EventKey,
phone and tablet widths, long bodies kept inside the panel, and a favicon."""

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.keys import db_key
from botstore.services import menu
from tests.browser.conftest import IN_THE_BROWSERS_LOOP
from tests.browser.test_console_browser import add_fan, reload, say

try:
    from playwright.async_api import expect
except ImportError:  # the browser fixture skips (under CI: fails), saying what to install
    expect = None

pytestmark = [
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    IN_THE_BROWSERS_LOOP,
]
DEFAULT = "o_console_fan_0001"


async def test_a_first_visit_opens_with_a_fan_ready_to_type(page: Any) -> None:
    phone = page.get_by_test_id(f"phone-{DEFAULT}")
    await expect(phone).to_be_visible()
    await expect(page.get_by_test_id(f"tab-{DEFAULT}")).to_have_attribute("aria-selected", "true")
    await expect(await say(phone, "balance")).to_contain_text("Your balance: ¥0.00")
    # Used, it stays beside the fans added next.
    await add_fan(page, "o_second")
    await expect(page.get_by_test_id("fan-tabs").get_by_role("tab")).to_have_count(2)


async def test_the_unused_default_fan_gives_way_to_the_first_fan_added(page: Any) -> None:
    await reload(page)  # an earlier visit's default fan, still unused
    await expect(page.get_by_test_id(f"phone-{DEFAULT}")).to_be_visible()
    await add_fan(page, "o_mine")
    await expect(page.get_by_test_id(f"phone-{DEFAULT}")).to_have_count(0)
    await expect(page.get_by_test_id("fan-tabs").get_by_role("tab")).to_have_count(1)


async def test_chat_and_developer_panel_survive_a_reload(page: Any) -> None:
    phone = await add_fan(page, "o_reload")
    await say(phone, "help")
    await phone.get_by_test_id("subscribe").click()
    await expect(phone.get_by_test_id("reply")).to_have_count(2)

    await reload(page)
    phone = page.get_by_test_id("phone-o_reload")
    await expect(phone.locator(".from-fan")).to_have_text(["help"])
    await expect(phone.get_by_test_id("reply")).to_have_count(2)
    await expect(phone.get_by_test_id("reply").last).to_contain_text("Welcome to botstore!")
    await expect(phone.get_by_test_id("note-restored")).to_have_text(["subscribe"])
    summaries = page.get_by_test_id("exchanges").locator("summary")
    await expect(summaries).to_have_count(2)
    await expect(summaries.last).to_contain_text('text "help"')
    # And the next message carries on the same session (its transcript has all three).
    await say(phone, "balance")
    transcript = await page.request.get(
        "/console/api/transcript?session="
        + await page.evaluate("sessionStorage.getItem('botstore.console.session')")
    )
    assert len((await transcript.json())["turns"]) == 3


async def choose_another_bot(page: Any, server: TestServer, config: Config, app_id: str) -> None:
    """ "Another bot": botstore's own webhook stands in for it, reached as a stranger would."""
    await page.get_by_test_id("target-kind").select_option("custom")
    await page.locator("#target-url").fill(str(server.make_url(config.wechat.path)))
    await page.locator("#target-token").fill(config.wechat.token)
    await page.locator("#target-app-id").fill(app_id)
    await page.locator("#target-account-id").fill(config.wechat.account_id)  # the AppID changes


async def test_another_bot_gets_no_botstore_menu_and_any_event_key(
    page: Any, server: TestServer, config: Config, clock: FrozenClock
) -> None:
    async with server.app[db_key]() as session, session.begin():
        buttons = [{"type": "click", "name": "Wallet", "key": "balance"}]
        await menu.save(session, buttons, now=clock.now())
    await reload(page)
    phone = await add_fan(page, "o_other_bot")
    await expect(phone.get_by_test_id("menu-button")).to_have_count(1)
    await expect(phone.get_by_test_id("scene")).to_be_attached()

    # A bot of its own AppID never made a menu here: none, and where its menu would come from.
    await choose_another_bot(page, server, config, "wx0123456789abcdef")
    await expect(phone.get_by_test_id("menu-button")).to_have_count(0)
    await expect(phone.get_by_test_id("no-bot-menu")).to_contain_text(
        f"/cgi-bin/menu/create as AppID {config.wechat.app_id}"
    )
    await expect(phone.get_by_test_id("scene")).to_be_hidden()

    await phone.get_by_test_id("click-open").click()
    await phone.get_by_test_id("click-key").fill("refund info")
    await phone.get_by_test_id("click").click()
    await expect(phone.get_by_test_id("menu-click")).to_have_text(
        "tapped a menu button (key refund info)"
    )
    await expect(
        page.get_by_test_id("exchanges").get_by_test_id("dev-message-xml").first
    ).to_contain_text("<EventKey><![CDATA[refund info]]></EventKey>")
    await expect(page.get_by_test_id("exchanges").get_by_test_id("dev-url").first).to_contain_text(
        str(server.make_url(config.wechat.path))
    )


async def test_another_bot_shows_the_menu_its_own_menu_create_made(
    page: Any, server: TestServer, config: Config
) -> None:
    # The bot under test, its API base pointed at botstore, sets its menu as it would on WeChat.
    granted = await page.request.get(
        "/cgi-bin/token",
        params={
            "grant_type": "client_credential",
            "appid": config.wechat.app_id,
            "secret": config.wechat.app_secret,
        },
    )
    token = (await granted.json())["access_token"]
    bots_menu = {
        "button": [
            {"type": "click", "name": "Refund", "key": "refund info"},
            {"name": "More", "sub_button": [{"type": "click", "name": "Hours", "key": "HOURS"}]},
        ]
    }
    created = await page.request.post(
        f"/cgi-bin/menu/create?access_token={token}", data=json.dumps(bots_menu)
    )
    assert (await created.json())["errcode"] == 0

    phone = await add_fan(page, "o_bots_menu")
    await choose_another_bot(page, server, config, config.wechat.app_id)
    buttons = phone.get_by_test_id("menu-button")
    await expect(buttons).to_have_text(["Refund", "More", "Hours"])
    await expect(phone.get_by_test_id("no-bot-menu")).to_have_count(0)
    await buttons.first.click()
    await expect(phone.get_by_test_id("menu-click")).to_have_text("tapped “Refund”")
    await expect(
        page.get_by_test_id("exchanges").get_by_test_id("dev-message-xml").first
    ).to_contain_text("<EventKey><![CDATA[refund info]]></EventKey>")

    # Kept across a reload, and gone for another AppID.
    await reload(page)
    phone = page.get_by_test_id("phone-o_bots_menu")
    await expect(phone.get_by_test_id("menu-button")).to_have_count(3)
    await page.locator("#target-app-id").fill("wx0123456789abcdef")
    await page.locator("#target-app-id").press("Tab")
    await expect(phone.get_by_test_id("menu-button")).to_have_count(0)
    await expect(phone.get_by_test_id("no-bot-menu")).to_be_visible()


@pytest.mark.parametrize(("width", "height"), [(390, 844), (768, 1024)], ids=["phone", "tablet"])
async def test_phone_and_tablet_widths_keep_the_phone_usable(
    browser: Any, server: TestServer, width: int, height: int
) -> None:
    context = await browser.new_context(
        base_url=str(server.make_url("")), viewport={"width": width, "height": height}
    )
    try:
        page = await context.new_page()
        await page.goto("/console")
        await page.locator("body[data-ready=true]").wait_for()
        phone = page.get_by_test_id(f"phone-{DEFAULT}")
        box = await phone.bounding_box()
        assert box is not None and box["width"] >= min(360, width - 40)
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        panel = await page.get_by_test_id("dev-panel").bounding_box()
        assert panel is not None and panel["width"] >= width - 40  # below the phones, full width
        await expect(await say(phone, "balance")).to_contain_text("Your balance")
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
    finally:
        await context.close()


async def test_long_bodies_stay_inside_the_developer_panel(page: Any) -> None:
    phone = await add_fan(page, "o_long")
    await say(phone, "echo " + "x" * 1500)  # one unbroken word, in every section
    panel = page.get_by_test_id("dev-panel")
    await expect(panel.get_by_test_id("dev-reply")).to_have_count(1)
    sizes = await panel.evaluate("(node) => [node.scrollWidth, node.clientWidth]")
    assert sizes[0] <= sizes[1]


async def test_the_console_has_a_favicon(page: Any) -> None:
    href = await page.locator('link[rel="icon"]').get_attribute("href")
    response = await page.request.get(href)
    assert response.status == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
