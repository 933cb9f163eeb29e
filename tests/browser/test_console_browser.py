"""The web console in Debian's chromium: chatting, the menu, following, AES in the developer
panel, two fans side by side, a dividend pushed live after a clock advance, and escaping."""

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from botstore.clock import FrozenClock
from botstore.keys import db_key
from botstore.seed import seed_demo
from botstore.seed.wealth import seed_wealth_products
from botstore.services import menu, messages
from tests.browser.conftest import IN_THE_BROWSERS_LOOP

try:
    from playwright.async_api import expect
except ImportError:  # the browser fixture skips (under CI: fails), saying what to install
    expect = None

# The page is what is under test here; both databases are covered by tests/console.
pytestmark = [
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    IN_THE_BROWSERS_LOOP,
]


async def reload(page: Any) -> None:
    await page.reload()
    await page.locator("body[data-ready=true]").wait_for()


async def add_fan(page: Any, openid: str, nickname: str = "") -> Any:
    await page.get_by_test_id("new-openid").fill(openid)
    await page.get_by_test_id("new-nickname").fill(nickname)
    await page.get_by_test_id("add-fan").click()
    phone = page.get_by_test_id(f"phone-{openid}")
    await expect(phone).to_be_visible()
    await expect(phone).to_have_attribute("data-live", "true")  # its push socket is open
    return phone


async def say(phone: Any, text: str) -> Any:
    """Type and send; the newest reply bubble."""
    before = await phone.get_by_test_id("reply").count()
    await phone.get_by_test_id("message").fill(text)
    await phone.get_by_test_id("message").press("Enter")
    replies = phone.get_by_test_id("reply")
    await expect(replies).to_have_count(before + 1)
    return replies.last


async def test_help_gets_a_reply_bubble(page: Any, artifacts: Path) -> None:
    phone = await add_fan(page, "o_alice", "Alice")
    await expect(page.get_by_test_id("tab-o_alice")).to_have_text("Alice×")
    reply = await say(phone, "help")
    await expect(reply).to_contain_text("balance")
    await expect(phone.locator(".from-fan").last).to_have_text("help")
    # The developer panel shows the exchange: plaintext XML, signature inputs, timing.
    panel = page.get_by_test_id("exchanges")
    await expect(panel.get_by_test_id("dev-message-xml").first).to_contain_text(
        "<Content><![CDATA[help]]></Content>"
    )
    await expect(panel.get_by_test_id("dev-signature").first).to_contain_text('"token": "AAAAA"')
    await expect(panel.locator("summary").first).to_contain_text(" ms")
    async with page.expect_download() as info:
        await page.get_by_test_id("save-transcript").click()
    downloaded = Path(await (await info.value).path())
    saved = json.loads(await asyncio.to_thread(downloaded.read_text))
    assert [turn["request"]["Content"] for turn in saved["turns"]] == ["help"]
    assert saved["turns"][0]["openid"] == "o_alice"
    await page.screenshot(path=str(artifacts / "console.png"), full_page=True)
    assert (artifacts / "console.png").stat().st_size > 10_000


async def test_menu_buttons_send_click_events(
    page: Any, server: TestServer, clock: FrozenClock
) -> None:
    async with server.app[db_key]() as session, session.begin():
        await menu.save(
            session,
            [
                {"type": "click", "name": "Wallet", "key": "balance"},
                {
                    "name": "More",
                    "sub_button": [
                        {"type": "click", "name": "Help", "key": "help"},
                        {"type": "view", "name": "Stores", "url": "http://127.0.0.1/stores"},
                    ],
                },
            ],
            now=clock.now(),
        )
    await reload(page)
    phone = await add_fan(page, "o_menu")
    buttons = phone.get_by_test_id("menu").get_by_test_id("menu-button")
    await buttons.filter(has_text="Wallet").click()
    await expect(phone.get_by_test_id("reply-text").last).to_have_text("Your balance: ¥0.00")
    await buttons.filter(has_text="More").click()
    await buttons.filter(has_text="Help").click()
    await expect(phone.get_by_test_id("reply")).to_have_count(2)
    await expect(phone.get_by_test_id("reply").last).to_contain_text("topup")
    await buttons.filter(has_text="More").click()
    await buttons.filter(has_text="Stores").click()
    await expect(phone.get_by_test_id("reply-success")).to_have_count(1)  # VIEW: recorded
    await expect(
        page.get_by_test_id("exchanges").get_by_test_id("dev-message-xml").first
    ).to_contain_text("<Event><![CDATA[VIEW]]></Event>")


