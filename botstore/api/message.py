"""POST /cgi-bin/message/custom/send and /cgi-bin/message/template/send (wechat-protocol.md 7.2,
7.4): checked like the platform checks them, then queued in the fan's outbox."""

from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.api.common import ApiError, answer, api, authenticate, data_format_error, read_json
from botstore.keys import clock_key, db_key
from botstore.models import Fan
from botstore.services import messages, users

OK = {"errcode": 0, "errmsg": "ok"}
# Not documented for customer-service text; the passive-reply measurement (§8) [unconfirmed].
MAX_TEXT_BYTES = 2048
MAX_ARTICLES = 1  # since 2018-10-12 (§7.2)
TEMPLATE = "template"
# §7.4: client_msg_id makes a template send idempotent for one fan, for ten minutes.
CLIENT_MSG_ID_TTL = timedelta(minutes=10)
MAX_ID = 64


def _string(obj: dict[str, Any], name: str, where: str, *, required: bool = False) -> str | None:
    value = obj.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise data_format_error(f"{where}.{name} must be a non-empty string")
    return value


def _media_id(obj: dict[str, Any], name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value or len(value) > 128:
        raise ApiError(40007, "invalid media_id")
    return value


def _pick(obj: dict[str, Any], where: str, *names: str) -> dict[str, Any]:
    """The optional string fields present in `obj`, in the official order."""
    picked = {}
    for name in names:
        value = _string(obj, name, where)
        if value is not None:
            picked[name] = value
    return picked


def _text(body: dict[str, Any]) -> dict[str, Any]:
    content = body.get("content")
    if not isinstance(content, str) or not content:
        raise ApiError(44004, "empty content")
    if len(content.encode()) > MAX_TEXT_BYTES:
        raise ApiError(45002, "content size out of limit")
    return {"content": content}


def _news(body: dict[str, Any]) -> dict[str, Any]:
    articles = body.get("articles")
    if not isinstance(articles, list):
        raise data_format_error("news.articles must be a list")
    if not articles:
        raise ApiError(44003, "empty news data")
    if len(articles) > MAX_ARTICLES:
        raise ApiError(45008, "article size out of limit")
    items = []
    for article in articles:
        if not isinstance(article, dict):
            raise data_format_error("news.articles[] must be objects")
        items.append(_pick(article, "news.articles[]", "title", "description", "url", "picurl"))
    return {"articles": items}


def _media(body: dict[str, Any]) -> dict[str, Any]:
    return {"media_id": _media_id(body, "media_id")}


def _video(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "media_id": _media_id(body, "media_id"),
        **_pick(body, "video", "thumb_media_id", "title", "description"),
    }


def _music(body: dict[str, Any]) -> dict[str, Any]:
    picked = _pick(body, "music", "title", "description")
    for name in ("musicurl", "hqmusicurl"):
        picked[name] = _string(body, name, "music", required=True)
    picked["thumb_media_id"] = _media_id(body, "thumb_media_id")
    return picked


def _mpnewsarticle(body: dict[str, Any]) -> dict[str, Any]:
    return {"article_id": _string(body, "article_id", "mpnewsarticle", required=True)}


def _msgmenu(body: dict[str, Any]) -> dict[str, Any]:
    options = body.get("list")
    if not isinstance(options, list) or not options:
        raise data_format_error("msgmenu.list must be a non-empty list")
    items = []
    for option in options:
        if not isinstance(option, dict):
            raise data_format_error("msgmenu.list[] must be objects")
        items.append(
            {
                "id": _string(option, "id", "msgmenu.list[]", required=True),
                "content": _string(option, "content", "msgmenu.list[]", required=True),
            }
        )
    picked = _pick(body, "msgmenu", "head_content")
    picked["list"] = items
    picked |= _pick(body, "msgmenu", "tail_content")
    return picked


def _wxcard(body: dict[str, Any]) -> dict[str, Any]:
    return {"card_id": _string(body, "card_id", "wxcard", required=True)}


def _miniprogrampage(body: dict[str, Any]) -> dict[str, Any]:
    picked = _pick(body, "miniprogrampage", "title")
    for name in ("appid", "pagepath"):
        picked[name] = _string(body, name, "miniprogrampage", required=True)
    picked["thumb_media_id"] = _media_id(body, "thumb_media_id")
    return picked


# One checker per msgtype of §7.2; each returns the object the outbox keeps.
CHECKS = {
    "text": _text,
    "image": _media,
    "voice": _media,
    "video": _video,
    "music": _music,
    "news": _news,
    "mpnews": _media,
    "mpnewsarticle": _mpnewsarticle,
    "msgmenu": _msgmenu,
    "wxcard": _wxcard,
    "miniprogrampage": _miniprogrampage,
}


def custom_message(data: dict[str, Any], openid: str) -> dict[str, Any]:
    """The request checked and reduced to the official shape (§7.2)."""
    msgtype = data.get("msgtype")
    if not isinstance(msgtype, str) or msgtype not in CHECKS:
        raise ApiError(40008, "invalid message type")
    body = data.get(msgtype)
    if not isinstance(body, dict):
        raise data_format_error(f"{msgtype} must be an object")
    payload = {"touser": openid, "msgtype": msgtype, msgtype: CHECKS[msgtype](body)}
    service = data.get("customservice")
    if service is not None:
        if not isinstance(service, dict):
            raise data_format_error("customservice must be an object")
        payload["customservice"] = {
            "kf_account": _string(service, "kf_account", "customservice", required=True)
        }
    return payload


async def _fan(session: AsyncSession, openid: object) -> Fan:
    try:
        return await users.by_openid(session, openid)
    except users.UserError as error:
        raise ApiError(error.errcode, error.errmsg) from None


@api
async def custom_send(request: web.Request) -> web.Response:
    """A customer-service message to a fan inside the interaction window."""
    now = request.app[clock_key].now()
    async with request.app[db_key]() as session, session.begin():
        await authenticate(request, session)
        data = await read_json(request)
        fan = await _fan(session, data.get("touser"))
        payload = custom_message(data, fan.openid)
        try:
            await users.check_window(session, fan, now=now)
        except users.UserError as error:
            raise ApiError(error.errcode, error.errmsg) from None
        messages.send_to_outbox(session, fan.openid, payload, reason=users.CUSTOM_SEND, now=now)
    return answer(OK)


def template_message(data: dict[str, Any], openid: str) -> dict[str, Any]:
    """The template send request checked and reduced to the official shape (§7.4)."""
    template_id = data.get("template_id")
    if not isinstance(template_id, str) or not 0 < len(template_id) <= MAX_ID:
        raise ApiError(40037, "invalid template_id")
    payload: dict[str, Any] = {"touser": openid, "template_id": template_id}
    url = _string(data, "url", "template")
    if url:
        payload["url"] = url
    program = data.get("miniprogram")
    if program is not None:
        if not isinstance(program, dict):
            raise data_format_error("miniprogram must be an object")
        payload["miniprogram"] = {
            "appid": _string(program, "appid", "miniprogram", required=True),
            **_pick(program, "miniprogram", "pagepath"),
        }
    client_msg_id = _string(data, "client_msg_id", "template")
    if client_msg_id is not None:
        if len(client_msg_id) > MAX_ID:
            raise data_format_error(f"client_msg_id is over {MAX_ID} characters")
        payload["client_msg_id"] = client_msg_id
    fields = data.get("data", {})
    if not isinstance(fields, dict):
        raise data_format_error("data must be an object")
    checked = {}
    for name, field in fields.items():
        if not isinstance(field, dict):
            raise data_format_error(f"data.{name} must be an object")
        value = field.get("value")
        # Some SDKs send numbers ("39.8"); the platform shows them as text.
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise data_format_error(f"data.{name}.value must be a string")
        checked[name] = {"value": str(value), **_pick(field, f"data.{name}", "color")}
    payload["data"] = checked
    payload |= _pick(data, "template", "topcolor")
    return payload


@api
async def template_send(request: web.Request) -> web.Response:
    """A template message to a follower; answers its msgid (the outbox message's id)."""
    now = request.app[clock_key].now()
    async with request.app[db_key]() as session, session.begin():
        await authenticate(request, session)
        data = await read_json(request)
        fan = await _fan(session, data.get("touser"))
        payload = template_message(data, fan.openid)
        if not users.is_following(fan):
            raise ApiError(43004, "require subscribe")
        client_msg_id = payload.get("client_msg_id")
        if client_msg_id is not None:
            for sent in await users.sent_since(
                session, fan, reason=TEMPLATE, since=now - CLIENT_MSG_ID_TTL
            ):
                if sent.payload.get("client_msg_id") == client_msg_id:
                    return answer({**OK, "msgid": sent.id})
        message = messages.send_to_outbox(session, fan.openid, payload, reason=TEMPLATE, now=now)
        await session.flush()
        msgid = message.id
    return answer({**OK, "msgid": msgid})
