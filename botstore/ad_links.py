"""Signed ad-click links: what lets a click charge an advertiser.

`read` hands the fan a link to the article carrying, for the ad it showed them, the impression
it counted, the fan's openid and an expiry, with an HMAC over all of them and the ad's id (a
key derived from the account's AppSecret). The article page passes them on to the ad's click
redirect, which charges only for a link that verifies, for the fan who opens it, before it
expires. Anything else (no signature, a changed field, another fan's openid, too late)
redirects all the same and charges nothing. Knows no HTTP: queries come in as mappings.
"""

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

# The query parameters besides `openid`: the impression, its expiry (Unix seconds), the HMAC.
FIELDS = ("impression", "expires", "sig")


@dataclass(frozen=True, slots=True)
class ClickProof:
    """A verified link: `openid` was shown the ad's impression number `impression`."""

    ad_id: int
    openid: str
    impression: int


def key_of(app_secret: str) -> bytes:
    # Derived from the account's AppSecret: rotating it voids the links handed out before.
    return hmac.new(app_secret.encode(), b"botstore ad click v1", hashlib.sha256).digest()


def _mac(key: bytes, ad_id: int, openid: str, impression: int, expires: int) -> str:
    text = f"{ad_id}\n{openid}\n{impression}\n{expires}"
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def signed_query(
    key: bytes, *, ad_id: int, openid: str, impression: int, expires: datetime
) -> dict[str, str]:
    """The query that makes the click on `ad_id` by `openid` count, until `expires`."""
    stamp = int(expires.timestamp())
    return {
        "openid": openid,
        "impression": str(impression),
        "expires": str(stamp),
        "sig": _mac(key, ad_id, openid, impression, stamp),
    }


def passed_on(query: Mapping[str, str]) -> dict[str, str]:
    """The link fields of a page's query, to hand on to the ad's click link unchanged (the
    redirect judges them); only what has their shape, so a page never echoes anything else."""
    fields = {name: query.get(name, "") for name in FIELDS}
    if not all(_is_number(fields[name]) for name in ("impression", "expires")):
        return {}
    if len(fields["sig"]) != 64 or not all(c in "0123456789abcdef" for c in fields["sig"]):
        return {}
    return fields


def _is_number(text: str) -> bool:
    return 0 < len(text) <= 18 and text.isascii() and text.isdigit()


def verify(
    key: bytes, *, ad_id: int, query: Mapping[str, str], now: datetime
) -> ClickProof | None:
    """The proof a click's query carries, or None: unsigned, forged, another fan's, expired."""
    fields = passed_on(query)
    openid = query.get("openid", "")
    if not fields or not openid or len(openid) > 64:
        return None
    impression, expires = int(fields["impression"]), int(fields["expires"])
    expected = _mac(key, ad_id, openid, impression, expires)
    if not hmac.compare_digest(expected, fields["sig"]):
        return None
    if now.timestamp() >= expires:
        return None
    return ClickProof(ad_id=ad_id, openid=openid, impression=impression)
