"""Chat handlers, one module per business area; each exports a `router`."""

from botstore.router import Router
from handlers import events, help, wallet

ROUTERS: list[Router] = [help.router, wallet.router, events.router]
