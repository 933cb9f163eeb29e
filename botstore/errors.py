"""Domain errors; each names the reply template (replies/errors/<template>.txt) explaining it."""

from typing import Any, ClassVar


class DomainError(Exception):
    """A refusal the fan should read about; nothing it touched is kept."""

    template: ClassVar[str] = "domain_error"

    def __init__(self, **details: Any) -> None:
        super().__init__(", ".join(f"{key}={value!r}" for key, value in details.items()))
        self.details = details


class BadArgument(DomainError):
    template = "bad_argument"

    def __init__(self, name: str, value: str, reason: str = "", **values: object) -> None:
        # `reason` is a catalogue id (marked with N_) when fans read it; `values` fill its
        # %(name)s fields in the reply's language.
        super().__init__(name=name, value=value, reason=reason, values=values)


class NotFound(DomainError):
    template = "not_found"

    def __init__(self, what: str, ident: object) -> None:
        super().__init__(what=what, ident=ident)


class InsufficientFunds(DomainError):
    template = "insufficient_funds"

    def __init__(self, account_id: int, amount_fen: int, balance_fen: int | None = None) -> None:
        super().__init__(account_id=account_id, amount_fen=amount_fen, balance_fen=balance_fen)


class LimitExceeded(DomainError):
    template = "limit_exceeded"

    def __init__(self, what: str, limit_fen: int, remaining_fen: int) -> None:
        super().__init__(what=what, limit_fen=limit_fen, remaining_fen=remaining_fen)


class UnknownMerchant(DomainError):
    """No offline merchant has this code."""

    template = "unknown_merchant"

    def __init__(self, code: str) -> None:
        super().__init__(code=code)


class Deactivated(DomainError):
    """The admin has deactivated this store, product, merchant or partner service: it sells and
    takes payments no more. `ident` is what the fan typed (an id, or a merchant's code); `own`
    when it is the fan's own store."""

    template = "deactivated"

    def __init__(self, what: str, ident: int | str, name: str, own: bool = False) -> None:
        super().__init__(what=what, ident=ident, name=name, own=own)


class InvalidCredential(DomainError):
    """An emulated API caller's appid, secret or access_token is wrong (or superseded)."""

    template = "invalid_credential"

    def __init__(self, what: str) -> None:
        super().__init__(what=what)


class ExpiredCredential(DomainError):
    """An emulated API caller's access_token has expired."""

    template = "expired_credential"

    def __init__(self, what: str) -> None:
        super().__init__(what=what)


# --- WeStore: shops, orders, group buys ---


class NoStore(DomainError):
    template = "no_store"


class StoreExists(DomainError):
    template = "store_exists"

    def __init__(self, store_id: int, name: str) -> None:
        super().__init__(store_id=store_id, name=name)


class NotYours(DomainError):
    """Someone else's order or product: `who` names the one who may act on it."""

    template = "not_yours"

    def __init__(self, what: str, ident: int, who: str) -> None:
        super().__init__(what=what, ident=ident, who=who)


class OwnProduct(DomainError):
    template = "own_product"

    def __init__(self, product_id: int, action: str) -> None:
        super().__init__(product_id=product_id, action=action)


class OutOfStock(DomainError):
    template = "out_of_stock"

    def __init__(self, product_id: int, wanted: int, left: int) -> None:
        super().__init__(product_id=product_id, wanted=wanted, left=left)


class PriceRefused(DomainError):
    """A resale price under the supplier's (`kind` resale; below_supplier for a new price), a
    group price not under the normal one (`kind` group), a new price not above the product's
    group price (`kind` above_group), or a resale relisted below its supplier's (`kind` relist)."""

    template = "price_refused"

    def __init__(self, kind: str, price_fen: int, limit_fen: int, product_id: int = 0) -> None:
        super().__init__(
            kind=kind, price_fen=price_fen, limit_fen=limit_fen, product_id=product_id
        )


class Delisted(DomainError):
    """Its store's owner took the product off sale (`delist`); `own` when it is the fan's."""

    template = "delisted"

    def __init__(self, product_id: int, name: str, own: bool = False) -> None:
        super().__init__(product_id=product_id, name=name, own=own)


class AlreadyReselling(DomainError):
    template = "already_reselling"

    def __init__(self, product_id: int, listing_id: int) -> None:
        super().__init__(product_id=product_id, listing_id=listing_id)


class WrongStatus(DomainError):
    template = "wrong_status"

    def __init__(self, what: str, ident: int, status: str, action: str) -> None:
        super().__init__(what=what, ident=ident, status=status, action=action)


class TooEarly(DomainError):
    template = "too_early"

    def __init__(self, what: str, ident: int, action: str, allowed_at: object) -> None:
        super().__init__(what=what, ident=ident, action=action, allowed_at=allowed_at)


class NoGroupPrice(DomainError):
    template = "no_group_price"

    def __init__(self, product_id: int) -> None:
        super().__init__(product_id=product_id)


class GroupUnavailable(DomainError):
    """A group buy that can't be joined: `reason` is full (also once it completed), failed (past
    its deadline unfilled, its members refunded), expired (past its deadline, not yet failed by
    the scheduler) or joined."""

    template = "group_unavailable"

    def __init__(self, group_id: int, reason: str) -> None:
        super().__init__(group_id=group_id, reason=reason)


class BelowMinimum(DomainError):
    template = "below_minimum"

    def __init__(self, what: str, minimum_fen: int, amount_fen: int) -> None:
        super().__init__(what=what, minimum_fen=minimum_fen, amount_fen=amount_fen)


class QuotaExceeded(DomainError):
    """Over a wealth product's quota: its total, or (`per_fan`) each fan's."""

    template = "quota_exceeded"

    def __init__(
        self, what: str, limit_fen: int, remaining_fen: int, *, per_fan: bool = False
    ) -> None:
        super().__init__(
            what=what, limit_fen=limit_fen, remaining_fen=remaining_fen, per_fan=per_fan
        )


# --- Articles and ads ---


class OwnArticle(DomainError):
    template = "own_article"

    def __init__(self, article_id: int) -> None:
        super().__init__(article_id=article_id)


# --- Coupons ---


class CouponUnfunded(DomainError):
    """The platform's account can't cover the coupon's discount right now."""

    template = "coupon_unfunded"

    def __init__(self, coupon_id: int, discount_fen: int, product_id: int) -> None:
        super().__init__(coupon_id=coupon_id, discount_fen=discount_fen, product_id=product_id)


class WithdrawalRefused(DomainError):
    """A withdrawal of store earnings that can't be made: `reason` is nothing (no settled
    earnings) or too_much (more than is settled)."""

    template = "withdrawal_refused"

    def __init__(
        self,
        reason: str,
        store_id: int,
        store_name: str,
        amount_fen: int,
        settled_fen: int,
        escrow_fen: int,
    ) -> None:
        super().__init__(
            reason=reason,
            store_id=store_id,
            store_name=store_name,
            amount_fen=amount_fen,
            settled_fen=settled_fen,
            escrow_fen=escrow_fen,
        )
