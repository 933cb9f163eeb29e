"""Admin sign-in: bearer token or session cookie, CSRF proof for cookie changes, loopback rule."""

import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiohttp.web_urldispatcher import PrefixedSubAppResource

from botstore.app import create_app
from botstore.cli import main
from botstore.clock import FrozenClock
from botstore.config import Config, ConfigError, check_exposure, is_loopback
from botstore.models import AccountSetting, KeywordRule, Menu
from tests.helpers import count

RULE = {"match_type": "exact", "pattern": "hours", "content": "9 to 5"}


def bearer(config: Config) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.admin.token}"}


async def sign_in(client: TestClient, config: Config) -> str:
    """Signs in through the form; returns the page's CSRF token."""
    response = await client.post(
        "/admin/login",
        data={"token": config.admin.token, "next": "/admin/keywords"},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/admin/keywords"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/;" in cookie
    page = await client.get("/admin/")
    assert page.status == 200
    match = re.search(r'name="csrf-token" content="([^"]+)"', await page.text())
    assert match
    return match.group(1)


READS = ["/admin/api/keywords", "/admin/api/replies", "/admin/api/menu", "/admin/api/dashboard"]


def mutating_routes(app: web.Application) -> list[tuple[str, str]]:
    """Every state-changing route of the admin, whoever added it (the sign-in form aside)."""
    (admin,) = [r for r in app.router.resources() if isinstance(r, PrefixedSubAppResource)]
    routes = []
    for route in admin._app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if route.method in ("POST", "PUT", "PATCH", "DELETE") and path != "/admin/login":
            routes.append((route.method, re.sub(r"\{[^}]+\}", "1", path)))
    return routes


async def snapshot(sessions) -> tuple[int, ...]:
    return tuple([await count(sessions, table) for table in (KeywordRule, AccountSetting, Menu)])


async def test_the_admin_has_these_mutating_routes_at_least(client: TestClient) -> None:
    routes = mutating_routes(client.app)
    for route in [
        ("POST", "/admin/api/keywords"),
        ("PUT", "/admin/api/keywords/1"),
        ("PATCH", "/admin/api/keywords/1"),
        ("DELETE", "/admin/api/keywords/1"),
        ("POST", "/admin/api/keywords/order"),
        ("POST", "/admin/api/keywords/preview"),
        ("PUT", "/admin/api/replies/1"),
        ("DELETE", "/admin/api/replies/1"),
        ("POST", "/admin/api/replies/1/preview"),
        ("PUT", "/admin/api/menu"),
        ("DELETE", "/admin/api/menu"),
        ("POST", "/admin/api/clock/advance"),
        ("POST", "/admin/logout"),
    ]:
        assert route in routes


@pytest.mark.usefixtures("unlimited_token_tries")
@pytest.mark.parametrize(
    "header", [None, "Bearer wrong", "change-me", "Basic change-me", "Bearer "]
)
async def test_every_mutating_route_refuses_without_the_token_and_changes_nothing(
    client: TestClient, sessions, clock: FrozenClock, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    before = await snapshot(sessions)
    for method, path in mutating_routes(client.app):
        response = await client.request(method, path, json=RULE, headers=headers)
        assert response.status == 401, (method, path)
        assert await response.text() == "missing or wrong admin token"
        assert response.headers["WWW-Authenticate"] == "Bearer"
    for path in READS:
        assert (await client.get(path, headers=headers)).status == 401, path
    assert await snapshot(sessions) == before == (0, 0, 0)
    assert clock.now().isoformat() == "2026-01-01T04:00:00+00:00"


async def test_pages_without_a_session_go_to_the_sign_in_form(client: TestClient) -> None:
    for path in ["/admin/", "/admin/keywords", "/admin/replies", "/admin/menu"]:
        response = await client.get(path, allow_redirects=False)
        assert response.status == 302
        assert response.headers["Location"] == f"/admin/login?next={path}"
    response = await client.get("/admin", allow_redirects=False)
    assert response.headers["Location"] == "/admin/"
    form = await client.get("/admin/login")
    assert form.status == 200
    assert 'name="token"' in await form.text()
    assert (await client.get("/admin/static/admin.css")).status == 200


async def test_a_wrong_token_at_the_form_gets_401_and_no_cookie(
    client: TestClient, config: Config
) -> None:
    response = await client.post(
        "/admin/login", data={"token": "change-mf"}, allow_redirects=False
    )
    assert response.status == 401
    assert "Set-Cookie" not in response.headers
    assert "That is not the admin token." in await response.text()
    assert (await client.get("/admin/", allow_redirects=False)).status == 302
    assert (await client.get("/admin/api/keywords")).status == 401


async def test_sign_in_sign_out(client: TestClient, config: Config) -> None:
    csrf = await sign_in(client, config)
    page = await client.get("/admin/keywords")
    assert page.status == 200
    assert (await client.get("/admin/api/keywords")).status == 200

    response = await client.post("/admin/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/admin/login"
    assert (await client.get("/admin/", allow_redirects=False)).status == 302
    assert (await client.get("/admin/api/keywords")).status == 401


async def test_next_never_leaves_the_admin(client: TestClient, config: Config) -> None:
    for target in ["https://evil.example/", "//evil.example/admin/", "/stores"]:
        response = await client.post(
            "/admin/login",
            data={"token": config.admin.token, "next": target},
            allow_redirects=False,
        )
        assert response.headers["Location"] == "/admin/"


async def test_forged_or_foreign_cookies_are_refused(client: TestClient, config: Config) -> None:
    for value in ["1.abc.def", "garbage", "9999999999.x.y", ""]:
        client.session.cookie_jar.update_cookies({"botstore_admin": value})
        assert (await client.get("/admin/api/keywords")).status == 401
    # A cookie signed for another token (the token was changed) no longer works.
    from botstore.admin import auth

    value, _ = auth.issue("another-token")
    client.session.cookie_jar.update_cookies({"botstore_admin": value})
    assert (await client.get("/admin/api/keywords")).status == 401


async def test_cookie_changes_need_the_csrf_token_and_a_same_site_origin(
    client: TestClient, config: Config, sessions
) -> None:
    csrf = await sign_in(client, config)
    url = "/admin/api/keywords"
    refused = [
        {},
        {"X-CSRF-Token": "wrong"},
        {"X-CSRF-Token": csrf, "Origin": "https://evil.example"},
        {"X-CSRF-Token": csrf, "Referer": "https://evil.example/page"},
        {"X-CSRF-Token": csrf, "Referer": "http://["},  # no site at all (urlsplit raised: 500)
    ]
    for headers in refused:
        response = await client.post(url, json=RULE, headers=headers)
        assert response.status == 403, headers
        assert "CSRF" in await response.text()
    for method, path in mutating_routes(client.app):
        response = await client.request(method, path, json=RULE, allow_redirects=False)
        assert response.status == 403, (method, path)
    assert await snapshot(sessions) == (0, 0, 0)
    # Logging out needs the token too, so another site can't sign the merchant out.
    response = await client.post("/admin/logout", allow_redirects=False)
    assert response.status == 403

    own = f"http://{client.server.host}:{client.server.port}"
    response = await client.post(url, json=RULE, headers={"X-CSRF-Token": csrf, "Origin": own})
    assert response.status == 201
    assert await count(sessions, KeywordRule) == 1


@pytest.mark.parametrize(
    "headers", [{"Origin": "https://evil.example"}, {"Referer": "http://["}], ids=["other", "bad"]
)
async def test_the_sign_in_form_refuses_other_origins(
    client: TestClient, config: Config, headers: dict[str, str]
) -> None:
    response = await client.post(
        "/admin/login", data={"token": config.admin.token}, headers=headers, allow_redirects=False
    )
    assert response.status == 403
    assert "Set-Cookie" not in response.headers


async def test_bearer_requests_need_no_csrf_token(
    client: TestClient, config: Config, sessions
) -> None:
    response = await client.post("/admin/api/keywords", json=RULE, headers=bearer(config))
    assert response.status == 201
    assert await count(sessions, KeywordRule) == 1


SHIPPED = (
    "wechat.token (BOTSTORE_WECHAT_TOKEN), wechat.app_secret (BOTSTORE_WECHAT_APP_SECRET), "
    "wechat.encoding_aes_key (BOTSTORE_WECHAT_ENCODING_AES_KEY), "
    "miniprogram.app_secret (BOTSTORE_MINIPROGRAM_APP_SECRET), admin.token (BOTSTORE_ADMIN_TOKEN): "
    "still the shipped values"
)


def own_secrets(config: Config) -> Config:
    return config.replace(
        wechat={"token": "ownToken7", "app_secret": "own-secret", "encoding_aes_key": "K" * 43},
        miniprogram={"app_secret": "own-mini-secret"},
        admin={"token": "s3cret-own"},
    )


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LocalHost", " 127.0.0.1 "]
)
def test_loopback_hosts_keep_the_shipped_secrets(host: str) -> None:
    assert is_loopback(host)
    check_exposure(Config().replace(server={"host": host}))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "[::]", "192.168.1.5", "example.com", ""])
