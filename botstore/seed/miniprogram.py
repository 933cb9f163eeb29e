"""Demo subscribe-message templates of the mini program, so a backend can send one at once."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.services import miniprogram

# Fixed ids, so docs/miniprogram.md's walk-through can name one.
DEMO_TEMPLATES: list[dict[str, object]] = [
    {
        "template_id": "OrderShipped_bOtStOrE_dEmO_0000000000000001",
        "title": "订单发货通知 Order shipped",
        "keywords": [
            ("character_string1", "订单号 Order"),
            ("thing2", "商品名称 Product"),
            ("amount3", "金额 Amount"),
            ("date4", "发货时间 Shipped"),
        ],
    },
    {
        "template_id": "PointsChanged_bOtStOrE_dEmO_000000000000002",
        "title": "积分变动提醒 Points changed",
        "keywords": [("number1", "变动积分 Points"), ("thing2", "变动原因 Reason")],
    },
    {
        "template_id": "ArticleReply_bOtStOrE_dEmO_0000000000000003",
        "title": "留言回复通知 Reply to your comment",
        "keywords": [
            ("thing1", "文章 Article"),
            ("thing2", "回复内容 Reply"),
            ("name3", "回复人 By"),
        ],
    },
]


async def seed_miniprogram(session: AsyncSession, *, now: datetime) -> None:
    for template in DEMO_TEMPLATES:
        await miniprogram.create_template(session, now=now, **template)  # type: ignore[arg-type]
