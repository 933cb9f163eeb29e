"""Scanning a mini-program code's image in the console: the QR code in the PNG that
/wxa/getwxacodeunlimit answered is read (botstore/qr_reader.py: Pillow and zxing-cpp), and its link
names the page and the scene; anything else is refused saying why."""

import base64
import io
import json
import struct
import zlib
from typing import Any

import pytest
import segno
from aiohttp.test_utils import TestClient

from botstore import qr_reader
from botstore.config import Config
from tests.api.test_miniprogram import miniprogram_token

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def scan(client: TestClient, png: bytes) -> tuple[int, Any]:
    response = await client.post(
        "/console/api/miniprogram/scan", json={"png": base64.b64encode(png).decode()}
    )
    text = await response.text()
    return response.status, (json.loads(text) if response.status == 200 else text)


async def code(client: TestClient, config: Config, **body: Any) -> bytes:
    token = await miniprogram_token(client, config)
    response = await client.post(
        "/wxa/getwxacodeunlimit", params={"access_token": token}, data=json.dumps(body)
    )
    assert response.content_type == "image/png"
    return await response.read()


async def test_a_scanned_code_image_names_its_page_and_scene(
    client: TestClient, config: Config
) -> None:
    small = await code(client, config, scene="id=2", page="pages/product/product")
    large = await code(
        client, config, scene="store=3&from=poster", page="pages/store/store", width=1280
    )

    assert await scan(client, small) == (
        200,
        {
            "link": f"{config.server.base_url}/wxa/open?appid={config.miniprogram.app_id}"
            "&page=pages%2Fproduct%2Fproduct&scene=id%3D2",
            "page": "pages/product/product",
            "scene": "id=2",
        },
    )
    status, read = await scan(client, large)
    assert status == 200 and (read["page"], read["scene"]) == (
        "pages/store/store",
        "store=3&from=poster",
    )


def png_of(text: str, **options: Any) -> bytes:
    out = io.BytesIO()
    segno.make_qr(text, error="m").save(out, kind="png", **options)
    return out.getvalue()


def rgb_png(modules: list[list[bool]], scale: int) -> bytes:
    """An 8-bit RGB PNG (another program's copy of a code), each row with the Sub filter."""
    size = len(modules) * scale
    rows = b""
    for row in modules:
        line = bytearray()
        for dark in row:
            line += (b"\x10\x20\x30" if dark else b"\xf0\xf0\xf0") * scale
        filtered = bytearray(line[:3]) + bytearray(
            (line[i] - line[i - 3]) & 0xFF for i in range(3, len(line))
        )
        rows += (b"\x01" + bytes(filtered)) * scale

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_a_copy_of_a_code_in_colour_reads_the_same(
    client: TestClient, config: Config
) -> None:
    link = (
        f"http://127.0.0.1:8080/wxa/open?appid={config.miniprogram.app_id}"
        "&page=pages%2Farticle%2Farticle&scene=7"
    )
    matrix = [[bool(m) for m in row] for row in segno.make_qr(link, error="q").matrix]
    framed = (
        [[False] * (len(matrix) + 4)] * 2
        + [[False, False, *row, False, False] for row in matrix]
        + [[False] * (len(matrix) + 4)] * 2
    )

    status, read = await scan(client, rgb_png(framed, 3))

    assert status == 200 and (read["page"], read["scene"]) == ("pages/article/article", "7")


def link_of(config: Config, page: str = "pages%2Findex%2Findex", scene: str = "a") -> str:
    return (
        f"http://127.0.0.1:8080/wxa/open?appid={config.miniprogram.app_id}"
        f"&page={page}&scene={scene}"
    )


def modules_of(text: str) -> list[list[bool]]:
    """The code's modules with a quiet zone of 4 around them (error level M: 15% restorable)."""
    matrix = [[bool(m) for m in row] for row in segno.make_qr(text, error="m").matrix]
    blank = [False] * (len(matrix) + 8)
    return [blank] * 4 + [[False] * 4 + row + [False] * 4 for row in matrix] + [blank] * 4


async def test_a_slightly_damaged_code_reads_as_it_was_drawn(
    client: TestClient, config: Config
) -> None:
    grid = modules_of(link_of(config))
    for row, column in [(-5, -5), (-5, -6), (-6, -5), (20, 25)]:  # a smudge, a speck
        grid[row][column] = not grid[row][column]

    status, read = await scan(client, rgb_png(grid, 2))

    assert status == 200 and read["link"] == link_of(config)


async def test_what_is_not_a_code_of_this_mini_program_is_refused_saying_why(
    client: TestClient, config: Config
) -> None:
    elsewhere = png_of("https://example.com/", scale=4)
    other_app = png_of(
        "http://127.0.0.1:8080/wxa/open?appid=wx0000000000000000&page=pages%2Findex%2Findex&scene=a",
        scale=4,
    )
    genuine = png_of(link_of(config), scale=1, border=0)
    # The finder patterns intact, so the code is found, but a block of its middle inverted:
    # more codewords lost than error level M restores.
    destroyed = modules_of(link_of(config))
    middle = range(len(destroyed) // 2 - 9, len(destroyed) // 2 + 9)
    destroyed = [
        [dark != (r in middle and c in middle) for c, dark in enumerate(row)]
        for r, row in enumerate(destroyed)
    ]
    blank = [[False] * 40 for _ in range(40)]

    assert (await scan(client, genuine))[0] == 200
    for png, why in [
        (elsewhere, "not a code of this mini program: it reads 'https://example.com/'"),
        (other_app, "not a code of this mini program"),
        (rgb_png(destroyed, 2), "the code is damaged beyond what its error correction restores"),
        (rgb_png(blank, 2), "no QR code found in the image"),
        (b"GIF89a", "not a PNG image"),
        (png_of("x", scale=2)[:60], "a PNG whose pixels don't decode (cut short or corrupt)"),
    ]:
        status, text = await scan(client, png)
        assert status == 400 and why in text, (why, text)
    refused = await client.post("/console/api/miniprogram/scan", json={"png": "not base64!"})
    assert refused.status == 400


async def test_an_image_over_the_pixel_cap_is_refused_before_its_pixels_are_decoded(
    client: TestClient,
) -> None:
    # A header claiming 5000 x 5000 pixels over pixel data that isn't there: refused by its size.
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 5000, 5000, 8, 0, 0, 0, 0)
    huge = PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IEND", b"")

    assert qr_reader.MAX_PIXELS < 5000 * 5000
    assert await scan(client, huge) == (400, "an image too large for a code")
