"""Articles, tips and ad placements: reading, tipping, impressions, clicks and ad settlement.

Where the money goes:
- A tip moves wallet -> author account (the fan author's wallet, or the platform account for
  the account's own articles) minus the platform fee, and the fee -> platform, in one ledger
  transaction keyed on the message. The fee is floor(amount * tip_fee_bps / 10000).
- An ad campaign's budget sits in its advertiser account, funded from outside. Impressions and
  clicks only count; `settle_ads` moves what they cost to the platform account. The rounding
  rule, in integer fen: the cost through n impressions is floor(n * cpm_fen / 1000), and a
  settlement pays that minus the same for the impressions settled before, so remainders carry
  forward; each click costs cpc_fen. Payments are capped at the budget; an ad whose cost reaches
  its budget stops showing, and stops counting.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.errors import NotFound, OwnArticle
from botstore.models import (
    Account,
    AccountKind,
    Ad,
    AdKind,
    Article,
    ArticleTip,
    Fan,
)
from botstore.money import Fen
from botstore.services import ledger
from botstore.services.ledger import Leg

INDEX_SIZE = 20


@dataclass(frozen=True, slots=True)
class ArticleView:
    """An article with its author's name and the ad it shows (None: no ad, or budget spent)."""

    article: Article
    author_name: str
    ad: Ad | None


@dataclass(frozen=True, slots=True)
class Receipt:
    tip: ArticleTip
    article: Article
    author_name: str


def accrued_fen(ad: Ad) -> int:
    """What the ad's impressions and clicks cost so far (uncapped)."""
    return ad.impressions * ad.cpm_fen // 1000 + ad.clicks * ad.cpc_fen


def showing(ad: Ad | None) -> bool:
    return ad is not None and ad.active and accrued_fen(ad) < ad.budget_fen


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


async def article_view(session: AsyncSession, article_id: int) -> ArticleView:
    """One article as a page shows it; counts nothing."""
    article = await _article(session, article_id)
    ad = await _ad(session, article.ad_id)
    return ArticleView(article, await _author_name(session, article), ad if showing(ad) else None)


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
            .where(col(Ad.id) == article.ad_id, col(Ad.active), _has_budget())
            .values(impressions=col(Ad.impressions) + 1)
        )
        if result.rowcount == 1:
            shown = await _ad(session, article.ad_id)
    return ArticleView(article, await _author_name(session, article), shown)


def _has_budget() -> object:
    accrued = (col(Ad.impressions) * col(Ad.cpm_fen)) // 1000 + col(Ad.clicks) * col(Ad.cpc_fen)
    return accrued < col(Ad.budget_fen)


async def click(session: AsyncSession, *, ad_id: int) -> Ad:
    """Count a click if the ad still shows; the ad (for its URL) either way."""
    ad = await _ad(session, ad_id)
    if ad is None:
        raise NotFound("ad", ad_id)
    await session.exec(
        update(Ad)
        .where(col(Ad.id) == ad_id, col(Ad.active), _has_budget())
        .values(clicks=col(Ad.clicks) + 1)
    )
    return ad


async def tip(
    session: AsyncSession,
    fan: Fan,
    *,
    article_id: int,
    amount: Fen,
    fee_bps: int,
    key: str,
    now: datetime,
) -> Receipt:
    """Move `amount` from the fan's wallet to the author (less the platform fee), once per key."""
    article = await _article(session, article_id)
    if article.author_fan_id is not None and article.author_fan_id == fan.id:
        raise OwnArticle(article_id)
    platform = await ledger.system_account(session, AccountKind.PLATFORM)
    fee = amount * fee_bps // 10000
    credits: dict[int, int] = {}
    for account_id, fen in ((article.author_account_id, amount - fee), (platform.id or 0, fee)):
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
) -> Ad:
    """Another merchant's campaign, its budget funded from outside into its own account."""
    account = Account(kind=AccountKind.ADVERTISER, name=f"ads of {advertiser}", created_at=now)
    session.add(account)
    await session.flush()
    ad = Ad(
        advertiser=advertiser,
        kind=AdKind.CAMPAIGN,
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
    outside = await ledger.system_account(session, AccountKind.OUTSIDE)
    await ledger.transfer(
        session,
        key=f"ad:{ad.id}:fund",
        kind="ad_budget",
        legs=[Leg(outside.id or 0, -budget), Leg(account.id or 0, budget)],
        now=now,
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
