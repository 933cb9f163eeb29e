"""The emulated active APIs under /cgi-bin/ (wechat-protocol.md 7) and the partner-services page:
HTTP glue around services, answering in the official JSON shapes."""

from aiohttp import web

from botstore.api import menu, message, miniprogram, qrcode, token, user
from botstore.pages import services as services_page


def setup_api(app: web.Application) -> None:
    app.router.add_get("/cgi-bin/token", token.get_token)
    app.router.add_post("/cgi-bin/qrcode/create", qrcode.create_qrcode)
    app.router.add_get("/cgi-bin/showqrcode", qrcode.show_qrcode)
    app.router.add_post("/cgi-bin/menu/create", menu.create_menu)
    app.router.add_get("/cgi-bin/menu/get", menu.get_menu)
    app.router.add_get("/cgi-bin/menu/delete", menu.delete_menu)
    app.router.add_get("/cgi-bin/get_current_selfmenu_info", menu.current_selfmenu_info)
    app.router.add_post("/cgi-bin/menu/addconditional", menu.add_conditional)
    app.router.add_post("/cgi-bin/menu/delconditional", menu.delete_conditional)
    app.router.add_post("/cgi-bin/menu/trymatch", menu.try_match)
    app.router.add_post("/cgi-bin/message/custom/send", message.custom_send)
    app.router.add_post("/cgi-bin/message/template/send", message.template_send)
    app.router.add_get("/cgi-bin/user/info", user.user_info)
    app.router.add_get("/cgi-bin/user/get", user.user_get)
    app.router.add_post("/cgi-bin/user/info/batchget", user.user_batchget)
    miniprogram.setup_miniprogram_api(app)
    services_page.setup_pages(app)
