"""The web console's page and JSON API through the real app: sends, events, bad input, another
bot as the target, the clock, and outbox messages pushed over the WebSocket."""

import hashlib
import json
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient

from botstore.app import create_app
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.models import Fan, InboundMessage
from botstore.seed.wealth import seed_wealth_products
from botstore.services import menu, merchants, messages
from handlers import ROUTERS
from tests.api.cgi import OK, get_token, post
from tests.console.conftest import ACCOUNT, CannedBot, text_xml
from tests.helpers import count, probe

SEND = "/console/api/send"


async def send(client: TestClient, **body: Any) -> dict[str, Any]:
    body.setdefault("openid", "o_console")
    response = await client.post(SEND, json=body)
    assert response.status == 200, await response.text()
    return await response.json()


@pytest.fixture
def app(config: Config, clock: FrozenClock) -> web.Application:
    # The probe commands (echo, kind) give every reply type on demand.
    return create_app(config, clock=clock, routers=[probe, *ROUTERS])


# --- the page and its files --------------------------------------------------------------------


async def test_the_page_is_served_with_its_script_and_a_strict_csp(client: TestClient) -> None:
    response = await client.get("/console")
    assert response.status == 200
    assert response.content_type == "text/html"
    html = await response.text()
    assert '<script src="/console/static/console.js" defer></script>' in html
    assert "gh_97417a04a28d" in html  # the account, for the page's title bar
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp

    script = await client.get("/console/static/console.js")
    assert script.status == 200
    assert script.content_type == "text/javascript"
    assert "innerHTML" not in await script.text()
    assert (await client.get("/console/static/console.css")).content_type == "text/css"


@pytest.mark.parametrize(
    "path",
    [
        "/console/static/..%2Fweb.py",
        "/console/static/%2e%2e%2fclient.py",
        "/console/static/.hidden.js",
        "/console/static/nope.js",
        "/console/static/console.py",
        "/console/static/..%5Cweb.py",
    ],
)
async def test_static_files_are_only_the_shipped_ones(client: TestClient, path: str) -> None:
    response = await client.get(path)
    assert response.status == 404
    assert "import" not in await response.text()


async def test_settings_in_the_page_are_escaped(
    aiohttp_client: Any, config: Config, clock: FrozenClock
) -> None:
    hostile = config.replace(wechat={"account_id": 'gh_"><script>alert(1)</script>'})
    client = await aiohttp_client(create_app(hostile, clock=clock))
    html = await (await client.get("/console")).text()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- who may use it ----------------------------------------------------------------------------


async def test_a_non_loopback_host_needs_the_admin_token(
    client: TestClient, config: Config
) -> None:
    # A DNS-rebinding page reaches 127.0.0.1 under its own name: the Host header gives it away.
    rebound = {"Host": "evil.example:8080"}
    page = await client.get("/console", headers=rebound, allow_redirects=False)
    assert page.status == 302
    assert page.headers["Location"] == "/admin/login?next=/console"
    for response in [
        await client.post(
            SEND, json={"openid": "o_x", "type": "text", "text": "hi"}, headers=rebound
        ),
        await client.get("/console/ws", params={"openid": "o_x"}, headers=rebound),
    ]:
        assert response.status == 401
        assert await response.text() == (
            "the console is served to loopback only, or with the admin token"
        )
    wrong = rebound | {"Authorization": "Bearer nope"}
    assert (await client.get("/console", headers=wrong)).status == 401
    right = rebound | {"Authorization": f"Bearer {config.admin.token}"}
    assert (await client.get("/console", headers=right)).status == 200


