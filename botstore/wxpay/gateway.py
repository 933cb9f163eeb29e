"""The v3 gateway: every /v3/ path a merchant's SDK calls, authenticated as the platform does and
answered signed with the platform's key, refusals in its JSON shape ({"code", "message"})."""

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore import jsonbody
from botstore.clock import wall_now
from botstore.config import is_loopback
from botstore.keys import clock_key, config_key, db_key, wxpay_platform_key
from botstore.models import WxPayMerchant
from botstore.pages.language import page_response
from botstore.seed.wxpay import DEMO_PUBLIC_KEY
from botstore.services import wxpay
from botstore.wechat import pay
from botstore.wxpay.platform import PlatformKeys

STATUS = {
    "SIGN_ERROR": 401,
    "PARAM_ERROR": 400,
    "INVALID_REQUEST": 400,
    "MCH_NOT_EXISTS": 400,
    "APPID_MCHID_NOT_MATCH": 400,
    "ORDER_CLOSED": 400,
    "ORDERPAID": 400,
    "ORDER_NOT_EXIST": 404,
    "RESOURCE_NOT_EXISTS": 404,
    "NOT_ENOUGH": 403,
}
MAX_BODY_BYTES = 64 * 1024
_OUT_NO = r"^[0-9A-Za-z_\-|*@]+$"


class GatewayError(Exception):
    def __init__(self, code: str, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Call:
    """An authenticated request: who sent it, its body, and a session for its unit of work."""

    request: web.Request
    merchant: WxPayMerchant
    body: bytes
    session: AsyncSession
    now: datetime


Handler = Callable[[Call], Awaitable[tuple[int, dict[str, Any] | None]]]


# --- request bodies ---


class _Body(BaseModel):
    # The platform takes fields botstore ignores (detail, settle_info...): kept, not refused, and
    # part of the request the same out_trade_no must repeat.
    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)


class Amount(_Body):
    total: int = Field(ge=1, le=10**10)
    currency: Literal["CNY"] = "CNY"


class Payer(_Body):
    openid: str = Field(min_length=1, max_length=128)


