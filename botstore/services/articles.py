"""Articles, tips and ad placements: reading, tipping, impressions, clicks and ad settlement.

Where the money goes:
- A tip moves wallet -> author account (the fan author's wallet, or the platform account for
  the account's own articles) minus the platform fee, and the fee -> platform, in one ledger
  transaction keyed on the message. The fee is floor(amount * tip_fee_bps / 10000).
- An ad campaign's budget sits in its advertiser account, funded from outside. Impressions and
  clicks only count; `settle_ads` moves what they cost to the platform account. The rounding
  rule, in integer fen: the cost through n impressions is floor(n * cpm_fen / 1000), and a
  settlement pays that minus the same for the impressions settled before, so remainders carry
  forward. Payments are capped at the budget; an ad whose cost reaches its budget stops
  showing, and stops counting.
- A click is charged as it happens, and only through a signed link (botstore/ad_links.py)
  handed to the fan with an impression, once per impression and within the fan's daily
  allowance for the ad: cpc_fen (less if the budget has less left) advertiser -> platform, one
  ledger transaction keyed on the click. Other hits charge nothing.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore import images
from botstore.ad_links import ClickProof
from botstore.db import insert_or_skip
from botstore.errors import BadArgument, NotFound, OwnArticle
from botstore.i18n import N_
from botstore.models import (
    Account,
    AccountKind,
    Ad,
    AdClick,
    AdKind,
    Article,
    ArticleProduct,
    ArticleTip,
    Fan,
    Order,
    OrderStatus,
    Product,
)
from botstore.money import Fen
from botstore.services import ledger, notices, stores
from botstore.services.ledger import Leg

INDEX_SIZE = 20
AD_BUDGET = "ad_budget"  # ledger kind: an advertiser paying into a campaign
TIP_RECEIVED = "tip_received"  # the outbox reason of the notice to the author
MAX_PRODUCT_CARDS = 7  # an event's news reply carries 8 items: the article and 7 cards


@dataclass(frozen=True, slots=True)
class ArticleView:
    """An article with its author's name, the ad it shows (None: no ad, or budget spent) and
    the product cards it embeds, in order."""

    article: Article
    author_name: str
    ad: Ad | None
    products: tuple[Product, ...] = ()
    # The ad's impression number `read` counted for this fan (None: none counted), which the
    # fan's signed click link names.
    impression: int | None = None
    sales: "Sales | None" = None


@dataclass(frozen=True, slots=True)
class Sales:
    """What fans bought from an article's product cards: orders and the ¥ they paid, refunded
    (cancelled) orders left out."""

    orders: int = 0
    total_fen: int = 0


@dataclass(frozen=True, slots=True)
class Click:
    """A hit on an ad's click redirect: the ad (for its URL) and the click it counted and
    charged (None: it counted nothing)."""

    ad: Ad
    counted: AdClick | None


@dataclass(frozen=True, slots=True)
class Receipt:
    tip: ArticleTip
    article: Article
    author_name: str


def accrued_fen(ad: Ad) -> int:
    """What the ad's impressions and clicks cost so far (uncapped)."""
    return ad.impressions * ad.cpm_fen // 1000 + ad.clicks * ad.cpc_fen


def _shows_its_product() -> object:
    # A product ad shows (and charges its advertiser) only while fans can buy the product.
    on_sale = stores.on_sale(select(Product.id))
    return or_(col(Ad.product_id).is_(None), col(Ad.product_id).in_(on_sale))


def _showing() -> tuple[object, ...]:
    """What an ad needs to show and count: active, budget left, its product (if any) on sale."""
    return col(Ad.active), _has_budget(), _shows_its_product()


async def _author_name(session: AsyncSession, article: Article) -> str:
    if article.author_fan_id is None:
        return "the account"
    fan = await session.get(Fan, article.author_fan_id)
    return (fan.nickname if fan else "") or f"fan #{article.author_fan_id}"


