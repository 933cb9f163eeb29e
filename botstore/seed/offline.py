"""Demo offline merchants and partner services, so `pay`, a scan and `use` work at once."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.services import merchants, partners

DEMO_MERCHANTS = [
    {"code": "TEA01", "name": "Lotus Tea House", "scene": "merchant_TEA01"},
    {"code": "NOODLE", "name": "Lanzhou Noodle Bar", "scene": "merchant_NOODLE"},
    {"code": "BIKESHOP", "name": "Two Wheels Bike Shop", "scene": "merchant_BIKESHOP"},
]

DEMO_SERVICES: list[dict[str, object]] = [
    {
        "name": "Swift Ride",
        "category": "ride hailing",
        "description": "Ride hailing across the city",
        "app_id": "wx5ride0000000001",
        "commission_bps": 800,
    },
    {
        "name": "Orange Bike",
        "category": "bike",
        "description": "Shared bikes, pay per ride",
        "app_id": "wx5bike0000000002",
        "commission_bps": 500,
    },
    {
        "name": "Harbour Hotels",
        "category": "hotel",
        "description": "Hotel rooms tonight",
        "app_id": "wx5hotel000000003",
        "commission_bps": 1200,
    },
    {
        "name": "TopUp Mobile",
        "category": "phone recharge",
        "description": "Phone credit recharge",
        "app_id": "wx5phone000000004",
        "commission_bps": 150,
    },
]


async def seed_offline(session: AsyncSession, *, now: datetime) -> None:
    for merchant in DEMO_MERCHANTS:
        await merchants.create(session, **merchant, now=now)
    for service in DEMO_SERVICES:
        await partners.create(session, **service, now=now)  # type: ignore[arg-type]
