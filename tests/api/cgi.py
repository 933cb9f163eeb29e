"""Calling the emulated /cgi-bin API from tests: a token, then GET or POST with errcode answers."""

import json
from typing import Any

from aiohttp.test_utils import TestClient

from botstore.config import Config

OK = {"errcode": 0, "errmsg": "ok"}


async def get_token(client: TestClient, config: Config) -> str:
    response = await client.get(
        "/cgi-bin/token",
        params={
            "grant_type": "client_credential",
            "appid": config.wechat.app_id,
            "secret": config.wechat.app_secret,
        },
    )
    return (await response.json())["access_token"]


def _params(token: str | None, query: dict[str, str] | None) -> dict[str, str]:
    params = {"access_token": token} if token is not None else {}
    return {**params, **(query or {})}


async def get(client: TestClient, path: str, token: str | None, **query: str) -> dict[str, Any]:
    response = await client.get(path, params=_params(token, query))
    assert response.status == 200
    assert response.content_type == "application/json"
    return await response.json()


async def post(client: TestClient, path: str, token: str | None, body: Any) -> dict[str, Any]:
    data = body if isinstance(body, bytes | str) else json.dumps(body, ensure_ascii=False)
    response = await client.post(path, params=_params(token, None), data=data)
    assert response.status == 200
    assert response.content_type == "application/json"
    return await response.json()