async def _article(session: AsyncSession, article_id: int) -> Article:
    article = await session.get(Article, article_id, populate_existing=True)
    if article is None:
        raise NotFound("article", article_id)
    return article


async def _ad(session: AsyncSession, ad_id: int | None) -> Ad | None:
    return None if ad_id is None else await session.get(Ad, ad_id, populate_existing=True)


async def latest(session: AsyncSession, *, limit: int = INDEX_SIZE) -> Sequence[Article]:
    """The newest articles first."""
    statement = select(Article).order_by(col(Article.id).desc()).limit(limit)
    return (await session.exec(statement)).all()


async def products_of(
    session: AsyncSession, article_id: int, *, on_sale_only: bool = False
) -> tuple[Product, ...]:
    """The products an article embeds as cards, in their order; with `on_sale_only` (what fans
    see), only those stores.on_sale keeps."""
    statement = (
        select(Product)
        .join(ArticleProduct, col(ArticleProduct.product_id) == Product.id)
        .where(ArticleProduct.article_id == article_id)
        .order_by(col(ArticleProduct.position))
    )
    if on_sale_only:
        statement = stores.on_sale(statement)
    return tuple((await session.exec(statement)).all())


async def check_card(session: AsyncSession, *, article_id: int, product_id: int) -> None:
    """Refuse a purchase credited to an article that shows no card of the product."""
    await _article(session, article_id)
    if not any(product.id == product_id for product in await products_of(session, article_id)):
        raise BadArgument(
            "article",
            f"#{article_id}",
            N_("it shows no card of product #%(product_id)s"),
            product_id=product_id,
        )


async def add_product_card(
    session: AsyncSession, *, article_id: int, product_id: int
) -> ArticleProduct:
    """Embed a product card at the end of an article (for seeding and admins)."""
    await _article(session, article_id)
    if await session.get(Product, product_id) is None:
        raise NotFound("product", product_id)
    cards = await products_of(session, article_id)
    if any(product.id == product_id for product in cards):
        raise BadArgument("product", str(product_id), "the article shows it already")
    if len(cards) >= MAX_PRODUCT_CARDS:
        raise BadArgument("product", str(product_id), f"at most {MAX_PRODUCT_CARDS} cards")
    card = ArticleProduct(article_id=article_id, product_id=product_id, position=len(cards))
    session.add(card)
    await session.flush()
    return card


async def article_view(session: AsyncSession, article_id: int) -> ArticleView:
    """One article as a page shows it; counts nothing."""
    article = await _article(session, article_id)
    ad = None
    if article.ad_id is not None:
        ad = (await session.exec(select(Ad).where(Ad.id == article.ad_id, *_showing()))).first()
    return ArticleView(
        article,
        await _author_name(session, article),
        ad,
        await products_of(session, article_id, on_sale_only=True),
        sales=(await sales_of(session, [article_id])).get(article_id, Sales()),
    )


async def sales_of(session: AsyncSession, article_ids: Sequence[int]) -> dict[int, Sales]:
    """Sales per article (orders bought from its product cards), for those that have any."""
    if not article_ids:
        return {}
    rows = await session.exec(
        select(Order.article_id, func.count(col(Order.id)), func.sum(Order.total_fen))
        .where(
            col(Order.article_id).in_(article_ids),
            col(Order.status) != OrderStatus.CANCELLED,
        )
        .group_by(col(Order.article_id))
    )
    return {article_id or 0: Sales(int(n), int(total or 0)) for article_id, n, total in rows}


