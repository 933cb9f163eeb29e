"""Executemany straight to the driver, for the batch jobs that write a hundred thousand rows.

At that size SQLAlchemy's per-row parameter processing costs more than the database's work. The
writer converts each value once with its column's own type, so the rows and their formats are
exactly what the ORM would have written.
"""

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.ext.asyncio import AsyncConnection

from botstore.models import UTCDateTime

# Under both drivers' limit on bind parameters in one statement.
_MAX_PARAMETERS = 32_000


class BulkWriter:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.qmark = conn.dialect.paramstyle == "qmark"
        to_datetime = UTCDateTime()._cached_bind_processor(conn.dialect)
        # Batches share a handful of distinct times (due dates, now): convert each once.
        self._datetime = functools.lru_cache(maxsize=4096)(to_datetime or (lambda v: v))
        self.json = JSON()._cached_bind_processor(conn.dialect) or (lambda v: v)

    def when(self, value: datetime | None) -> Any:
        return None if value is None else self._datetime(value)

    def marks(self, count: int, start: int = 1) -> list[str]:
        if self.qmark:
            return ["?"] * count
        return [f"${index}" for index in range(start, start + count)]

    async def insert(
        self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> None:
        if rows:
            marks = ", ".join(self.marks(len(columns)))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            await self.conn.exec_driver_sql(sql, rows)

    async def insert_returning(
        self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]], returning: str
    ) -> list[tuple[Any, ...]]:
        """Insert with multi-row VALUES statements; the `returning` columns, in no set order.

        executemany can't return rows, and SQLAlchemy's insertmanyvalues processes every
        parameter again; this builds the statement per chunk of rows under the drivers'
        bind-parameter limit (32,766 on SQLite, 32,767 on PostgreSQL).
        """
        width = len(columns)
        per_statement = max(1, _MAX_PARAMETERS // width)
        returned: list[tuple[Any, ...]] = []
        for offset in range(0, len(rows), per_statement):
            chunk = rows[offset : offset + per_statement]
            marks = self.marks(width * len(chunk))
            values = ", ".join(
                f"({', '.join(marks[start : start + width])})"
                for start in range(0, len(marks), width)
            )
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values} RETURNING {returning}"
            )
            flat = tuple(value for row in chunk for value in row)
            result = await self.conn.exec_driver_sql(sql, flat)
            returned.extend(tuple(row) for row in result)
        return returned

    async def update(
        self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> None:
        """Set `columns` by id; each row is the values, then the id."""
        if rows:
            marks = self.marks(len(columns) + 1)
            sets = ", ".join(
                f"{column} = {mark}" for column, mark in zip(columns, marks, strict=False)
            )
            sql = f"UPDATE {table} SET {sets} WHERE id = {marks[-1]}"
            await self.conn.exec_driver_sql(sql, rows)

    async def add(self, table: str, column: str, rows: list[tuple[int, int]]) -> None:
        """Add to `column` by id; each row is the amount, then the id."""
        if rows:
            amount, row_id = self.marks(2)
            sql = f"UPDATE {table} SET {column} = {column} + {amount} WHERE id = {row_id}"
            await self.conn.exec_driver_sql(sql, rows)
