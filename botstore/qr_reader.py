"""Reads the QR code in a PNG such as /wxa/getwxacodeunlimit draws: what the console's "scan" of a
code's image does. Pillow decodes the PNG, zxing-cpp finds and reads the code (any scale, quiet
zone, colours or rotation); its error correction restores a slightly damaged code, and a code
damaged beyond it is refused, never misread."""

import io

import zxingcpp
from PIL import Image

# A code's image is far smaller; checked before the pixels are inflated.
MAX_PIXELS = 4096 * 4096


class Unreadable(ValueError):
    """No QR code could be read from the image; the message says why."""


def _image(png: bytes) -> Image.Image:
    """The PNG's pixels as greyscale, transparent parts the white of the paper they'd be on."""
    try:
        # Only the header is read here: the size is checked before the pixels are.
        image = Image.open(io.BytesIO(png), formats=["PNG"])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Unreadable("an image too large for a code") from None
    except (OSError, SyntaxError, ValueError):
        raise Unreadable("not a PNG image") from None
    if image.width * image.height > MAX_PIXELS:
        raise Unreadable("an image too large for a code")
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError):
        raise Unreadable("a PNG whose pixels don't decode (cut short or corrupt)") from None
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        paper = Image.new("RGBA", image.size, "white")
        return Image.alpha_composite(paper, image.convert("RGBA")).convert("L")
    return image.convert("L")


def read(png: bytes) -> str:
    """The text of the QR code in the PNG image."""
    found = zxingcpp.read_barcodes(
        _image(png),
        formats=zxingcpp.BarcodeFormat.QRCode,
        text_mode=zxingcpp.TextMode.Plain,  # the text as encoded, as a phone's scan gives it
        return_errors=True,  # to tell a damaged code from no code at all
    )
    texts = list(dict.fromkeys(code.text for code in found if code.valid))
    if len(texts) > 1:
        raise Unreadable("several QR codes in the image: crop it to the one to scan")
    if texts:
        return texts[0]
    if found:
        raise Unreadable("the code is damaged beyond what its error correction restores")
    raise Unreadable("no QR code found in the image")
