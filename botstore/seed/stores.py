"""Demo WeStore data: three stores of demo fans, products with stock, a group price, a resale."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from botstore import images
from botstore.money import Fen
from botstore.services import fans, stores


@dataclass(frozen=True, slots=True)
class DemoStore:
    openid: str
    name: str
    description: str
    products: list[tuple[str, int, int]]  # name, price in fen, stock
    group: tuple[int, int, int] | None = None  # product index, group price in fen, size
    resell: tuple[int, int, int] | None = None  # store index, product index, price in fen


DEMO_STORES = [
    DemoStore(
        "o_demo_tea_house_owner_0001",
        "Tea House",
        "Spring teas from Hangzhou, packed by hand.",
        [
            ("Longjing green tea 250g", 6800, 50),
            ("Jasmine tea 100g", 3200, 80),
            ("Celadon tea cup set", 12000, 10),
        ],
        group=(0, 4900, 3),
    ),
    DemoStore(
        "o_demo_fruit_farm_owner_0002",
        "Fruit Farm",
        "Fruit picked this morning, delivered tomorrow.",
        [
            ("Hainan mango box 5kg", 5900, 40),
            ("Lychee 2kg", 8800, 30),
            ("Kiwi 12 pieces", 2500, 100),
        ],
    ),
    DemoStore(
        "o_demo_book_corner_owner_0003",
        "Book Corner",
        "Books and stationery; also resells Tea House's best tea.",
        [
            ("Dot-grid notebook", 1500, 200),
            ("The Three-Body Problem", 4500, 20),
        ],
        resell=(0, 0, 7500),
    ),
]


async def seed_stores(session: AsyncSession, *, now: datetime) -> None:
    """Open the demo stores through the same services the chat commands use; their pictures are
    botstore's own name cards, so the pages show them with no internet."""
    listed: list[list[int]] = []
    for spec in DEMO_STORES:
        fan = await fans.get_or_create(session, spec.openid, now=now)
        store = await stores.open_store(session, fan, name=spec.name, now=now)
        store.description = spec.description
        store.cover_url = images.card_path(spec.name)
        session.add(store)
        ids = []
        for offset, (name, price, stock) in enumerate(spec.products):
            # Distinct times, so moments shows them in listing order.
            at = now + timedelta(seconds=len(listed) * 10 + offset)
            listing = await stores.list_product(
                session,
                fan,
                name=name,
                price=Fen(price),
                stock=stock,
                now=at,
                image_url=images.card_path(name),
            )
            ids.append(listing.product.id or 0)
        listed.append(ids)
        if spec.group is not None:
            product_index, group_price, size = spec.group
            await stores.set_group_price(
                session, fan, product_id=ids[product_index], price=Fen(group_price), size=size
            )
        if spec.resell is not None:
            store_index, product_index, resale_price = spec.resell
            await stores.resell(
                session,
                fan,
                product_id=listed[store_index][product_index],
                price=Fen(resale_price),
                now=now + timedelta(minutes=1),
            )
