"""Exact decimals and UTC timestamps survive the database unchanged, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from persistence_testkit import T0, count
from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import StatementError

from riskdesk.adapters.persistence import SqlStore
from riskdesk.adapters.persistence import tables as t
from riskdesk.adapters.persistence.types import ExactDecimal, UtcDateTime

SQLITE = sqlite.dialect()

EXACT_VALUES = [
    "98765432.98765432",  # the value SQLAlchemy's Numeric returns as ...31 on SQLite
    "0.000222222222222222",  # 1e-18 quantum: the ledger's rounding step
    "-123456789012345678.123456789012345678",  # 36 significant digits, more than a double's 17
    "1.50",  # a trailing zero is part of the value's scale
    "0",
    "-0.000000000000000001",
]


def test_decimals_round_trip_exactly(store: SqlStore) -> None:
    marks = {f"k{i}": Decimal(v) for i, v in enumerate(EXACT_VALUES)}
    with store() as uow:
        uow.prices.put_marks(marks, T0, "test")
        uow.commit()
    with store() as uow:
        stored = uow.prices.marks()
    for key, value in marks.items():
        got = stored[key][0]
        assert isinstance(got, Decimal)
        assert got == value
        assert str(got) == str(value)


def test_decimals_are_text_on_sqlite_and_numeric_on_postgres(store: SqlStore) -> None:
    with store() as uow:
        uow.prices.put_marks({"k": Decimal("98765432.98765432")}, T0, "test")
        conn = uow.connection
        if conn.dialect.name == "sqlite":
            raw = conn.execute(text("SELECT typeof(price), price FROM prices")).one()
            assert tuple(raw) == ("text", "98765432.98765432")
        else:
            raw = conn.execute(text("SELECT pg_typeof(price)::text, price::text FROM prices"))
            assert tuple(raw.one()) == ("numeric", "98765432.98765432")


def test_float_is_rejected_with_the_column_name(store: SqlStore) -> None:
    with store() as uow, pytest.raises(StatementError, match=r"column 'price'.*float 0\.1"):
        uow.prices.put_marks({"k": 0.1}, T0, "test")  # type: ignore[dict-item]
    assert count(store, "prices") == 0


def test_non_finite_decimal_is_rejected(store: SqlStore) -> None:
    with store() as uow, pytest.raises(StatementError, match=r"column 'price'.*finite"):
        uow.prices.put_marks({"k": Decimal("NaN")}, T0, "test")


def test_naive_datetime_is_rejected_with_the_column_name(store: SqlStore) -> None:
    naive = datetime(2025, 1, 1, 12, 0)  # noqa: DTZ001 - the point of the test
    with store() as uow, pytest.raises(StatementError, match=r"column 'ts'.*naive"):
        uow.prices.put_marks({"k": Decimal(1)}, naive, "test")


def test_datetimes_come_back_aware_in_utc(store: SqlStore) -> None:
    tokyo = timezone(timedelta(hours=9))
    local = datetime(2025, 6, 1, 9, 30, 15, 123456, tzinfo=tokyo)
    with store() as uow:
        uow.prices.put_marks({"k": Decimal(1)}, local, "test")
        uow.commit()
    with store() as uow:
        (_, ts) = uow.prices.marks()["k"]
    assert ts == local
    assert ts.tzinfo is UTC
    assert ts == datetime(2025, 6, 1, 0, 30, 15, 123456, tzinfo=UTC)


def test_time_filters_compare_instants_not_text(store: SqlStore) -> None:
    # 10:00+02:00 is 08:00 UTC: earlier than 09:00 UTC, though "10" > "09" as text.
    plus_two = timezone(timedelta(hours=2))
    with store() as uow:
        uow.connection.execute(
            t.events.insert(),
            [
                {
                    "ts": datetime(2025, 1, 1, 10, tzinfo=plus_two),
                    "kind": "a",
                    "account_id": "x",
                    "payload": {"n": 1},
                },
                {
                    "ts": datetime(2025, 1, 1, 9, tzinfo=UTC),
                    "kind": "a",
                    "account_id": "x",
                    "payload": {"n": 2},
                },
            ],
        )
        read = uow.events.read(since=datetime(2025, 1, 1, 8, 30, tzinfo=UTC))
        assert [e["n"] for e in read] == [2]
        ordered = uow.connection.execute(select(t.events.c.payload).order_by(t.events.c.ts))
        assert [p["n"] for (p,) in ordered] == [1, 2]


@pytest.mark.parametrize("value", [1.5, True, "1.5", None])
def test_exact_decimal_bind_accepts_only_decimal_and_int(value: object) -> None:
    kind = ExactDecimal("amount")
    dialect = SQLITE
    if value is None:
        assert kind.process_bind_param(value, dialect) is None
        return
    with pytest.raises(TypeError, match="column 'amount' stores exact decimals"):
        kind.process_bind_param(value, dialect)
    assert kind.process_bind_param(7, dialect) == "7"


def test_utc_datetime_rejects_dates_and_naive() -> None:
    kind = UtcDateTime("opened_at")
    dialect = SQLITE
    with pytest.raises(TypeError, match="column 'opened_at' stores datetimes"):
        kind.process_bind_param(T0.date(), dialect)
    with pytest.raises(ValueError, match="column 'opened_at' needs a timezone-aware"):
        kind.process_bind_param(T0.replace(tzinfo=None), dialect)
    assert kind.process_bind_param(T0, dialect) == "2025-03-03T12:00:00.000000+00:00"
