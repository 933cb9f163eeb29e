"""Which language a public page speaks to this browser: ?lang= (the pages' switch, kept in a
cookie), else Accept-Language, else the account's default (wechat.language)."""

from aiohttp import web
from jinja2 import Environment

from botstore.i18n import LOCALES, locale_named, negotiate
from botstore.keys import config_key, page_envs_key

COOKIE = "botstore_lang"


def page_locale(request: web.Request) -> str:
    chosen = locale_named(request.query.get("lang", "")[:16])
    if chosen is not None:
        return chosen
    kept = request.cookies.get(COOKIE, "")
    if kept in LOCALES:
        return kept
    default = request.config_dict[config_key].wechat.language
    return negotiate(request.headers.get("Accept-Language", "")[:500], default=default)


def page_env(request: web.Request) -> Environment:
    """The page environment of this request's language (built once at start-up)."""
    return request.config_dict[page_envs_key][page_locale(request)]


def html_response(request: web.Request, html: str) -> web.Response:
    response = web.Response(text=html, content_type="text/html")
    chosen = locale_named(request.query.get("lang", "")[:16])
    if chosen is not None:  # the switch was used: later pages keep the choice
        response.set_cookie(
            COOKIE, chosen, path="/", max_age=365 * 86400, samesite="Lax", httponly=True
        )
    return response


def page_response(request: web.Request, template: str, **context: object) -> web.Response:
    """`pages/<template>` in the request's language, with `base` (the server's URL for links)."""
    html = (
        page_env(request)
        .get_template(f"pages/{template}")
        .render(base=request.config_dict[config_key].server.base_url, **context)
    )
    return html_response(request, html)
