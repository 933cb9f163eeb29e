"""What every admin page and JSON handler shares: the layout, JSON bodies, field checks, errors.

A section of the admin is a module `botstore/admin/<name>.py` with `setup(admin)`, adding its page
(GET /<name>, rendered with `render(request, "admin/<name>.html", active="<name>", ...)` on
templates/admin/_base.html) and its JSON API under /api/<name>. In JSON handlers:

    data = await read_json(request)                      # 400 unless a JSON object (jsonbody)
    order = await read_model(request, Order)             # or a jsonbody.JsonBody model
    name = text_field(data, "name", max_length=40)       # 400 {"error": "name: ...", "field": ...}
    async with transaction(request) as session: ...      # one unit of work
    return web.json_response(...)

Services' BadArgument becomes 400 naming the field, NotFound 404, other domain errors 400.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore import jsonbody
from botstore.errors import BadArgument, DomainError, NotFound
from botstore.i18n import EN, LOCALES, N_, translate
from botstore.jsonbody import Model
from botstore.keys import clock_key, db_key
from botstore.money import Fen, parse_yuan
from botstore.numbers import ID_MAX, parse_whole
from botstore.pages.language import html_response, page_locale
from botstore.services import switches
from botstore.templating import project_environment


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: when it signed in, and the token its changes must carry."""

    issued: int
    nonce: str
    csrf_token: str


STATIC = Path(__file__).resolve().parent.parent / "static" / "admin"
env_key = web.AppKey("admin_env", Environment)
# The chrome (navigation, sign-in) per locale; botstore/pages/language.py picks one per request.
envs_key = web.AppKey("admin_envs", dict[str, Environment])
session_key = web.RequestKey("admin_session", Session)
auth_kind_key = web.RequestKey("admin_auth", str)  # "bearer" or "cookie"
MAX_JSON_BYTES = 256 * 1024

# (key, label, path): the navigation of templates/admin/_base.html, in order.
NAV: tuple[tuple[str, str, str], ...] = (
    ("dashboard", N_("Dashboard"), "/admin/"),
    ("keywords", N_("Keyword rules"), "/admin/keywords"),
    ("replies", N_("Replies"), "/admin/replies"),
    ("menu", N_("Menu"), "/admin/menu"),
    ("stores", N_("Stores"), "/admin/stores"),
    ("merchants", N_("Merchants"), "/admin/merchants"),
    ("partners", N_("Partners"), "/admin/partners"),
    ("wealth", N_("Wealth"), "/admin/wealth"),
    ("articles", N_("Articles"), "/admin/articles"),
    ("ads", N_("Ads"), "/admin/ads"),
    ("coupons", N_("Coupons"), "/admin/coupons"),
    ("miniprogram", N_("Mini program"), "/admin/miniprogram"),
    ("wxpay", N_("WeChat Pay"), "/admin/wxpay"),
)


def environment() -> Environment:
    return project_environment()


def environments() -> dict[str, Environment]:
    return {locale: project_environment(locale=locale, text_only=True) for locale in LOCALES}


def render(request: web.Request, template: str, *, active: str, **context: Any) -> web.Response:
    """An admin page on the shared layout; `active` is the NAV key to highlight."""
    session = request.get(session_key)
    html = (
        request.app[envs_key][page_locale(request)]
        .get_template(template)
        .render(
            nav=NAV,
            active=active,
            signed_in=request.get(auth_kind_key) is not None,
            csrf_token=session.csrf_token if session is not None else "",
            **context,
        )
    )
    return html_response(request, html)


