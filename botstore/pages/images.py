"""botstore's own pictures over HTTP: the name cards (botstore/images.py) and the favicon, for
the pages, the admin and the console, with no internet."""

import hashlib
import struct
import zlib
from functools import cache

from aiohttp import web

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


def _in_rounded(x: float, y: float, left: int, top: int, right: int, bottom: int, r: int) -> bool:
    if not (left <= x <= right and top <= y <= bottom):
        return False
    cx = min(max(x, left + r), right - r)
    cy = min(max(y, top + r), bottom - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def _favicon_pixel(x: float, y: float) -> tuple[int, int, int, int]:
    """favicon.svg's drawing, pixel by pixel: a green tile with a white speech bubble."""
    if not _in_rounded(x, y, 0, 0, 32, 32, 7):
        return (0, 0, 0, 0)
    bubble = _in_rounded(x, y, 6, 10, 26, 23, 2)
    tail = x >= 10 and y >= 23 and (x - 10) / 5 + (y - 23) / 4 <= 1
    return WHITE if bubble or tail else GREEN


@cache
def favicon_ico_bytes() -> bytes:
    """The favicon as /favicon.ico: one 32 x 32 PNG inside an ICO directory (browsers ask for
    /favicon.ico on pages without a link, e.g. the JSON and plain-text answers)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes(_favicon_pixel(x + 0.5, y + 0.5)) for x in range(32))
        for y in range(32)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )
    directory = struct.pack("<HHH", 0, 1, 1) + struct.pack(
        "<BBBBHHII", 32, 32, 0, 0, 1, 32, len(png), 6 + 16
    )
    return directory + png
