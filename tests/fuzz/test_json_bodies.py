"""Every JSON endpoint (collected from the app's router) against hostile bodies: deep nesting,
giant and overflowing numbers, NaN, lone surrogates, invalid UTF-8, NUL, non-objects. Each is
refused (4xx, or the platform's errcode on /cgi-bin) with a reason, and nothing is stored; wrong
types and hostile query strings and path ids never cause a 500."""

import base64
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiohttp.web_urldispatcher import PrefixedSubAppResource
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from sqlmodel import col, select

from botstore.clock import FrozenClock, wall_now
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.console.miniprogram import NOTIFY_PATH
from botstore.models import MiniProgramUser, WxPayMerchant, WxPayNotification
from botstore.seed import seed_demo
from botstore.seed.miniprogram import DEMO_TEMPLATES
from botstore.seed.wxpay import (
    DEMO_APPID,
    DEMO_MCHID,
    DEMO_PRIVATE_KEY,
    DEMO_PUBLIC_KEY,
    DEMO_SERIAL_NO,
)
from botstore.services import wxpay
from botstore.wechat import pay
from botstore.wxpay import notify, platform
from tests.api.cgi import get_token, post
from tests.api.test_miniprogram import allow, miniprogram_token, wx_login
from tests.databases import Snapshot
from tests.helpers import digest

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # reproducible in CI; run with --hypothesis-seed to explore further
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


class Raw(bytes):
    """JSON text put into a body as it is (what json.dumps can't or won't write)."""


DEEP = 5000  # the issue's depth; json.loads recursed until RecursionError

# Refused in any field of any body: no endpoint can store or compute with these.
HOSTILE = {
    "deep object": Raw(b'{"a":' * DEEP + b"1" + b"}" * DEEP),
    "deep list": Raw(b"[" * DEEP + b"]" * DEEP),
    "deep object 1000": Raw(b'{"a":' * 1000 + b"1" + b"}" * 1000),
    "5000-digit int": Raw(b"9" * 5000),
    "negative 5000-digit int": Raw(b"-" + b"9" * 5000),
    "4000-digit int": Raw(b"1" * 4000),
    "2**70": Raw(b"1180591620717411303424"),
    "2**64": Raw(str(2**64).encode()),
    "-2**63-1": Raw(str(-(2**63) - 1).encode()),
    "NaN": Raw(b"NaN"),
    "Infinity": Raw(b"Infinity"),
    "-Infinity": Raw(b"-Infinity"),
    "1e400": Raw(b"1e400"),
    "lone surrogate": Raw(b'"\\ud800"'),
    "invalid UTF-8": Raw(b'"\xff\xfe"'),
    "NUL": Raw(b'"a\\u0000b"'),
}
# Refused as a whole body: not a JSON object at all.
NOT_OBJECTS = {
    "list": b"[]",
    "number": b"1",
    "string": b'"x"',
    "null": b"null",
    "true": b"true",
    "truncated": b'{"a":',
    "trailing junk": b'{"a":1}x',
    "binary": b"\xff\xfe\x00\x01",
    "5000 deep at the top": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "list 5000 deep": b"[" * DEEP + b"]" * DEEP,
    "5000-digit number": b"9" * 5000,
    "NaN": b"NaN",
}
# Wrong or edge values: an endpoint may accept some, but none may crash it.
ODD_VALUES: list[Any] = [
    "",
    " ",
    "x" * 10_000,
    "1",
    "12.5",
    "-1",
    "1e400",
    "1e999999999",
    "NaN",
    "sNaN",
    "Infinity",
    "²",
    "١٢",
    "\u202e",
    "2026-13-45",
    "http://[",
    "http://example.com:99999/",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+14:00",
    0,
    -1,
    1.5,
    -0.0,
    1e308,
    -1e308,
    2**31,
    2**32,
    2**53 + 1,
    2**63 - 1,
    -(2**63),
    True,
    False,
    None,
    [],
    {},
    [1],
    [None],
    [2**63 - 1],
    {"a": 1},
]