def error_response(message: str, *, status: int = 400, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return web.json_response(body, status=status)


class FieldError(Exception):
    """A request field is missing or wrong: 400 {"error": "<field>: <reason>", "field": ...}.

    `reason` is a catalogue id when marked with N_ (its %(name)s filled from `values`): the admin's
    pages show it in their language."""

    def __init__(self, field: str, reason: str, **values: object) -> None:
        super().__init__(f"{field}: {reason % values if values else reason}")
        self.field = field
        self.reason = reason
        self.values = values


def refusal_locale(request: web.Request) -> str:
    """The admin's pages (a signed-in browser) read refusals in their language; API clients (a
    bearer token: scripts, CI) in English, whatever the machine's locale."""
    return page_locale(request) if request.get(auth_kind_key) == "cookie" else EN


@web.middleware
async def errors_as_json(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refusals become JSON with the reason; nothing the handler wrote was committed."""
    locale = refusal_locale(request)
    try:
        return await handler(request)
    except FieldError as error:
        reason = translate(locale, error.reason, **error.values)
        return error_response(f"{error.field}: {reason}", field=error.field)
    except jsonbody.BodyError as error:
        return error_response(str(error), field=error.field)
    except BadArgument as error:
        name, reason = error.details["name"], error.details["reason"] or N_("not allowed")
        reason = translate(locale, reason, **(error.details.get("values") or {}))
        return error_response(f"{name}: {reason}", field=name)
    except NotFound as error:
        what = translate(locale, error.details["what"])  # a term: "store", "product"
        message = translate(
            locale, N_("no %(what)s #%(ident)s"), what=what, ident=error.details["ident"]
        )
        return error_response(message, status=404)
    except DomainError as error:
        return error_response(f"refused: {error.template.replace('_', ' ')} ({error})")


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, or a 400 saying what is wrong with it."""
    return jsonbody.read_object(await _raw(request))


async def read_model(request: web.Request, model: type[Model]) -> Model:
    """The body as a pydantic model (botstore.jsonbody.JsonBody), or a 400 naming the field."""
    return jsonbody.read_model(await _raw(request), model)


async def _raw(request: web.Request) -> bytes:
    body = await request.read()
    if len(body) > MAX_JSON_BYTES:
        raise FieldError("body", N_("at most %(most)s bytes"), most=MAX_JSON_BYTES)
    return body


_MISSING = object()


def text_field(
    data: dict[str, Any],
    name: str,
    *,
    max_length: int,
    default: str | None = None,
    allow_empty: bool = False,
) -> str:
    """A string field; `default` makes it optional."""
    value = data.get(name, _MISSING)
    if value is _MISSING:
        if default is None:
            raise FieldError(name, N_("missing"))
        return default
    if not isinstance(value, str):
        raise FieldError(name, N_("must be a string"))
    if not value.strip() and not allow_empty:
        raise FieldError(name, N_("must not be empty"))
    if len(value) > max_length:
        raise FieldError(name, N_("at most %(most)s characters"), most=max_length)
    return value


def int_field(
    data: dict[str, Any], name: str, *, minimum: int, maximum: int, default: int | None = None
) -> int:
    value = data.get(name, _MISSING)
    if value is _MISSING:
        if default is None:
            raise FieldError(name, N_("missing"))
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(name, N_("must be a whole number"))
    if not minimum <= value <= maximum:
        raise FieldError(name, N_("must be %(low)s-%(high)s"), low=minimum, high=maximum)
    return value


def bool_field(data: dict[str, Any], name: str, *, default: bool | None = None) -> bool:
    value = data.get(name, _MISSING)
    if value is _MISSING:
        if default is None:
            raise FieldError(name, N_("missing"))
        return default
    if not isinstance(value, bool):
        raise FieldError(name, N_("must be true or false"))
    return value


def choice_field(
    data: dict[str, Any], name: str, choices: tuple[str, ...], *, default: str | None = None
) -> str:
    value = data.get(name, _MISSING)
    if value is _MISSING and default is not None:
        return default
    if value not in choices:
        raise FieldError(name, N_("must be one of %(choices)s"), choices=", ".join(choices))
    return str(value)


def no_other_fields(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise FieldError(unknown[0], N_("unknown field"))


def path_id(request: web.Request, name: str = "id") -> int:
    raw = request.match_info[name]
    ident = parse_whole(raw, minimum=1, maximum=ID_MAX)
    if ident is None:
        raise FieldError(name, N_("an id is a number, not %(raw)s"), raw=repr(raw[:40]))
    return ident


@asynccontextmanager
async def transaction(request: web.Request) -> AsyncIterator[AsyncSession]:
    """One unit of work: committed when the block ends, rolled back if it raises."""
    async with request.config_dict[db_key]() as session, session.begin():
        yield session


@asynccontextmanager
async def reading(request: web.Request) -> AsyncIterator[AsyncSession]:
    async with request.config_dict[db_key]() as session:
        yield session


def now(request: web.Request) -> datetime:
    """The emulated clock."""
    return request.config_dict[clock_key].now()


# --- field readers of the entity sections: yuan, rates, ids ---


async def body(request: web.Request, allowed: set[str]) -> dict[str, Any]:
    """The JSON object, refusing fields this endpoint doesn't know (a typo changes nothing)."""
    data = await read_json(request)
    no_other_fields(data, allowed)
    return data


def given(data: dict[str, Any], name: str) -> bool:
    """True when the field is present and not null (a form's empty number sends null)."""
    return data.get(name) is not None


def yuan_field(data: dict[str, Any], name: str, *, allow_zero: bool = False) -> Fen:
    """An amount in yuan ("12.5" or 12.5) as fen; botstore.money refuses the rest."""
    value = data.get(name)
    if value is None:
        raise FieldError(name, N_("missing"))
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldError(name, N_('an amount in yuan, e.g. "12.5"'))
    text = str(value).strip()
    if allow_zero and _decimal(text) == 0:
        return Fen(0)
    return parse_yuan(text, name=name)


def _decimal(text: str) -> Decimal | None:
    """A finite decimal or None: NaN, sNaN and infinities raise in comparisons and arithmetic."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def rate_field(
    data: dict[str, Any], name: str, *, maximum_bps: int, default: int | None = None
) -> int:
    """Basis points from `<name>_bps` (365) or `<name>_percent` (3.65); one of the two."""
    bps_name, percent_name = f"{name}_bps", f"{name}_percent"
    if given(data, bps_name) and given(data, percent_name):
        raise FieldError(
            percent_name,
            N_("give %(bps)s or %(percent)s, not both"),
            bps=bps_name,
            percent=percent_name,
        )
    if given(data, percent_name):
        value = data[percent_name]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise FieldError(percent_name, N_("a percentage, e.g. 3.65"))
        percent = _decimal(str(value).strip())
        # Bounded before any arithmetic: "1e400" % 1 raises (the result needs 400 digits).
        if percent is not None and not 0 <= percent <= Decimal(maximum_bps) / 100:
            raise FieldError(
                percent_name, N_("must be 0-%(most)s%%"), most=f"{maximum_bps / 100:g}"
            )
        if percent is None or (percent * 100) % 1 != 0:
            raise FieldError(percent_name, N_("a percentage with at most two decimals, e.g. 3.65"))
        return int(percent * 100)
    if not given(data, bps_name) and default is not None:
        return default
    if not given(data, bps_name):
        raise FieldError(bps_name, N_("missing (or give %(other)s)"), other=percent_name)
    return int_field(data, bps_name, minimum=0, maximum=maximum_bps)


def ids_field(data: dict[str, Any], name: str) -> list[int]:
    value = data.get(name, [])
    if isinstance(value, str):  # a form's "1, 2"
        value = [parse_whole(part, maximum=ID_MAX) for part in value.replace(",", " ").split()]
        if None in value:
            raise FieldError(name, N_("ids separated by commas, e.g. 1, 2"))
    if not isinstance(value, list) or len(value) > 100:
        raise FieldError(name, N_("a list of up to 100 ids"))
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item < 2**31:
            raise FieldError(name, N_("ids are whole numbers above zero"))
    return value


def optional_text(data: dict[str, Any], name: str, *, max_length: int) -> str | None:
    """A text field to change, or None when not given."""
    if data.get(name) is None:
        return None
    return text_field(data, name, max_length=max_length, allow_empty=True)


# Switches an entity on or off: (session, id, on) -> anything.
Switch = Callable[[AsyncSession, int, bool], Awaitable[object]]
# An entity as the JSON API shows it: (request, session, id) -> its JSON. The request is for
# what the JSON links to (a merchant's QR code is shown on the server's public URL).
Show = Callable[[web.Request, AsyncSession, int], Awaitable[dict[str, Any]]]


def active_flag(model: Any, what: str) -> Switch:
    """The Switch of a table's `active` column (services/switches.py); 404 names it `what`."""
    return lambda session, ident, on: switches.set_active(
        session, model, ident, what=what, active=on
    )


def add_switch_routes(
    admin: web.Application,
    path: str,
    *,
    name: str,
    switch: Switch,
    show: Show,
    verbs: tuple[str, str] = ("deactivate", "activate"),
) -> None:
    """POST `path`/{id}/<off verb> and /<on verb>: answer {name: the entity's JSON}."""

    def handler(on: bool) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def set_switch(request: web.Request) -> web.Response:
            entity_id = path_id(request)
            async with transaction(request) as session:
                await switch(session, entity_id, on)
                return web.json_response({name: await show(request, session, entity_id)})

        return set_switch

    off, on = verbs
    admin.router.add_post(f"{path}/{{id}}/{off}", handler(False))
    admin.router.add_post(f"{path}/{{id}}/{on}", handler(True))
