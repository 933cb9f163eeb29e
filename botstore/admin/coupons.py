"""Admin: coupon campaigns (GET /admin/coupons, JSON under /admin/api/coupons): create, issue now
to a level, deactivate, and fund the platform's discount budget from outside."""

import secrets
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from botstore.admin.common import (
    FieldError,
    add_switch_routes,
    body,
    choice_field,
    given,
    int_field,
    path_id,
    reading,
    render,
    text_field,
    transaction,
    yuan_field,
)
from botstore.admin.common import now as clock_now
from botstore.errors import BadArgument, NotFound
from botstore.keys import config_key
from botstore.models import AccountKind, CampaignOccasion, CouponCampaign
from botstore.scheduler import template_renderer
from botstore.services import coupons, ledger, membership

FIELDS = {
    "name",
    "occasion",
    "level",
    "amount_off",
    "percent_off",
    "min_spend",
    "cap",
    "valid_days",
    "valid_from",
    "valid_to",
}
FIRST_YEAR, LAST_YEAR = 1970, 9000
OCCASIONS = (CampaignOccasion.MANUAL, CampaignOccasion.MONTHLY, CampaignOccasion.LEVELUP)
# The coupon service names its arguments for chat replies; the API names them as its fields.
SERVICE_FIELDS = {
    "campaign name": "name",
    "terms": "amount_off",
    "amount off": "amount_off",
    "percent off": "percent_off",
    "minimum spend": "min_spend",
    "validity": "valid_from",  # the only validity error left after the checks below
    "valid days": "valid_days",
}


def _rules(request: web.Request) -> membership.Rules:
    settings = request.config_dict[config_key].membership
    return membership.Rules(settings.points_per_yuan, settings.level_thresholds)


def _level(request: web.Request, data: dict[str, Any]) -> str | None:
    if not given(data, "level") or data["level"] == "":
        return None
    names = [name for name, _ in _rules(request).levels]
    if data["level"] not in names:
        raise FieldError("level", f"one of {', '.join(names)}")
    return str(data["level"])


def _when(data: dict[str, Any], name: str) -> datetime | None:
    if not given(data, name) or data[name] == "":
        return None
    value = data[name]
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise FieldError(name, "a date and time, e.g. 2026-02-01T00:00:00+08:00")
    # A time without a zone is UTC, as every business time here is.
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    # Within years the database holds and a coupon's days can still be added to (year 1 at
    # +14:00 or 9999 at -23:59 can't even be put in UTC).
    try:
        in_range = FIRST_YEAR <= moment.astimezone(UTC).year <= LAST_YEAR
    except OverflowError:
        in_range = False
    if not in_range:
        raise FieldError(name, f"a date and time in the years {FIRST_YEAR} to {LAST_YEAR}")
    return moment


def campaign_json(line: coupons.CampaignLine) -> dict[str, Any]:
    c = line.campaign
    return {
        "id": c.id,
        "name": c.name,
        "occasion": c.occasion,
        "level": c.level,
        "kind": c.kind,
        "amount_off_fen": c.amount_off_fen,
        "percent_off": c.percent_off,
        "min_spend_fen": c.min_spend_fen,
        "cap_fen": c.cap_fen,
        "valid_days": c.valid_days,
        "valid_from": c.valid_from.isoformat() if c.valid_from else None,
        "valid_to": c.valid_to.isoformat() if c.valid_to else None,
        "active": c.active,
        "issued": line.issued,
        "used": line.used,
    }


async def _list(session: Any) -> list[dict[str, Any]]:
    return [campaign_json(line) for line in await coupons.campaigns(session)]


async def _one(session: Any, campaign_id: int) -> dict[str, Any]:
    return next(row for row in await _list(session) if row["id"] == campaign_id)


async def _platform_balance(session: Any) -> int:
    platform = await ledger.system_account(session, AccountKind.PLATFORM)
    return await ledger.balance_of(session, platform.id or 0)


async def list_campaigns(request: web.Request) -> web.Response:
    async with reading(request) as session:
        return web.json_response(
            {
                "campaigns": await _list(session),
                "platform_balance_fen": await _platform_balance(session),
            }
        )


