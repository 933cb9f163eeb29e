"""The signed queries the webhook accepted recently, to refuse one reused with another body."""

import hashlib
import heapq
from collections import deque

# About 115 bytes an entry: some 11 MB at the limit, which holds every push of a 300-second
# window up to about 330 pushes a second.
DEFAULT_LIMIT = 100_000


class SeenQueries:
    """Signatures of accepted pushes, by the second they are stamped with, each with a digest
    of its body.

    `signature` covers the token, timestamp and nonce but not the body (wechat-protocol.md
    §2.1), so whoever saw one push could send another body under its query while the timestamp
    is fresh. A query is good for one body; a byte-identical retry is let through (to dedup).
    Kept per process, in memory: a dict lookup and a hash of the body per push, no statement.
    Both are kept as 60-bit numbers (the signature by Python's hash, keyed per process, which a
    sender can't aim at), not as the 40-character signature and a 16-byte digest: this holds
    a whole timestamp window of pushes, and at the rates a benchmark sends that is most of the
    server's growth.
    """

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        # Per stamp: each query's body digest, and the queries in the order they came (a plain
        # dict and a deque: an OrderedDict cost 45 bytes more an entry).
        self._by_stamp: dict[int, tuple[dict[int, int], deque[int]]] = {}
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
        # Below 2**60, as the query's hash is: the smallest int objects of that size.
        digest = int.from_bytes(hashlib.blake2b(body, digest_size=8).digest()) >> 4
        query = hash(signature) >> 4
        bucket = self._by_stamp.get(stamp)
        if bucket is None:
            bucket = self._by_stamp[stamp] = ({}, deque())
            heapq.heappush(self._stamps, stamp)
        elif (seen := bucket[0].get(query)) is not None:
            return seen == digest
        bucket[0][query] = digest
        bucket[1].append(query)
        self._size += 1
        if self._size > self.limit:
            self._forget_oldest()
        return True

    def _forget_before(self, horizon: int) -> None:
        while self._stamps and self._stamps[0] < horizon:
            self._size -= len(self._by_stamp.pop(heapq.heappop(self._stamps))[0])

    def _forget_oldest(self) -> None:
        stamp = self._stamps[0]
        digests, order = self._by_stamp[stamp]
        # O(1): a plain dict's first key would be found past every one deleted before it.
        del digests[order.popleft()]
        self._size -= 1
        if not digests:
            heapq.heappop(self._stamps)
            del self._by_stamp[stamp]
