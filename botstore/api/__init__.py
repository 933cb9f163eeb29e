"""The emulated active APIs under /cgi-bin/ (wechat-protocol.md 7) and the partner-services page:
HTTP glue around services, answering in the official JSON shapes."""

from aiohttp import web

from botstore.api import pages, qrcode, token


def setup_api(app: web.Application) -> None:
    app.router.add_get("/cgi-bin/token", token.get_token)
    app.router.add_post("/cgi-bin/qrcode/create", qrcode.create_qrcode)
    app.router.add_get("/cgi-bin/showqrcode", qrcode.show_qrcode)
    pages.setup_pages(app)
