"""Money is integer fen; yuan exist only at the edges (parsing input, formatting replies)."""

from decimal import Decimal, InvalidOperation
from typing import NewType

from botstore.errors import BadArgument

Fen = NewType("Fen", int)

# Ten million yuan: larger amounts are typos or attacks, not sandbox payments.
MAX_YUAN = Decimal(10_000_000)


def parse_yuan(text: str, *, name: str = "amount") -> Fen:
    """'12.5' -> 1250. Refuses zero, negatives, more than two decimals and absurd sizes."""
    cleaned = text.strip().removeprefix("¥").removeprefix("￥")
    if not cleaned or len(cleaned) > 20 or not all(c.isascii() for c in cleaned):
        raise BadArgument(name, text, "not an amount in yuan, e.g. 12.5")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise BadArgument(name, text, "not an amount in yuan, e.g. 12.5") from None
    if not value.is_finite():
        raise BadArgument(name, text, "not an amount in yuan, e.g. 12.5")
    if value <= 0:
        raise BadArgument(name, text, "must be more than zero")
    if value > MAX_YUAN:
        raise BadArgument(name, text, f"must be at most {MAX_YUAN:,} yuan")
    if (value * 100) % 1 != 0:
        raise BadArgument(name, text, "at most two decimals (fen)")
    return Fen(int(value * 100))


def format_yuan(fen: int) -> str:
    """1250 -> '12.50'; -5 -> '-0.05'."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"
