"""The public HTML pages, in the browser's language: WeStore's stores and products, articles and
the partner services (the mini program's pages too)."""

from aiohttp import web

from botstore.numbers import ID_MAX, parse_whole


def route_id(request: web.Request, name: str, what: str) -> int:
    """The id in the route's `name` part, or 400 saying what it should be."""
    raw = request.match_info[name]
    ident = parse_whole(raw, minimum=1, maximum=ID_MAX)
    if ident is None:
        article = "an" if what[0] in "aeiou" else "a"
        raise web.HTTPBadRequest(text=f"{article} {what} id is a number, not {raw[:40]!r}")
    return ident
