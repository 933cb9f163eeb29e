"""Whole numbers as people and clients type them (ids, quantities, cursors): ASCII digits only,
bounded before int() ever sees them."""

# Row ids are INTEGER columns on PostgreSQL: a larger one would fail in the database.
ID_MAX = 2**31 - 1


def parse_whole(text: str, *, maximum: int, minimum: int = 0) -> int | None:
    """`text` as an int from `minimum` to `maximum` if it is plain ASCII digits, else None.

    str.isdigit() alone also passes "²" and other digits int() refuses, and int() of thousands
    of digits raises (Python's int-digit limit): both used to end in a 500.
    """
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None
