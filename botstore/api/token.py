"""GET /cgi-bin/token (wechat-protocol.md 7.1)."""

from aiohttp import web

from botstore.api.common import ApiError, answer, api
from botstore.errors import InvalidCredential
from botstore.keys import clock_key, config_key, db_key
from botstore.services import tokens


@api
async def get_token(request: web.Request) -> web.Response:
    """A client_credential grant for the account's appid and secret, or the mini program's."""
    query = request.query
    if query.get("grant_type") != "client_credential":
        raise ApiError(40002, "invalid grant_type")
    if not query.get("appid"):
        raise ApiError(41002, "appid missing")
    if not query.get("secret"):
        raise ApiError(41004, "appsecret missing")
    config = request.app[config_key]
    # Each app has its own secret and tokens; an appid of neither is refused as the account's.
    app = config.miniprogram if query["appid"] == config.miniprogram.app_id else config.wechat
    now = request.app[clock_key].now()
    try:
        async with request.app[db_key]() as session, session.begin():
            granted = await tokens.grant(
                session,
                app_id=query["appid"],
                secret=query["secret"],
                expected_app_id=app.app_id,
                expected_secret=app.app_secret,
                now=now,
            )
    except InvalidCredential as error:
        if error.details["what"] == "appid":
            raise ApiError(40013, "invalid appid") from None
        raise ApiError(40125, "invalid appsecret") from None
    return answer(
        {"access_token": granted.token, "expires_in": tokens.expires_in(granted, now=now)}
    )
