"""GET /services: the partner services as mini-program cards, the page the `services` news
card links to."""

from decimal import Decimal

from aiohttp import web
from sqlalchemy.exc import DBAPIError

from botstore.keys import config_key, db_key
from botstore.pages.language import html_response, page_env
from botstore.services import partners


def setup_pages(app: web.Application) -> None:
    app.router.add_get("/services", _services_page)


def _percent(bps: int) -> str:
    return f"{Decimal(bps) / 100:f}".rstrip("0").rstrip(".") + "%"


async def _services_page(request: web.Request) -> web.Response:
    try:
        async with request.app[db_key]() as session:
            catalog = await partners.catalog(session)
    except DBAPIError:
        raise web.HTTPServiceUnavailable(text="database unavailable, try again") from None
    html = (
        page_env(request)
        .get_template("pages/partner_services.html")
        .render(services=catalog, percent=_percent, config=request.app[config_key])
    )
    return html_response(request, html)
