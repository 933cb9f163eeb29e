"""Conversations through the real signed webhook: a Chinese fan never reads English, an English
fan never reads Chinese (names aside), whatever the account's default."""

import re
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlmodel import col, select

import botstore.templating
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.i18n import translations
from botstore.keys import scheduler_key
from botstore.models import OutboxMessage
from botstore.seed.wealth import seed_wealth_products
from tests.api.cgi import get, get_token

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff01-\uff0c\uff1a-\uff5e]")


@pytest.fixture
def config(config: Config) -> Config:
    """The platform's default: fans who have typed no command yet read Chinese."""
    return config.replace(wechat={"language": "zh_CN"})


async def say(wechat: Emulator, fan: str, text: str) -> str:
    exchange = await wechat.say(text, fan=fan)
    assert exchange.status == 200, exchange.body
    return exchange.content


async def language(client: TestClient, config: Config, openid: str) -> str:
    token = await get_token(client, config)
    return (await get(client, "/cgi-bin/user/info", token, openid=openid))["language"]


async def test_a_chinese_conversation(
    wechat: Emulator, client: TestClient, config: Config
) -> None:
    welcome = await wechat.event("subscribe", fan="o_mei")
    assert welcome.content == (
        '欢迎来到 botstore！你的钱包已开通。\n发送"帮助"查看可用功能，或发送"充值 100"充入沙箱资金。'
    )
    assert await language(client, config, "o_mei") == "zh_CN"  # the account's, until she types
    helped = await say(wechat, "o_mei", "帮助")
    assert "[钱包] 余额，充值 <金额>，账单" in helped
    assert "[订单] 购买 <商品编号> [数量] [不用券]" in helped
    assert await say(wechat, "o_mei", "帮助 购买") == (
        "购买 <商品编号> [数量] [不用券] [来自] [文章编号]\n"
        '购买并用钱包付款；自动使用你最优惠的券，加上"不用券"则不用。'
    )
    assert await say(wechat, "o_mei", "充值 100元") == "已充值 ¥100.00。余额：¥100.00"
    assert await say(wechat, "o_mei", "充值 1e3") == (
        "<金额>：请用普通数字写金额，例如 1000（不要用指数）\n用法：充值 <金额>"
    )
    assert await say(wechat, "o_mei", "充值") == "缺少<金额>\n用法：充值 <金额>"
    assert await say(wechat, "o_xiao", "开店 小明茶馆") == (
        '你的店铺 #1"小明茶馆"开张了。上架商品：上架 <名称> <价格> [库存]'
    )
    listed = await say(wechat, "o_xiao", "上架 乌龙茶 1,250 5")
    assert listed.startswith("已在 小明茶馆 上架商品 #1 乌龙茶，价格 ¥1,250.00（库存 5）")
    await say(wechat, "o_mei", "充值 ２４００")  # full-width digits
    assert await say(wechat, "o_mei", "购买 #1 2 不用券") == (
        '订单 #1：商品 #1 × 2，实付 ¥2,500.00。平台代管这笔钱，直到你收货后发送"收货 #1"。'
    )
    # A refused order last: PostgreSQL spends an order id on it.
    assert await say(wechat, "o_mei", "购买 #1 1") == (
        '余额不足：需要 ¥1,250.00，余额为 ¥0.00。发送"充值 <金额>"充值。'
    )
    # 2026-01-01 04:00 UTC is noon on the account's clock (Asia/Shanghai).
    assert await say(wechat, "o_mei", "账单") == (
        "你的钱包，最近 3 笔收支：\n"
        "2026年1月1日 12:00 付款给 小明茶馆（订单 #1） -¥2,500.00\n"
        "2026年1月1日 12:00 充值 +¥2,400.00\n"
        "2026年1月1日 12:00 充值 +¥100.00\n"
        "时间均为中国时间。"  # the account's zone (wallet.timezone), named once
    )
    assert await say(wechat, "o_mei", "订单") == "买到的：\n#1 乌龙茶 x2 ¥2,500.00 已付款"
    assert await say(wechat, "o_mei", "发货 #1") == "只有订单 #1 的供货店铺的店主才能这样做。"
    assert await say(wechat, "o_mei", "你好") == '抱歉，我不明白"你好"。发送"帮助"查看命令。'
    assert await say(wechat, "o_mei", "语言") == (
        'botstore 正在用中文回复你。发送"语言 English"切换为英文。'
    )
    # Her choice, asked in Chinese, is answered in the language chosen and kept.
    assert await say(wechat, "o_mei", "语言 English") == (
        "From now on botstore replies to you in English."
    )
    assert await language(client, config, "o_mei") == "en"
    assert await say(wechat, "o_mei", "hello") == (
        'Sorry, I don\'t know "hello". Send "help" for the commands.'
    )
    assert await say(wechat, "o_mei", "语言 火星文") == (
        '"火星文"不是有效的语言：botstore 支持中文和英文。'
    )