async def read(session: AsyncSession, fan: Fan, *, article_id: int) -> ArticleView:
    """Count a read, and an impression of the article's ad if it still has budget."""
    await _article(session, article_id)
    await session.exec(
        update(Article).where(col(Article.id) == article_id).values(reads=col(Article.reads) + 1)
    )
    article = await _article(session, article_id)
    shown = None
    if article.ad_id is not None:
        # One conditional UPDATE: concurrent readers can't count past the budget's last fen.
        result = await session.exec(
            update(Ad)
            .where(col(Ad.id) == article.ad_id, *_showing())
            .values(impressions=col(Ad.impressions) + 1)
        )
        if result.rowcount == 1:
            # Read back in the same transaction, whose UPDATE holds the row until commit: the
            # count is this impression's own number.
            shown = await _ad(session, article.ad_id)
    return ArticleView(
        article,
        await _author_name(session, article),
        shown,
        await products_of(session, article_id, on_sale_only=True),
        impression=None if shown is None else shown.impressions,
    )


def _has_budget() -> object:
    accrued = (col(Ad.impressions) * col(Ad.cpm_fen)) // 1000 + col(Ad.clicks) * col(Ad.cpc_fen)
    return accrued < col(Ad.budget_fen)


async def click(
    session: AsyncSession,
    *,
    ad_id: int,
    proof: ClickProof | None,
    per_fan_per_day: int,
    timezone: str,
    now: datetime,
) -> Click:
    """Count and charge a click if `proof` (a verified link) is good for one: the fan's
    impression of this ad not clicked before, the fan's allowance for the ad today not used up,
    the ad still showing. The ad (for its URL) either way."""
    ad = await _ad(session, ad_id)
    if ad is None:
        raise NotFound("ad", ad_id)
    if proof is None or proof.ad_id != ad_id or proof.impression > ad.impressions:
        return Click(ad, None)
    fan = (await session.exec(select(Fan).where(Fan.openid == proof.openid))).first()
    if fan is None:
        return Click(ad, None)
    # Lock the ad's row (PostgreSQL; SQLite has one writer at a time): the charge below is
    # computed from its budget and what is spent, which no other click may change meanwhile.
    locked = select(Ad).where(col(Ad.id) == ad_id).with_for_update()
    ad = (await session.exec(locked.execution_options(populate_existing=True))).one()
    day = now.astimezone(ZoneInfo(timezone)).date().isoformat()
    used = (
        await session.exec(
            select(func.count(col(AdClick.id))).where(
                AdClick.ad_id == ad_id, AdClick.fan_id == fan.id, AdClick.day == day
            )
        )
    ).one()
    if used >= per_fan_per_day:
        return Click(ad, None)
    # The claim: a second click of the impression, or a concurrent one taking the same slot of
    # the fan's day, inserts nothing (on PostgreSQL after waiting for the first to commit).
    claim = (
        insert_or_skip(session.bind.dialect.name, AdClick, unique=None)
        .values(
            ad_id=ad_id,
            fan_id=fan.id,
            impression=proof.impression,
            day=day,
            slot=used + 1,
            amount_fen=0,
            created_at=now,
        )
        .returning(col(AdClick.id))
    )
    click_id = (await session.exec(claim)).scalar_one_or_none()
    if click_id is None:
        return Click(ad, None)
    charge = min(ad.cpc_fen, ad.budget_fen - ad.spent_fen)
    values: dict[str, object] = {
        "clicks": col(Ad.clicks) + 1,
        "settled_clicks": col(Ad.settled_clicks) + 1,
        "spent_fen": col(Ad.spent_fen) + charge,
    }
    if ad.impressions * ad.cpm_fen // 1000 + (ad.clicks + 1) * ad.cpc_fen >= ad.budget_fen:
        values["active"] = False  # the budget is used up, as settlement would find it
    counted = await session.exec(
        update(Ad)
        .where(col(Ad.id) == ad_id, col(Ad.spent_fen) == ad.spent_fen, *_showing())
        .values(**values)
    )
    if counted.rowcount != 1:  # paused, budget spent, its product off sale
        await session.exec(delete(AdClick).where(col(AdClick.id) == click_id))
        return Click(ad, None)
    transaction_id = None
    if charge > 0:
        platform = await ledger.system_account(session, AccountKind.PLATFORM)
        txn = await ledger.transfer(
            session,
            key=f"ad:{ad_id}:click:{click_id}",
            kind="ad_revenue",
            legs=[Leg(ad.advertiser_account_id, -charge), Leg(platform.id or 0, charge)],
            now=now,
        )
        transaction_id = txn.id
    await session.exec(
        update(AdClick)
        .where(col(AdClick.id) == click_id)
        .values(amount_fen=charge, transaction_id=transaction_id)
    )
    record = await session.get(AdClick, click_id, populate_existing=True)
    return Click(await _campaign(session, ad_id), record)


