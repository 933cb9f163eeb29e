"""Articles through the webhook: list, read (reads and ad impressions), tips, ad settlement."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.keys import scheduler_key
from botstore.models import AccountKind, Ad, Article, ArticleTip, Fan, LedgerTransaction
from botstore.money import Fen
from botstore.services import articles, ledger
from botstore.wechat import NewsReply
from tests.clicks import ad_link_on_page, click, read_and_get_ad_link
from tests.helpers import count
from tests.webhook.westore import balance, say, topup

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def config(config: Config) -> Config:
    # A 2.5% platform fee, so every tip test checks the split to the fen.
    return config.replace(articles={"tip_fee_bps": 250})


async def add_article(
    sessions: Sessions, clock: FrozenClock, *, author: str | None = None, ad_id: int | None = None
) -> int:
    async with sessions() as session, session.begin():
        fan = None
        if author is not None:
            fan = (await session.exec(select(Fan).where(Fan.openid == author))).one()
        article = await articles.create_article(
            session,
            title="Brewing tea",
            digest="Three minutes.",
            body="Warm the cup.\n\nPour.",
            author=fan,
            ad_id=ad_id,
            now=clock.now(),
        )
        return article.id or 0


async def add_ad(
    sessions: Sessions, clock: FrozenClock, *, budget: int, cpm: int, cpc: int
) -> int:
    async with sessions() as session, session.begin():
        ad = await articles.create_campaign(
            session,
            advertiser="Fruit Farm",
            title="Fresh mangoes",
            url="https://example.com/mango",
            budget=Fen(budget),
            cpm=Fen(cpm),
            cpc=Fen(cpc),
            now=clock.now(),
        )
        return ad.id or 0


async def platform_balance(sessions: Sessions) -> int:
    async with sessions() as session:
        return (await ledger.system_account(session, AccountKind.PLATFORM)).balance_fen


async def advertiser_balance(sessions: Sessions, ad_id: int) -> int:
    async with sessions() as session:
        ad = await session.get(Ad, ad_id)
        assert ad is not None
        return await ledger.balance_of(session, ad.advertiser_account_id)


async def get_ad(sessions: Sessions, ad_id: int) -> Ad:
    async with sessions() as session:
        ad = await session.get(Ad, ad_id)
        assert ad is not None
        return ad


async def get_article(sessions: Sessions, article_id: int) -> Article:
    async with sessions() as session:
        article = await session.get(Article, article_id)
        assert article is not None
        return article


async def test_tip_moves_money_to_the_author_less_the_fee_once_per_message(
    wechat: Emulator, sessions: Sessions, clock: FrozenClock
) -> None:
    await topup(wechat, "o_author", "1")
    article_id = await add_article(sessions, clock, author="o_author")
    await topup(wechat, "o_reader", "20")

    first = await wechat.say(f"tip #{article_id} 10", fan="o_reader", msg_id=4242)
    retry = await wechat.say(f"tip #{article_id} 10", fan="o_reader", msg_id=4242)

    assert retry.raw == first.raw
    assert first.content == (
        'You tipped ¥10.00 to fan #1 for article #1 "Brewing tea" (platform fee ¥0.25). '
        "It now has 1 tips, ¥10.00 in all."
    )
    assert await balance(wechat, "o_reader") == "10.00"
    assert await balance(wechat, "o_author") == "10.75"
    assert await platform_balance(sessions) == 25
    assert await count(sessions, ArticleTip) == 1
    article = await get_article(sessions, article_id)
    assert (article.tips_count, article.tips_total_fen) == (1, 1000)
    await say(wechat, "o_reader", "赞赏 1 0.01")  # a new message tips again; 0.01 has no fee
    article = await get_article(sessions, article_id)
    assert (article.tips_count, article.tips_total_fen) == (2, 1001)
    assert await balance(wechat, "o_author") == "10.76"


async def test_a_tip_to_the_accounts_own_article_goes_to_the_platform(
    wechat: Emulator, sessions: Sessions, clock: FrozenClock
) -> None:
    article_id = await add_article(sessions, clock)
    await topup(wechat, "o_reader", "5")
    reply = await say(wechat, "o_reader", f"tip {article_id} 4")
    assert reply.startswith("You tipped ¥4.00 to the account for article #1")
    assert await platform_balance(sessions) == 400
    assert await balance(wechat, "o_reader") == "1.00"


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("tip", "<article id> is missing\nUsage: tip <article id> <amount>"),
        ("tip 1", "<amount> is missing\nUsage: tip <article id> <amount>"),
        (
            "tip x 1",
            "<article id>: an id is a number such as #12\nUsage: tip <article id> <amount>",
        ),
        ("tip 1 0", "<amount>: must be more than zero\nUsage: tip <article id> <amount>"),
        ("tip 1 -3", "<amount>: must be more than zero\nUsage: tip <article id> <amount>"),
        ("tip 1 0.001", "<amount>: at most two decimals (fen)\nUsage: tip <article id> <amount>"),
        ("tip 1 2 3", "unexpected '3'\nUsage: tip <article id> <amount>"),
        ("tip 99 1", "There is no article #99."),
        (
            "tip 1 6",
            'Not enough money: this needs ¥6.00 and the balance is ¥5.00. Send "topup <amount>" to add some.',
        ),
        ("tip 2 1", "Article #2 is your own: you can't tip it."),
    ],
)
async def test_tip_refuses_bad_arguments_and_changes_nothing(
    wechat: Emulator, sessions: Sessions, clock: FrozenClock, text: str, reply: str
) -> None:
    await topup(wechat, "o_reader", "5")
    await add_article(sessions, clock)
    await add_article(sessions, clock, author="o_reader")
    before = await count(sessions, LedgerTransaction)
    assert await say(wechat, "o_reader", text) == reply
    assert await count(sessions, LedgerTransaction) == before
    assert await count(sessions, ArticleTip) == 0
    assert (await get_article(sessions, 1)).tips_count == 0
    assert await balance(wechat, "o_reader") == "5.00"


async def test_articles_is_one_card_linking_to_the_index_page(
    wechat: Emulator, sessions: Sessions, clock: FrozenClock
) -> None:
    assert await say(wechat, "o_x", "articles") == "No articles yet."
    await add_article(sessions, clock)
    await add_article(sessions, clock)
    exchange = await wechat.say("文章", fan="o_x")
    assert exchange.reply is not None
    news = exchange.reply.reply
    assert isinstance(news, NewsReply) and len(news.articles) == 1
    card = news.articles[0]
    assert card.title == "文章（2）"
    assert card.url == "http://127.0.0.1:8080/articles"
    assert card.description == '#2 Brewing tea\n#1 Brewing tea\n发送"阅读 <文章编号>"阅读。'
    card = (await wechat.say("articles", fan="o_x")).reply.reply.articles[0]
    assert card.title == "Articles (2)"
    assert card.description == (
        '#2 Brewing tea\n#1 Brewing tea\nRead one with "read <article id>".'
    )


async def test_read_counts_a_read_and_an_impression_once_per_message(
    wechat: Emulator, sessions: Sessions, clock: FrozenClock
) -> None:
    ad_id = await add_ad(sessions, clock, budget=1000, cpm=1500, cpc=50)
    article_id = await add_article(sessions, clock, ad_id=ad_id)
    first = await wechat.say(f"read #{article_id}", fan="o_x", msg_id=77)
    retry = await wechat.say(f"read #{article_id}", fan="o_x", msg_id=77)
    assert retry.raw == first.raw
    assert first.reply is not None
    news = first.reply.reply
    assert isinstance(news, NewsReply) and len(news.articles) == 1
    card = news.articles[0]
    assert card.title == "Brewing tea"
    url = urlsplit(card.url)
    assert url.path == "/articles/1"
    query = parse_qs(url.query)
    # The impression counted for o_x, signed: what makes o_x's click of the ad charge.
    assert (query["openid"], query["impression"]) == (["o_x"], ["1"])
    assert len(query["sig"][0]) == 64 and query["expires"]
    assert card.description == (
        "#1 by the account. Three minutes.\n"
        '1 reads · 0 tips (¥0.00). Tip with "tip #1 <amount>".\n'
        "Sponsored by Fruit Farm: Fresh mangoes (on the page)."
    )
    await wechat.say("阅读 1", fan="o_y")
    assert (await get_article(sessions, article_id)).reads == 2
    assert (await get_ad(sessions, ad_id)).impressions == 2
    assert await say(wechat, "o_x", "read 9") == "There is no article #9."
    assert await say(wechat, "o_x", "read") == (
        "<article id> is missing\nUsage: read <article id>"
    )


async def test_settlement_pays_what_is_due_exactly_once_carrying_remainders(
    wechat: Emulator, sessions: Sessions, clock: FrozenClock, client
) -> None:
    # 1.5 fen per impression: 3 impressions cost 4 fen (floor 4.5), the fourth brings it to 6.
    ad_id = await add_ad(sessions, clock, budget=1000, cpm=1500, cpc=50)
    await add_article(sessions, clock, ad_id=ad_id)
    for fan in ("o_a", "o_b", "o_c"):
        await wechat.say("read 1", fan=fan)
    async with sessions() as session, session.begin():
        assert await articles.settle_ads(session, now=clock.now()) == 1
    async with sessions() as session, session.begin():
        assert await articles.settle_ads(session, now=clock.now()) == 0
    assert await platform_balance(sessions) == 4
    await click(client, await ad_link_on_page(client, await wechat.say("read 1", fan="o_d")))
    clock.advance(timedelta(minutes=1))
    # The scheduler's job does the same, and again only once.
    _, _, ran = await client.app[scheduler_key].advance(timedelta())
    assert any(r.job == "articles.settle_ads" and r.done == 1 for r in ran)
    _, _, ran = await client.app[scheduler_key].advance(timedelta())
    assert not any(r.job == "articles.settle_ads" and r.done for r in ran)
    assert await platform_balance(sessions) == 6 + 50
    assert await advertiser_balance(sessions, ad_id) == 1000 - 56
    ad = await get_ad(sessions, ad_id)
    assert (ad.spent_fen, ad.settled_impressions, ad.settled_clicks, ad.active) == (
        56,
        4,
        1,
        True,
    )


async def test_a_spent_budget_stops_the_ad(
    wechat: Emulator, sessions: Sessions, clock: FrozenClock, client
) -> None:
    ad_id = await add_ad(sessions, clock, budget=120, cpm=0, cpc=50)
    await add_article(sessions, clock, ad_id=ad_id)
    # Each click is charged as it happens: 50, 50, then the 20 the budget has left.
    for fan, charged in (("o_a", 50), ("o_b", 100), ("o_c", 120)):
        await click(client, await read_and_get_ad_link(wechat, client, fan, 1))
        assert await platform_balance(sessions) == charged
    ad = await get_ad(sessions, ad_id)
    assert (ad.clicks, ad.impressions, ad.spent_fen, ad.active) == (3, 3, 120, False)
    exchange = await wechat.say("read 1", fan="o_x")
    assert exchange.reply is not None
    assert "Sponsored" not in exchange.reply.reply.articles[0].description
    assert (await get_ad(sessions, ad_id)).impressions == 3
    async with sessions() as session, session.begin():
        assert await articles.settle_ads(session, now=clock.now()) == 0
    assert await platform_balance(sessions) == 120
    assert await advertiser_balance(sessions, ad_id) == 0