def encode(value: Any) -> bytes:
    if isinstance(value, Raw):
        return bytes(value)
    if isinstance(value, dict):
        items = (json.dumps(k).encode() + b":" + encode(v) for k, v in value.items())
        return b"{" + b",".join(items) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(encode(v) for v in value) + b"]"
    return json.dumps(value).encode()


def positions(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place a value sits in a body, and a new field in each object."""
    if isinstance(value, dict):
        yield (*path, "extra")
        for key, item in value.items():
            yield (*path, key)
            yield from positions(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*path, index)
            yield from positions(item, (*path, index))


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    if isinstance(value, dict):
        return {**value, head: replaced(value.get(head), tuple(rest), new)}
    copy = list(value)
    copy[head] = replaced(copy[head], tuple(rest), new)
    return copy


FAN = "o_fuzz_fan"  # says hello first, so the APIs may message it
MINI_FAN = "o_fuzz_mini_fan"  # FAN's openid in the mini program (set by the token fixture)
ORDER_TEMPLATE = DEMO_TEMPLATES[0]["template_id"]
# Routes of the mini program's API: they take its own access token.
MINI_PROGRAM = {"/cgi-bin/message/subscribe/send", "/wxa/getwxacodeunlimit"}
# WeChat Pay: the demo merchant signs; one order stays unpaid (to close), one is paid (to refund).
WXPAY_UNPAID, WXPAY_PAID = "FUZZ000001", "FUZZ000002"
# The unpaid order's prepay_id is made by the setup: bodies carry marks that send() fills in.
PREPAY_MARK, SIGN_MARK = "FUZZPREPAYID", "FUZZPAYSIGN"
prepay_ids: dict[str, str] = {}
# The mini program's shop: FAN bought and paid JASMINE there; the backend hasn't made the order.
# Its trade number, the scanned code's image and the payment notification's encrypted resource
# are made by the setup too: marks that send() fills in from `shop`.
JASMINE = 2  # Tea House's "Jasmine tea 100g", ¥32.00
SHOP_TRADE_MARK, PNG_MARK = "FUZZSHOPTRADENO", "FUZZCODEPNG"
CIPHERTEXT_MARK, GCM_NONCE_MARK = "FUZZCIPHERTEXT", "FUZZGCMNONCE"
shop: dict[str, str] = {}
# The platform's keys sign what the fuzzing posts to the shop's notify_url.
platform_keys: dict[str, platform.PlatformKeys] = {}
WXPAY_ORDER = {
    "appid": DEMO_APPID,
    "mchid": DEMO_MCHID,
    "description": "Fuzz tea",
    "out_trade_no": "FUZZ000003",
    "time_expire": "2026-01-02T12:00:00+08:00",
    "notify_url": "http://127.0.0.1:9/notify",
    "amount": {"total": 100, "currency": "CNY"},
}
MENU = {"button": [{"type": "click", "name": "Balance", "key": "balance"}]}
CONDITIONAL = {**MENU, "matchrule": {"language": "zh_CN"}}
# A body each JSON endpoint accepts (on the demo data): hostile values go into its fields.
VALID: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/admin/api/clock/advance"): {"days": 1, "hours": 2},
    ("POST", "/admin/api/keywords"): {
        "match_type": "exact",
        "pattern": "hours",
        "priority": 1,
        "reply_type": "text",
        "enabled": True,
        "content": "9 to 5",
    },
    ("POST", "/admin/api/keywords/order"): {"ids": [4, 3, 2, 1]},
    ("POST", "/admin/api/keywords/preview"): {
        "match_type": "exact",
        "pattern": "hi",
        "content": "hello {{ nickname }}",
        "text": "hi",
        "openid": "o_sample",
        "nickname": "Sam",
    },
    ("PUT", "/admin/api/keywords/{id}"): {"match_type": "exact", "pattern": "x", "content": "y"},
    ("PATCH", "/admin/api/keywords/{id}"): {"priority": 3, "enabled": False},
    ("PUT", "/admin/api/replies/{name}"): {"reply_type": "text", "content": "hi"},
    ("POST", "/admin/api/replies/{name}/preview"): {"content": "hi", "text": "x"},
    ("PUT", "/admin/api/menu"): MENU,
    ("POST", "/admin/api/menu"): MENU,
    ("POST", "/admin/api/stores"): {"owner_openid": FAN, "name": "Shop", "cover_url": ""},
    ("PATCH", "/admin/api/stores/{id}"): {"name": "Shop 2", "description": "d"},
    ("POST", "/admin/api/products"): {
        "store_id": 1,
        "name": "Tea",
        "price": "12.5",
        "stock": 5,
        "group_price": 10,
        "group_size": 2,
        "group_hours": 24,
    },
    ("PATCH", "/admin/api/products/{id}"): {"price": 13.5, "stock": 3, "group_price": None},
    ("POST", "/admin/api/merchants"): {"code": "m9", "name": "Cafe", "scene": "cafe9"},
    ("PATCH", "/admin/api/merchants/{id}"): {"name": "Cafe 2"},
    ("POST", "/admin/api/partners"): {
        "name": "Ride",
        "category": "travel",
        "app_id": "wx123",
        "commission_percent": "5",
    },
    ("PATCH", "/admin/api/partners/{id}"): {"commission_bps": 100, "name": "Ride 2"},
    ("POST", "/admin/api/wealth"): {
        "name": "Fund",
        "rate_percent": "3.65",
        "term_days": 30,
        "interval_days": 1,
        "minimum": "100",
        "per_fan_quota": "1000",
        "total_quota": "10000",
        "commission_bps": 100,
    },
    ("PATCH", "/admin/api/wealth/{id}"): {"rate_bps": 400, "enabled": True},
    ("POST", "/admin/api/ads"): {
        "advertiser": "Acme",
        "title": "Buy",
        "url": "http://example.com",
        "budget": "100",
        "cpm": "1",
        "cpc": "0.5",
        "article_ids": [1],
    },
    ("PATCH", "/admin/api/ads/{id}"): {"cpm": "2", "article_ids": [1]},
    ("POST", "/admin/api/ads/{id}/budget"): {"amount": "10"},
    ("POST", "/admin/api/coupons"): {
        "name": "C",
        "amount_off": "5",
        "min_spend": "10",
        "valid_days": 30,
        "valid_from": "2026-01-01T00:00:00",
    },
    ("POST", "/admin/api/coupons/budget"): {"amount": "10"},
    ("POST", "/admin/api/coupons/{id}/issue"): {"level": ""},
    ("POST", "/console/api/fans"): {"openid": "o_console", "nickname": "Con"},
    ("POST", "/console/api/send"): {
        "openid": "o_console",
        "type": "location",
        "lat": 23.1,
        "lng": 113.3,
        "label": "here",
        "aes": False,
        "retries": False,
        "session": "s1",
        "target": {},
    },
    ("POST", "/console/api/clock/advance"): {"days": 1},
    ("POST", "/cgi-bin/qrcode/create"): {
        "expire_seconds": 60,
        "action_name": "QR_SCENE",
        "action_info": {"scene": {"scene_id": 7}},
    },
    ("POST", "/cgi-bin/menu/create"): MENU,
    ("POST", "/cgi-bin/menu/addconditional"): CONDITIONAL,
    ("POST", "/cgi-bin/menu/delconditional"): {"menuid": "2"},
    ("POST", "/cgi-bin/menu/trymatch"): {"user_id": FAN},
    ("POST", "/cgi-bin/message/custom/send"): {
        "touser": FAN,
        "msgtype": "text",
        "text": {"content": "hi"},
    },
    ("POST", "/cgi-bin/message/template/send"): {
        "touser": FAN,
        "template_id": "t1",
        "url": "http://example.com",
        "data": {"k": {"value": "v", "color": "#173177"}},
        "client_msg_id": "c1",
    },
    ("POST", "/cgi-bin/user/info/batchget"): {"user_list": [{"openid": FAN, "lang": "zh_CN"}]},
    ("POST", "/console/api/miniprogram/login"): {"fan": FAN},
    ("POST", "/console/api/miniprogram/subscribe"): {"fan": FAN, "template_id": ORDER_TEMPLATE},
    ("POST", "/cgi-bin/message/subscribe/send"): {
        "touser": MINI_FAN,
        "template_id": ORDER_TEMPLATE,
        "page": "pages/index/index",
        "miniprogram_state": "formal",
        "data": {
            "character_string1": {"value": "WS1"},
            "thing2": {"value": "Tea"},
            "amount3": {"value": "¥1.00"},
            "date4": {"value": "2026-12-06 10:00"},
        },
    },
    ("POST", "/wxa/getwxacodeunlimit"): {
        "scene": "store=1",
        "page": "pages/store/store",
        "width": 280,
        "check_path": True,
        "auto_color": False,
        "is_hyaline": False,
    },
    ("POST", "/admin/api/miniprogram/templates"): {
        "title": "T",
        "keywords": [{"key": "thing1", "name": "Item"}],
    },
    ("POST", "/admin/api/wxpay/merchants"): {
        "mchid": "1230000999",
        "appid": "wx1",
        "apiv3_key": "k" * 32,
        "serial_no": DEMO_SERIAL_NO,
        "public_key": DEMO_PUBLIC_KEY,
    },
    ("POST", "/v3/pay/transactions/jsapi"): WXPAY_ORDER | {"payer": {"openid": FAN}},
    ("POST", "/v3/pay/transactions/native"): WXPAY_ORDER,
    ("POST", "/v3/pay/transactions/h5"): WXPAY_ORDER
    | {"scene_info": {"payer_client_ip": "127.0.0.1", "h5_info": {"type": "Wap"}}},
    ("POST", "/v3/pay/transactions/out-trade-no/{out_trade_no}/close"): {"mchid": DEMO_MCHID},
    ("POST", "/console/api/wxpay/request-payment"): {
        "openid": FAN,
        "timeStamp": "1767225600",
        "nonceStr": "fuzznonce",
        "package": f"prepay_id={PREPAY_MARK}",
        "signType": "RSA",
        "paySign": SIGN_MARK,
    },
    ("POST", "/console/api/wxpay/pay"): {"openid": FAN, "reference": PREPAY_MARK},
    ("POST", "/v3/refund/domestic/refunds"): {
        "out_trade_no": WXPAY_PAID,
        "out_refund_no": "FR000001",
        "reason": "fuzz",
        "amount": {"refund": 1, "total": 100, "currency": "CNY"},
    },
    ("POST", "/console/api/miniprogram/checkout"): {"fan": FAN, "product_id": JASMINE, "qty": 1},
    ("POST", "/console/api/miniprogram/paid"): {"fan": FAN, "out_trade_no": SHOP_TRADE_MARK},
    ("POST", "/console/api/miniprogram/scan"): {"png": PNG_MARK},
    # WeChat Pay's TRANSACTION.SUCCESS of FAN's shop payment, as notification_body writes it.
    ("POST", NOTIFY_PATH): {
        "id": "fuzz-notification-1",
        "create_time": "2026-01-01T12:00:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": {
            "original_type": "transaction",
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": CIPHERTEXT_MARK,
            "associated_data": "transaction",
            "nonce": GCM_NONCE_MARK,
        },
    },
}
# Changing routes that read no body: hostile bodies are ignored there, so they only must not 500.
BODILESS = {
    ("DELETE", "/admin/api/keywords/{id}"),
    ("DELETE", "/admin/api/replies/{name}"),
    ("DELETE", "/admin/api/menu"),
    ("POST", "/admin/logout"),
    ("POST", "/admin/api/stores/{id}/deactivate"),
    ("POST", "/admin/api/stores/{id}/activate"),
    ("POST", "/admin/api/products/{id}/deactivate"),
    ("POST", "/admin/api/products/{id}/activate"),
    ("POST", "/admin/api/merchants/{id}/qrcode"),
    ("POST", "/admin/api/merchants/{id}/deactivate"),
    ("POST", "/admin/api/merchants/{id}/activate"),
    ("POST", "/admin/api/partners/{id}/deactivate"),
    ("POST", "/admin/api/partners/{id}/activate"),
    ("POST", "/admin/api/wealth/{id}/deactivate"),
    ("POST", "/admin/api/wealth/{id}/activate"),
    ("POST", "/admin/api/ads/{id}/pause"),
    ("POST", "/admin/api/ads/{id}/resume"),
    ("POST", "/admin/api/coupons/{id}/deactivate"),
    ("POST", "/admin/api/coupons/{id}/activate"),
    ("POST", "/admin/api/miniprogram/templates/{id}/deactivate"),
    ("POST", "/admin/api/miniprogram/templates/{id}/activate"),
}
# Not JSON: the webhook takes XML (tests/fuzz/test_xml_numbers.py), the sign-in form a form.
NOT_JSON = {("POST", "/wechat"), ("POST", "/admin/login")}
ROUTES = sorted(VALID)


def routes(app: web.Application, methods: set[str]) -> set[tuple[str, str]]:
    """(method, path template) of every route of the app and its sub-apps."""
    found = set()
    for resource in app.router.resources():
        if isinstance(resource, PrefixedSubAppResource):
            found |= routes(resource._app, methods)
            continue
        info = resource.get_info()
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        found |= {(route.method, path) for route in resource if route.method in methods}
    return found


CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


class Token(str):
    """The account's access token, carrying the mini program's for its routes."""

    miniprogram = ""


def url(template: str, token: str, *, ident: str = "1") -> str:
    path = template.replace("{name}", "welcome").replace("{out_trade_no}", WXPAY_UNPAID)
    path = re.sub(r"\{[^}]+\}", ident, path)
    if template in MINI_PROGRAM:
        return f"{path}?access_token={getattr(token, 'miniprogram', token)}"
    return f"{path}?access_token={token}" if path.startswith("/cgi-bin/") else path


@pytest.fixture
def config(config: Config) -> Config:
    # No background ticks: only the request under test may write.
    return config.replace(scheduler={"enabled": False})


@dataclass(frozen=True)
class Setup:
    """What the `token` fixture made, once per test process and database kind: the database as
    it left it, and the values its bodies' marks stand for."""

    snapshot: Snapshot
    token: "Token"
    prepay_ids: dict[str, str]
    shop: dict[str, str]
    platform_keys: dict[str, platform.PlatformKeys]

    def mark_values(self) -> None:
        for made, values in [
            (self.prepay_ids, prepay_ids),
            (self.shop, shop),
            (self.platform_keys, platform_keys),
        ]:
            values.clear()
            values.update(made)


# The setup costs half a second of requests, more than most tests here: each test after the
# first gets a copy of the database it left (tests/databases.py, Snapshot).
setups: dict[str, Setup] = {}


def kind_of(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgres"


@pytest.fixture
async def database_url(database_url: str) -> AsyncIterator[str]:
    """The conftest's fresh database, holding what the `token` fixture made once it has."""
    setup = setups.get(kind_of(database_url))
    if setup is not None:
        await setup.snapshot.restore(database_url)  # before the app connects
    yield database_url


@pytest.fixture
async def token(
    client: TestClient,
    config: Config,
    sessions,
    clock: FrozenClock,
    wechat: Emulator,
    database_url: str,
) -> str:
    """The demo data (so ids in paths exist), a menu, a fan, and an access token for /cgi-bin."""
    setup = setups.get(kind_of(database_url))
    if setup is None:
        access_token = await make_setup(client, config, sessions, clock, wechat)
        setup = setups[kind_of(database_url)] = Setup(
            await Snapshot.take(database_url),
            access_token,
            dict(prepay_ids),
            dict(shop),
            dict(platform_keys),
        )
    setup.mark_values()
    return setup.token


async def make_setup(
    client: TestClient, config: Config, sessions, clock: FrozenClock, wechat: Emulator
) -> "Token":
    async with sessions() as session, session.begin():
        await seed_demo(session, now=clock.now())
    await wechat.say("hello", fan=FAN)
    access_token = Token(await get_token(client, config))
    access_token.miniprogram = await miniprogram_token(client, config)
    # FAN opened the mini program and allowed one order message; its openid there is fixed.
    await wx_login(client, FAN)
    await allow(client, ORDER_TEMPLATE, FAN)
    async with sessions() as session, session.begin():
        await session.exec(update(MiniProgramUser).values(openid=MINI_FAN))
    for path, body in [
        ("/cgi-bin/menu/create", MENU),
        ("/cgi-bin/menu/addconditional", CONDITIONAL),
    ]:
        answer = await post(client, path, access_token, body)
        assert answer.get("errcode", 0) == 0, answer
    for number in (WXPAY_UNPAID, WXPAY_PAID):
        order = WXPAY_ORDER | {"out_trade_no": number, "payer": {"openid": FAN}}
        status, text = await send(
            client, config, "POST", "/v3/pay/transactions/jsapi", "", json.dumps(order).encode()
        )
        assert status == 200, text
        if number == WXPAY_UNPAID:
            prepay_ids["unpaid"] = json.loads(text)["prepay_id"]
    # One order paid here, one by requestPayment, and a jasmine tea in the mini program's shop.
    await wechat.say("topup 34", fan=FAN)
    paid = await wechat.say(f"wxpay {json.loads(text)['prepay_id']}", fan=FAN)
    assert "Paid ¥1.00" in paid.content
    await mini_program_shop(client, config, sessions, clock, access_token)
    return access_token


async def mini_program_shop(
    client: TestClient, config: Config, sessions, clock: FrozenClock, token: Token
) -> None:
    """FAN's paid shop payment (its notification's resource kept), a scanned code's image, and
    the platform's keys, for the marks of the mini program's routes."""
    response = await client.post(
        "/console/api/miniprogram/checkout",
        json={"fan": FAN, "product_id": JASMINE},
        headers=headers(config),
    )
    checkout = await response.json()
    assert response.status == 200, checkout
    response = await client.post(
        "/console/api/wxpay/request-payment",
        json={"openid": FAN, **checkout["payment"]},
        headers=headers(config),
    )
    assert (await response.json())["errMsg"] == "requestPayment:ok"
    shop[SHOP_TRADE_MARK] = checkout["out_trade_no"]
    async with sessions() as session, session.begin():
        notification = (
            await session.exec(
                select(WxPayNotification).order_by(col(WxPayNotification.id).desc()).limit(1)
            )
        ).one()
        merchant = await session.get(WxPayMerchant, notification.merchant_id)
        assert merchant is not None
        platform_keys["keys"] = await platform.load_or_make(session, now=clock.now())
    claim = wxpay.Claim(notification, merchant, 1, clock.now())
    resource = json.loads(notify.notification_body(claim))["resource"]
    assert resource["ciphertext"] and notification.url.endswith(NOTIFY_PATH)
    shop[CIPHERTEXT_MARK], shop[GCM_NONCE_MARK] = resource["ciphertext"], resource["nonce"]
    code = await client.post(
        url("/wxa/getwxacodeunlimit", token),
        data=json.dumps({"scene": f"id={JASMINE}", "page": "pages/product/product"}),
    )
    assert code.content_type == "image/png", await code.text()
    shop[PNG_MARK] = base64.b64encode(await code.read()).decode()


def headers(config: Config) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {config.admin.token}",
        "Content-Type": "application/json",
    }


async def send(
    client: TestClient, config: Config, method: str, template: str, token: str, body: bytes
) -> tuple[int, str]:
    sent = headers(config)
    if PREPAY_MARK.encode() in body:
        prepay_id = prepay_ids["unpaid"]
        message = pay.request_payment_message(DEMO_APPID, "1767225600", "fuzznonce", prepay_id)
        signature = pay.sign(pay.load_private_key(DEMO_PRIVATE_KEY), message)
        body = body.replace(PREPAY_MARK.encode(), prepay_id.encode())
        body = body.replace(SIGN_MARK.encode(), signature.encode())
    for mark, value in shop.items():
        body = body.replace(mark.encode(), value.encode())
    if template.startswith("/v3/"):
        sent["Authorization"] = wxpay_authorization(method, url(template, token), body)
    if template == NOTIFY_PATH:
        # Signed by the platform, so hostile bodies get past the signature.
        text = body.decode(errors="replace")
        sent |= notify.signed_headers(platform_keys["keys"], text, public_key_mode=False)
    response = await client.request(method, url(template, token), data=body, headers=sent)
    if response.content_type == "image/png":  # a mini-program code
        return response.status, "<PNG>"
    return response.status, await response.text()


def wxpay_authorization(method: str, path: str, body: bytes) -> str:
    """Signed by the demo WeChat Pay merchant, so hostile bodies get past the signature."""
    return pay.authorization_header(
        mchid=DEMO_MCHID,
        serial_no=DEMO_SERIAL_NO,
        private_key=pay.load_private_key(DEMO_PRIVATE_KEY),
        message_parts=(
            method,
            path,
            str(int(wall_now().timestamp())),
            pay.nonce(),
            body.decode(errors="replace"),
        ),
    )


def assert_refused(template: str, status: int, text: str) -> None:
    if template.startswith("/v3/"):
        # WeChat Pay answers errors with a status and {"code", "message"}.
        assert 400 <= status < 500, (status, text)
        assert json.loads(text)["code"] in ("PARAM_ERROR", "INVALID_REQUEST"), text
    elif template == NOTIFY_PATH:
        # A merchant's notify_url answers a notification it can't take with {"code", "message"}.
        assert 400 <= status < 500, (status, text)
        answer = json.loads(text)
        assert answer["code"] == "FAIL" and answer["message"], answer
    elif template.startswith(("/cgi-bin/", "/wxa/")):
        # The emulated API answers errors as the platform does: HTTP 200 and an errcode.
        assert status == 200, (status, text)
        answer = json.loads(text)
        assert answer["errcode"] != 0 and answer["errmsg"], answer
    else:
        assert 400 <= status < 500, (status, text)
        assert text.strip() and len(text) < 1000, text


def test_every_changing_route_is_fuzzed() -> None:
    """A new route lands here: give it a valid body (or list it as bodiless) to be fuzzed."""
    from botstore.app import create_app

    found = routes(create_app(Config()), CHANGING)
    assert found == set(VALID) | BODILESS | NOT_JSON, found ^ (set(VALID) | BODILESS | NOT_JSON)


@pytest.mark.parametrize(("method", "template"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
async def test_the_valid_bodies_are_accepted(
    client: TestClient, config: Config, token: str, method: str, template: str
) -> None:
    """The bodies the fuzzing starts from are good ones: a refusal below is the hostile value."""
    status, text = await send(
        client, config, method, template, token, encode(VALID[method, template])
    )
    assert status < 300, text
    if template.startswith("/cgi-bin/"):
        assert json.loads(text).get("errcode", 0) == 0, text


@pytest.mark.parametrize(("method", "template"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
async def test_the_issues_shapes_are_refused_by_every_endpoint(
    client: TestClient, config: Config, sessions, token: str, method: str, template: str
) -> None:
    before = await digest(sessions)
    valid = VALID[method, template]
    bodies = [*NOT_OBJECTS.values()]
    bodies += [encode(valid | {key: value}) for key, value in HOSTILE.items()]
    for body in bodies:
        status, text = await send(client, config, method, template, token, body)
        assert_refused(template, status, text)
    assert await digest(sessions) == before


# What the fuzzing below found (each a 500 before): kept as plain regressions.
FOUND = [
    ("POST", "/admin/api/wealth", {"rate_percent": "1e400"}),  # Decimal % 1 raised
    ("POST", "/admin/api/ads", {"cpm": "sNaN"}),  # comparing sNaN with 0 raised
    ("POST", "/admin/api/coupons", {"valid_from": "9999-12-31T23:59:59-23:59"}),  # no UTC time
    ("POST", "/admin/api/coupons", {"valid_from": "0001-01-01T00:00:00+14:00"}),
    ("PUT", "/admin/api/menu", {"button": [{"type": [], "name": "x", "key": "k"}]}),  # unhashable
    (
        "POST",
        "/cgi-bin/menu/create",
        {"button": [{"type": "view", "name": "x", "url": "http://["}]},
    ),
    ("POST", "/console/api/send", {"target": {"url": "http://["}}),  # urlsplit raised
    ("POST", "/admin/api/ads", {"article_ids": "1, ²"}),  # "²".isdigit(), int("²") raised
]


@pytest.mark.parametrize(("method", "template", "change"), FOUND, ids=[str(c) for *_, c in FOUND])
async def test_what_the_fuzzing_found_is_refused(
    client: TestClient,
    config: Config,
    sessions,
    token: str,
    method: str,
    template: str,
    change: dict[str, Any],
) -> None:
    before = await digest(sessions)
    body = encode(VALID[method, template] | change)
    status, text = await send(client, config, method, template, token, body)
    assert_refused(template, status, text)
    assert await digest(sessions) == before


def bodies_with(
    values: list[object], bodies: dict[tuple[str, str], object]
) -> st.SearchStrategy[tuple[str, str, bytes]]:
    """(method, route, body): a route's valid body with one of `values` put at one place."""

    def place(route: tuple[str, str]) -> st.SearchStrategy[tuple[str, str, bytes]]:
        valid = bodies[route]
        return st.tuples(
            st.just(route[0]),
            st.just(route[1]),
            st.builds(
                lambda path, value: encode(replaced(valid, path, value)),
                st.sampled_from(list(positions(valid))),
                st.sampled_from(values),
            ),
        )

    return st.sampled_from(sorted(bodies)).flatmap(place)


def hostile_bodies() -> st.SearchStrategy[tuple[str, str, bytes]]:
    return bodies_with(list(HOSTILE.values()), VALID)


@FUZZ
@given(request=hostile_bodies())
async def test_a_hostile_value_anywhere_is_refused_and_changes_nothing(
    client: TestClient, config: Config, sessions, token: str, request: tuple[str, str, bytes]
) -> None:
    method, template, body = request
    before = await digest(sessions)
    status, text = await send(client, config, method, template, token, body)
    assert_refused(template, status, text)
    assert await digest(sessions) == before


def odd_bodies() -> st.SearchStrategy[tuple[str, str, bytes]]:
    return bodies_with(ODD_VALUES, dict.fromkeys(BODILESS, {}) | VALID)


@FUZZ
@given(request=odd_bodies())
async def test_wrong_types_and_edge_values_never_break_an_endpoint(
    client: TestClient, config: Config, token: str, request: tuple[str, str, bytes]
) -> None:
    method, template, body = request
    status, text = await send(client, config, method, template, token, body)
    assert status < 500, text


HOSTILE_NUMBERS = [
    "9" * 5000,
    "99999999999999999999",
    "9223372036854775808",
    "2147483648",
    "-1",
    "0",
    "²",
    "١٢٣",
    "1e400",
    "NaN",
    "inf",
    "0x10",
    " 1",
    "1\n",
    "",
]
QUERY_NAMES = [
    "after",
    "store_id",
    "next_openid",
    "openid",
    "ticket",
    "session",
    "id",
    "lang",
    "next",
    "page",
    "limit",
    "offset",
]


def read_routes() -> list[tuple[str, str]]:
    from botstore.app import create_app

    return sorted(routes(create_app(Config()), {"GET"}) | set(VALID) | BODILESS)


@FUZZ
@given(
    route=st.sampled_from(read_routes()),
    ident=st.sampled_from(HOSTILE_NUMBERS[:-1]),
    query=st.dictionaries(st.sampled_from(QUERY_NAMES), st.sampled_from(HOSTILE_NUMBERS)),
)
async def test_hostile_ids_and_query_numbers_never_break_a_route(
    client: TestClient,
    config: Config,
    token: str,
    route: tuple[str, str],
    ident: str,
    query: dict[str, str],
) -> None:
    method, template = route
    path = url(template, token, ident=ident.strip() or "1").split("?")[0]
    params = query | ({"access_token": token} if path.startswith("/cgi-bin/") else {})
    response = await client.request(
        method, path, params=params, headers=headers(config), allow_redirects=False
    )
    assert response.status < 500, await response.text()
