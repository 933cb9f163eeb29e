"""The admin sub-app (/admin/): merchant pages and JSON APIs behind the `admin.token`.

Pages need the session cookie from the sign-in form; /admin/api/* takes the cookie or
`Authorization: Bearer <admin.token>` (see botstore/admin/auth.py). Each section is a module
with setup(admin), on the layout and helpers of botstore/admin/common.py.
"""

from aiohttp import web

from botstore.admin import (
    ads,
    articles,
    auth,
    clock,
    common,
    coupons,
    dashboard,
    keywords,
    menu,
    merchants,
    miniprogram,
    partners,
    replies,
    stores,
    wealth,
    wxpay,
)

# In the navigation's order (common.NAV); auth and clock have no page of their own.
SECTIONS = (auth, clock, dashboard, keywords, replies, menu)
SECTIONS += (stores, merchants, partners, wealth, articles, ads, coupons, miniprogram, wxpay)


def create_admin_app() -> web.Application:
    """Mounted at /admin/ by create_app; reads the parent's config, database and scheduler."""
    admin = web.Application(middlewares=[auth.require_admin, common.errors_as_json])
    admin[common.env_key] = common.environment()
    admin[common.envs_key] = common.environments()
    # aiohttp's static route refuses paths outside the folder; symlinks are not followed.
    admin.router.add_static("/static/", common.STATIC, follow_symlinks=False)
    for section in SECTIONS:
        section.setup(admin)
    return admin
