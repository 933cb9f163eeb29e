"""Admin: keyword rules (GET /admin/keywords) and their JSON API under /admin/api/keywords.

GET list, POST create, GET/PUT/PATCH/DELETE /<id>, POST /order {"ids": [...]} to reorder,
POST /preview to render a rule's reply against a sample fan.
"""

from typing import Any

from aiohttp import web
from jinja2 import Environment, TemplateError, TemplateSyntaxError

from botstore.admin.common import (
    FieldError,
    bool_field,
    choice_field,
    int_field,
    no_other_fields,
    now,
    path_id,
    read_json,
    read_model,
    reading,
    render,
    text_field,
    transaction,
)
from botstore.console.lint import TEXT_LIMIT_BYTES
from botstore.jsonbody import Id, JsonBody
from botstore.keys import dispatcher_key
from botstore.merchant_sandbox import TemplateLimitExceeded
from botstore.models import KeywordRule
from botstore.router import render_reply
from botstore.services import keywords
from botstore.templating import merchant_environment
from botstore.wechat import reply_to_dict

MATCH_TYPES = ("exact", "contains", "regex")
TEMPLATE_FIELDS = ("content", "title", "description", "url", "pic_url")
RULE_FIELDS = {"match_type", "pattern", "priority", "reply_type", "enabled", *TEMPLATE_FIELDS}
SAMPLE_FAN = {"openid": "o_sample_fan_0001", "nickname": "Sample Fan"}


def sandbox(request: web.Request) -> Environment:
    """The same sandbox the webhook renders merchant replies in."""
    dispatcher = request.config_dict.get(dispatcher_key)
    return dispatcher.merchant_env if dispatcher is not None else merchant_environment()


def rule_json(rule: KeywordRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "match_type": rule.match_type,
        "pattern": rule.pattern,
        "priority": rule.priority,
        "reply_type": rule.reply_type,
        **{name: getattr(rule, name) for name in TEMPLATE_FIELDS},
        "enabled": rule.enabled,
        "created_at": rule.created_at.isoformat(),
    }


def check_templates(env: Environment, values: dict[str, Any]) -> None:
    """Refuse template fields that do not parse, naming the field and the line."""
    for name in TEMPLATE_FIELDS:
        source = values.get(name)
        if not source:
            continue
        try:
            env.parse(source)
        except TemplateSyntaxError as error:
            reason = f"template error on line {error.lineno}: {error.message}"
            raise FieldError(name, reason) from None
        except RecursionError:  # Jinja's parser recurses once per bracket or operator
            raise FieldError(
                name, "the template nests brackets or expressions too deeply"
            ) from None


