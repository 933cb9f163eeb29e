"""Article commands: articles, read, tip (see shared/COMMANDS.md)."""

from datetime import timedelta
from urllib.parse import urlencode

from botstore import ad_links
from botstore.money import Fen
from botstore.router import Context, Id, Router
from botstore.services import articles
from botstore.wechat import Article, ClickEvent, Reply
from handlers.coupons import notifier

router = Router(name=__name__, title="Articles")


@router.command("articles", "文章")
async def all_articles(ctx: Context) -> Reply:
    """The latest articles."""
    latest = await articles.latest(ctx.session)
    if not latest:
        return ctx.text("articles/none.txt")
    # A passive reply to a fan's text shows one news item (wechat-protocol.md 3.2): one card
    # for the index page, the newest titles in its description.
    return ctx.news(
        Article(
            title=ctx.render("articles/index_title.txt", articles=latest),
            description=ctx.render("articles/index_card.txt", articles=latest),
            pic_url=latest[0].cover_url,
            url=f"{ctx.config.server.base_url}/articles",
        )
    )


@router.command("read", "阅读")
async def read(ctx: Context, article_id: Id) -> Reply:
    """Reads one article."""
    view = await articles.read(ctx.session, ctx.fan, article_id=article_id)
    base = ctx.config.server.base_url.rstrip("/")
    query = {"openid": ctx.fan.openid}
    if view.ad is not None and view.impression is not None:
        # The impression counted for this fan: the page's ad link carries it, signed, and only
        # such a link's click charges the advertiser (botstore/ad_links.py).
        query = ad_links.signed_query(
            ad_links.key_of(ctx.config.wechat.app_secret),
            ad_id=view.ad.id or 0,
            openid=ctx.fan.openid,
            impression=view.impression,
            expires=ctx.now + timedelta(hours=ctx.config.articles.ad_link_valid_hours),
        )
    card = Article(
        title=view.article.title,
        description=ctx.render("articles/article_card.txt", view=view),
        pic_url=view.article.cover_url,
        url=f"{base}/articles/{view.article.id}?{urlencode(query)}",
    )
    if not isinstance(ctx.message, ClickEvent):
        # A reply to a fan's message shows one news item (wechat-protocol.md 3.2): the ad and
        # the product cards are named in the card's description and shown on the page.
        return ctx.news(card)
    # A menu click's reply may carry eight: the article, then its product cards.
    products = [
        Article(
            title=ctx.render("articles/product_card_title.txt", product=product),
            description=ctx.render(
                "articles/product_card.txt", product=product, article=view.article
            ),
            pic_url=product.image_url,
            # The card's link carries the article, whose sales the purchase counts among.
            url=f"{base}/products/{product.id}?article={view.article.id}",
        )
        for product in view.products
    ]
    return ctx.news(card, *products)


@router.command("tip", "赞赏")
async def tip(ctx: Context, article_id: Id, amount: Fen) -> Reply:
    """Rewards an article's author from your wallet."""
    receipt = await articles.tip(
        ctx.session,
        ctx.fan,
        article_id=article_id,
        amount=amount,
        fee_bps=ctx.config.articles.tip_fee_bps,
        key=ctx.dedup_key,
        now=ctx.now,
        render=notifier(ctx),
    )
    return ctx.text("articles/tipped.txt", receipt=receipt)
