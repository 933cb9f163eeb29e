"""botstore's own pictures over HTTP: the name cards (botstore/images.py) and the favicon, for
the pages, the admin and the console, with no internet."""

import hashlib
import io
from functools import cache

from aiohttp import web
from PIL import Image, ImageDraw

from botstore import images
from botstore.paths import PACKAGE

# The console's icon is the one icon: one drawing for the pages, the admin and the console.
FAVICON_SVG = PACKAGE / "static" / "console" / "favicon.svg"
# A card's address names all it shows: browsers and WeChat's image proxy may keep it for good.
FOREVER = "public, max-age=31536000, immutable"
DAY = "public, max-age=86400"
# An SVG opened on its own is a document: it may not run scripts or load anything.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def setup_images(app: web.Application) -> None:
    app.router.add_get(images.CARDS + "/{hue}/{text}.svg", card)
    app.router.add_get("/favicon.svg", favicon_svg)
    app.router.add_get("/favicon.ico", favicon_ico)


def _picture(request: web.Request, body: bytes, content_type: str, cache: str) -> web.Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    headers = {
        "Cache-Control": cache,
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": SVG_CSP,
    }
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, headers=headers)


async def card(request: web.Request) -> web.Response:
    raw_hue, text = request.match_info["hue"], request.match_info["text"]
    if not (raw_hue.isascii() and raw_hue.isdigit() and int(raw_hue) < images.HUES):
        raise web.HTTPNotFound(text="a card's hue is a number from 0 to 359")
    if not images.is_card_text(text):
        raise web.HTTPNotFound(text="a card shows 1 or 2 characters")
    svg = images.card_svg(text, int(raw_hue))
    return _picture(request, svg, "image/svg+xml", FOREVER)


async def favicon_svg(request: web.Request) -> web.Response:
    return _picture(request, _favicon_svg(), "image/svg+xml", DAY)


async def favicon_ico(request: web.Request) -> web.Response:
    return _picture(request, favicon_ico_bytes(), "image/x-icon", DAY)


@cache
def _favicon_svg() -> bytes:
    return FAVICON_SVG.read_bytes()


GREEN, WHITE = (0x07, 0xC1, 0x60, 255), (255, 255, 255, 255)


@cache
def favicon_ico_bytes() -> bytes:
    """The favicon as /favicon.ico (browsers ask for it on pages without a link, e.g. the JSON
    and plain-text answers): favicon.svg's drawing, a green tile with a white speech bubble,
    drawn and saved as a 32 x 32 ICO by Pillow (one PNG inside an ICO directory)."""
    tile = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    draw = ImageDraw.Draw(tile)
    draw.rounded_rectangle((0, 0, 31, 31), radius=7, fill=GREEN)
    draw.rounded_rectangle((6, 10, 25, 22), radius=2, fill=WHITE)
    draw.polygon([(10, 22), (15, 22), (10, 27)], fill=WHITE)
    ico = io.BytesIO()
    tile.save(ico, format="ICO", sizes=[(32, 32)])
    return ico.getvalue()
