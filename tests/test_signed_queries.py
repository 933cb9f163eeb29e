"""The webhook's memory of signed queries: one body per signature (token, timestamp and nonce),
forgotten once the window refuses its timestamp, and never more than its limit."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botstore.signed_queries import SeenQueries

KEEP_ALL = None  # no timestamp window: nothing expires, only the limit bounds the memory


def test_a_query_is_good_for_one_body_and_its_byte_identical_copies() -> None:
    seen = SeenQueries()
    assert seen.admit(100, "n1", b"<xml>a</xml>", expired_before=KEEP_ALL)
    assert seen.admit(100, "n1", b"<xml>a</xml>", expired_before=KEEP_ALL)
    assert not seen.admit(100, "n1", b"<xml>b</xml>", expired_before=KEEP_ALL)
    assert not seen.admit(100, "n1", b"<xml>a</xml> ", expired_before=KEEP_ALL)
    assert len(seen) == 1


def test_another_signature_or_another_second_is_another_query() -> None:
    seen = SeenQueries()
    assert seen.admit(100, "n1", b"a", expired_before=KEEP_ALL)
    assert seen.admit(100, "n2", b"b", expired_before=KEEP_ALL)
    assert seen.admit(101, "n1", b"c", expired_before=KEEP_ALL)
    assert len(seen) == 3


def test_stamps_below_the_window_are_forgotten_and_later_ones_kept() -> None:
    seen = SeenQueries()
    for stamp in (100, 101, 102, 500):  # 500: stamped ahead, as by an advanced emulated clock
        seen.admit(stamp, "n", b"a", expired_before=0)
    seen.admit(103, "m", b"a", expired_before=102)
    assert len(seen) == 3  # 102, 103 and 500
    assert not seen.admit(102, "n", b"b", expired_before=102)
    assert not seen.admit(500, "n", b"b", expired_before=102)
    assert seen.admit(101, "n", b"b", expired_before=102)  # forgotten (the window refuses it)


def test_past_the_limit_the_oldest_stamp_goes_first_whatever_the_order_of_arrival() -> None:
    seen = SeenQueries(limit=3)
    seen.admit(300, "late", b"a", expired_before=KEEP_ALL)
    seen.admit(100, "early", b"a", expired_before=KEEP_ALL)
    seen.admit(200, "middle", b"a", expired_before=KEEP_ALL)
    seen.admit(400, "latest", b"a", expired_before=KEEP_ALL)
    assert len(seen) == 3
    assert seen.admit(100, "early", b"other", expired_before=KEEP_ALL)  # forgotten
    assert not seen.admit(300, "late", b"other", expired_before=KEEP_ALL)


def test_within_one_second_the_first_remembered_goes_first() -> None:
    # A frozen emulated clock stamps every push with the same second.
    seen = SeenQueries(limit=2)
    for nonce in ("first", "second", "third"):
        seen.admit(100, nonce, b"a", expired_before=KEEP_ALL)
    assert len(seen) == 2
    assert not seen.admit(100, "second", b"other", expired_before=KEEP_ALL)
    assert not seen.admit(100, "third", b"other", expired_before=KEEP_ALL)


pushes = st.lists(
    st.tuples(st.integers(0, 40), st.sampled_from("abc"), st.sampled_from([b"x", b"y"])),
    max_size=120,
)
windows = st.one_of(st.none(), st.integers(0, 10))


def horizon(window: int | None, latest: int) -> int | None:
    return None if window is None else latest - window


@given(pushes=pushes, window=windows)
def test_within_its_limit_it_refuses_exactly_a_live_query_with_another_body(
    pushes: list[tuple[int, str, bytes]], window: int | None
) -> None:
    seen = SeenQueries(limit=len(pushes) + 1)
    model: dict[tuple[int, str], bytes] = {}
    latest = 0
    for stamp, nonce, body in pushes:
        latest = max(latest, stamp)  # clocks only move forward
        oldest = horizon(window, latest)
        if oldest is not None:
            model = {key: value for key, value in model.items() if key[0] >= oldest}
        expected = model.setdefault((stamp, nonce), body) == body
        assert seen.admit(stamp, nonce, body, expired_before=oldest) is expected
        assert len(seen) == len(model)


@given(pushes=pushes, window=windows, limit=st.integers(1, 8))
def test_it_never_holds_more_than_its_limit(
    pushes: list[tuple[int, str, bytes]], window: int | None, limit: int
) -> None:
    seen = SeenQueries(limit=limit)
    latest = 0
    for stamp, nonce, body in pushes:
        latest = max(latest, stamp)
        seen.admit(stamp, nonce, body, expired_before=horizon(window, latest))
        assert len(seen) <= limit


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SeenQueries(limit=0)
