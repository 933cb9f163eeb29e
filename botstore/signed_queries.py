"""The signed queries the webhook accepted recently, to refuse one reused with another body."""

import hashlib
import heapq
from array import array
from bisect import bisect_left

# About 27 bytes an entry (three 8-byte numbers and the arrays' spare room): some 2.7 MB at the
# limit, which holds every push of a 300-second window up to about 330 pushes a second.
DEFAULT_LIMIT = 100_000
_BITS_64 = 2**64 - 1


class _Second:
    """The queries stamped with one second: sorted, each with its body's digest at the same
    index, and in the order they came (to forget the first remembered first)."""

    __slots__ = ("queries", "digests", "arrivals")

    def __init__(self) -> None:
        self.queries = array("Q")
        self.digests = array("Q")
        self.arrivals = array("Q")


class SeenQueries:
    """Signatures of accepted pushes, by the second they are stamped with, each with a digest
    of its body.

    `signature` covers the token, timestamp and nonce but not the body (wechat-protocol.md
    §2.1), so whoever saw one push could send another body under its query while the timestamp
    is fresh. A query is good for one body; a byte-identical retry is let through (to dedup).
    Kept per process, in memory: a binary search and a hash of the body per push, no statement.
    This holds a whole timestamp window of pushes, and at the rates a benchmark sends that was
    most of the server's growth; so each push is three 64-bit numbers in arrays (the signature
    by Python's hash, keyed per process, which a sender can't aim at; the body by BLAKE2b), not
    Python objects in a dict (114 bytes a push) nor the 40-character signature (206).
    """

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._by_stamp: dict[int, _Second] = {}
        self._stamps: list[int] = []  # a heap of _by_stamp's keys, the oldest stamp first
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def admit(
        self, stamp: int, signature: str, body: bytes, *, expired_before: int | None
    ) -> bool:
        """Remember the query with this body; False when it came before with another body.

        Stamps older than `expired_before` are forgotten first: the caller passes the oldest
        stamp its timestamp window can still let in, or None when nothing expires. Past `limit`
        the oldest stamps go first, as they are the nearest to leaving the window, and within a
        second the first remembered.
        """
        if expired_before is not None:
            self._forget_before(expired_before)
        digest = int.from_bytes(hashlib.blake2b(body, digest_size=8).digest())
        query = hash(signature) & _BITS_64
        second = self._by_stamp.get(stamp)
        if second is None:
            second = self._by_stamp[stamp] = _Second()
            heapq.heappush(self._stamps, stamp)
        queries = second.queries
        at = bisect_left(queries, query)
        if at < len(queries) and queries[at] == query:
            return second.digests[at] == digest
        queries.insert(at, query)
        second.digests.insert(at, digest)
        second.arrivals.append(query)
        self._size += 1
        if self._size > self.limit:
            self._forget_oldest()
        return True

    def _forget_before(self, horizon: int) -> None:
        while self._stamps and self._stamps[0] < horizon:
            self._size -= len(self._by_stamp.pop(heapq.heappop(self._stamps)).queries)

    def _forget_oldest(self) -> None:
        stamp = self._stamps[0]
        second = self._by_stamp[stamp]
        # Shifts the second's arrays: only past the limit, and a second holds few pushes.
        at = bisect_left(second.queries, second.arrivals.pop(0))
        del second.queries[at]
        del second.digests[at]
        self._size -= 1
        if not second.queries:
            heapq.heappop(self._stamps)
            del self._by_stamp[stamp]
