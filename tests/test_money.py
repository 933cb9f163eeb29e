"""parse_yuan takes what people write for money and nothing else; format_yuan is its inverse."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botstore.errors import BadArgument
from botstore.money import MAX_YUAN, format_yuan, parse_yuan


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12", 1200),
        ("12.5", 1250),
        ("0.05", 5),
        (".5", 50),
        ("1,000", 100_000),
        ("1,000,000.50", 100_000_050),
        ("¥100", 10_000),
        ("￥ 3", 300),
        ("100元", 10_000),
        ("１２．５", 1250),  # full-width, as a Chinese keyboard types it
        ("１，０００", 100_000),
        ("10000000", 1_000_000_000),
    ],
)
def test_parse_yuan_takes_what_people_write(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1e3", "no exponents"),
        ("1E-2", "no exponents"),
        ("1.5e2", "no exponents"),
        ("1_000", "plain digits"),
        ("+5", "without a sign"),
        ("-5", "more than zero"),
        ("NaN", "not an amount"),
        ("inf", "not an amount"),
        ("Infinity", "not an amount"),
        ("0x10", "not an amount"),
        ("1,00", "groups of three"),
        ("12,5", "groups of three"),
        ("1.234", "two decimals"),
        ("0", "more than zero"),
        ("0.00", "more than zero"),
        ("10000000.01", "at most 10,000,000"),
        ("٣", "not an amount"),  # a digit, but not one anybody types for yuan
        ("¹", "not an amount"),  # NFKC would read it as 1
        ("①", "not an amount"),
        (".", "not an amount"),
        ("", "not an amount"),
        ("1 000", "not an amount"),
    ],
)
def test_parse_yuan_refuses_other_notations_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(BadArgument) as refused:
        parse_yuan(text)
    details = refused.value.details
    assert reason in details["reason"] % details["values"]


@given(st.integers(min_value=1, max_value=int(MAX_YUAN) * 100))
def test_format_then_parse_is_the_identity(fen: int) -> None:
    assert parse_yuan(format_yuan(fen)) == fen


@given(st.text(max_size=24))
def test_whatever_is_taken_is_the_decimal_the_digits_say(text: str) -> None:
    try:
        fen = parse_yuan(text)
    except BadArgument:
        return
    digits = "".join(c for c in text.translate(_FULL_WIDTH) if c in "0123456789.")
    assert 0 < fen <= MAX_YUAN * 100
    assert Decimal(fen) / 100 == Decimal(digits.translate(_FULL_WIDTH))


_FULL_WIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")  # as people type them