async def tip(
    session: AsyncSession,
    fan: Fan,
    *,
    article_id: int,
    amount: Fen,
    fee_bps: int,
    key: str,
    now: datetime,
    render: notices.Render | None = None,
) -> Receipt:
    """Move `amount` from the fan's wallet to the author (less the platform fee), once per key;
    with `render`, an author who is a fan is told."""
    article = await _article(session, article_id)
    if article.author_fan_id is not None and article.author_fan_id == fan.id:
        raise OwnArticle(article_id)
    platform = await ledger.system_account_id(session, AccountKind.PLATFORM)
    fee = amount * fee_bps // 10000
    credits: dict[int, int] = {}
    for account_id, fen in ((article.author_account_id, amount - fee), (platform, fee)):
        if fen:
            credits[account_id] = credits.get(account_id, 0) + fen
    legs = [Leg(fan.wallet_account_id or 0, -amount)]
    legs += [Leg(account_id, fen) for account_id, fen in credits.items()]
    txn = await ledger.transfer(session, key=f"{key}:tip", kind="tip", legs=legs, now=now)
    record = ArticleTip(
        article_id=article_id,
        fan_id=fan.id or 0,
        amount_fen=amount,
        fee_fen=fee,
        key=key,
        transaction_id=txn.id or 0,
        created_at=now,
    )
    session.add(record)
    await session.exec(
        update(Article)
        .where(col(Article.id) == article_id)
        .values(
            tips_count=col(Article.tips_count) + 1,
            tips_total_fen=col(Article.tips_total_fen) + amount,
        )
    )
    await session.flush()
    article = await _article(session, article_id)
    if render is not None and article.author_fan_id is not None:
        author = await session.get(Fan, article.author_fan_id)
        assert author is not None
        await notices.notify(
            session,
            author,
            "notifications/tip_received.txt",
            {
                "tipper": notices.name_of(fan),
                "title": article.title,
                "amount_fen": amount,
                "net_fen": amount - fee,
                "fee_fen": fee,
            },
            render=render,
            reason=TIP_RECEIVED,
            now=now,
        )
    return Receipt(record, article, await _author_name(session, article))


async def create_article(
    session: AsyncSession,
    *,
    title: str,
    author: Fan | None,
    now: datetime,
    digest: str = "",
    body: str = "",
    cover_url: str = "",
    ad_id: int | None = None,
) -> Article:
    """An article by `author`, or by the account itself when None (for seeding and admins)."""
    if author is None:
        account_id = (await ledger.system_account(session, AccountKind.PLATFORM)).id
    else:
        account_id = author.wallet_account_id
    article = Article(
        title=title,
        digest=digest,
        body=body,
        cover_url=cover_url,
        author_fan_id=None if author is None else author.id,
        author_account_id=account_id or 0,
        ad_id=ad_id,
        created_at=now,
    )
    session.add(article)
    await session.flush()
    return article


