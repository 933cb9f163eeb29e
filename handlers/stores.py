"""WeStore shop commands: stores, store, open, list, groupprice, resell, moments."""

from botstore.money import Fen
from botstore.router import Context, Id, Qty, Router, Text, Word
from botstore.services import stores
from botstore.wechat import Article, Reply

router = Router(name=__name__, title="Shops")

ONE = Word("1")


@router.command("stores", "商店")
async def all_stores(ctx: Context) -> Reply:
    """The stores."""
    summaries = await stores.all_stores(ctx.session)
    return ctx.text("stores/stores.txt", summaries=summaries, url=ctx.config.server.public_url)


@router.command("store", "店铺")
async def store(ctx: Context, store_id: Id) -> Reply:
    """One store and its products."""
    view = await stores.store_view(ctx.session, store_id, ctx.fan)
    base = ctx.config.server.public_url
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
async def list_product(ctx: Context, name: Word, price: Fen, stock: Word = ONE) -> Reply:
    """Adds a product to your store."""
    listing = await stores.list_product(
        ctx.session, ctx.fan, name=name, price=price, stock=stores.parse_stock(stock), now=ctx.now
    )
    return ctx.text("stores/listed.txt", listing=listing)


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
