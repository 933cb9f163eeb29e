"""Demo articles: two by the account, one by the Tea House owner, and a funded ad campaign."""

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from botstore import images
from botstore.money import Fen
from botstore.services import articles, fans

AUTHOR = "o_demo_tea_house_owner_0001"


async def seed_articles(session: AsyncSession, *, now: datetime) -> None:
    """The campaign's budget comes from outside; the articles go through the services. The
    pictures are botstore's own name cards."""
    ad = await articles.create_campaign(
        session,
        advertiser="Fruit Farm",
        title="Mangoes picked this morning",
        description="Hainan mangoes delivered tomorrow. Tap to see the farm.",
        url="https://example.com/fruit-farm",
        pic_url=images.card_path("Hainan mangoes"),
        budget=Fen(5000),
        cpm=Fen(2000),
        cpc=Fen(50),
        now=now,
    )
    author = await fans.get_or_create(session, AUTHOR, now=now)
    specs = [
        (
            "Welcome to botstore",
            "What this account offers, and how to tip the writers you like.",
            None,
            ad.id,
        ),
        (
            "How we brew Longjing",
            "Eighty degrees, three minutes, a glass cup.",
            author,
            ad.id,
        ),
        ("Autumn sale next week", "Everything in the stores, ten percent off.", None, None),
    ]
    for index, (title, digest, by, ad_id) in enumerate(specs):
        await articles.create_article(
            session,
            title=title,
            digest=digest,
            body=f'{digest}\n\nSend "tip #{index + 1} 1" to reward the author.',
            cover_url=images.card_path(title),
            author=by,
            ad_id=ad_id,
            now=now + timedelta(seconds=index),
        )
