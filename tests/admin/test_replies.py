"""The welcome and default replies: edited in the admin, answered through the signed webhook."""

import pytest
from aiohttp.test_utils import TestClient

from botstore.config import Config
from botstore.console.client import Emulator
from botstore.models import AccountSetting
from botstore.wechat import NewsReply
from tests.helpers import count

API = "/admin/api/replies"
BUILT_IN_WELCOME = "Welcome to botstore! Your wallet is ready."
BUILT_IN_DEFAULT = 'Sorry, I don\'t know "fly me". Send "help" for the commands.'


@pytest.fixture
def auth(config: Config) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.admin.token}"}


async def test_built_in_replies_answer_until_the_merchant_sets_their_own(
    client: TestClient, auth: dict[str, str], wechat: Emulator
) -> None:
    welcome = await wechat.event("subscribe", fan="o_new")
    assert welcome.content.startswith(BUILT_IN_WELCOME)
    assert (await wechat.say("fly me", fan="o_new")).content == BUILT_IN_DEFAULT
    listed = await (await client.get(API, headers=auth)).json()
    assert [(item["name"], item["reply"]) for item in listed["replies"]] == [
        ("welcome", None),
        ("default_reply", None),
    ]


async def test_the_welcome_reply_is_the_merchants_once_set(
    client: TestClient, auth: dict[str, str], wechat: Emulator, sessions
) -> None:
    body = {"reply_type": "text", "content": "Hello {{ openid }}, welcome to Tea House"}
    response = await client.put(f"{API}/welcome", json=body, headers=auth)
    assert response.status == 200
    assert (await response.json())["reply"] == body

    assert (await wechat.event("subscribe", fan="o_w")).content == (
        "Hello o_w, welcome to Tea House"
    )
    # The default reply is still the built-in one.
    assert (await wechat.say("fly me", fan="o_w")).content == BUILT_IN_DEFAULT

    response = await client.delete(f"{API}/welcome", headers=auth)
    assert (await response.json())["cleared"] is True
    assert (await wechat.event("subscribe", fan="o_w2")).content.startswith(BUILT_IN_WELCOME)
    assert await count(sessions, AccountSetting) == 0


async def test_a_news_welcome(client: TestClient, auth: dict[str, str], wechat: Emulator) -> None:
    body = {"reply_type": "news", "title": "Welcome!", "url": "https://example.com/tour"}
    assert (await client.put(f"{API}/welcome", json=body, headers=auth)).status == 200
    reply = (await wechat.event("subscribe", fan="o_n")).reply.reply
    assert isinstance(reply, NewsReply)
    assert (reply.articles[0].title, reply.articles[0].url) == (
        "Welcome!",
        "https://example.com/tour",
    )


async def test_the_default_reply_answers_unknown_text_only(
    client: TestClient, auth: dict[str, str], wechat: Emulator
) -> None:
    body = {"content": "We did not get “{{ text }}”. Try help."}
    assert (await client.put(f"{API}/default_reply", json=body, headers=auth)).status == 200
    assert (await wechat.say("fly me", fan="o_d")).content == "We did not get “fly me”. Try help."
    assert (await wechat.say("balance", fan="o_d")).content == "Your balance: ¥0.00"
    # The welcome is untouched.
    assert (await wechat.event("subscribe", fan="o_d")).content.startswith(BUILT_IN_WELCOME)


async def test_a_template_that_fails_at_run_time_falls_back_to_the_built_in_reply(
    client: TestClient, auth: dict[str, str], wechat: Emulator
) -> None:
    # It renders for the sample fan at save time, and fails for this fan's text only.
    body = {"content": "{% if text == 'fly me' %}{{ 1 / 0 }}{% endif %}ok"}
    assert (await client.put(f"{API}/default_reply", json=body, headers=auth)).status == 200
    assert (await wechat.say("fly me", fan="o_f")).content == BUILT_IN_DEFAULT
    assert (await wechat.say("walk me", fan="o_f")).content == "ok"


async def test_a_template_past_the_render_limits_falls_back_to_the_built_in_reply(
    client: TestClient, auth: dict[str, str], wechat: Emulator
) -> None:
    loops = "{% for i in range(2000) %}{% for j in range(2000) %}{% endfor %}{% endfor %}Hi"
    # Past the limits for this fan only: the save-time check renders for a sample fan.
    only_for_o_l = "{% if openid == 'o_l' %}" + loops + "{% endif %}"
    for name in ("welcome", "default_reply"):
        saved = await client.put(f"{API}/{name}", json={"content": only_for_o_l}, headers=auth)
        assert saved.status == 200, await saved.text()
    assert (await wechat.event("subscribe", fan="o_l")).content.startswith(BUILT_IN_WELCOME)
    assert (await wechat.say("fly me", fan="o_l")).content == BUILT_IN_DEFAULT
    preview = await client.post(f"{API}/welcome/preview", json={"content": loops}, headers=auth)
    assert preview.status == 400
    assert (await preview.json())["error"] == (
        "content: the template loops more than 10,000 times"
    )


