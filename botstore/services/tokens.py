"""Access tokens of the emulated active APIs (wechat-protocol.md 7.1): granted for an app's appid
and secret (the account's or its mini program's), valid 7200 s on the emulated clock."""

import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.errors import ExpiredCredential, InvalidCredential
from botstore.models import AccessToken

LIFETIME = timedelta(seconds=7200)
# §7.1: a refresh invalidates the previous token, but it keeps working for five more minutes.
GRACE = timedelta(minutes=5)
# Expired tokens are kept this long so a caller hears "expired" rather than "invalid".
KEEP_EXPIRED = timedelta(days=1)


async def grant(
    session: AsyncSession,
    *,
    app_id: str,
    secret: str,
    expected_app_id: str,
    expected_secret: str,
    now: datetime,
) -> AccessToken:
    """A new token for the app's credentials; the app's earlier ones expire after the grace
    period."""
    if not hmac.compare_digest(app_id.encode(), expected_app_id.encode()):
        raise InvalidCredential("appid")
    if not hmac.compare_digest(secret.encode(), expected_secret.encode()):
        raise InvalidCredential("secret")
    await session.exec(delete(AccessToken).where(col(AccessToken.expires_at) < now - KEEP_EXPIRED))
    await session.exec(
        update(AccessToken)
        .where(col(AccessToken.app_id) == app_id, col(AccessToken.expires_at) > now + GRACE)
        .values(expires_at=now + GRACE)
    )
    # The platform's tokens are long opaque strings (storage must allow 512 chars); 128 here.
    token = AccessToken(
        token=secrets.token_urlsafe(96),
        app_id=app_id,
        expires_at=now + LIFETIME,
        created_at=now,
    )
    session.add(token)
    await session.flush()
    return token


async def check(session: AsyncSession, token: str, *, now: datetime) -> AccessToken:
    """The live token with this value; raises InvalidCredential or ExpiredCredential."""
    found = await session.get(AccessToken, token) if 0 < len(token) <= 200 else None
    if found is None:
        raise InvalidCredential("access_token")
    if found.expires_at <= now:
        raise ExpiredCredential("access_token")
    return found


def expires_in(token: AccessToken, *, now: datetime) -> int:
    return max(int((token.expires_at - now).total_seconds()), 0)
