"""Money is integer fen; yuan exist only at the edges (parsing input, formatting replies)."""

import re
from decimal import Decimal
from typing import NewType

from botstore.errors import BadArgument
from botstore.i18n import N_

Fen = NewType("Fen", int)

# Ten million yuan: larger amounts are typos or attacks, not sandbox payments.
MAX_YUAN = Decimal(10_000_000)

# What people write for money: 12, 12.5, 0.05, .5, 1,000 or 1,000.50 (commas only between
# groups of three), with ¥/￥ before or 元 after. Decimal() alone would also take 1e3, 1_000,
# +5, NaN and Infinity, which move money nobody meant to move.
_AMOUNT = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d*)(?:\.(\d*))?", re.ASCII)
_EXPONENT = re.compile(r"[\d.]+e[+-]?\d+", re.ASCII | re.IGNORECASE)
_EXAMPLE = N_("not an amount in yuan, e.g. 12.5")
# A Chinese keyboard's full-width digits, point and comma (１２．５): the same amount. Only
# these: NFKC would also take superscripts and circled digits (¹, ①) for digits.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．，", "0123456789.,")


def parse_yuan(text: str, *, name: str = "amount") -> Fen:
    """'12.5' -> 1250. Refuses zero, signs, exponents, more than two decimals and absurd sizes."""
    cleaned = text.translate(_FULL_WIDTH).strip()
    cleaned = cleaned.removeprefix("¥").removeprefix("￥").removesuffix("元").strip()
    if not cleaned or len(cleaned) > 20:
        raise BadArgument(name, text, _EXAMPLE)
    if cleaned[0] in "+-":
        reason = (
            N_("must be more than zero") if cleaned[0] == "-" else N_("write it without a sign")
        )
        raise BadArgument(name, text, reason)
    match = _AMOUNT.fullmatch(cleaned)
    if match is None or not any(c in "0123456789" for c in cleaned):
        raise BadArgument(name, text, _refusal(cleaned))
    decimals = match.group(1)
    if decimals is not None and len(decimals) > 2:
        raise BadArgument(name, text, N_("at most two decimals (fen)"))
    value = Decimal(cleaned.replace(",", ""))
    if value <= 0:
        raise BadArgument(name, text, N_("must be more than zero"))
    if value > MAX_YUAN:
        raise BadArgument(name, text, N_("must be at most %(most)s yuan"), most=f"{MAX_YUAN:,}")
    return Fen(int(value * 100))


def _refusal(cleaned: str) -> str:
    """Why a string that Decimal might take is still not an amount."""
    if _EXPONENT.fullmatch(cleaned):
        return N_("write the amount in plain digits, e.g. 1000 (no exponents)")
    if "_" in cleaned:
        return N_("write the amount in plain digits, e.g. 1000 or 1,000")
    if "," in cleaned:
        return N_("commas go between groups of three digits, e.g. 1,000.50")
    return _EXAMPLE


def format_yuan(fen: int) -> str:
    """1250 -> '12.50'; -5 -> '-0.05'."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"