class Prepay(_Body):
    appid: str = Field(min_length=1, max_length=32)
    mchid: str = Field(min_length=1, max_length=32)
    description: str = Field(min_length=1, max_length=127)
    out_trade_no: str = Field(min_length=6, max_length=32, pattern=_OUT_NO)
    time_expire: str | None = Field(default=None, max_length=64)
    attach: str | None = Field(default=None, max_length=128)
    notify_url: str = Field(min_length=8, max_length=256, pattern=r"^https?://\S+$")
    amount: Amount
    payer: Payer | None = None
    scene_info: dict[str, Any] | None = None

    @field_validator("time_expire")
    @classmethod
    def _rfc3339(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("an RFC 3339 time such as 2026-06-08T10:34:56+08:00") from None
        if moment.tzinfo is None:
            raise ValueError("needs its time zone, such as +08:00")
        try:
            moment.astimezone(UTC)
        except OverflowError:  # 9999-12-31T23:59:59-23:59 is past the last UTC time
            raise ValueError("a time that has a UTC time") from None
        return value


class RefundAmount(_Body):
    refund: int = Field(ge=1, le=10**10)
    total: int = Field(ge=1, le=10**10)
    currency: Literal["CNY"] = "CNY"


class Refund(_Body):
    transaction_id: str | None = Field(default=None, min_length=1, max_length=32)
    out_trade_no: str | None = Field(default=None, min_length=1, max_length=32)
    out_refund_no: str = Field(min_length=1, max_length=64, pattern=_OUT_NO)
    reason: str | None = Field(default=None, max_length=80)
    notify_url: str | None = Field(default=None, max_length=256, pattern=r"^https?://\S+$")
    funds_account: str | None = None
    amount: RefundAmount


class Close(_Body):
    mchid: str = Field(min_length=1, max_length=32)


def _read(body: bytes, model: type[jsonbody.Model]) -> tuple[jsonbody.Model, dict[str, Any]]:
    try:
        data = jsonbody.read_object(body)
        return model.model_validate(data), data
    except jsonbody.BodyError as error:
        raise _param_error(str(error), error.field) from None
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        reason = jsonbody._reason(first["type"], first["msg"], first.get("ctx") or {})
        raise _param_error(f"{where}: {reason}", where) from None


def _param_error(reason: str, field: str) -> GatewayError:
    return GatewayError(
        "PARAM_ERROR",
        f"参数错误 ({reason})",
        {"location": "body", "field": field, "issue": reason},
    )


# --- authentication and signed answers ---


def _sign_error(message: str, issue: str, **more: Any) -> GatewayError:
    return GatewayError(
        "SIGN_ERROR", message, {"location": "authorization", "detail": {"issue": issue}, **more}
    )


def authenticate(
    request: web.Request, merchant: WxPayMerchant | None, auth: pay.Authorization, body: str
) -> WxPayMerchant:
    """The merchant whose signature this is, or the platform's refusal."""
    if merchant is None:
        raise GatewayError("MCH_NOT_EXISTS", "商户号不存在")
    if not auth.timestamp.isdigit() or len(auth.timestamp) > 12:
        raise _sign_error("签名错误，timestamp 不是秒级时间戳", "timestamp is not Unix seconds")
    # Transport time, not business time: the SDK signs with the wall clock.
    skew = abs(wall_now().timestamp() - int(auth.timestamp))
    if skew > pay.TIMESTAMP_WINDOW.total_seconds():
        raise _sign_error(
            "签名错误，请求的时间戳与当前时间相差超过5分钟",
            f"timestamp is {int(skew)} s away from now; at most 300 s",
        )
    if auth.serial_no.upper() != merchant.serial_no:
        raise _sign_error(
            "商户证书序列号有误。请使用签名私钥匹配的证书序列号",
            f"serial_no {auth.serial_no!r} is not the merchant's certificate serial",
        )
    config = request.config_dict[config_key]
    if merchant.public_key_pem.strip() == DEMO_PUBLIC_KEY.strip() and not is_loopback(
        config.server.host
    ):
        raise _sign_error(
            "商户使用的是 botstore 公开的演示密钥，只能在本机使用",
            "this merchant's key is the demo key published in botstore's docs/wechat-pay.md, "
            "which anyone can read: register a merchant with your own key to serve on "
            f"{config.server.host!r}",
        )
    message = pay.request_message(
        request.method, request.raw_path, auth.timestamp, auth.nonce_str, body
    )
    if not pay.verify(pay.load_public_key(merchant.public_key_pem), message, auth.signature):
        raise _sign_error(
            "签名错误，请检查后再试",
            "sign not match",
            field="signature",
            sign_information={
                "method": request.method,
                "url": request.raw_path,
                "sign_message_length": len(message.encode()),
                "truncated_sign_message": message[:60],
            },
        )
    return merchant


def signed_response(
    keys: PlatformKeys, status: int, data: dict[str, Any] | None, *, public_key_mode: bool
) -> web.Response:
    """Signed with the platform key as the SDKs verify it (timestamp, nonce and body)."""
    text = "" if data is None else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    timestamp, nonce = str(int(wall_now().timestamp())), pay.nonce()
    headers = {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Serial": keys.serial_for(public_key_mode),
        "Wechatpay-Signature": keys.sign(pay.response_message(timestamp, nonce, text)),
        "Wechatpay-Signature-Type": pay.SCHEME,
        "Request-ID": pay.nonce(24),
    }
    if data is None:
        return web.Response(status=status, headers=headers)
    return web.Response(
        status=status, text=text, content_type="application/json", charset="utf-8", headers=headers
    )


def endpoint(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Authenticate, run `handler` in one transaction, answer signed; refusals keep nothing."""

    async def run(request: web.Request) -> web.Response:
        now = request.config_dict[clock_key].now()
        keys = await request.config_dict[wxpay_platform_key].get(
            request.config_dict[db_key], now=now
        )
        wants_public_key = request.headers.get("Wechatpay-Serial") == keys.public_key_id
        try:
            body = await request.read()  # whole: the signature covers every byte
            if len(body) > MAX_BODY_BYTES:
                raise _param_error(f"at most {MAX_BODY_BYTES} bytes", "body")
            try:
                text = body.decode()
            except UnicodeDecodeError:
                raise _param_error("not UTF-8 text", "body") from None
            try:
                auth = pay.parse_authorization(request.headers.get("Authorization", ""))
            except pay.PayCryptoError as error:
                raise _sign_error(
                    "Http头Authorization值格式错误，请参考《微信支付API v3签名规则》", str(error)
                ) from None
            async with request.config_dict[db_key]() as session, session.begin():
                merchant = await wxpay.merchant_by_mchid(session, auth.mchid)
                merchant = authenticate(request, merchant, auth, text)
                if wants_public_key:
                    await wxpay.use_public_key_mode(session, merchant)
                try:
                    status, data = await handler(Call(request, merchant, body, session, now))
                except wxpay.WxPayError as error:
                    raise GatewayError(error.code, error.message) from None
                public_key_mode = merchant.public_key_mode
        except GatewayError as error:
            answer: dict[str, Any] = {"code": error.code, "message": error.message}
            if error.detail is not None:
                answer["detail"] = error.detail
            return signed_response(
                keys, STATUS[error.code], answer, public_key_mode=wants_public_key
            )
        return signed_response(keys, status, data, public_key_mode=public_key_mode)

    return run


def _same_merchant(call: Call, mchid: str | None) -> None:
    if mchid is None:
        raise GatewayError(
            "PARAM_ERROR", "缺少参数 mchid", {"location": "query", "field": "mchid"}
        )
    if mchid != call.merchant.mchid:
        raise GatewayError(
            "PARAM_ERROR",
            "mchid 与请求签名的商户号不一致",
            {"field": "mchid", "issue": "not the mchid of the Authorization header"},
        )


# --- the endpoints ---


def prepay(trade_type: str) -> Handler:
    async def create(call: Call) -> tuple[int, dict[str, Any]]:
        body, data = _read(call.body, Prepay)
        _same_merchant(call, body.mchid)
        if body.appid != call.merchant.appid:
            raise GatewayError("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        if trade_type == "JSAPI" and body.payer is None:
            raise _param_error("payer: missing (payer.openid is required for JSAPI)", "payer")
        if trade_type == "H5" and not body.scene_info:
            raise _param_error("scene_info: missing (required for H5)", "scene_info")
        order = await wxpay.create_order(
            call.session, call.merchant, trade_type=trade_type, request=data, now=call.now
        )
        base = call.request.config_dict[config_key].server.base_url
        if trade_type == "NATIVE":
            return 200, {"code_url": f"weixin://wxpay/bizpayurl?pr={order.code}"}
        if trade_type == "H5":
            query = f"prepay_id={order.prepay_id}&package={order.code}"
            return 200, {"h5_url": f"{base}/wxpay/checkmweb?{query}"}
        return 200, {"prepay_id": order.prepay_id}

    return create


async def query_by_transaction_id(call: Call) -> tuple[int, dict[str, Any]]:
    _same_merchant(call, call.request.query.get("mchid"))
    order = await wxpay.order_by_transaction_id(
        call.session, call.merchant, call.request.match_info["transaction_id"]
    )
    openid = await wxpay.payer_openid(call.session, order)
    return 200, wxpay.transaction_json(order, call.merchant, openid)


async def query_by_out_trade_no(call: Call) -> tuple[int, dict[str, Any]]:
    _same_merchant(call, call.request.query.get("mchid"))
    order = await wxpay.order_by_out_trade_no(
        call.session, call.merchant, call.request.match_info["out_trade_no"]
    )
    openid = await wxpay.payer_openid(call.session, order)
    return 200, wxpay.transaction_json(order, call.merchant, openid)


async def close(call: Call) -> tuple[int, None]:
    body, _ = _read(call.body, Close)
    _same_merchant(call, body.mchid)
    await wxpay.close_order(
        call.session, call.merchant, call.request.match_info["out_trade_no"], now=call.now
    )
    return 204, None


async def refund(call: Call) -> tuple[int, dict[str, Any]]:
    body, data = _read(call.body, Refund)
    if not body.transaction_id and not body.out_trade_no:
        raise _param_error("transaction_id or out_trade_no: give one", "transaction_id")
    record = await wxpay.refund(call.session, call.merchant, request=data, now=call.now)
    _, order = await wxpay.refund_by_out_refund_no(
        call.session, call.merchant, record.out_refund_no
    )
    return 200, wxpay.refund_json(record, order)


async def query_refund(call: Call) -> tuple[int, dict[str, Any]]:
    record, order = await wxpay.refund_by_out_refund_no(
        call.session, call.merchant, call.request.match_info["out_refund_no"]
    )
    return 200, wxpay.refund_json(record, order)


async def certificates(call: Call) -> tuple[int, dict[str, Any]]:
    """The platform certificate, encrypted with the caller's APIv3 key as the real one is."""
    keys = await call.request.config_dict[wxpay_platform_key].get(
        call.request.config_dict[db_key], now=call.now
    )
    encrypted = pay.encrypt_resource(
        call.merchant.apiv3_key, keys.certificate_pem, associated_data="certificate"
    )
    return 200, {
        "data": [
            {
                "serial_no": keys.certificate_serial,
                "effective_time": wxpay.china_time(keys.effective),
                "expire_time": wxpay.china_time(keys.expires),
                "encrypt_certificate": encrypted,
            }
        ]
    }


def checkout_page() -> Callable[[web.Request], Awaitable[web.Response]]:
    """Where an H5 order's h5_url leads: the order and how to pay it, in the browser's language."""

    async def page(request: web.Request) -> web.Response:
        reference = request.query.get("prepay_id") or request.query.get("pr") or ""
        async with request.config_dict[db_key]() as session:
            order = await wxpay.order_by_reference(session, reference[:64]) if reference else None
            if order is None:
                raise web.HTTPNotFound(text="no such WeChat Pay order")
            merchant = await session.get(WxPayMerchant, order.merchant_id)
            assert merchant is not None
        # The language switch keeps the order in the link.
        keep = urlencode({"prepay_id": order.prepay_id}) + "&"
        return page_response(
            request, "wxpay_checkout.html", order=order, mchid=merchant.mchid, keep_query=keep
        )

    return page


_TRANSACTIONS = "/v3/pay/transactions"
_ID = re.compile(r"[^/]{1,64}").pattern


def setup_gateway(app: web.Application) -> None:
    app.router.add_post(f"{_TRANSACTIONS}/jsapi", endpoint(prepay("JSAPI")))
    app.router.add_post(f"{_TRANSACTIONS}/native", endpoint(prepay("NATIVE")))
    app.router.add_post(f"{_TRANSACTIONS}/h5", endpoint(prepay("H5")))
    app.router.add_get(
        f"{_TRANSACTIONS}/id/{{transaction_id:{_ID}}}", endpoint(query_by_transaction_id)
    )
    app.router.add_get(
        f"{_TRANSACTIONS}/out-trade-no/{{out_trade_no:{_ID}}}", endpoint(query_by_out_trade_no)
    )
    app.router.add_post(
        f"{_TRANSACTIONS}/out-trade-no/{{out_trade_no:{_ID}}}/close", endpoint(close)
    )
    app.router.add_post("/v3/refund/domestic/refunds", endpoint(refund))
    app.router.add_get(
        f"/v3/refund/domestic/refunds/{{out_refund_no:{_ID}}}", endpoint(query_refund)
    )
    app.router.add_get("/v3/certificates", endpoint(certificates))
    app.router.add_get("/wxpay/checkmweb", checkout_page())
