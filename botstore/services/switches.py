"""The admin's on/off switches: one row's `active` flag (stores, products, merchants, partner
services, coupon campaigns)."""

from typing import TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.errors import NotFound
from botstore.models import CouponCampaign, Merchant, PartnerService, Product, Store

Switchable = TypeVar("Switchable", Store, Product, Merchant, PartnerService, CouponCampaign)


async def set_active(
    session: AsyncSession, model: type[Switchable], ident: int, *, what: str, active: bool
) -> Switchable:
    """Turn the row off (or on again); NotFound names it as `what`."""
    row = await session.get(model, ident)
    if row is None:
        raise NotFound(what, ident)
    row.active = active
    session.add(row)
    await session.flush()
    return row
