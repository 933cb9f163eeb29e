"""The help command, generated from every router's registry."""

from botstore.router import Context, Router, Text
from botstore.wechat import Reply

router = Router(name=__name__, title="General")


@router.command("help", "?", "？", "帮助")
async def help(ctx: Context, topic: Text = "") -> Reply:  # type: ignore[assignment]
    """Lists the commands by area; "help <command>" explains one."""
    if not topic:
        # One compact line per area: a passive text reply should stay under ~2 KB (§8).
        return ctx.text("help.txt", areas=ctx.areas)
    word = topic.split()[0].lower()
    for _, commands in ctx.areas:
        for command in commands:
            if word in (command.name, *command.aliases):
                return ctx.text("help_command.txt", command=command)
    return ctx.text("help_unknown.txt", topic=topic)