async def test_signing_in_to_the_admin_opens_the_console_off_loopback(
    client: TestClient, config: Config
) -> None:
    remote = {"Host": "botstore.example:8080"}
    signed_in = await client.post(
        "/admin/login",
        data={"token": config.admin.token, "next": "/console"},
        headers=remote | {"Origin": "http://botstore.example:8080"},
        allow_redirects=False,
    )
    assert signed_in.status == 303
    assert signed_in.headers["Location"] == "/console"
    assert (await client.get("/console", headers=remote)).status == 200
    sent = await client.post(
        SEND,
        json={"openid": "o_remote", "type": "text", "text": "help"},
        headers=remote | {"Origin": "http://botstore.example:8080"},
    )
    assert sent.status == 200


async def test_cross_site_and_non_json_posts_are_refused(client: TestClient, sessions) -> None:
    body = {"openid": "o_x", "type": "text", "text": "topup 10"}
    response = await client.post(SEND, json=body, headers={"Origin": "http://evil.example"})
    assert response.status == 403
    assert await response.text() == "cross-site request refused"
    # A form post needs no CORS preflight, so the console takes JSON only.
    response = await client.post(
        SEND, data=json.dumps(body), headers={"Content-Type": "text/plain"}
    )
    assert response.status == 400
    assert await response.text() == "send JSON (Content-Type: application/json)"
    assert await count(sessions, InboundMessage) == 0


# --- sending -----------------------------------------------------------------------------------


async def test_text_goes_through_the_webhook_with_every_detail(client: TestClient) -> None:
    exchange = await send(client, type="text", text="help", session="s1")
    assert exchange["status"] == 200
    assert exchange["encrypted"] is False
    assert exchange["reply"]["type"] == "text"
    assert "balance" in exchange["reply"]["content"]
    assert exchange["reply"]["to_user"] == "o_console"
    assert exchange["reply"]["from_user"] == "gh_97417a04a28d"
    assert "<Content><![CDATA[help]]></Content>" in exchange["message_xml"]
    assert exchange["request_body"] == exchange["message_xml"]
    assert exchange["response_body"] == exchange["reply_xml"]
    assert exchange["elapsed_ms"] >= 0
    assert exchange["url"].endswith("/wechat")
    signature = exchange["signature"]
    assert signature["token"] == "AAAAA"
    joined = "".join(sorted(["AAAAA", signature["timestamp"], signature["nonce"]]))
    assert signature["signature"]["joined"] == joined
    assert signature["signature"]["sha1"] == hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 (WeChat chose SHA-1)
    assert signature["signature"]["sha1"] == exchange["query"]["signature"]
    assert isinstance(exchange["warnings"], list)


async def test_aes_sends_the_encrypted_envelope_and_shows_both_sides(client: TestClient) -> None:
    exchange = await send(client, type="text", text="balance", aes=True)
    assert exchange["encrypted"] is True
    assert "<Encrypt>" in exchange["request_body"] and "balance" not in exchange["request_body"]
    assert "<Content><![CDATA[balance]]></Content>" in exchange["message_xml"]
    assert "<Encrypt>" in exchange["response_body"]
    assert "0.00" in exchange["reply_xml"]
    assert exchange["reply"]["content"] == "Your balance: ¥0.00"
    msg = exchange["signature"]["msg_signature"]
    assert msg["sha1"] == msg["sent"] == exchange["query"]["msg_signature"]
    assert exchange["query"]["encrypt_type"] == "aes"


async def test_every_reply_type_comes_back_parsed(client: TestClient) -> None:
    news = (await send(client, type="text", text="kind news"))["reply"]
    assert news["type"] == "news"
    assert news["articles"] == [
        {
            "title": "Title & more",
            "description": "desc ]]> end",
            "pic_url": "http://p/1.png",
            "url": "http://u/1",
        }
    ]
    music = (await send(client, type="text", text="kind music"))["reply"]
    assert music["type"] == "music" and music["thumb_media_id"] == "thumb-1"
    for kind in ("image", "voice", "video"):
        reply = (await send(client, type="text", text=f"kind {kind}"))["reply"]
        assert reply["type"] == kind and reply["media_id"] == f"media-{kind}-1"


