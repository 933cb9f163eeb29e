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

    def __init__(self, name: str, value: str, reason: str = "") -> None:
        super().__init__(name=name, value=value, reason=reason)


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
