"""Admin: articles (GET /admin/articles, JSON under /admin/api/articles): reads, tips, the ad
slot, the product cards and the sales credited to each article (orders bought from its cards)."""

from typing import Any

from aiohttp import web

from botstore.admin.common import path_id, reading, render
from botstore.errors import NotFound
from botstore.services import articles


def article_json(summary: articles.ArticleSummary) -> dict[str, Any]:
    article = summary.article
    return {
        "id": article.id,
        "title": article.title,
        "author": summary.author_name,
        "author_fan_id": article.author_fan_id,
        "reads": article.reads,
        "tips": article.tips_count,
        "tips_fen": article.tips_total_fen,
        "ad_id": article.ad_id,
        "product_ids": list(summary.product_ids),
        "sales": summary.sales.orders,
        "sales_fen": summary.sales.total_fen,
    }


async def _list(request: web.Request) -> list[dict[str, Any]]:
    async with reading(request) as session:
        return [article_json(summary) for summary in await articles.summaries(session)]


async def list_articles(request: web.Request) -> web.Response:
    return web.json_response({"articles": await _list(request)})


async def show(request: web.Request) -> web.Response:
    article_id = path_id(request)
    found = [row for row in await _list(request) if row["id"] == article_id]
    if not found:
        raise NotFound("article", article_id)
    return web.json_response({"article": found[0]})


async def page(request: web.Request) -> web.Response:
    return render(request, "admin/articles.html", active="articles", articles=await _list(request))


def setup(admin: web.Application) -> None:
    admin.router.add_get("/articles", page)
    admin.router.add_get("/api/articles", list_articles)
    admin.router.add_get("/api/articles/{id}", show)
