"""The emulated clock's JSON API: GET /admin/api/clock, POST /admin/api/clock/advance."""

import json
from datetime import timedelta
from typing import Any

from aiohttp import web

from botstore.keys import clock_key, scheduler_key

MAX_DAYS = 3660  # ten years: enough for any product's term, small enough to stay fast


async def show(request: web.Request) -> web.Response:
    scheduler = request.config_dict[scheduler_key]
    offset = await scheduler.sync_clock()
    return web.json_response(
        {
            "now": request.config_dict[clock_key].now().isoformat(),
            "offset_seconds": int(offset.total_seconds()),
            "scheduler": scheduler.status(),
        }
    )


async def advance(request: web.Request) -> web.Response:
    delta = _delta(await request.read())
    now, offset, ran = await request.config_dict[scheduler_key].advance(delta)
    return web.json_response(
        {
            "now": now.isoformat(),
            "offset_seconds": int(offset.total_seconds()),
            "advanced_seconds": int(delta.total_seconds()),
            "ran": [run.as_json() for run in ran],
        }
    )


def _delta(body: bytes) -> timedelta:
    try:
        data: Any = json.loads(body)
    except ValueError:
        raise web.HTTPBadRequest(text='body must be JSON, e.g. {"days": 30}') from None
    if not isinstance(data, dict) or not data or set(data) - {"days", "hours"}:
        raise web.HTTPBadRequest(text='give {"days": N} and/or {"hours": N}')
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise web.HTTPBadRequest(text=f"{name} must be a whole number, 0 or more")
    delta = timedelta(days=data.get("days", 0), hours=data.get("hours", 0))
    if delta > timedelta(days=MAX_DAYS):
        raise web.HTTPBadRequest(text=f"at most {MAX_DAYS} days at a time")
    return delta


def setup(admin: web.Application) -> None:
    admin.router.add_get("/api/clock", show)
    admin.router.add_post("/api/clock/advance", advance)
