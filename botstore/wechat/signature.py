"""WeChat's SHA-1 signatures over sorted strings (wechat-protocol.md §1, §5.5)."""

import hashlib
import hmac


def sign(*parts: str) -> str:
    """Return the lowercase hex SHA-1 of the parts, sorted and concatenated."""
    # WeChat chose SHA-1 for these signatures (§1, §5.5), not us; the inputs are sorted by code
    # point, which is byte order for the ASCII values WeChat sends.
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324


def _same(expected: str, given: str) -> bool:
    # Bytes, because compare_digest refuses non-ASCII str and `given` is attacker-controlled.
    return hmac.compare_digest(expected.encode(), given.encode())


def check_signature(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """Check the `signature` query parameter of a URL check or push (§1), in constant time."""
    return _same(sign(token, timestamp, nonce), signature)


def check_msg_signature(
    token: str, msg_signature: str, timestamp: str, nonce: str, encrypted: str
) -> bool:
    """Check a `msg_signature` over the ciphertext `Encrypt` (§5.5), in constant time."""
    return _same(sign(token, timestamp, nonce, encrypted), msg_signature)


def timestamp_is_fresh(timestamp: str, *, now: int, window_seconds: int) -> bool:
    """Whether a query `timestamp` lies within window_seconds of now; a window of 0 allows all."""
    # The signature alone does not stop a captured request from being replayed later (§1).
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    return window_seconds <= 0 or abs(int(timestamp) - now) <= window_seconds