def test_other_hosts_need_every_secret_changed(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ConfigError) as refused:
        check_exposure(Config().replace(server={"host": host}))
    assert str(refused.value).startswith(SHIPPED)
    assert f"set your own to serve on {host!r}" in str(refused.value)
    assert "`python -m botstore secrets` prints fresh ones" in str(refused.value)
    check_exposure(own_secrets(Config()).replace(server={"host": host}))


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        ({"admin": {"token": "  "}}, "admin.token (BOTSTORE_ADMIN_TOKEN)"),
        ({"wechat": {"app_secret": ""}}, "wechat.app_secret (BOTSTORE_WECHAT_APP_SECRET)"),
        ({"wechat": {"token": "botstore"}}, "wechat.token (BOTSTORE_WECHAT_TOKEN)"),
        (
            {"miniprogram": {"app_secret": Config().miniprogram.app_secret}},
            "miniprogram.app_secret (BOTSTORE_MINIPROGRAM_APP_SECRET)",
        ),
        (
            {"wechat": {"previous_encoding_aes_key": Config().wechat.encoding_aes_key}},
            "wechat.previous_encoding_aes_key (BOTSTORE_WECHAT_PREVIOUS_ENCODING_AES_KEY)",
        ),
    ],
)
def test_one_shipped_or_empty_secret_is_named_alone(
    changed: dict[str, dict[str, str]], named: str
) -> None:
    config = own_secrets(Config()).replace(server={"host": "0.0.0.0"}, **changed)
    with pytest.raises(ConfigError) as refused:
        check_exposure(config)
    assert str(refused.value).startswith(f"{named}: still the shipped value, which anyone")


def test_create_app_refuses_a_public_host_with_shipped_secrets() -> None:
    with pytest.raises(ConfigError, match="wechat.token"):
        create_app(Config().replace(server={"host": "0.0.0.0"}, admin={"token": "s3cret-own"}))
    create_app(own_secrets(Config()).replace(server={"host": "0.0.0.0"}))


def test_serve_refuses_a_public_host_with_shipped_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "ADMIN_TOKEN",
        "SERVER_HOST",
        "WECHAT_TOKEN",
        "WECHAT_APP_SECRET",
        "MINIPROGRAM_APP_SECRET",
    ):
        monkeypatch.delenv(f"BOTSTORE_{name}", raising=False)
    monkeypatch.delenv("BOTSTORE_WECHAT_ENCODING_AES_KEY", raising=False)
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"botstore: bad config: {SHIPPED}")
