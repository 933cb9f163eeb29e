"""The mini program's side of a JSAPI payment: `wx.requestPayment` with the parameters the
merchant's backend signed (timeStamp, nonceStr, package, signType RSA, paySign), checked as WeChat
checks them, then paid from the fan's wallet. `POST /console/api/wxpay/request-payment`, guarded
as the console is (it acts as any fan)."""

from typing import Literal

from aiohttp import web
from pydantic import Field

from botstore import jsonbody
from botstore.console.web import guarded
from botstore.errors import DomainError, InsufficientFunds
from botstore.keys import clock_key, db_key
from botstore.models import WxPayMerchant
from botstore.services import fans, wxpay
from botstore.wechat import pay


class RequestPayment(jsonbody.JsonBody):
    """wx.requestPayment's object (its camelCase names), and who pays (the console's fan)."""

    openid: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    timeStamp: str = Field(pattern=r"^[0-9]{1,12}$")
    nonceStr: str = Field(min_length=1, max_length=32)
    package: str = Field(pattern=r"^prepay_id=[A-Za-z0-9]{1,64}$")
    signType: Literal["RSA"]
    paySign: str = Field(min_length=1, max_length=1024)


def _fail(reason: str, status: int = 400) -> web.Response:
    return web.json_response({"errMsg": f"requestPayment:fail {reason}"}, status=status)


async def request_payment(request: web.Request) -> web.Response:
    try:
        body = jsonbody.read_model(await request.read(), RequestPayment)
    except jsonbody.BodyError as error:
        return _fail(str(error))
    prepay_id = body.package.removeprefix("prepay_id=")
    now = request.config_dict[clock_key].now()
    async with request.config_dict[db_key]() as session, session.begin():
        order = await wxpay.order_by_reference(session, prepay_id)
        if order is None or order.trade_type != "JSAPI":
            return _fail("prepay_id: no such JSAPI order")
        merchant = await session.get(WxPayMerchant, order.merchant_id)
        assert merchant is not None
        message = pay.request_payment_message(
            order.appid, body.timeStamp, body.nonceStr, prepay_id
        )
        if not pay.verify(pay.load_public_key(merchant.public_key_pem), message, body.paySign):
            return _fail(
                "paySign: does not verify with the merchant's key over appId, timeStamp, "
                "nonceStr and package"
            )
        fan = await fans.get_or_create(session, body.openid, now=now)
        try:
            async with session.begin_nested():  # a refusal keeps nothing
                paid = await wxpay.pay(
                    session,
                    fan,
                    reference=prepay_id,
                    key=f"requestPayment:{prepay_id}:{body.nonceStr}",
                    now=now,
                )
        except InsufficientFunds:
            return _fail("not enough money in the wallet")
        except wxpay.PaymentRefused as error:
            return _fail(f"the order is {error.details['reason'].replace('_', ' ')}")
        except DomainError as error:
            return _fail(str(error))
        return web.json_response(
            {
                "errMsg": "requestPayment:ok",
                "transaction_id": paid.order.transaction_id,
                "balance_fen": paid.balance_fen,
            }
        )


def setup_request_payment(app: web.Application) -> None:
    app.router.add_post("/console/api/wxpay/request-payment", guarded(request_payment))