async def create_campaign(
    session: AsyncSession,
    *,
    advertiser: str,
    title: str,
    url: str,
    budget: Fen,
    cpm: Fen,
    cpc: Fen,
    now: datetime,
    description: str = "",
    pic_url: str = "",
    kind: str = AdKind.CAMPAIGN,
    product_id: int | None = None,
) -> Ad:
    """Another merchant's campaign (or the account's own product), its budget funded from
    outside into its own account."""
    account = Account(kind=AccountKind.ADVERTISER, name=f"ads of {advertiser}", created_at=now)
    session.add(account)
    await session.flush()
    ad = Ad(
        advertiser=advertiser,
        kind=kind,
        product_id=product_id,
        title=title,
        description=description,
        url=url,
        pic_url=pic_url,
        budget_fen=budget,
        cpm_fen=cpm,
        cpc_fen=cpc,
        advertiser_account_id=account.id or 0,
        created_at=now,
    )
    session.add(ad)
    await session.flush()
    await ledger.fund_from_outside(
        session, account.id or 0, budget, key=f"ad:{ad.id}:fund", kind=AD_BUDGET, now=now
    )
    return ad


async def settle_ads(session: AsyncSession, *, now: datetime) -> int:
    """Pay the platform what each ad's unsettled impressions and clicks cost; how many paid."""
    statement = select(Ad).where(
        (col(Ad.impressions) > col(Ad.settled_impressions))
        | (col(Ad.clicks) > col(Ad.settled_clicks))
    )
    paid = 0
    platform = await ledger.system_account(session, AccountKind.PLATFORM)
    for ad in (await session.exec(statement.order_by(col(Ad.id)))).all():
        await session.refresh(ad)
        impressions, clicks = ad.impressions, ad.clicks
        due = (
            impressions * ad.cpm_fen // 1000
            - ad.settled_impressions * ad.cpm_fen // 1000
            + (clicks - ad.settled_clicks) * ad.cpc_fen
        )
        amount = min(due, ad.budget_fen - ad.spent_fen)
        spent = ad.spent_fen + amount
        exhausted = impressions * ad.cpm_fen // 1000 + clicks * ad.cpc_fen >= ad.budget_fen
        # Claim the counters first: a second settler (another process) finds them moved and
        # skips; the ledger key, naming the counters, backs that up.
        values: dict[str, object] = {
            "settled_impressions": impressions,
            "settled_clicks": clicks,
            "spent_fen": spent,
        }
        if exhausted:
            values["active"] = False
        result = await session.exec(
            update(Ad)
            .where(
                col(Ad.id) == ad.id,
                col(Ad.settled_impressions) == ad.settled_impressions,
                col(Ad.settled_clicks) == ad.settled_clicks,
            )
            .values(**values)
        )
        if result.rowcount != 1:
            continue
        if amount > 0:
            await ledger.transfer(
                session,
                key=f"ad:{ad.id}:settle:{impressions}:{clicks}",
                kind="ad_revenue",
                legs=[Leg(ad.advertiser_account_id, -amount), Leg(platform.id or 0, amount)],
                now=now,
            )
            paid += 1
        await session.refresh(ad)
    return paid


# --- the merchant admin: articles with their sales; campaigns, their budgets and slots ---


@dataclass(frozen=True, slots=True)
class ArticleSummary:
    """An article as the admin's list shows it: counters, its product cards and sales."""

    article: Article
    author_name: str
    product_ids: tuple[int, ...]
    sales: Sales


async def summaries(session: AsyncSession) -> list[ArticleSummary]:
    """Every article, newest first, with the sales credited to it."""
    all_articles = (await session.exec(select(Article).order_by(col(Article.id).desc()))).all()
    ids = [article.id or 0 for article in all_articles]
    sales = await sales_of(session, ids)
    cards: dict[int, list[int]] = {}
    rows = await session.exec(
        select(ArticleProduct.article_id, ArticleProduct.product_id).order_by(
            col(ArticleProduct.article_id), col(ArticleProduct.position)
        )
    )
    for article_id, product_id in rows.all():
        cards.setdefault(article_id, []).append(product_id)
    return [
        ArticleSummary(
            article,
            await _author_name(session, article),
            tuple(cards.get(article.id or 0, ())),
            sales.get(article.id or 0, Sales()),
        )
        for article in all_articles
    ]


