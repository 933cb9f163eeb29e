"""The console's mini-program view in Debian's chromium: the phone switches to the mini program,
wx.login gives a code the backend exchanges, "Allow" grants a subscribe message the backend then
sends and the view shows, and a scanned code opens its page with its scene. The pages know the
fan: a product bought with wx.requestPayment shows on its page and its store's, and a code's
image, scanned, opens its page."""

from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from botstore.clock import FrozenClock
from botstore.keys import config_key, db_key
from botstore.seed import seed_demo
from botstore.seed.miniprogram import DEMO_TEMPLATES
from tests.browser.conftest import IN_THE_BROWSERS_LOOP
from tests.browser.test_console_browser import add_fan, say

try:
    from playwright.async_api import expect
except ImportError:  # the browser fixture skips (under CI: fails), saying what to install
    expect = None

pytestmark = [
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    IN_THE_BROWSERS_LOOP,
]


async def backend_get(server: TestServer, path: str, **params: str) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.get(server.make_url(path), params=params) as r,
    ):
        return await r.json()


async def backend_post(
    server: TestServer, path: str, token: str, body: Any
) -> aiohttp.ClientResponse:
    async with (
        aiohttp.ClientSession() as http,
        http.post(server.make_url(path), params={"access_token": token}, json=body) as response,
    ):
        await response.read()
        return response


async def test_the_mini_program_view_logs_in_allows_shows_messages_and_scans(
    page: Any, server: TestServer, clock: FrozenClock
) -> None:
    async with server.app[db_key]() as session, session.begin():
        await seed_demo(session, now=clock.now())
    program = server.app[config_key].miniprogram
    phone = await add_fan(page, "o_alice", "Alice")
    await phone.get_by_test_id("mp-toggle").click()
    view = phone.get_by_test_id("miniprogram")
    await expect(view).to_be_visible()
    await expect(phone.get_by_test_id("chat")).to_be_hidden()
    await expect(view.get_by_test_id("mp-frame")).to_have_attribute("src", "/stores")

    # wx.login: the backend exchanges the code the view shows for the openid it shows.
    await view.get_by_test_id("mp-login").click()
    await expect(view.get_by_test_id("mp-code")).to_contain_text("code ")
    code = (await view.get_by_test_id("mp-code").text_content()).split()[1]
    session = await backend_get(
        server,
        "/sns/jscode2session",
        appid=program.app_id,
        secret=program.app_secret,
        js_code=code,
        grant_type="authorization_code",
    )
    await expect(view.get_by_test_id("mp-ids")).to_contain_text(f"openid {session['openid']}")

    # "Allow" one message of a template; the backend sends it; the view shows it.
    template_id = DEMO_TEMPLATES[1]["template_id"]
    await view.get_by_test_id("mp-subscribe-open").click()
    allowed = view.locator(f'[data-testid="mp-allow"][data-template="{template_id}"]')
    await allowed.click()
    row = view.get_by_test_id("mp-template").filter(
        has=page.locator(f'[data-template="{template_id}"]')
    )
    await expect(row.get_by_test_id("mp-grants")).to_have_text(" (1 left)")
    token = (
        await backend_get(
            server,
            "/cgi-bin/token",
            grant_type="client_credential",
            appid=program.app_id,
            secret=program.app_secret,
        )
    )["access_token"]
    data = {"number1": {"value": "120"}, "thing2": {"value": "<b>Tea</b> & cake"}}
    body = {"touser": session["openid"], "template_id": template_id, "data": data}
    sent = await backend_post(server, "/cgi-bin/message/subscribe/send", token, body)
    assert sent.status == 200
    message = view.get_by_test_id("mp-message")
    await expect(message).to_have_count(1)
    await expect(message).to_contain_text("变动原因 Reason: <b>Tea</b> & cake")  # text, not HTML

    # Scanning a code (its link, what a camera reads) opens its page with its scene.
    link = (
        f"{server.app[config_key].server.base_url}/wxa/open?appid={program.app_id}"
        "&page=pages%2Fstore%2Fstore&scene=store%3D1"
    )
    await view.get_by_test_id("mp-scan-link").fill(link)
    await view.get_by_test_id("mp-scan").click()
    await expect(phone).to_have_attribute("data-mp-page", "pages/store/store")
    await expect(phone).to_have_attribute("data-mp-scene", "store=1")
    await expect(view.get_by_test_id("mp-frame")).to_have_attribute("src", "/stores/1")
    frame = page.frame_locator('[data-testid="phone-o_alice"] [data-testid="mp-frame"]')
    await expect(frame.locator("body")).to_contain_text("Tea House")

    # A phone's camera opens the same link: the console, on that page, in the active phone.
    parts = urlsplit(link)
    await page.goto(f"{parts.path}?{parts.query.replace('store%3D1', 'product%3D2')}")
    await page.locator("body[data-ready=true]").wait_for()
    phone = page.get_by_test_id("phone-o_alice")
    await expect(phone.get_by_test_id("miniprogram")).to_be_visible()
    await expect(phone).to_have_attribute("data-mp-scene", "product=2")
    await expect(phone.get_by_test_id("mp-frame")).to_have_attribute("src", "/stores/2")


