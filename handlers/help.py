"""The help command, generated from every router's registry."""

from botstore.router import Context, Router
from botstore.wechat import Reply

router = Router(name=__name__, title="General")


@router.command("help", "?", "？", "帮助")
async def help(ctx: Context) -> Reply:
    """Lists the commands, grouped by area."""
    return ctx.text("help.txt", areas=ctx.areas)
