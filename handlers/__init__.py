"""Chat handlers, one module per business area; each exports a `router`."""

from botstore.router import Router
from handlers import (
    articles,
    coupons,
    events,
    help,
    membership,
    offline,
    orders,
    partners,
    stores,
    wallet,
    wealth,
    wxpay,
)

ROUTERS: list[Router] = [
    help.router,
    wallet.router,
    events.router,
    offline.router,
    partners.router,
    stores.router,
    orders.router,
    wealth.router,
    membership.router,
    coupons.router,
    articles.router,
    wxpay.router,
]
