"""Admin: ad campaigns (GET /admin/ads, JSON under /admin/api/ads): advertiser, kind, budget
funded from outside through the ledger, cpm/cpc, the articles that show it; pause and resume."""

from typing import Any

from aiohttp import web

from botstore.admin.common import (
    add_switch_routes,
    body,
    choice_field,
    given,
    ids_field,
    int_field,
    optional_text,
    path_id,
    reading,
    render,
    text_field,
    transaction,
    yuan_field,
)
from botstore.admin.common import now as clock_now
from botstore.keys import config_key
from botstore.models import Ad, AdKind
from botstore.money import Fen
from botstore.services import articles

FIELDS = {
    "advertiser",
    "kind",
    "product_id",
    "title",
    "description",
    "url",
    "pic_url",
    "budget",
    "cpm",
    "cpc",
    "article_ids",
}


def ad_json(ad: Ad, article_ids: list[int]) -> dict[str, Any]:
    return {
        "id": ad.id,
        "advertiser": ad.advertiser,
        "kind": ad.kind,
        "product_id": ad.product_id,
        "title": ad.title,
        "description": ad.description,
        "url": ad.url,
        "pic_url": ad.pic_url,
        "budget_fen": ad.budget_fen,
        "spent_fen": ad.spent_fen,
        "accrued_fen": articles.accrued_fen(ad),
        "cpm_fen": ad.cpm_fen,
        "cpc_fen": ad.cpc_fen,
        "impressions": ad.impressions,
        "clicks": ad.clicks,
        "active": ad.active,
        "article_ids": article_ids,
    }


async def _list(session: Any) -> list[dict[str, Any]]:
    return [ad_json(ad, slots) for ad, slots in await articles.campaigns(session)]


async def _one(session: Any, ad_id: int) -> dict[str, Any]:
    return next(row for row in await _list(session) if row["id"] == ad_id)


async def list_ads(request: web.Request) -> web.Response:
    async with reading(request) as session:
        return web.json_response({"ads": await _list(session)})


async def create(request: web.Request) -> web.Response:
    data = await body(request, FIELDS)
    advertiser = text_field(data, "advertiser", max_length=60)
    kind = choice_field(data, "kind", (AdKind.CAMPAIGN, AdKind.PRODUCT), default=AdKind.CAMPAIGN)
    product_id = None
    if kind == AdKind.PRODUCT or given(data, "product_id"):
        product_id = int_field(data, "product_id", minimum=1, maximum=2**31 - 1)
    title = text_field(data, "title", max_length=64)
    if kind == AdKind.PRODUCT and not given(data, "url"):
        # The account's own product: the ad links to its page.
        base = request.config_dict[config_key].server.base_url
        url = f"{base}/products/{product_id}"
    else:
        url = text_field(data, "url", max_length=500)
    budget = yuan_field(data, "budget")
    cpm = yuan_field(data, "cpm", allow_zero=True) if given(data, "cpm") else Fen(0)
    cpc = yuan_field(data, "cpc", allow_zero=True) if given(data, "cpc") else Fen(0)
    article_ids = ids_field(data, "article_ids")
    async with transaction(request) as session:
        ad = await articles.open_campaign(
            session,
            advertiser=advertiser,
            kind=kind,
            product_id=product_id,
            title=title,
            description=text_field(
                data, "description", max_length=200, default="", allow_empty=True
            ),
            url=url,
            pic_url=text_field(data, "pic_url", max_length=500, default="", allow_empty=True),
            budget=budget,
            cpm=cpm,
            cpc=cpc,
            article_ids=article_ids,
            now=clock_now(request),
        )
        return web.json_response({"ad": await _one(session, ad.id or 0)}, status=201)


async def edit(request: web.Request) -> web.Response:
    ad_id = path_id(request)
    data = await body(request, FIELDS - {"advertiser", "kind", "product_id", "budget"})
    async with transaction(request) as session:
        await articles.edit_campaign(
            session,
            ad_id,
            title=optional_text(data, "title", max_length=64),
            description=optional_text(data, "description", max_length=200),
            url=optional_text(data, "url", max_length=500),
            pic_url=optional_text(data, "pic_url", max_length=500),
            cpm=yuan_field(data, "cpm", allow_zero=True) if given(data, "cpm") else None,
            cpc=yuan_field(data, "cpc", allow_zero=True) if given(data, "cpc") else None,
            article_ids=ids_field(data, "article_ids") if "article_ids" in data else None,
        )
        return web.json_response({"ad": await _one(session, ad_id)})


async def add_budget(request: web.Request) -> web.Response:
    ad_id = path_id(request)
    data = await body(request, {"amount"})
    amount = yuan_field(data, "amount")
    async with transaction(request) as session:
        await articles.add_budget(session, ad_id, amount=amount, now=clock_now(request))
        return web.json_response({"ad": await _one(session, ad_id)})


async def page(request: web.Request) -> web.Response:
    async with reading(request) as session:
        rows = await _list(session)
    return render(request, "admin/ads.html", active="ads", ads=rows)


def setup(admin: web.Application) -> None:
    admin.router.add_get("/ads", page)
    admin.router.add_get("/api/ads", list_ads)
    admin.router.add_post("/api/ads", create)
    admin.router.add_patch("/api/ads/{id}", edit)
    admin.router.add_post("/api/ads/{id}/budget", add_budget)
    add_switch_routes(
        admin,
        "/api/ads",
        name="ad",
        switch=lambda session, ad_id, on: articles.set_active(session, ad_id, active=on),
        show=lambda _request, session, ad_id: _one(session, ad_id),
        verbs=("pause", "resume"),
    )
