"""The admin sub-app (/admin/): JSON APIs behind the `admin.token` bearer token."""

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from botstore.admin import clock
from botstore.keys import config_key

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    expected = f"Bearer {request.config_dict[config_key].admin.token}"
    given = request.headers.get("Authorization", "")
    # Constant-time, so the token can't be guessed a character at a time.
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise web.HTTPUnauthorized(
            text="missing or wrong admin token", headers={"WWW-Authenticate": "Bearer"}
        )
    return await handler(request)


def create_admin_app() -> web.Application:
    """Mounted at /admin/ by create_app; reads the parent's config, database and scheduler."""
    admin = web.Application(middlewares=[require_token])
    clock.setup(admin)
    return admin
