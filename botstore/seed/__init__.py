"""Demo data, loaded once into an empty database."""

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.models import KeywordRule, MatchType
from botstore.seed.articles import seed_articles
from botstore.seed.coupons import seed_coupons
from botstore.seed.miniprogram import seed_miniprogram
from botstore.seed.offline import seed_offline
from botstore.seed.stores import seed_stores
from botstore.seed.wealth import seed_wealth_products
from botstore.seed.wxpay import seed_wxpay
from botstore.services import keywords

DEMO_RULES: list[dict[str, object]] = [
    {
        "match_type": MatchType.EXACT,
        "pattern": "hello",
        "priority": 10,
        "content": "Hello {{ nickname or 'there' }}! Send help to see what botstore can do.",
    },
    {
        "match_type": MatchType.CONTAINS,
        "pattern": "营业时间",
        "priority": 5,
        "content": "我们全天候营业 (open 24/7).",
    },
    {
        "match_type": MatchType.REGEX,
        "pattern": r"^(opening )?hours\??$",
        "priority": 5,
        "content": "botstore never closes: the sandbox is open 24/7.",
    },
    {
        "match_type": MatchType.EXACT,
        "pattern": "about",
        "priority": 1,
        "reply_type": "news",
        "title": "About botstore",
        "description": "A local emulator of a WeChat Official Account and its mini-program shops.",
        "url": "http://127.0.0.1:8080/console",
        "pic_url": "",
    },
]


async def seed_keyword_rules(session: AsyncSession, *, now: datetime) -> None:
    for rule in DEMO_RULES:
        session.add(keywords.validate(KeywordRule(**rule, created_at=now)))


Seeder = Callable[..., Awaitable[None]]

# Each business area adds its demo data here; they run in this order, in one transaction.
SEEDERS: list[Seeder] = [seed_keyword_rules]

# Offline merchants and partner services (botstore/seed/offline.py).
SEEDERS.append(seed_offline)
SEEDERS.append(seed_wealth_products)
# WeStore shops, products, a group price and a resale (botstore/seed/stores.py).
SEEDERS.append(seed_stores)
# Articles by the account and a demo fan, and a funded ad campaign (botstore/seed/articles.py).
SEEDERS.append(seed_articles)
# Coupon campaigns, the platform's coupon budget and product cards in articles
# (botstore/seed/coupons.py; after the stores and articles it points at).
SEEDERS.append(seed_coupons)
# The mini program's subscribe-message templates (botstore/seed/miniprogram.py).
SEEDERS.append(seed_miniprogram)
# The demo WeChat Pay merchant, whose keys docs/wechat-pay.md publishes (botstore/seed/wxpay.py).
SEEDERS.append(seed_wxpay)


async def seed_demo(session: AsyncSession, *, now: datetime) -> bool:
    """Add the demo data unless the database already has some; True if it did."""
    if (await session.exec(select(KeywordRule.id).limit(1))).first() is not None:
        return False
    for seeder in SEEDERS:
        await seeder(session, now=now)
        await session.flush()
    return True