async def test_an_english_fan_reads_no_chinese(
    wechat: Emulator, client: TestClient, config: Config
) -> None:
    # A brand-new fan of a Chinese account is welcomed in Chinese: nothing tells us otherwise.
    assert CJK.search((await wechat.event("subscribe", fan="o_ann")).content)
    await say(wechat, "o_bob", "open Bob's Teas")
    await say(wechat, "o_bob", "list Oolong 12.5 5")
    replies = [
        await say(wechat, "o_ann", text)
        for text in (
            "help",
            "help buy",
            "topup 1,000.50",
            "balance",
            "topup 1e3",
            "open Ann's Teas",
            "list Green 3",
            "buy #1 2 nocoupon",
            "history",
            "orders",
            "stores",
            "coupons",
            "points",
            "wealth",
            "holdings",
            "articles",
            "language",
            "what is this",  # no command word: the fan's language, English since "help"
        )
    ]
    assert all(not CJK.search(reply) for reply in replies), replies
    assert replies[2] == "Topped up ¥1,000.50. Balance: ¥1,000.50"
    assert replies[8].splitlines()[1] == "Jan 1, 2026 12:00 Paid Bob's Teas (order #1) -¥25.00"
    assert await language(client, config, "o_ann") == "en"
    # A menu click types no word: it follows her language.
    click = await wechat.event("CLICK", fan="o_ann", event_key="balance")
    assert click.content.splitlines()[0] == "Your balance: ¥975.50"  # then her store's earnings
    assert await say(wechat, "o_ann", "language 中文") == "从现在起，botstore 用中文回复你。"
    # (A second event needs its own CreateTime: events are deduplicated by it.)
    again = await wechat.event(
        "CLICK", fan="o_ann", event_key="balance", create_time=wechat.now() + 1
    )
    assert again.content.splitlines()[0] == "你的余额：¥975.50"


async def test_notices_follow_each_fans_language(
    wechat: Emulator, client: TestClient, sessions, clock: FrozenClock
) -> None:
    async with sessions() as session, session.begin():
        await seed_wealth_products(session, now=clock.now())
    await say(wechat, "o_zh", "充值 100")
    assert (await say(wechat, "o_zh", "投资 #1 100")).startswith(
        "已买入 Daily Dividend 30 ¥100.00"
    )
    await say(wechat, "o_en", "topup 100")
    assert (await say(wechat, "o_en", "invest #1 100")).startswith("Bought ¥100.00")
    await client.app[scheduler_key].advance(timedelta(days=1))
    async with sessions() as session:
        rows = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    notices = {row.openid: row.payload["text"]["content"] for row in rows}
    assert notices == {
        "o_zh": "Daily Dividend 30 的分红 ¥0.01 已到账（持仓 #1，第 1/30 期）。累计已付：¥0.01。",
        "o_en": "Dividend ¥0.01 from Daily Dividend 30 (holding #2, 1/30) is in your wallet. "
        "Paid so far: ¥0.01.",
    }


async def test_messages_reuse_the_catalogues_and_environments_built_at_start(
    wechat: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    await say(wechat, "o_a", "余额")  # the app is up
    built: list[str | None] = []
    real = botstore.templating.project_environment
    monkeypatch.setattr(
        botstore.templating,
        "project_environment",
        lambda *args, **kw: built.append(kw.get("locale")) or real(*args, **kw),
    )
    loaded = translations.cache_info().misses
    for text in ("余额", "balance", "帮助", "help", "充值 5", "topup 5", "你好", "hi"):
        await say(wechat, "o_a", text)
    assert built == []
    assert translations.cache_info().misses == loaded
