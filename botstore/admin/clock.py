"""The emulated clock's JSON API: GET /admin/api/clock, POST /admin/api/clock/advance."""

from datetime import timedelta
from typing import Self

from aiohttp import web
from pydantic import Field, model_validator

from botstore import jsonbody
from botstore.keys import clock_key, scheduler_key

MAX_DAYS = 3660  # ten years: enough for any product's term, small enough to stay fast


class Advance(jsonbody.JsonBody):
    """How far to move the clock: days and/or hours, ten years at most in all."""

    days: int = Field(default=0, ge=0, le=MAX_DAYS)
    hours: int = Field(default=0, ge=0, le=MAX_DAYS * 24)

    @model_validator(mode="after")
    def _within_bounds(self) -> Self:
        if not self.model_fields_set:
            raise ValueError('give {"days": N} and/or {"hours": N}')
        if self.delta > timedelta(days=MAX_DAYS):
            raise ValueError(f"at most {MAX_DAYS} days at a time")
        return self

    @property
    def delta(self) -> timedelta:
        return timedelta(days=self.days, hours=self.hours)


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
    try:
        delta = jsonbody.read_model(await request.read(), Advance).delta
    except jsonbody.BodyError as error:
        raise web.HTTPBadRequest(text=str(error)) from None
    now, offset, ran = await request.config_dict[scheduler_key].advance(delta)
    return web.json_response(
        {
            "now": now.isoformat(),
            "offset_seconds": int(offset.total_seconds()),
            "advanced_seconds": int(delta.total_seconds()),
            "ran": [run.as_json() for run in ran],
        }
    )


def setup(admin: web.Application) -> None:
    admin.router.add_get("/api/clock", show)
    admin.router.add_post("/api/clock/advance", advance)
