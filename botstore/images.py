"""botstore's own pictures: a colored card with a name's initials, drawn as SVG, so that stores,
products, articles and news cards show a picture with no internet. Knows no HTTP: the page
module botstore/pages/images.py serves what this draws.

A card's address says everything it shows (`/images/cards/<hue>/<initials>.svg`), so it is
drawn without the database and may be cached for good. Rows keep the address root-relative,
and whoever shows it makes it absolute with the server's public URL (`absolute`), as links are.
"""

import re
import unicodedata
import zlib
from functools import lru_cache
from urllib.parse import quote
from xml.sax.saxutils import escape

CARDS = "/images/cards"
MAX_INITIALS = 2
HUES = 360

# A run of letters or digits; each CJK character counts as a word of its own (小明茶馆: 小, 明).
_WORD = re.compile(r"[^\W_]+")


def _is_cjk(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F") and char.isalpha()


def _words(name: str) -> list[str]:
    words: list[str] = []
    for run in _WORD.findall(name):
        chunk = ""
        for char in run:
            if _is_cjk(char):
                words.extend([chunk, char] if chunk else [char])
                chunk = ""
            else:
                chunk += char
        if chunk:
            words.append(chunk)
    return words


def initials(name: str) -> str:
    """'Big Mug' -> 'BM', '小明茶馆' -> '小明', 'Kiwi 12 pieces' -> 'KP' (words that start with
    a letter first), '2046' -> '2'; a name with no letter or digit -> '#'."""
    words = _words(name)
    lettered = [word for word in words if word[0].isalpha()] or words
    return "".join(word[0] for word in lettered[:MAX_INITIALS]).upper() or "#"


def hue(name: str) -> int:
    """The card's color, the same for the same name in every process (not Python's hash)."""
    return zlib.crc32(name.encode()) % HUES


def card_path(name: str) -> str:
    """The root-relative address of `name`'s card, for a product's image_url or a cover."""
    return f"{CARDS}/{hue(name)}/{quote(initials(name), safe='')}.svg"


def is_card_text(text: str) -> bool:
    """What a card's address may carry: 1 or 2 printable characters, no spaces."""
    return 0 < len(text) <= MAX_INITIALS and text.isprintable() and not text.isspace()


def is_local(url: str) -> bool:
    """A root-relative address of this server's (not `//host/...`, which names another)."""
    return url.startswith("/") and not url.startswith("//")


def absolute(url: str, base: str) -> str:
    """`url` as a fan's client fetches it: botstore's own root-relative picture prefixed with the
    server's public URL; anything else (an https:// image, or none) as it is."""
    return base.rstrip("/") + url if is_local(url) else url


@lru_cache(maxsize=1024)
def card_svg(text: str, hue: int) -> bytes:
    """A 400 x 400 card: a diagonal gradient of `hue` with `text` in white, centered. CJK text
    uses whatever CJK font the viewer has (fonts-noto-cjk on Debian)."""
    size = 160 if len(text) < MAX_INITIALS else 140
    light, dark = f"hsl({hue},62%,52%)", f"hsl({(hue + 30) % HUES},58%,36%)"
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" viewBox="0 0 400 400">'
        '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="{light}"/><stop offset="1" stop-color="{dark}"/>'
        '</linearGradient></defs><rect width="400" height="400" fill="url(#g)"/>'
        '<text x="200" y="200" dy=".35em" text-anchor="middle" fill="#fff" '
        "font-family=\"-apple-system, 'Helvetica Neue', Arial, 'PingFang SC', "
        "'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif\" "
        f'font-size="{size}" font-weight="600">{escape(text)}</text></svg>'
    ).encode()
