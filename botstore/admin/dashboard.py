"""The admin dashboard (GET /admin/, GET /admin/api/dashboard): the account's figures at a glance,
with two server-drawn SVG charts (no JavaScript, no external library)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from botstore.admin.common import now, reading, render
from botstore.i18n import N_
from botstore.money import format_yuan
from botstore.services import stats

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 200, 44, 22, 10


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # under the bar (some bars only)
    title: str  # the tooltip


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # (y, label) of the value axis
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM


def _nice_max(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least `value`."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def bar_chart(
    title: str,
    buckets: Sequence[stats.Bucket],
    value: Callable[[stats.Bucket], int],
    *,
    label: Callable[[stats.Bucket], str],
    show: Callable[[int], str] = str,
    label_every: int = 1,
) -> Chart:
    """Bars scaled to a round maximum, with three value ticks."""
    values = [value(bucket) for bucket in buckets]
    top = _nice_max(max(values, default=0))
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(buckets), 1)
    bars = []
    for index, (bucket, amount) in enumerate(zip(buckets, values, strict=True)):
        height = plot_height * amount / top
        bars.append(
            Bar(
                x=round(LEFT + index * slot + slot * 0.15, 1),
                y=round(HEIGHT - BOTTOM - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                label=label(bucket) if index % label_every == 0 else "",
                title=f"{label(bucket)}: {show(amount)}",
            )
        )
    # 0, the top and, when it is a whole number, the middle.
    marks = [0, top // 2, top] if top % 2 == 0 else [0, top]
    ticks = [(round(HEIGHT - BOTTOM - plot_height * mark / top, 1), show(mark)) for mark in marks]
    return Chart(title=title, bars=bars, ticks=ticks)


async def _figures(request: web.Request) -> stats.Figures:
    async with reading(request) as session:
        return await stats.figures(session, now=now(request))


async def page(request: web.Request) -> web.Response:
    figures = await _figures(request)
    charts = [
        bar_chart(
            N_("Messages per hour (last 24 hours, UTC)"),
            figures.messages_per_hour,
            lambda bucket: bucket.count,
            label=lambda bucket: bucket.start.strftime("%H:00"),
            label_every=3,
        ),
        bar_chart(
            N_("GMV per day (last 14 days, ¥)"),
            figures.orders_per_day,
            lambda bucket: bucket.amount_fen,
            label=lambda bucket: bucket.start.strftime("%m-%d"),
            show=format_yuan,
            label_every=2,
        ),
    ]
    return render(
        request, "admin/dashboard.html", active="dashboard", figures=figures, charts=charts
    )


async def api(request: web.Request) -> web.Response:
    return web.json_response((await _figures(request)).as_json())


def setup(admin: web.Application) -> None:
    admin.router.add_get("/", page)
    admin.router.add_get("/api/dashboard", api)
