"""WeStore shop commands: stores, store, open, list, groupprice, resell, moments, and the
owner's upkeep: restock, price, delist, relist."""

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from botstore.errors import BadArgument, DomainError
from botstore.i18n import N_
from botstore.money import Fen, parse_yuan
from botstore.router import Command, Context, Id, Qty, Router, Text, UsageError, Word
from botstore.services import stores
from botstore.wechat import Article, Reply

router = Router(name=__name__, title="Shops")

LEFT_OUT = Text("")
_T = TypeVar("_T")

# A name of several words is quoted: "Big Mug", “大 马克杯”, 「大 马克杯」.
_QUOTED = re.compile(r'["“”＂「『]([^"“”＂」』]*)["“”＂」』]')
_QUOTES = frozenset('"“”＂「」『』')


@router.command("stores", "商店")
async def all_stores(ctx: Context) -> Reply:
    """The stores."""
    summaries = await stores.all_stores(ctx.session)
    return ctx.text("stores/stores.txt", summaries=summaries, url=ctx.config.server.base_url)


@router.command("store", "店铺")
async def store(ctx: Context, store_id: Id) -> Reply:
    """One store and its products."""
    view = await stores.store_view(ctx.session, store_id, ctx.fan)
    base = ctx.config.server.base_url
    # A passive reply to a fan's text shows one news item (wechat-protocol.md 3.2): products
    # go in its description, the page shows them all.
    first_image = next((item.product.image_url for item in view.listings), "")
    return ctx.news(
        Article(
            title=view.store.name,
            description=ctx.render("stores/store_card.txt", view=view),
            pic_url=view.store.cover_url or first_image,
            url=f"{base}/stores/{view.store.id}",
        )
    )


@router.command("open", "开店")
async def open_store(ctx: Context, store_name: Text) -> Reply:
    """Opens your store, free."""
    opened = await stores.open_store(ctx.session, ctx.fan, name=store_name, now=ctx.now)
    return ctx.text("stores/opened.txt", store=opened)


@router.command("list", "上架")
async def list_product(ctx: Context, name: Word, price: Word, stock: Text = LEFT_OUT) -> Reply:
    """Adds a product to your store; quote a name of several words."""
    # The words are read again as a whole: a quoted name, or the name last, spans words.
    product_name, amount, units = _listing_words(" ".join(filter(None, (name, price, stock))))
    listing = await stores.list_product(
        ctx.session, ctx.fan, name=product_name, price=amount, stock=units, now=ctx.now
    )
    return ctx.text("stores/listed.txt", listing=listing)


_LIST = router.commands[-1]


def _parsed(command: Command, index: int, parse: Callable[[str], _T], text: str) -> _T:
    """`parse(text)`, a refusal worded as the command's usage error for its argument `index`."""
    try:
        return parse(text)
    except BadArgument as error:
        raise UsageError(
            command,
            "invalid",
            param=command.params[index],
            reason=error.details["reason"],
            values=error.details["values"],
        ) from None


def _listing_words(line: str) -> tuple[str, Fen, int]:
    """`list`'s name, price and stock: `"Big Mug" 30 [5]` (quotes anywhere), `Tea 30 [5]`, or
    the name last, `30 [5] Big Mug`. An unquoted name of several words, whose second word is
    no number while a later one is a price, is blamed on the name, not the price."""
    quoted = _QUOTED.search(line)
    if quoted is not None:
        others = (line[: quoted.start()] + " " + line[quoted.end() :]).split()
        return _name_first(quoted.group(1), others)
    if _QUOTES.intersection(line):
        raise _bad_name(N_("the name's closing quote is missing"))
    words = line.split()
    try:
        return _name_first(words[0], words[1:])
    except DomainError as refusal:
        try:
            return _name_last(words)
        except DomainError:
            pass
        second_is_a_word = not any(char.isdigit() for char in words[1])
        if second_is_a_word and any(_is_price(word) for word in words[2:]):
            raise _bad_name(N_('put a name of several words in quotes, e.g. "Big Mug"')) from None
        raise refusal from None