async def test_a_reply_with_markup_comes_back_verbatim_as_json(client: TestClient) -> None:
    # The page puts it in a text node (see the browser tests); the API must not mangle it.
    response = await client.post(
        SEND, json={"openid": "o_x", "type": "text", "text": "echo <script>alert(1)</script>"}
    )
    assert response.content_type == "application/json"
    assert (await response.json())["reply"]["content"] == "<script>alert(1)</script>"


async def test_events_subscribe_scan_click_location_image(
    client: TestClient, sessions, clock: FrozenClock
) -> None:
    async with sessions() as session, session.begin():
        await merchants.create(
            session, code="TEA01", name="Lotus Tea House", scene="merchant_TEA01", now=clock.now()
        )
    welcome = await send(client, type="subscribe")
    assert welcome["reply"]["content"].startswith("Welcome to botstore!")
    assert "<Event><![CDATA[subscribe]]></Event>" in welcome["message_xml"]

    scan = await send(client, type="scan", scene="merchant_TEA01")
    assert "<Event><![CDATA[SCAN]]></Event>" in scan["message_xml"]
    assert "Paying Lotus Tea House (TEA01). How much?" in scan["reply"]["content"]
    assert (
        "cancelled" in (await send(client, type="text", text="cancel"))["reply"]["content"].lower()
    )

    via_qr = await send(client, openid="o_new", type="subscribe", scene="merchant_TEA01")
    assert "<EventKey><![CDATA[qrscene_merchant_TEA01]]></EventKey>" in via_qr["message_xml"]
    assert "Paying Lotus Tea House" in via_qr["reply"]["content"]

    click = await send(
        client, type="menu", button={"type": "click", "name": "Wallet", "key": "balance"}
    )
    assert "<Event><![CDATA[CLICK]]></Event>" in click["message_xml"]
    assert click["reply"]["content"] == "Your balance: ¥0.00"

    view = await send(
        client, type="menu", button={"type": "view", "name": "Shop", "url": "http://shop/1"}
    )
    assert "<Event><![CDATA[VIEW]]></Event>" in view["message_xml"]
    assert view["success"] is True

    located = await send(client, type="report_location", lat=23.1, lng="113.3")
    assert "<Latitude>23.1</Latitude>" in located["message_xml"]
    place = await send(client, type="location", lat=23.1, lng=113.3, label="Tianhe")
    assert "<Label><![CDATA[Tianhe]]></Label>" in place["message_xml"]
    image = await send(client, type="image")
    assert "/console/static/photo.svg" in image["message_xml"]

    bye = await send(client, type="unsubscribe")
    assert bye["success"] is True
    async with sessions() as session:
        fan = (await session.exec(Fan.__table__.select().where(Fan.openid == "o_console"))).one()
    assert fan.subscribed is False
    assert await count(sessions, InboundMessage) == 10


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            {"type": "text", "text": "hi", "openid": ""},
            "openid must be 1-64 letters, digits, _ or -",
        ),
        (
            {"type": "text", "text": "hi", "openid": "a b"},
            "openid must be 1-64 letters, digits, _ or -",
        ),
        (
            {"type": "text", "text": "hi", "openid": "x" * 65},
            "openid must be 1-64 letters, digits, _ or -",
        ),
        (
            {"type": "shout", "text": "hi"},
            "type must be one of text, image, location, subscribe, unsubscribe, scan, report_location, menu",
        ),
        ({"type": "text"}, "text is missing"),
        ({"type": "text", "text": "   "}, "text is empty"),
        ({"type": "text", "text": 5}, "text must be a string"),
        ({"type": "text", "text": "x" * 2049}, "text is longer than 2048 characters"),
        ({"type": "text", "text": "hi", "aes": "yes"}, "aes must be true or false"),
        ({"type": "scan", "scene": ""}, "scene is empty"),
        ({"type": "location", "lat": 91, "lng": 0}, "lat must be a number from -90 to 90"),
        ({"type": "location", "lat": 1, "lng": "east"}, "lng must be a number from -180 to 180"),
        ({"type": "menu"}, "button must be the menu button (an object with type and key or url)"),
        ({"type": "menu", "button": {"type": "click", "key": ""}}, "button.key is empty"),
        (
            {"type": "menu", "button": {"type": "view", "url": "javascript:alert(1)"}},
            "button.url must be an http:// or https:// URL",
        ),
        (
            {"type": "menu", "button": {"type": "bogus"}},
            "button.type must be one of click, view, scancode_push, scancode_waitmsg, pic_sysphoto, pic_photo_or_album, pic_weixin, location_select, miniprogram",
        ),
        ({"type": "text", "text": "hi", "target": "x"}, "target must be an object"),
        (
            {"type": "text", "text": "hi", "target": {"url": "ftp://x"}},
            "target.url must be an http:// or https:// URL",
        ),
        (
            {"type": "text", "text": "hi", "target": {"url": "http://x", "token": "a"}},
            "target.token must be 3-32 letters/digits",
        ),
        (
            {"type": "text", "text": "hi", "target": {"url": "http://x", "token": "abc"}},
            "target.app_id is missing",
        ),
        (
            {
                "type": "text",
                "text": "hi",
                "target": {"url": "http://x", "token": "abc", "app_id": "wx1"},
            },
            "target.account_id (the gh_... original ID) is missing",
        ),
        (
            {
                "type": "text",
                "text": "hi",
                "aes": True,
                "target": {
                    "url": "http://x",
                    "token": "abc",
                    "app_id": "wx1",
                    "account_id": "gh_1",
                },
            },
            "target.encoding_aes_key is needed for AES",
        ),
        (
            {
                "type": "text",
                "text": "hi",
                "target": {
                    "url": "http://x",
                    "token": "abc",
                    "app_id": "wx1",
                    "account_id": "gh_1",
                    "encoding_aes_key": "short",
                },
            },
            "target.encoding_aes_key must be 43 letters/digits",
        ),
    ],
)
async def test_bad_sends_are_refused_with_a_reason_and_send_nothing(
    client: TestClient, sessions, body: dict[str, Any], reason: str
) -> None:
    body = {"openid": "o_console"} | body
    response = await client.post(SEND, json=body)
    assert response.status == 400
    assert await response.text() == reason
    assert await count(sessions, InboundMessage) == 0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "body: not valid JSON"),
        (b"[1, 2]", "body: must be a JSON object"),
        (b'"text"', "body: must be a JSON object"),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, "body: nested too deeply"),
        (b'{"openid": "o_console", "lat": ' + b"9" * 5000 + b"}", "body: a number is too large"),
        (
            b'{"openid": "o_console", "lat": NaN}',
            "lat: must be a finite number (no NaN or Infinity)",
        ),
        (b'{"openid": "o\\u0000"}', "openid: must not contain NUL characters"),
        (b'{"openid": "\xff"}', "body: not valid UTF-8 JSON text"),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_refused(
    client: TestClient, sessions, raw: bytes, reason: str
) -> None:
    response = await client.post(SEND, data=raw, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert await response.text() == reason
    assert await count(sessions, InboundMessage) == 0


# --- another bot -------------------------------------------------------------------------------


async def test_the_console_talks_to_another_bot_with_its_settings(
    client: TestClient, aiohttp_server: Any, canned: CannedBot, sessions
) -> None:
    other = web.Application()
    other.router.add_post("/wechat", canned.handle)
    server = await aiohttp_server(other)
    canned.answer = lambda request, xml: web.Response(
        text=text_xml("hi from elsewhere", to="o_lint_fan_0000000000000000000")
    )
    target = {
        "url": str(server.make_url("/wechat")),
        "token": ACCOUNT.token,
        "app_id": ACCOUNT.app_id,
        "account_id": ACCOUNT.account_id,
        "encoding_aes_key": ACCOUNT.encoding_aes_key,
    }
    exchange = await send(
        client,
        openid="o_lint_fan_0000000000000000000",
        type="text",
        text="hello",
        target=target,
        aes=True,
    )
    assert exchange["url"] == target["url"]
    assert exchange["encrypted"] is True
    assert exchange["reply"]["content"] == "hi from elsewhere"
    assert await count(sessions, InboundMessage) == 0  # botstore's own webhook saw nothing

    canned.answer = lambda request, xml: web.Response(status=403, text="bad signature")
    refused = await send(client, type="text", text="hello", target=target)
    assert refused["status"] == 403
    assert refused["response_body"] == "bad signature"


async def test_an_unreachable_bot_is_a_502_with_the_reason(client: TestClient) -> None:
    target = {
        "url": "http://127.0.0.1:9/wechat",
        "token": "abc",
        "app_id": "wx1",
        "account_id": "gh_1",
    }
    response = await client.post(
        SEND, json={"openid": "o_x", "type": "text", "text": "hi", "target": target}
    )
    assert response.status == 502
    assert (await response.text()).startswith("could not reach http://127.0.0.1:9/wechat")


# --- fans, state, clock ------------------------------------------------------------------------


async def test_create_fan_keeps_the_nickname_and_state_lists_it(
    client: TestClient, sessions
) -> None:
    response = await client.post(
        "/console/api/fans", json={"openid": "o_alice", "nickname": "Alice"}
    )
    assert response.status == 200
    assert await response.json() == {"openid": "o_alice", "nickname": "Alice", "subscribed": True}
    state = await (await client.get("/console/api/state")).json()
    assert {"openid": "o_alice", "nickname": "Alice", "subscribed": True} in state["fans"]
    assert state["now"] == "2026-01-01T04:00:00+00:00"
    assert isinstance(state["menu"], list)
    listed = await (await client.get("/console/api/fans")).json()
    assert listed["fans"] == [{"openid": "o_alice", "nickname": "Alice", "subscribed": True}]
    shown = await (await client.get("/console/api/clock")).json()
    assert shown == {"now": "2026-01-01T04:00:00+00:00"}

    for bad, reason in [
        ({"openid": "o alice"}, "openid must be 1-64 letters, digits, _ or -"),
        ({"openid": "o_bob", "nickname": 3}, "nickname must be a string"),
        ({"openid": "o_bob", "nickname": "n" * 65}, "nickname is longer than 64 characters"),
    ]:
        response = await client.post("/console/api/fans", json=bad)
        assert response.status == 400
        assert await response.text() == reason
    assert await count(sessions, Fan) == 1


async def test_state_has_the_accounts_menu(client: TestClient, sessions, clock) -> None:
    assert (await (await client.get("/console/api/state")).json())["menu"] == []
    buttons = [
        {"type": "click", "name": "Wallet", "key": "balance"},
        {"name": "More", "sub_button": [{"type": "view", "name": "Shop", "url": "http://shop/1"}]},
    ]
    async with sessions() as session, session.begin():
        await menu.save(session, buttons, now=clock.now())
    state = await (await client.get("/console/api/state")).json()
    assert [button["name"] for button in state["menu"]] == ["Wallet", "More"]
    assert state["menu"][1]["sub_button"][0]["url"] == "http://shop/1"


async def test_another_bot_gets_the_menu_its_own_menu_create_made_or_none(
    client: TestClient, config: Config
) -> None:
    """Menus are the account's: a bot under test that calls /cgi-bin/menu/create on botstore does
    it with the account's AppID (the only one /cgi-bin/token grants), and gets that menu back; a
    bot with any other AppID made none here."""
    bots_menu = [{"type": "click", "name": "Refund", "key": "refund info"}]
    foreign = "wx0123456789abcdef"
    assert (await (await client.get(f"/console/api/menu?app_id={foreign}")).json())["menu"] == []

    # The bot, its API base pointed at botstore, sets its menu (and a foreign AppID gets no token).
    refused = await client.get(
        "/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": foreign, "secret": "s" * 32},
    )
    assert (await refused.json())["errcode"] == 40013
    token = await get_token(client, config)
    assert await post(client, "/cgi-bin/menu/create", token, {"button": bots_menu}) == OK

    own = await (await client.get(f"/console/api/menu?app_id={config.wechat.app_id}")).json()
    assert own == {"app_id": config.wechat.app_id, "account": True, "menu": bots_menu}
    other = await (await client.get(f"/console/api/menu?app_id={foreign}")).json()
    assert other == {"app_id": foreign, "account": False, "menu": []}
    # The page's own webhook (no app_id) is the account too.
    assert (await (await client.get("/console/api/menu")).json())["menu"] == bots_menu
    # Another bot whose AppID is not typed yet: none.
    assert (await (await client.get("/console/api/menu?app_id=")).json())["menu"] == []
    response = await client.get("/console/api/menu?app_id=" + "w" * 65)
    assert response.status == 400
    assert await response.text() == "app_id is longer than 64 characters"


