"""WeChat Pay fixtures: a registered merchant that signs its v3 calls as the SDKs do, and the
platform key that verifies the answers."""

import json
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.asymmetric import rsa

from botstore.clock import wall_now
from botstore.config import Config
from botstore.wechat import pay

MCHID = "1230000109"
APPID = "wxd678efh567hg6787"
APIV3_KEY = "a12d3924fd499edac8a5efc0123456ab"


@pytest.fixture(scope="session")
def merchant_key() -> rsa.RSAPrivateKey:
    return pay.new_private_key()


@dataclass
class Answer:
    status: int
    data: Any
    text: str
    headers: Any


@dataclass
class Merchant:
    """Calls the gateway signed with its key, as wechatpayv3 does."""

    client: TestClient
    key: rsa.RSAPrivateKey
    mchid: str = MCHID
    serial_no: str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
    appid: str = APPID
    apiv3_key: str = APIV3_KEY

    def authorization(
        self, method: str, url: str, body: str, *, timestamp: str | None = None
    ) -> str:
        timestamp = timestamp or str(int(wall_now().timestamp()))
        return pay.authorization_header(
            mchid=self.mchid,
            serial_no=self.serial_no,
            private_key=self.key,
            message_parts=(method, url, timestamp, pay.nonce(), body),
        )

    async def call(
        self,
        method: str,
        url: str,
        data: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        authorization: str | None = None,
    ) -> Answer:
        body = "" if data is None else json.dumps(data)
        sent = {
            "Authorization": authorization or self.authorization(method, url, body),
            "Content-Type": "application/json",
            "Accept": "application/json",
            **(headers or {}),
        }
        async with self.client.request(method, url, data=body.encode(), headers=sent) as response:
            text = await response.text()
            return Answer(
                response.status, json.loads(text) if text else None, text, response.headers
            )

    def prepay(self, out_trade_no: str, total: int = 1250, **more: Any) -> dict[str, Any]:
        return {
            "appid": self.appid,
            "mchid": self.mchid,
            "description": "Lotus tea set",
            "out_trade_no": out_trade_no,
            "notify_url": "https://merchant.example/notify",
            "amount": {"total": total, "currency": "CNY"},
            **more,
        }


def admin(config: Config) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.admin.token}"}


@pytest.fixture
async def merchant(
    client: TestClient, config: Config, merchant_key: rsa.RSAPrivateKey
) -> Merchant:
    registered = Merchant(client, merchant_key)
    answer = await client.post(
        "/admin/api/wxpay/merchants",
        json={
            "mchid": registered.mchid,
            "appid": registered.appid,
            "apiv3_key": registered.apiv3_key,
            "serial_no": registered.serial_no,
            "public_key": pay.public_pem(merchant_key.public_key()),
        },
        headers=admin(config),
    )
    assert answer.status == 201, await answer.text()
    return registered


@pytest.fixture
async def platform_key(client: TestClient, config: Config) -> dict[str, Any]:
    answer = await client.get("/admin/api/wxpay/platform", headers=admin(config))
    assert answer.status == 200
    return await answer.json()


def verify_answer(platform: dict[str, Any], answer: Answer) -> bool:
    """The answer's Wechatpay-* headers verify with the platform's public key."""
    message = pay.response_message(
        answer.headers["Wechatpay-Timestamp"], answer.headers["Wechatpay-Nonce"], answer.text
    )
    key = pay.load_public_key(platform["public_key"])
    return pay.verify(key, message, answer.headers["Wechatpay-Signature"])
