"""The one source of business time: wall time, or an emulated clock tests and admins advance."""

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall time, shifted by however far it has been advanced."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> datetime:
        self.offset += delta
        return self.now()


class FrozenClock:
    """Stands still until advanced: for tests."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 1, 1, 4, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> datetime:
        self.current += delta
        return self.current


def wall_time() -> float:
    """Seconds from a monotonic clock, for measuring durations only."""
    import time

    return time.monotonic()


def wall_now() -> datetime:
    """Real time, whatever the emulated clock says: for transport checks, not business time."""
    return datetime.now(UTC)
