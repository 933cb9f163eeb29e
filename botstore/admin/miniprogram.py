"""Admin: the mini program's subscribe-message templates (GET /admin/miniprogram, JSON under
/admin/api/miniprogram/): list them, add one with its keywords (thing1 商品名称, amount2 金额...),
switch one off or on."""

from typing import Any

from aiohttp import web

from botstore.admin.common import FieldError, body, reading, render, text_field, transaction
from botstore.admin.common import now as clock_now
from botstore.errors import NotFound
from botstore.keys import config_key
from botstore.models import SubscribeTemplate
from botstore.services import miniprogram

FIELDS = {"title", "keywords"}


def template_json(template: SubscribeTemplate) -> dict[str, Any]:
    return {
        "id": template.id,
        "title": template.title,
        "keywords": template.keywords,
        "active": template.active,
        "created_at": template.created_at.isoformat(),
    }


async def list_templates(request: web.Request) -> web.Response:
    async with reading(request) as session:
        rows = await miniprogram.templates(session, include_inactive=True)
        return web.json_response({"templates": [template_json(row) for row in rows]})


def _keywords(data: dict[str, Any]) -> list[tuple[str, str]]:
    value = data.get("keywords")
    if isinstance(value, str):
        # The page's textarea: "thing1 商品名称" a line.
        lines = [line.strip().split(None, 1) for line in value.splitlines() if line.strip()]
        if not all(len(parts) == 2 for parts in lines):
            raise FieldError("keywords", "one keyword a line: its key, a space, its name")
        value = [{"key": key, "name": name} for key, name in lines]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise FieldError("keywords", 'a list of {"key": "thing1", "name": "商品名称"}')
    keywords = []
    for item in value:
        key, name = item.get("key"), item.get("name")
        if not isinstance(key, str) or not isinstance(name, str):
            raise FieldError("keywords", "each keyword has a key and a name (strings)")
        keywords.append((key.strip(), name.strip()))
    return keywords


async def create(request: web.Request) -> web.Response:
    data = await body(request, FIELDS)
    title = text_field(data, "title", max_length=60).strip()
    keywords = _keywords(data)
    async with transaction(request) as session:
        template = await miniprogram.create_template(
            session, title=title, keywords=keywords, now=clock_now(request)
        )
        return web.json_response({"template": template_json(template)}, status=201)


def _switch(active: bool) -> Any:
    async def set_active(request: web.Request) -> web.Response:
        """A deactivated template takes no grants and no sends; its messages stay."""
        template_id = request.match_info["id"]
        async with transaction(request) as session:
            template = await miniprogram.template_by_id(session, template_id)
            if template is None:
                raise NotFound("subscribe template", template_id)
            template.active = active
            session.add(template)
            return web.json_response({"template": template_json(template)})

    return set_active


async def page(request: web.Request) -> web.Response:
    async with reading(request) as session:
        rows = await miniprogram.templates(session, include_inactive=True)
    return render(
        request,
        "admin/miniprogram.html",
        active="miniprogram",
        app_id=request.config_dict[config_key].miniprogram.app_id,
        templates=[template_json(row) for row in rows],
        kinds=list(miniprogram.VALUE_RULES),
    )


def setup(admin: web.Application) -> None:
    admin.router.add_get("/miniprogram", page)
    admin.router.add_get("/api/miniprogram/templates", list_templates)
    admin.router.add_post("/api/miniprogram/templates", create)
    admin.router.add_post("/api/miniprogram/templates/{id}/deactivate", _switch(False))
    admin.router.add_post("/api/miniprogram/templates/{id}/activate", _switch(True))