async def test_follow_gets_the_welcome(page: Any) -> None:
    phone = await add_fan(page, "o_follower")
    await phone.get_by_test_id("subscribe").click()
    await expect(phone.get_by_test_id("reply").last).to_contain_text("Welcome to botstore!")


async def test_aes_shows_the_encrypted_xml_in_the_developer_panel(page: Any) -> None:
    phone = await add_fan(page, "o_secret")
    await page.get_by_test_id("aes").check()
    reply = await say(phone, "balance")
    await expect(reply.get_by_test_id("reply-text")).to_have_text("Your balance: ¥0.00")
    await expect(reply.locator(".meta")).to_contain_text("AES")
    panel = page.get_by_test_id("exchanges")
    await expect(panel.get_by_test_id("dev-request-body").first).to_contain_text("<Encrypt>")
    await expect(panel.get_by_test_id("dev-response-body").first).to_contain_text("<Encrypt>")
    await expect(panel.get_by_test_id("dev-reply-xml").first).to_contain_text("Your balance")
    await expect(panel.get_by_test_id("dev-signature").first).to_contain_text("msg_signature")


async def test_two_fans_side_by_side(page: Any) -> None:
    buyer = await add_fan(page, "o_buyer", "Buyer")
    seller = await add_fan(page, "o_seller", "Seller")
    await expect(page.get_by_test_id("fan-tabs").get_by_role("tab")).to_have_count(2)
    await expect(page.get_by_test_id("tab-o_seller")).to_have_attribute("aria-selected", "true")
    await expect(await say(seller, "open Tea House")).to_contain_text("#")
    await expect(await say(buyer, "stores")).to_contain_text("Tea House")
    await expect(seller.locator(".from-fan")).to_have_count(1)
    await expect(buyer.locator(".from-fan")).to_have_count(1)
    await page.get_by_test_id("tab-o_seller").click()
    await expect(page.get_by_test_id("exchanges").locator("summary")).to_have_count(1)
    await expect(page.get_by_test_id("exchanges").locator("summary")).to_contain_text(
        "open Tea House"
    )


async def test_a_dividend_arrives_live_after_advancing_the_clock(
    page: Any, server: TestServer, clock: FrozenClock
) -> None:
    async with server.app[db_key]() as session, session.begin():
        await seed_wealth_products(session, now=clock.now())
    phone = await add_fan(page, "o_investor")
    await say(phone, "topup 5000")
    await expect(await say(phone, "invest 1 5000")).to_contain_text("holding")
    await expect(phone.get_by_test_id("pushed")).to_have_count(0)
    await page.get_by_test_id("advance-30").click()
    await expect(page.get_by_test_id("clock-ran")).to_contain_text("wealth.pay_dividends")
    await expect(page.get_by_test_id("clock-now")).to_have_text("2026-01-31 04:00")
    pushed = phone.get_by_test_id("pushed")
    await expect(pushed.first).to_contain_text("Dividend ¥0.50 from Daily Dividend 30")
    await expect(pushed.first).to_contain_text("pushed")


async def test_news_cards_and_media_placeholders_render(page: Any) -> None:
    phone = await add_fan(page, "o_cards")
    card = (await say(phone, "kind news")).get_by_test_id("news-card")
    await expect(card).to_have_attribute("href", "http://u/1")
    await expect(card.locator("img")).to_have_attribute("src", "http://p/1.png")
    await expect(card.locator(".title")).to_have_text("Title & more")
    await expect(card.locator(".desc")).to_have_text("desc ]]> end")
    await expect(await say(phone, "kind image")).to_contain_text("[image] media_id media-image-1")
    await expect(await say(phone, "kind voice")).to_contain_text("[voice] media_id media-voice-1")
    await expect(await say(phone, "kind video")).to_contain_text("about <things>")
    await expect(await say(phone, "kind music")).to_contain_text("thumb thumb-1")


async def test_a_reply_with_markup_shows_as_text(page: Any) -> None:
    phone = await add_fan(page, "o_xss")
    hostile = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2"> see https://example.com/a?b=1'
    reply = await say(phone, f"echo {hostile}")
    await expect(reply.get_by_test_id("reply-text")).to_have_text(hostile)
    await expect(reply.locator("a")).to_have_attribute("href", "https://example.com/a?b=1")
    assert await phone.locator(".chat script, .chat img[src=x]").count() == 0
    assert await page.evaluate("window.pwned") is None
    # Line breaks stay line breaks.
    multi = await say(phone, "echo one")
    await expect(multi).to_contain_text("one")