def parse_rule(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The rule fields present in `data`, typed; all required ones unless `partial`."""
    no_other_fields(data, RULE_FIELDS | ({"text", "openid", "nickname"} if not partial else set()))
    values: dict[str, Any] = {}
    if not partial or "match_type" in data:
        values["match_type"] = choice_field(data, "match_type", MATCH_TYPES)
    if not partial or "pattern" in data:
        values["pattern"] = text_field(data, "pattern", max_length=keywords.MAX_PATTERN)
    if "priority" in data or not partial:
        values["priority"] = int_field(
            data,
            "priority",
            minimum=-keywords.MAX_PRIORITY,
            maximum=keywords.MAX_PRIORITY,
            default=0,
        )
    if "reply_type" in data or not partial:
        values["reply_type"] = choice_field(
            data, "reply_type", keywords.REPLY_TYPES, default="text"
        )
    if "enabled" in data or not partial:
        values["enabled"] = bool_field(data, "enabled", default=True)
    for name in TEMPLATE_FIELDS:
        if name in data or not partial:
            values[name] = text_field(
                data, name, max_length=keywords.FIELDS[name], default="", allow_empty=True
            )
    return values


async def page(request: web.Request) -> web.Response:
    async with reading(request) as session:
        rules = [rule_json(rule) for rule in await keywords.all_rules(session)]
    return render(request, "admin/keywords.html", active="keywords", rules=rules)


async def list_rules(request: web.Request) -> web.Response:
    async with reading(request) as session:
        rules = await keywords.all_rules(session)
    return web.json_response({"rules": [rule_json(rule) for rule in rules]})


async def create(request: web.Request) -> web.Response:
    values = parse_rule(await read_json(request), partial=False)
    check_templates(sandbox(request), values)
    async with transaction(request) as session:
        rule = await keywords.create(session, values, now=now(request))
        # The pattern stands in for the fan's text: a text the rule matches, for most rules.
        warnings = check_reply(sandbox(request), _reply(rule), text=rule.pattern)
        body = rule_json(rule)
    return web.json_response({"rule": body, "warnings": warnings}, status=201)


async def show(request: web.Request) -> web.Response:
    rule_id = path_id(request)
    async with reading(request) as session:
        rule = await keywords.get(session, rule_id)
    return web.json_response({"rule": rule_json(rule)})


async def update(request: web.Request) -> web.Response:
    """PUT replaces every field (missing ones take their defaults); PATCH changes those given."""
    rule_id = path_id(request)
    data = await read_json(request)
    values = parse_rule(data, partial=request.method == "PATCH")
    if not values:
        raise FieldError("body", f"give at least one of {', '.join(sorted(RULE_FIELDS))}")
    check_templates(sandbox(request), values)
    async with transaction(request) as session:
        rule = await keywords.update(session, rule_id, values)
        # The rule as it would be saved, PATCHed fields and kept ones together; a refusal
        # rolls the change back.
        warnings = check_reply(sandbox(request), _reply(rule), text=rule.pattern)
        body = rule_json(rule)
    return web.json_response({"rule": body, "warnings": warnings})


async def delete(request: web.Request) -> web.Response:
    rule_id = path_id(request)
    async with transaction(request) as session:
        await keywords.delete(session, rule_id)
    return web.json_response({"deleted": rule_id})


class Order(JsonBody):
    """Every rule's id, first match first."""

    ids: list[Id]


async def reorder(request: web.Request) -> web.Response:
    ids = (await read_model(request, Order)).ids
    async with transaction(request) as session:
        rules = await keywords.reorder(session, ids)
        body = [rule_json(rule) for rule in rules]
    return web.json_response({"rules": body})


def preview_reply(
    env: Environment, reply: dict[str, Any], *, text: str, openid: str, nickname: str
) -> dict[str, Any]:
    """The reply rendered as the webhook would, or a FieldError naming the failing field."""
    check_templates(env, reply)
    values = {"text": text, "openid": openid, "nickname": nickname}
    used = ("content",) if reply.get("reply_type") != "news" else TEMPLATE_FIELDS[1:]
    for name in used:
        # Field by field first, so a runtime error names its field.
        try:
            env.from_string(reply.get(name, "")).render(**values)
        except TemplateLimitExceeded as error:  # its message is the whole reason
            raise FieldError(name, str(error)) from None
        except TemplateError as error:
            raise FieldError(name, f"template error: {error}") from None
        except Exception as error:  # anything a merchant's template raises is shown, never a 500
            raise FieldError(name, f"template error: {type(error).__name__}: {error}") from None
    return reply_to_dict(render_reply(env, reply, **values))


def reply_warnings(reply: dict[str, Any]) -> list[str]:
    """What the editor warns of in a rendered reply (it still saves)."""
    if reply.get("type") != "text":
        return []
    size = len(str(reply.get("content", "")).encode())
    if size <= TEXT_LIMIT_BYTES:
        return []
    return [
        f"This reply is {size:,} bytes; WeChat cuts or refuses text replies over "
        f"{TEXT_LIMIT_BYTES:,} bytes (UTF-8), so fans would not get all of it."
    ]


def check_reply(env: Environment, reply: dict[str, Any], *, text: str) -> list[str]:
    """At save time: render the reply as the webhook would for a sample fan sending `text`,
    in the same sandbox, and refuse it (a FieldError naming the field and the sandbox's reason)
    if it fails, instead of storing a rule that fails for every fan. Returns the warnings."""
    return reply_warnings(preview_reply(env, reply, text=text, **SAMPLE_FAN))


def _reply(rule: KeywordRule) -> dict[str, Any]:
    return {
        "reply_type": rule.reply_type,
        **{name: getattr(rule, name) for name in TEMPLATE_FIELDS},
    }


async def preview(request: web.Request) -> web.Response:
    """Whether a sample text matches the (unsaved) rule, and the reply the fan would get."""
    data = await read_json(request)
    values = parse_rule(data, partial=False)
    rule = keywords.validate(KeywordRule(**values))
    text = text_field(data, "text", max_length=2000, default=rule.pattern, allow_empty=True)
    fan = {
        name: text_field(data, name, max_length=64, default=SAMPLE_FAN[name])
        for name in ("openid", "nickname")
    }
    reply = preview_reply(sandbox(request), values, text=text, **fan)
    return web.json_response(
        {
            "matches": keywords.matches(rule, text),
            "text": text,
            "fan": fan,
            "reply": reply,
            "warnings": reply_warnings(reply),
        }
    )


def setup(admin: web.Application) -> None:
    admin.router.add_get("/keywords", page)
    admin.router.add_get("/api/keywords", list_rules)
    admin.router.add_post("/api/keywords", create)
    admin.router.add_post("/api/keywords/order", reorder)
    admin.router.add_post("/api/keywords/preview", preview)
    admin.router.add_get("/api/keywords/{id}", show)
    admin.router.add_put("/api/keywords/{id}", update)
    admin.router.add_patch("/api/keywords/{id}", update)
    admin.router.add_delete("/api/keywords/{id}", delete)