async def test_a_reply_that_renders_empty_falls_back_to_the_built_in_one(
    client: TestClient, auth: dict[str, str], wechat: Emulator
) -> None:
    body = {"content": "{% if text == 'vip' %}Hi VIP{% endif %}"}
    assert (await client.put(f"{API}/default_reply", json=body, headers=auth)).status == 200
    assert (await wechat.say("vip", fan="o_e")).content == "Hi VIP"
    assert (await wechat.say("fly me", fan="o_e")).content == BUILT_IN_DEFAULT


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"reply_type": "text", "content": ""}, "content: a text reply needs its text"),
        ({"reply_type": "news", "title": " "}, "title: a news card needs a title"),
        ({"reply_type": "voice"}, "reply_type: must be one of text, news"),
        ({"content": "x" * 2001}, "content: at most 2000 characters"),
        ({"reply_type": "news", "title": "x" * 201}, "title: at most 200 characters"),
        (
            {"content": "{% if %}"},
            "content: template error on line 1: Expected an expression, got 'end of statement block'",
        ),
        ({"content": 3}, "content: must be a string"),
        ({"content": "hi", "extra": 1}, "extra: unknown field"),
    ],
)
async def test_bad_replies_are_refused_and_change_nothing(
    client: TestClient, auth: dict[str, str], wechat: Emulator, sessions, body: dict, error: str
) -> None:
    response = await client.put(f"{API}/welcome", json=body, headers=auth)
    assert response.status == 400
    assert (await response.json())["error"] == error
    assert await count(sessions, AccountSetting) == 0
    assert (await wechat.event("subscribe", fan="o_b")).content.startswith(BUILT_IN_WELCOME)


@pytest.mark.parametrize("name", ["welcome", "default_reply"])
@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("{{ 1 / 0 }}", "content: template error: ZeroDivisionError: division by zero"),
        (
            "{{ nickname.__class__.__mro__ }}",
            "content: template error: access to attribute '__class__' of 'str' object is unsafe.",
        ),
        (
            '{{ "a" * 20000000 }}',
            "content: the template builds a text or list larger than 20,000 characters or items",
        ),
        (
            "{% for i in range(2000) %}{% for j in range(2000) %}{% endfor %}{% endfor %}",
            "content: the template loops more than 10,000 times",
        ),
    ],
)
async def test_replies_the_sandbox_refuses_are_refused_at_save_with_the_reason(
    client: TestClient, auth: dict[str, str], sessions, name: str, content: str, error: str
) -> None:
    response = await client.put(f"{API}/{name}", json={"content": content}, headers=auth)
    assert response.status == 400
    assert (await response.json())["error"] == error
    assert await count(sessions, AccountSetting) == 0


async def test_a_long_reply_saves_with_a_warning(client: TestClient, auth: dict[str, str]) -> None:
    body = {"content": "{% for i in range(30) %}" + "x" * 70 + "{% endfor %}"}  # 2,100 bytes
    for path in (f"{API}/welcome/preview", f"{API}/welcome"):
        method = client.post if path.endswith("preview") else client.put
        response = await method(path, json=body, headers=auth)
        assert response.status == 200
        assert (await response.json())["warnings"][0].startswith("This reply is 2,100 bytes")


async def test_unknown_reply_names_are_404(client: TestClient, auth: dict[str, str]) -> None:
    for method in ("PUT", "DELETE"):
        response = await client.request(
            method, f"{API}/goodbye", json={"content": "x"}, headers=auth
        )
        assert response.status == 404


async def test_preview_renders_and_reports_errors(
    client: TestClient, auth: dict[str, str]
) -> None:
    body = {"content": "Hi {{ nickname }}: {{ text }}", "text": "what?"}
    response = await client.post(f"{API}/default_reply/preview", json=body, headers=auth)
    assert (await response.json())["reply"] == {"type": "text", "content": "Hi Sample Fan: what?"}
    response = await client.post(
        f"{API}/welcome/preview", json={"content": "{{ 1 / 0 }}"}, headers=auth
    )
    assert response.status == 400
    assert (await response.json())["error"] == (
        "content: template error: ZeroDivisionError: division by zero"
    )


async def test_the_page_shows_both_replies(client: TestClient, auth: dict[str, str]) -> None:
    await client.put(f"{API}/welcome", json={"content": "<hello>"}, headers=auth)
    html = await (await client.get("/admin/replies", headers=auth)).text()
    assert "Welcome reply" in html and "Default reply" in html
    assert "&lt;hello&gt;" in html
