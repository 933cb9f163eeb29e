"""Demo wealth products, each fund pre-funded with the reserve its whole quota can earn."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.services import wealth

DEMO_AGENCY = "Sandbox Fund Co."

DEMO_PRODUCTS: list[dict[str, int | str]] = [
    {
        "name": "Daily Dividend 30",
        "rate_bps": 365,  # 3.65% a year: 1 fen a day per 100 yuan
        "term_days": 30,
        "interval_days": 1,
        "min_fen": 50_00,
        "per_fan_quota_fen": 50_000_00,
        "total_quota_fen": 10_000_000_00,
        "commission_bps": 1000,
    },
    {
        "name": "Steady 90",
        "rate_bps": 420,
        "term_days": 90,
        "interval_days": 30,
        "min_fen": 1_000_00,
        "per_fan_quota_fen": 200_000_00,
        "total_quota_fen": 5_000_000_00,
        "commission_bps": 500,
    },
    {
        "name": "Half-Year Plus",
        "rate_bps": 480,
        "term_days": 180,
        "interval_days": 30,
        "min_fen": 5_000_00,
        "per_fan_quota_fen": 500_000_00,
        "total_quota_fen": 20_000_000_00,
        "commission_bps": 500,
    },
]


async def seed_wealth_products(session: AsyncSession, *, now: datetime) -> None:
    for spec in DEMO_PRODUCTS:
        product = await wealth.create_product(session, **spec, agency_name=DEMO_AGENCY, now=now)  # type: ignore[arg-type]
        await wealth.fund_product(
            session,
            product,
            amount_fen=wealth.reserve_for(product),
            key=f"seed:wealth_fund:{product.id}",
            now=now,
        )