async def test_a_new_fan_follows_shops_invests_and_gets_a_dividend_live(
    page: Any, server: TestServer, clock: FrozenClock, artifacts: Path
) -> None:
    async with server.app[db_key]() as session, session.begin():
        await seed_demo(session, now=clock.now())
        await menu.save(
            session, [{"type": "click", "name": "Balance", "key": "balance"}], now=clock.now()
        )
    await reload(page)
    phone = await add_fan(page, "o_journey", "Journey")
    await phone.get_by_test_id("subscribe").click()
    await expect(phone.get_by_test_id("reply-text").last).to_contain_text("Welcome to botstore!")
    await phone.get_by_test_id("menu-button").filter(has_text="Balance").click()
    await expect(phone.get_by_test_id("reply-text").last).to_have_text("Your balance: ¥0.00")
    await expect(await say(phone, "help")).to_contain_text("buy <product id>")
    await expect(await say(phone, "topup 500")).to_contain_text("500.00")
    await expect(await say(phone, "stores")).to_contain_text("Tea House")
    card = (await say(phone, "store 1")).get_by_test_id("news-card")
    await expect(card).to_have_attribute("href", "http://127.0.0.1:8080/stores/1")
    await expect(card.locator(".title")).to_contain_text("Tea House")
    await expect(await say(phone, "buy 1")).to_contain_text("Order #")
    await expect(await say(phone, "invest 1 100")).to_contain_text("holding")
    await page.get_by_test_id("advance-1").click()
    await expect(phone.get_by_test_id("pushed").first).to_contain_text(
        "Dividend ¥0.01 from Daily Dividend 30"
    )
    await page.screenshot(path=str(artifacts / "console-journey.png"), full_page=True)


async def test_template_and_menu_messages_pushed_by_the_active_apis_read_as_text(
    page: Any, server: TestServer, clock: FrozenClock
) -> None:
    phone = await add_fan(page, "o_notified")
    template = {
        "touser": "o_notified",
        "template_id": "TPL_SHIPPED",
        "url": "https://example.com/orders/1",
        "data": {"first": {"value": "Your order shipped"}, "remark": {"value": "Thanks"}},
    }
    choice = {
        "touser": "o_notified",
        "msgtype": "msgmenu",
        "msgmenu": {
            "head_content": "Rate us",
            "list": [{"id": "101", "content": "good"}, {"id": "102", "content": "bad"}],
            "tail_content": "Thanks",
        },
    }
    async with server.app[db_key]() as session, session.begin():
        for payload, reason in [(template, "template"), (choice, "custom_send")]:
            messages.send_to_outbox(session, "o_notified", payload, reason=reason, now=clock.now())
    pushed = phone.get_by_test_id("pushed")
    await expect(pushed).to_have_count(2)
    await expect(pushed.first).to_contain_text("[template TPL_SHIPPED]")
    await expect(pushed.first).to_contain_text("first: Your order shipped")
    await expect(pushed.last).to_contain_text("101. good")
    await expect(pushed.last).not_to_contain_text("msgmenu")


async def test_a_notice_held_outside_the_48_hour_window_shows_waiting_then_goes_out(
    page: Any, clock: FrozenClock
) -> None:
    seller = await add_fan(page, "o_away_seller")
    await say(seller, "open Away Shop")
    await say(seller, "list Kettle 20 3")
    clock.advance(timedelta(hours=49))  # the seller has not written for 49 hours
    buyer = await add_fan(page, "o_eager_buyer", "Mei")
    await say(buyer, "topup 50")
    await say(buyer, "buy 1")
    held = seller.get_by_test_id("waiting")
    await expect(held).to_have_count(1)
    await expect(held).to_contain_text("New order #1: Kettle x 1 for Mei")
    await expect(held).to_contain_text("outside the 48-hour window")
    await expect(seller.get_by_test_id("pushed")).to_have_count(0)
    await say(seller, "balance")  # the seller writes: the notice goes out
    pushed = seller.get_by_test_id("pushed")
    await expect(pushed).to_have_count(1)
    await expect(pushed).to_contain_text("New order #1")
    await expect(pushed).to_contain_text("held since")
