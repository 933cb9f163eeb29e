"""Demo coupons and product cards: a level-up coupon for gold and platinum, a monthly coupon for
each level, the platform's coupon budget, and product cards in two demo articles.

A new fan can: `topup 600`, `pay TEA01 500` (500 points: gold, and the gold coupon arrives in
the outbox), `read 2` (Longjing tea's card), `buy <its id>` (the coupon applies by itself).
"""

from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.models import Article, CampaignOccasion, Product
from botstore.money import Fen
from botstore.services import articles, coupons

BUDGET = Fen(200_000)  # ¥2000 of discounts the platform can fund before it earns anything

CAMPAIGNS: list[dict[str, object]] = [
    {
        "name": "Gold welcome",
        "occasion": CampaignOccasion.LEVELUP,
        "level": "gold",
        "amount_off_fen": 2000,
        "min_spend_fen": 6000,
        "valid_days": 30,
    },
    {
        "name": "Platinum welcome",
        "occasion": CampaignOccasion.LEVELUP,
        "level": "platinum",
        "percent_off": 15,
        "cap_fen": 6000,
        "valid_days": 60,
    },
    {
        "name": "Green monthly",
        "occasion": CampaignOccasion.MONTHLY,
        "level": "green",
        "amount_off_fen": 500,
        "min_spend_fen": 3000,
        "valid_days": 30,
    },
    {
        "name": "Gold monthly",
        "occasion": CampaignOccasion.MONTHLY,
        "level": "gold",
        "percent_off": 10,
        "cap_fen": 3000,
        "valid_days": 30,
    },
    {
        "name": "Platinum monthly",
        "occasion": CampaignOccasion.MONTHLY,
        "level": "platinum",
        "amount_off_fen": 3000,
        "min_spend_fen": 10000,
        "valid_days": 30,
    },
]

# Article title -> the products (by name) it shows as cards, in order.
CARDS = {
    "How we brew Longjing": ["Longjing green tea 250g", "Celadon tea cup set"],
    "Autumn sale next week": ["Hainan mango box 5kg", "Kiwi 12 pieces"],
}


async def seed_coupons(session: AsyncSession, *, now: datetime) -> None:
    """Campaigns, the coupon budget and product cards (after the stores and articles)."""
    await coupons.fund_budget(session, amount=BUDGET, key="seed:coupon-budget", now=now)
    for campaign in CAMPAIGNS:
        await coupons.create_campaign(session, now=now, **campaign)  # type: ignore[arg-type]
    for title, names in CARDS.items():
        article = (await session.exec(select(Article).where(Article.title == title))).first()
        if article is None:
            continue
        for name in names:
            product = (await session.exec(select(Product).where(Product.name == name))).first()
            if product is not None:
                await articles.add_product_card(
                    session, article_id=article.id or 0, product_id=product.id or 0
                )