def _name_first(name: str, others: list[str]) -> tuple[str, Fen, int]:
    if not others:
        raise UsageError(_LIST, "missing", param=_LIST.params[1])
    if len(others) > 2:
        raise UsageError(_LIST, "unexpected", words=" ".join(others[2:]))
    price = _parsed(_LIST, 1, parse_yuan, others[0])
    return name, price, stores.parse_stock(others[1]) if len(others) == 2 else 1


def _name_last(words: list[str]) -> tuple[str, Fen, int]:
    price = _parsed(_LIST, 1, parse_yuan, words[0])
    if len(words) > 2 and words[1].isdigit():
        return " ".join(words[2:]), price, stores.parse_stock(words[1])
    return " ".join(words[1:]), price, 1


def _is_price(word: str) -> bool:
    try:
        parse_yuan(word)
    except BadArgument:
        return False
    return True


def _bad_name(reason: str) -> UsageError:
    return UsageError(_LIST, "invalid", param=_LIST.params[0], reason=reason)


@router.command("groupprice", "团购价")
async def group_price(ctx: Context, product_id: Id, price: Fen, size: Qty) -> Reply:
    """Sets a group-buy price for your product."""
    listing = await stores.set_group_price(
        ctx.session, ctx.fan, product_id=product_id, price=price, size=size
    )
    return ctx.text("stores/group_price_set.txt", listing=listing)


@router.command("resell", "分销")
async def resell(ctx: Context, product_id: Id, price: Fen) -> Reply:
    """Resells another store's product; you keep the markup."""
    listing = await stores.resell(
        ctx.session, ctx.fan, product_id=product_id, price=price, now=ctx.now
    )
    return ctx.text("stores/resold.txt", listing=listing)


@router.command("moments", "朋友圈")
async def moments(ctx: Context) -> Reply:
    """The newest product posts."""
    listings = await stores.moments(ctx.session)
    return ctx.text("stores/moments.txt", listings=listings, timezone=ctx.config.wallet.timezone)


@router.command("restock", "补货")
async def restock(ctx: Context, product_id: Id, qty: Word) -> Reply:
    """Adds stock to your product."""
    units = _parsed(_RESTOCK, 1, stores.parse_restock, qty)
    listing = await stores.restock(ctx.session, ctx.fan, product_id=product_id, qty=units)
    return ctx.text("stores/restocked.txt", listing=listing, added=units)


_RESTOCK = router.commands[-1]


@router.command("price", "改价")
async def price(ctx: Context, product_id: Id, price: Fen) -> Reply:
    """Changes your product's price; resales left below it are delisted."""
    repriced = await stores.reprice(
        ctx.session,
        ctx.fan,
        product_id=product_id,
        price=price,
        now=ctx.now,
        render=_notices(ctx),
    )
    return ctx.text("stores/repriced.txt", repriced=repriced)


@router.command("delist", "下架")
async def delist(ctx: Context, product_id: Id) -> Reply:
    """Takes your product off sale."""
    switched = await stores.delist(
        ctx.session, ctx.fan, product_id=product_id, now=ctx.now, render=_notices(ctx)
    )
    return ctx.text("stores/delisted.txt", switched=switched)


@router.command("relist", "重新上架")
async def relist(ctx: Context, product_id: Id) -> Reply:
    """Puts your product on sale again."""
    switched = await stores.relist(
        ctx.session, ctx.fan, product_id=product_id, now=ctx.now, render=_notices(ctx)
    )
    return ctx.text("stores/relisted.txt", switched=switched)


def _notices(ctx: Context) -> stores.Render:
    """Renders a notice to another fan (`locale`: theirs, None until they chose): in their
    language, else the account's default."""

    def render(template: str, values: Mapping[str, Any]) -> str:
        context = {name: value for name, value in values.items() if name != "locale"}
        locale = values.get("locale") or ctx.config.wechat.language
        return ctx.replies.render(template, locale, config=ctx.config, **context)

    return render
