"""What every emulated API shares: errcode answers, capped JSON bodies, token checks."""

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore import jsonbody
from botstore.errors import ExpiredCredential, InvalidCredential
from botstore.keys import clock_key, config_key
from botstore.models import AccessToken
from botstore.services import tokens

log = logging.getLogger(__name__)

# API bodies are small JSON objects; anything bigger is refused before it is parsed.
MAX_BODY_BYTES = 16 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An answer of the emulated API that is an error: HTTP 200 with errcode/errmsg (§7.0)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


def data_format_error(hint: str) -> ApiError:
    return ApiError(47001, f"data format error hint: {hint}")


def invalid_args(hint: str) -> ApiError:
    return ApiError(40097, f"invalid args hint: {hint}")


def answer(data: dict[str, Any]) -> web.Response:
    # Clients send and accept non-ASCII unescaped (§7.0).
    return web.json_response(data, dumps=lambda value: json.dumps(value, ensure_ascii=False))


def api(handler: Handler) -> Handler:
    """Turn ApiError (and a database outage) into the official error JSON, never a 500."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as error:
            return answer({"errcode": error.errcode, "errmsg": error.errmsg})
        except DBAPIError:
            log.warning("emulated API: database error", exc_info=True)
            return answer({"errcode": -1, "errmsg": "system error"})

    return wrapped


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, read up to MAX_BODY_BYTES."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise data_format_error(f"body over {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise data_format_error(f"body over {MAX_BODY_BYTES} bytes")
    if not body.strip():
        raise ApiError(44002, "empty post data")
    try:
        return jsonbody.read_object(bytes(body))
    except jsonbody.BodyError as error:
        raise data_format_error(_hint(error)) from None


def _hint(error: jsonbody.BodyError) -> str:
    # The API's hints for a whole body have always read "invalid JSON" and "the body must be
    # a JSON object"; a field's says which one and why.
    if error.field != "body":
        return str(error)
    if error.reason == "must be a JSON object":
        return "the body must be a JSON object"
    return "invalid JSON" if error.reason == "not valid JSON" else f"invalid JSON: {error.reason}"


async def authenticate(
    request: web.Request, session: AsyncSession, *, miniprogram: bool = False
) -> AccessToken:
    """The caller's access_token (a query parameter, §7.0), or the official error. A token is
    the account's or the mini program's, and each app's APIs take only its own."""
    value = request.query.get("access_token", "")
    if not value:
        raise ApiError(41001, "access_token missing")
    try:
        token = await tokens.check(session, value, now=request.app[clock_key].now())
    except InvalidCredential:
        raise ApiError(
            40001, "invalid credential, access_token is invalid or not latest"
        ) from None
    except ExpiredCredential:
        raise ApiError(42001, "access_token expired") from None
    config = request.app[config_key]
    app_id = config.miniprogram.app_id if miniprogram else config.wechat.app_id
    if token.app_id != app_id:
        raise ApiError(48001, "api unauthorized")
    return token
