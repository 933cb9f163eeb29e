"""The emulated article pages (/articles, /articles/<id>) and the ad click redirect."""

from aiohttp import web

from botstore import ad_links
from botstore.errors import NotFound
from botstore.keys import clock_key, config_key, db_key
from botstore.pages import route_id
from botstore.pages.language import page_response
from botstore.services import articles


def setup_article_pages(app: web.Application) -> None:
    """Serve the article index, one article and the ad click-tracking redirect."""
    pages = ArticlePages()
    app.router.add_get("/articles", pages.index)
    app.router.add_get("/articles/{article_id}", pages.article)
    app.router.add_get("/ads/{ad_id}/click", pages.click)


def _not_found(error: NotFound) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=f"no {error.details['what']} #{error.details['ident']}")


class ArticlePages:
    def _html(self, request: web.Request, template: str, **context: object) -> web.Response:
        return page_response(request, template, **context)

    async def index(self, request: web.Request) -> web.Response:
        async with request.app[db_key]() as session:
            latest = await articles.latest(session)
        return self._html(request, "articles.html", articles=latest)

    async def article(self, request: web.Request) -> web.Response:
        article_id = route_id(request, "article_id", "article")
        async with request.app[db_key]() as session:
            try:
                view = await articles.article_view(session, article_id)
            except NotFound as error:
                raise _not_found(error) from None
        # Viewing the page counts nothing: reads and impressions are counted by `read` in chat,
        # whose link carries the signed fields the ad's click link hands on.
        openid = request.query.get("openid", "")[:64]
        click_query = {"openid": openid} if openid else {}
        click_query |= ad_links.passed_on(request.query)
        return self._html(request, "article.html", view=view, click_query=click_query)

    async def click(self, request: web.Request) -> web.Response:
        """302 to the ad's URL; the click counts only through a signed link (ad_links)."""
        ad_id = route_id(request, "ad_id", "ad")
        config = request.app[config_key]
        now = request.app[clock_key].now()
        proof = ad_links.verify(
            ad_links.key_of(config.wechat.app_secret), ad_id=ad_id, query=request.query, now=now
        )
        async with request.app[db_key]() as session, session.begin():
            try:
                hit = await articles.click(
                    session,
                    ad_id=ad_id,
                    proof=proof,
                    per_fan_per_day=config.articles.ad_clicks_per_fan_per_day,
                    timezone=config.wallet.timezone,
                    now=now,
                )
            except NotFound as error:
                raise _not_found(error) from None
        raise web.HTTPFound(hit.ad.url)
