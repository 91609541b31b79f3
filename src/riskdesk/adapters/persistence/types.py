"""Column types that keep ledger values exact and timestamps unambiguous on every backend.

* :class:`ExactDecimal` — SQLAlchemy's ``Numeric`` on SQLite goes through a float and silently
  rounds (``98765432.98765432`` came back as ``…31``), so SQLite stores the decimal's text and
  PostgreSQL an unconstrained ``NUMERIC`` (arbitrary precision and scale). Floats are refused.
* :class:`UtcDateTime` — timezone-aware UTC in, timezone-aware UTC out. SQLite stores fixed-width
  ISO 8601 text (so text order is time order and range filters work); PostgreSQL ``timestamptz``.
* :data:`JSON_DOC` — JSON text on SQLite, ``JSONB`` on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB, NUMERIC, TIMESTAMP
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

_POSTGRES = "postgresql"


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal column: TEXT on SQLite, unconstrained NUMERIC on PostgreSQL.

    Accepts ``Decimal`` and ``int``; refuses floats (and NaN/infinity) with an error naming the
    column, because a float has already lost the exact value. Always returns ``Decimal``.
    """

    impl = Text
    cache_ok = True

    def __init__(self, column: str = "?") -> None:
        """``column`` names the column in error messages."""
        super().__init__()
        self.column = column

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """NUMERIC on PostgreSQL, TEXT elsewhere."""
        if dialect.name == _POSTGRES:
            return dialect.type_descriptor(NUMERIC())
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Validate and convert a Python value for the driver."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise TypeError(
                f"column {self.column!r} stores exact decimals: got {type(value).__name__} "
                f"{value!r}; pass a Decimal (a float has already lost the exact value)"
            )
        number = Decimal(value)
        if not number.is_finite():
            raise ValueError(f"column {self.column!r} accepts only finite decimals, got {number}")
        if dialect.name == _POSTGRES:
            return number
        return str(number)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Return a ``Decimal`` (the driver gives text on SQLite, Decimal on PostgreSQL)."""
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        if isinstance(value, str):
            try:
                return Decimal(value)
            except InvalidOperation:
                raise ValueError(
                    f"column {self.column!r} holds {value!r}, which is not a decimal"
                ) from None
        # Only rows written around this type (raw SQL) can get here; refuse rather than guess.
        raise TypeError(f"column {self.column!r} holds a {type(value).__name__}: {value!r}")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp, normalised to UTC: ISO text on SQLite, timestamptz on
    PostgreSQL. Naive datetimes are refused; values come back timezone-aware in UTC."""

    impl = Text
    cache_ok = True

    def __init__(self, column: str = "?") -> None:
        """``column`` names the column in error messages."""
        super().__init__()
        self.column = column

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """timestamptz on PostgreSQL, TEXT elsewhere."""
        if dialect.name == _POSTGRES:
            return dialect.type_descriptor(TIMESTAMP(timezone=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Validate (aware datetime only) and convert to UTC."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(
                f"column {self.column!r} stores datetimes, got {type(value).__name__} {value!r}"
            )
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"column {self.column!r} needs a timezone-aware datetime (UTC), got naive {value}"
            )
        utc = value.astimezone(UTC)
        if dialect.name == _POSTGRES:
            return utc
        # Fixed width (always microseconds, always +00:00) so comparing text compares time.
        return utc.isoformat(timespec="microseconds")

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return a timezone-aware UTC datetime."""
        if value is None:
            return None
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
        if not isinstance(parsed, datetime) or parsed.tzinfo is None:
            raise TypeError(f"column {self.column!r} holds {value!r}, not an aware timestamp")
        return parsed.astimezone(UTC)


#: A JSON document: JSON text on SQLite, JSONB on PostgreSQL. Values must already be JSON-safe
#: (decimals as strings), which the domain's ``to_dict``/``json_safe`` guarantee.
JSON_DOC: TypeEngine[Any] = JSON().with_variant(JSONB(), _POSTGRES)

#: A 64-bit surrogate key that still autoincrements on SQLite (only ``INTEGER PRIMARY KEY``
#: aliases the rowid there).
BIG_ID: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")

__all__ = ["BIG_ID", "JSON_DOC", "ExactDecimal", "UtcDateTime"]