MAX_AD_FEN = 1_000_000_000  # ten million yuan, as money.MAX_YUAN


def check_ad_text(
    *, advertiser: str, title: str, url: str, description: str = "", pic_url: str = ""
) -> None:
    """BadArgument naming the first wrong field."""
    for field, value, limit in (("advertiser", advertiser, 60), ("title", title, 64)):
        if not value.strip() or len(value) > limit or not value.isprintable():
            raise BadArgument(field, value[:40], f"1-{limit} printable characters")
    if len(description) > 200:
        raise BadArgument("description", description[:40], "at most 200 characters")
    if not url.startswith(("http://", "https://")) or len(url) > 500:
        raise BadArgument("url", url[:40], "an http:// or https:// address")
    web = pic_url.startswith(("http://", "https://")) or images.is_local(pic_url)
    if pic_url and (not web or len(pic_url) > 500):
        raise BadArgument(
            "pic_url", pic_url[:40], "an http:// or https:// address, a /path here, or empty"
        )


def _check_prices(cpm: int, cpc: int) -> None:
    for field, value in (("cpm", cpm), ("cpc", cpc)):
        if not 0 <= value <= MAX_AD_FEN:
            raise BadArgument(field, str(value), "from 0 to ten million yuan")
    if cpm == cpc == 0:
        raise BadArgument("cpm", "0", "an ad costs per impression (cpm), per click (cpc) or both")


async def place(session: AsyncSession, ad: Ad, article_ids: Sequence[int]) -> list[int]:
    """Show the ad in exactly these articles (each article has one ad slot)."""
    wanted = set(article_ids)
    found = set((await session.exec(select(Article.id).where(col(Article.id).in_(wanted)))).all())
    missing = sorted(wanted - found)
    if missing:
        raise BadArgument("article_ids", str(missing[0]), f"no article #{missing[0]}")
    await session.exec(
        update(Article)
        .where(col(Article.ad_id) == ad.id, col(Article.id).not_in(wanted))
        .values(ad_id=None)
    )
    if wanted:
        await session.exec(update(Article).where(col(Article.id).in_(wanted)).values(ad_id=ad.id))
    return sorted(wanted)


async def open_campaign(
    session: AsyncSession,
    *,
    advertiser: str,
    kind: str,
    title: str,
    url: str,
    budget: Fen,
    cpm: Fen,
    cpc: Fen,
    article_ids: Sequence[int],
    now: datetime,
    description: str = "",
    pic_url: str = "",
    product_id: int | None = None,
) -> Ad:
    """A campaign with its budget funded from outside and its article slots, in one go."""
    check_ad_text(
        advertiser=advertiser, title=title, url=url, description=description, pic_url=pic_url
    )
    if kind not in (AdKind.CAMPAIGN, AdKind.PRODUCT):
        raise BadArgument("kind", kind, f"{AdKind.CAMPAIGN} or {AdKind.PRODUCT}")
    if kind == AdKind.PRODUCT:
        if product_id is None or await session.get(Product, product_id) is None:
            raise BadArgument("product_id", str(product_id), "the product the ad shows")
    elif product_id is not None:
        raise BadArgument("product_id", str(product_id), "only a product ad names a product")
    if not 0 < budget <= MAX_AD_FEN:
        raise BadArgument("budget", str(budget), "more than zero, at most ten million yuan")
    _check_prices(cpm, cpc)
    ad = await create_campaign(
        session,
        advertiser=advertiser.strip(),
        title=title.strip(),
        url=url,
        budget=budget,
        cpm=cpm,
        cpc=cpc,
        now=now,
        description=description,
        pic_url=pic_url,
        kind=kind,
        product_id=product_id,
    )
    await place(session, ad, article_ids)
    return ad