async def test_retries_report_each_try(client: TestClient) -> None:
    exchange = await send(client, type="text", text="help", retries=True)
    assert [(t["number"], t["status"], t["outcome"]) for t in exchange["tries"]] == [
        (1, 200, "answered")
    ]
    assert exchange["diagnostics"]["signature"]


async def test_state_lists_the_merchant_scenes(client: TestClient, sessions, clock) -> None:
    async with sessions() as session, session.begin():
        await merchants.create(
            session, code="NOODLE", name="Noodle Bar", scene="merchant_NOODLE", now=clock.now()
        )
        closed = await merchants.create(
            session, code="SOUP", name="Soup Stall", scene="merchant_SOUP", now=clock.now()
        )
        closed.active = False
    state = await (await client.get("/console/api/state")).json()
    assert state["scenes"] == [
        {"scene": "merchant_NOODLE", "name": "Noodle Bar"},
        {"scene": "merchant_SOUP", "name": "Soup Stall (deactivated)"},
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "days: missing"),
        ({"days": 1.5}, "days: must be a whole number"),
        ({"days": True}, "days: must be a whole number"),
        ({"days": "2"}, "days: must be a whole number"),
        ({"days": 1, "hours": 2}, "hours: unknown field"),
        ({"days": 0}, "days: must be 1 or more"),
        ({"days": 400}, "days: must be at most 366"),
        ({"days": 1180591620717411303424}, "days: a whole number too large (more than 64 bits)"),
    ],
)
async def test_bad_clock_advances_are_refused(
    client: TestClient, clock: FrozenClock, body: dict[str, Any], reason: str
) -> None:
    response = await client.post("/console/api/clock/advance", json=body)
    assert response.status == 400
    assert await response.text() == reason
    assert clock.now().isoformat() == "2026-01-01T04:00:00+00:00"