async def create(request: web.Request) -> web.Response:
    data = await body(request, FIELDS)
    name = text_field(data, "name", max_length=coupons.MAX_NAME)
    occasion = choice_field(data, "occasion", OCCASIONS, default=CampaignOccasion.MANUAL)
    level = _level(request, data)
    if given(data, "amount_off") and given(data, "percent_off"):
        raise FieldError("percent_off", "give amount_off or percent_off, not both")
    amount_off = yuan_field(data, "amount_off") if given(data, "amount_off") else None
    percent_off = (
        int_field(data, "percent_off", minimum=1, maximum=99)
        if given(data, "percent_off")
        else None
    )
    if amount_off is None and percent_off is None:
        raise FieldError("amount_off", "missing (or give percent_off)")
    min_spend = yuan_field(data, "min_spend", allow_zero=True) if given(data, "min_spend") else 0
    cap = yuan_field(data, "cap") if given(data, "cap") else None
    if cap is not None and percent_off is None:
        raise FieldError("cap", "only a percent-off coupon has a cap")
    valid_days = (
        int_field(data, "valid_days", minimum=1, maximum=coupons.MAX_VALID_DAYS)
        if given(data, "valid_days")
        else None
    )
    valid_from, valid_to = _when(data, "valid_from"), _when(data, "valid_to")
    if valid_days is not None and valid_to is not None:
        raise FieldError("valid_to", "give valid_days or valid_to, not both")
    if valid_days is None and valid_to is None:
        raise FieldError("valid_days", "missing (or give valid_to)")
    if valid_to is not None and valid_to <= clock_now(request):
        raise FieldError("valid_to", "already past")
    async with transaction(request) as session:
        try:
            campaign = await coupons.create_campaign(
                session,
                name=name,
                occasion=occasion,
                level=level,
                amount_off_fen=amount_off,
                percent_off=percent_off,
                min_spend_fen=min_spend,
                cap_fen=cap,
                valid_days=valid_days,
                valid_from=valid_from,
                valid_to=valid_to,
                now=clock_now(request),
            )
        except BadArgument as error:
            field = SERVICE_FIELDS.get(error.details["name"], error.details["name"])
            values = error.details.get("values") or {}
            raise FieldError(field, error.details["reason"], **values) from None
        return web.json_response({"campaign": await _one(session, campaign.id or 0)}, status=201)


async def issue(request: web.Request) -> web.Response:
    """Issue now: the campaign's coupon to every fan at the level given (default: the
    campaign's; no level: every fan still following), once per fan and period."""
    campaign_id = path_id(request)
    data = await body(request, {"level"}) if await request.read() else {}
    level = _level(request, data)
    async with transaction(request) as session:
        campaign = await session.get(CouponCampaign, campaign_id)
        if campaign is None:
            raise NotFound("coupon campaign", campaign_id)
        if not campaign.active:
            raise FieldError("active", "the campaign is deactivated: activate it first")
        issued = await coupons.issue_campaign(
            session,
            campaign_id,
            level=level,
            now=clock_now(request),
            rules=_rules(request),
            render=template_renderer(request.config_dict[config_key]),
            timezone=request.config_dict[config_key].wallet.timezone,
        )
        return web.json_response({"issued": issued, "campaign": await _one(session, campaign_id)})


async def fund(request: web.Request) -> web.Response:
    """Put money for coupon discounts into the platform account, from outside."""
    data = await body(request, {"amount"})
    amount = yuan_field(data, "amount")
    async with transaction(request) as session:
        await coupons.fund_budget(
            session,
            amount=amount,
            key=f"admin:coupon_budget:{secrets.token_hex(8)}",
            now=clock_now(request),
        )
        return web.json_response({"platform_balance_fen": await _platform_balance(session)})


async def page(request: web.Request) -> web.Response:
    async with reading(request) as session:
        rows = await _list(session)
        balance = await _platform_balance(session)
    levels = [name for name, _ in _rules(request).levels]
    return render(
        request,
        "admin/coupons.html",
        active="coupons",
        campaigns=rows,
        levels=levels,
        platform_balance_fen=balance,
    )


def setup(admin: web.Application) -> None:
    admin.router.add_get("/coupons", page)
    admin.router.add_get("/api/coupons", list_campaigns)
    admin.router.add_post("/api/coupons", create)
    admin.router.add_post("/api/coupons/budget", fund)
    admin.router.add_post("/api/coupons/{id}/issue", issue)
    add_switch_routes(
        admin,
        "/api/coupons",
        name="campaign",
        switch=lambda session, campaign_id, on: coupons.set_active(
            session, campaign_id, active=on
        ),
        show=lambda _request, session, campaign_id: _one(session, campaign_id),
    )
