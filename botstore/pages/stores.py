"""The emulated mini-program pages of WeStore: the stores, one store, one product (HTML)."""

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.errors import BadArgument, Deactivated, Delisted, NotFound
from botstore.keys import db_key
from botstore.numbers import ID_MAX, parse_whole
from botstore.pages import route_id
from botstore.pages.language import page_response
from botstore.services import articles, stores


def setup_pages(app: web.Application) -> None:
    """Serve /stores, /stores/<id> and /products/<id>, the pages news cards link to, in the
    browser's language (botstore/pages/language.py)."""
    pages = Pages()
    app.router.add_get("/stores", pages.stores)
    app.router.add_get("/stores/{store_id}", pages.store)
    app.router.add_get("/products/{product_id}", pages.product)


async def _card_of(session: AsyncSession, article: str, product_id: int) -> int | None:
    """The article a product card link came from (`?article=2`), if it shows that card: the
    page then tells the fan how to buy crediting the article."""
    article_id = parse_whole(article, minimum=1, maximum=ID_MAX)
    if article_id is None:
        return None
    try:
        await articles.check_card(session, article_id=article_id, product_id=product_id)
    except (NotFound, BadArgument):
        return None
    return article_id


class Pages:
    async def _render(
        self,
        request: web.Request,
        template: str,
        load: Callable[[AsyncSession], Awaitable[dict[str, Any]]],
    ) -> web.Response:
        async with request.app[db_key]() as session:
            try:
                context = await load(session)
            except NotFound as error:
                what, ident = error.details["what"], error.details["ident"]
                raise web.HTTPNotFound(text=f"no {what} #{ident}") from None
            except Deactivated as error:
                what, ident = error.details["what"], error.details["ident"]
                raise web.HTTPNotFound(text=f"{what} #{ident} is deactivated") from None
            except Delisted as error:
                ident = error.details["product_id"]
                raise web.HTTPNotFound(text=f"product #{ident} is not on sale") from None
        return page_response(request, template, **context)

    async def stores(self, request: web.Request) -> web.Response:
        async def load(session: AsyncSession) -> dict[str, Any]:
            return {"summaries": await stores.all_stores(session)}

        return await self._render(request, "stores.html", load)

    async def store(self, request: web.Request) -> web.Response:
        store_id = route_id(request, "store_id", "store")

        async def load(session: AsyncSession) -> dict[str, Any]:
            return {"view": await stores.store_view(session, store_id)}

        return await self._render(request, "store.html", load)

    async def product(self, request: web.Request) -> web.Response:
        product_id = route_id(request, "product_id", "product")

        article = request.query.get("article", "")

        async def load(session: AsyncSession) -> dict[str, Any]:
            item = await stores.listing_on_sale(session, product_id)
            return {"item": item, "article_id": await _card_of(session, article, product_id)}

        return await self._render(request, "product.html", load)
