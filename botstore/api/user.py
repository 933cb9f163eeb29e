"""GET /cgi-bin/user/info, GET /cgi-bin/user/get and POST /cgi-bin/user/info/batchget
(wechat-protocol.md 7.5)."""

from aiohttp import web

from botstore.api.common import ApiError, answer, api, authenticate, data_format_error, read_json
from botstore.keys import config_key, db_key
from botstore.services import users

LANGUAGES = ("zh_CN", "zh_TW", "en")
MAX_BATCH = 100


def _check_lang(lang: object) -> None:
    if lang not in LANGUAGES:
        raise ApiError(40097, "invalid args hint: lang must be one of " + ", ".join(LANGUAGES))


@api
async def user_info(request: web.Request) -> web.Response:
    """One fan's profile, or {"subscribe": 0, "openid": ...} after an unfollow."""
    async with request.app[db_key]() as session:
        await authenticate(request, session)
        _check_lang(request.query.get("lang", "zh_CN"))
        try:
            fan = await users.by_openid(session, request.query.get("openid"))
        except users.UserError as error:
            raise ApiError(error.errcode, error.errmsg) from None
        return answer(
            users.info(fan, default_language=request.config_dict[config_key].wechat.language)
        )


@api
async def user_get(request: web.Request) -> web.Response:
    """Followers' openids, 10 000 a page, after next_openid."""
    async with request.app[db_key]() as session:
        await authenticate(request, session)
        try:
            page = await users.followers(session, next_openid=request.query.get("next_openid", ""))
        except users.UserError as error:
            raise ApiError(error.errcode, error.errmsg) from None
    return answer(page)


@api
async def user_batchget(request: web.Request) -> web.Response:
    """Up to 100 profiles at once; one unknown openid fails the whole call."""
    async with request.app[db_key]() as session:
        await authenticate(request, session)
        data = await read_json(request)
        wanted = data.get("user_list")
        if not isinstance(wanted, list) or not all(isinstance(item, dict) for item in wanted):
            raise data_format_error("user_list must be a list of objects")
        if not 0 < len(wanted) <= MAX_BATCH:
            raise ApiError(40097, f"invalid args hint: user_list must hold 1-{MAX_BATCH} users")
        default = request.config_dict[config_key].wechat.language
        found = []
        for item in wanted:
            _check_lang(item.get("lang", "zh_CN"))
            try:
                found.append(
                    users.info(
                        await users.by_openid(session, item.get("openid")),
                        default_language=default,
                    )
                )
            except users.UserError as error:
                raise ApiError(error.errcode, error.errmsg) from None
    return answer({"user_info_list": found})