# --- live push ---------------------------------------------------------------------------------


async def _next_json(socket: Any) -> dict[str, Any]:
    message = await socket.receive(timeout=30)
    assert message.type == WSMsgType.TEXT, message
    return json.loads(message.data)


async def test_the_socket_pushes_an_outbox_message_written_after_it_opened(
    client: TestClient, sessions, clock: FrozenClock
) -> None:
    async with sessions() as session, session.begin():
        messages.send_to_outbox(
            session,
            "o_live",
            messages.text_message("o_live", "old news"),
            reason="test",
            now=clock.now(),
        )
    async with client.ws_connect("/console/ws", params={"openid": "o_live"}) as socket:
        hello = await _next_json(socket)
        assert hello["type"] == "hello" and hello["openids"] == ["o_live"]
        async with sessions() as session, session.begin():
            messages.send_to_outbox(
                session,
                "o_other",
                messages.text_message("o_other", "not for you"),
                reason="test",
                now=clock.now(),
            )
            messages.send_to_outbox(
                session,
                "o_live",
                messages.text_message("o_live", "<b>fresh</b>"),
                reason="late_reply",
                now=clock.now(),
            )
        pushed = await _next_json(socket)
        assert pushed["type"] == "outbox"
        assert pushed["openid"] == "o_live"
        assert pushed["reason"] == "late_reply"
        assert pushed["payload"] == {
            "touser": "o_live",
            "msgtype": "text",
            "text": {"content": "<b>fresh</b>"},
        }

    # A page that reconnects says what it saw last and gets the rest.
    async with client.ws_connect(
        "/console/ws", params={"openid": "o_live", "after": "0"}
    ) as socket:
        await _next_json(socket)
        contents = [(await _next_json(socket))["payload"]["text"]["content"] for _ in range(2)]
        assert contents == ["old news", "<b>fresh</b>"]