async def test_the_fan_buys_in_the_mini_program_with_wechat_pay_and_scans_a_code_image(
    page: Any, server: TestServer, clock: FrozenClock
) -> None:
    async with server.app[db_key]() as session, session.begin():
        await seed_demo(session, now=clock.now())
    program = server.app[config_key].miniprogram
    phone = await add_fan(page, "o_alice", "Alice")
    await say(phone, "topup 100")
    await phone.get_by_test_id("mp-toggle").click()
    view = phone.get_by_test_id("miniprogram")
    await expect(view.get_by_test_id("mp-who")).to_have_text("Signed in as Alice · wallet ¥100.00")

    # The Jasmine tea's page (product #2): what it costs, and a Buy button for this fan.
    await view.get_by_test_id("mp-page").select_option("pages/product/product")
    await view.get_by_test_id("mp-scene").fill("id=2")
    await view.get_by_test_id("mp-go").click()
    await expect(view.get_by_test_id("mp-offer")).to_have_text("¥32.00 · 80 in stock")
    await expect(view.get_by_test_id("mp-bought")).to_have_count(0)
    await view.get_by_test_id("mp-qty").fill("2")
    await view.get_by_test_id("mp-buy").click()
    result = view.get_by_test_id("mp-pay-result")
    await expect(result).to_have_attribute("data-outcome", "ordered")
    await expect(result).to_have_text("Paid ¥64.00: order #1 placed. Wallet ¥36.00")
    await expect(view.get_by_test_id("mp-order")).to_have_text(["order #1 · ×2 · ¥64.00 · paid"])
    await expect(view.get_by_test_id("mp-offer")).to_have_text("¥32.00 · 78 in stock")
    await expect(view.get_by_test_id("mp-who")).to_contain_text("wallet ¥36.00")
    frame = page.frame_locator('[data-testid="phone-o_alice"] [data-testid="mp-frame"]')
    await expect(frame.locator("body")).to_contain_text("78 in stock")

    # The order is the shop's: the chat lists it.
    await phone.get_by_test_id("mp-toggle").click()
    assert "#1" in await (await say(phone, "orders")).text_content()
    await phone.get_by_test_id("mp-toggle").click()

    # A code the backend made for Tea House's page, scanned from its image.
    token = (
        await backend_get(
            server,
            "/cgi-bin/token",
            grant_type="client_credential",
            appid=program.app_id,
            secret=program.app_secret,
        )
    )["access_token"]
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            server.make_url("/wxa/getwxacodeunlimit"),
            params={"access_token": token},
            json={"scene": "store=1", "page": "pages/store/store"},
        ) as response,
    ):
        png = await response.read()
    await view.get_by_test_id("mp-scan-file").set_input_files(
        {"name": "code.png", "mimeType": "image/png", "buffer": png}
    )
    await expect(phone).to_have_attribute("data-mp-page", "pages/store/store")
    await expect(phone).to_have_attribute("data-mp-scene", "store=1")
    await expect(view.get_by_test_id("mp-frame")).to_have_attribute("src", "/stores/1")
    await expect(view.get_by_test_id("mp-order")).to_have_text(["order #1 · ×2 · ¥64.00 · paid"])

    # A product of the fan's own store can't be bought: the page says so, with no Buy button.
    owner = await add_fan(page, "o_demo_tea_house_owner_0001", "Tea House")
    await owner.get_by_test_id("mp-toggle").click()
    mine = owner.get_by_test_id("miniprogram")
    await mine.get_by_test_id("mp-page").select_option("pages/product/product")
    await mine.get_by_test_id("mp-scene").fill("2")
    await mine.get_by_test_id("mp-go").click()
    await expect(mine.get_by_test_id("mp-refused")).to_have_text(
        "Your own store sells this: you can't buy it"
    )
    await expect(mine.get_by_test_id("mp-buy")).to_have_count(0)