async def _campaign(session: AsyncSession, ad_id: int) -> Ad:
    ad = await session.get(Ad, ad_id, populate_existing=True)
    if ad is None:
        raise NotFound("ad", ad_id)
    return ad


async def edit_campaign(
    session: AsyncSession,
    ad_id: int,
    *,
    title: str | None = None,
    description: str | None = None,
    url: str | None = None,
    pic_url: str | None = None,
    cpm: Fen | None = None,
    cpc: Fen | None = None,
    article_ids: Sequence[int] | None = None,
) -> Ad:
    """Change what the ad says and where it shows. Its prices change only before its first
    impression or click: settlement prices every unsettled impression at the current cpm."""
    ad = await _campaign(session, ad_id)
    ad.title = ad.title if title is None else title.strip()
    ad.description = ad.description if description is None else description
    ad.url = ad.url if url is None else url
    ad.pic_url = ad.pic_url if pic_url is None else pic_url
    check_ad_text(
        advertiser=ad.advertiser,
        title=ad.title,
        url=ad.url,
        description=ad.description,
        pic_url=ad.pic_url,
    )
    if (cpm is not None and cpm != ad.cpm_fen) or (cpc is not None and cpc != ad.cpc_fen):
        if ad.impressions or ad.clicks:
            field = "cpm" if cpm is not None and cpm != ad.cpm_fen else "cpc"
            raise BadArgument(
                field, str(cpm if field == "cpm" else cpc), "fixed once the ad has been shown"
            )
        ad.cpm_fen = ad.cpm_fen if cpm is None else cpm
        ad.cpc_fen = ad.cpc_fen if cpc is None else cpc
        _check_prices(ad.cpm_fen, ad.cpc_fen)
    session.add(ad)
    await session.flush()
    if article_ids is not None:
        await place(session, ad, article_ids)
    return ad


async def add_budget(session: AsyncSession, ad_id: int, *, amount: Fen, now: datetime) -> Ad:
    """The advertiser pays `amount` more into the campaign's account, from outside."""
    ad = await _campaign(session, ad_id)
    if not 0 < amount <= MAX_AD_FEN - ad.budget_fen:
        raise BadArgument(
            "amount", str(amount), "more than zero; budgets stop at ten million yuan"
        )
    result = await session.exec(
        update(Ad)
        .where(col(Ad.id) == ad_id, col(Ad.budget_fen) == ad.budget_fen)
        .values(budget_fen=col(Ad.budget_fen) + amount)
    )
    if result.rowcount != 1:
        raise BadArgument("amount", str(amount), "the budget changed meanwhile; try again")
    # Budgets only grow, so the new total names this top-up uniquely.
    await ledger.fund_from_outside(
        session,
        ad.advertiser_account_id,
        amount,
        key=f"ad:{ad_id}:fund:{ad.budget_fen + amount}",
        kind=AD_BUDGET,
        now=now,
    )
    return await _campaign(session, ad_id)


async def set_active(session: AsyncSession, ad_id: int, *, active: bool) -> Ad:
    """Pause (or resume) a campaign: paused, it neither shows nor counts."""
    ad = await _campaign(session, ad_id)
    if active and accrued_fen(ad) >= ad.budget_fen:
        raise BadArgument("active", "true", "its budget is spent: add budget first")
    ad.active = active
    session.add(ad)
    await session.flush()
    return ad


async def campaigns(session: AsyncSession) -> list[tuple[Ad, list[int]]]:
    """Every ad, oldest first, with the articles it is placed in."""
    ads = (await session.exec(select(Ad).order_by(col(Ad.id)))).all()
    slots: dict[int, list[int]] = {}
    rows = await session.exec(
        select(Article.id, Article.ad_id).where(col(Article.ad_id).is_not(None))
    )
    for article_id, ad_id in rows.all():
        slots.setdefault(ad_id or 0, []).append(article_id or 0)
    return [(ad, sorted(slots.get(ad.id or 0, []))) for ad in ads]