async def test_a_dividend_paid_by_a_clock_advance_is_pushed_live(
    client: TestClient, sessions, clock: FrozenClock
) -> None:
    async with sessions() as session, session.begin():
        await seed_wealth_products(session, now=clock.now())
    await send(client, openid="o_investor", type="text", text="topup 5000")
    assert (
        "holding"
        in (await send(client, openid="o_investor", type="text", text="invest 1 5000"))["reply"][
            "content"
        ]
    )
    async with client.ws_connect("/console/ws", params={"openid": "o_investor"}) as socket:
        await _next_json(socket)
        response = await client.post("/console/api/clock/advance", json={"days": 1})
        assert response.status == 200
        ran = (await response.json())["ran"]
        assert {"job": "wealth.pay_dividends", "at": "2026-01-02T04:00:00+00:00", "done": 1} in ran
        pushed = await _next_json(socket)
        assert pushed["payload"]["text"]["content"].startswith(
            "Dividend ¥0.50 from Daily Dividend 30"
        )

    outbox = await (
        await client.get("/console/api/outbox", params={"openid": "o_investor"})
    ).json()
    assert [m["reason"] for m in outbox["messages"]] == [pushed["reason"]]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({}, "give 1-8 openid parameters"),
        ({"openid": "bad openid"}, "openid must be 1-64 letters, digits, _ or -"),
        ({"openid": "o_a", "after": "-1"}, "after must be a whole number from 0 to 2147483647"),
        ({"openid": "o_a", "after": "²"}, "after must be a whole number from 0 to 2147483647"),
        (
            {"openid": "o_a", "after": "9" * 5000},
            "after must be a whole number from 0 to 2147483647",
        ),
    ],
)
async def test_bad_socket_requests_are_refused(
    client: TestClient, params: dict[str, str], reason: str
) -> None:
    response = await client.get("/console/ws", params=params)
    assert response.status == 400
    assert await response.text() == reason


async def test_open_sockets_are_closed_when_the_app_shuts_down(client: TestClient) -> None:
    socket = await client.ws_connect("/console/ws", params={"openid": "o_a"})
    await _next_json(socket)
    await client.server.app.shutdown()
    message = await socket.receive(timeout=30)
    assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    await socket.close()


# --- transcript --------------------------------------------------------------------------------


async def test_save_transcript_downloads_this_sessions_exchanges(client: TestClient) -> None:
    state = await (await client.get("/console/api/state")).json()
    missing = await client.get("/console/api/transcript", params={"session": "nothing-yet"})
    if not state["transcript_supported"]:
        assert missing.status == 501
        pytest.skip("botstore.console.transcript is not there yet")
    assert missing.status == 404
    await send(client, type="text", text="help", session="page-1")
    await send(client, type="text", text="balance", session="page-1")
    await send(client, type="text", text="other page", session="page-2")
    response = await client.get("/console/api/transcript", params={"session": "page-1"})
    assert response.status == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert "other page" not in await response.text()
    assert "balance" in await response.text()
