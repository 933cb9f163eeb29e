"""Where signing in leads: back into the admin or the console, never off-site, and never a
Location header a CR or LF could break."""

import pytest
from aiohttp.test_utils import TestClient

from botstore.config import Config

REFUSED = [
    "https://evil.example/",
    "//evil.example/admin/",
    "/\\evil.example",
    "/admin/\\evil.example",
    "javascript:alert(1)",
    "/stores",
    " /admin/",
    "/admin/ x",
    "/admin/\r\nSet-Cookie: stolen=1",  # dropped the connection (a header with a newline)
    "/admin/\nx",
    "/admin/\rx",
    "/console\r\n",
    "/admin/\t",
    "/admin/\x00",
    "/admin/é",
]


@pytest.mark.parametrize("target", REFUSED, ids=[repr(target) for target in REFUSED])
async def test_signing_in_never_follows_a_hostile_next(
    client: TestClient, config: Config, target: str
) -> None:
    assert await signed_in_to(client, config, target) == "/admin/"


async def signed_in_to(client: TestClient, config: Config, target: str) -> str:
    """Where signing in with `next=target` leads."""
    response = await client.post(
        "/admin/login",
        data={"token": config.admin.token, "next": target},
        allow_redirects=False,
    )
    assert response.status == 303
    return response.headers["Location"]


@pytest.mark.parametrize("target", ["/admin/keywords?tab=2", "/admin/", "/console"])
async def test_signing_in_goes_back_where_it_was_asked(
    client: TestClient, config: Config, target: str
) -> None:
    assert await signed_in_to(client, config, target) == target


@pytest.mark.parametrize("target", ["/admin/\r\nx", "https://evil.example/"])
async def test_the_sign_in_form_carries_only_a_safe_next(client: TestClient, target: str) -> None:
    response = await client.get("/admin/login", params={"next": target})
    assert response.status == 200
    assert '<input type="hidden" name="next" value="/admin/">' in await response.text()


async def test_a_wrong_token_keeps_only_a_safe_next(client: TestClient) -> None:
    response = await client.post(
        "/admin/login", data={"token": "wrong", "next": "/admin/\r\nx"}, allow_redirects=False
    )
    assert response.status == 401
    assert '<input type="hidden" name="next" value="/admin/">' in await response.text()
