"""The help command, generated from every router's registry, and the fan's language."""

from dataclasses import replace

from botstore.errors import BadArgument
from botstore.i18n import N_, locale_named
from botstore.router import Context, Router, Text, Word
from botstore.services import fans
from botstore.wechat import Reply

router = Router(name=__name__, title="General")

NO_CHOICE = Word("")


@router.command("help", "?", "？", "帮助")
async def help(ctx: Context, topic: Text = "") -> Reply:  # type: ignore[assignment]
    """Lists the commands by area; "help <command>" explains one."""
    if not topic:
        # One compact line per area: a passive text reply should stay under ~2 KB (§8).
        return ctx.fixed_text("help.txt", areas=ctx.areas)
    word = topic.split()[0].lower()
    for _, commands in ctx.areas:
        for command in commands:
            if word in (command.name, *command.aliases):
                return ctx.text("help_command.txt", command=command)
    return ctx.text("help_unknown.txt", topic=topic)


@router.command("language", "语言")
async def language(ctx: Context, choice: Word = NO_CHOICE) -> Reply:
    """Shows or sets the language of replies and notices: Chinese or English."""
    if not choice:
        return ctx.text("language.txt", changed=False)
    chosen = locale_named(choice)
    if chosen is None:
        raise BadArgument("language", choice, N_("botstore speaks Chinese and English"))
    fans.speaks(ctx.fan, chosen)
    # The reply is already in the language just chosen, whichever word asked for it.
    return replace(ctx, locale=chosen).text("language.txt", changed=True)
