"""Unit-of-work semantics: nothing is visible before ``commit()``, and leaving without a commit (or
on an exception) rolls everything back, so a failed import leaves the database unchanged."""

from __future__ import annotations

from decimal import Decimal

import pytest
from persistence_testkit import LINEAR, NETTING, T0, VENUE, count, counts, fill, seed
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from riskdesk.adapters.persistence import SqlStore
from riskdesk.adapters.persistence.buffer import FLUSH_ROWS


def test_commit_makes_work_visible_to_other_units(store: SqlStore) -> None:
    seed(store, NETTING)
    with store() as writer:
        writer.prices.put_marks({LINEAR.key: Decimal(100)}, T0, "test")
        with store() as reader:
            assert reader.prices.marks() == {}
        writer.commit()
    with store() as reader:
        assert reader.prices.marks() == {LINEAR.key: (Decimal(100), T0)}


def test_leaving_without_commit_rolls_back(store: SqlStore) -> None:
    seed(store, NETTING)
    with store() as uow:
        uow.fills.add(fill(1, "buy", "1", "100"))
    assert count(store, "fills") == 0


def test_an_exception_rolls_back_and_propagates(store: SqlStore) -> None:
    seed(store, NETTING)
    with pytest.raises(RuntimeError, match="boom"), store() as uow:
        uow.fills.add(fill(1, "buy", "1", "100"))
        raise RuntimeError("boom")
    assert count(store, "fills") == 0


def test_a_failed_import_leaves_the_database_unchanged(store: SqlStore) -> None:
    seed(store, NETTING)
    before = counts(store)
    # The third fill repeats the first one's key: the insert fails after two fills were booked.
    batch = [fill(1, "buy", "1", "100"), fill(2, "sell", "2", "101"), fill(1, "buy", "9", "1")]
    with pytest.raises(IntegrityError), store() as uow:
        book = uow.books.load(NETTING)
        for f in batch:
            uow.books.save(book, book.apply_fill(f, LINEAR))
            uow.fills.add(f)
        uow.commit()
    assert counts(store) == before
    with store() as uow:
        assert uow.books.load(NETTING).open_positions() == []
        assert uow.events.read() == []


def test_explicit_rollback_and_commit_in_steps(store: SqlStore) -> None:
    seed(store, NETTING)
    with store() as uow:
        uow.fills.add(fill(1, "buy", "1", "100"))
        uow.commit()
        uow.fills.add(fill(2, "buy", "1", "100"))
        uow.rollback()
        uow.fills.add(fill(3, "buy", "1", "100"))
        uow.commit()
        uow.fills.add(fill(4, "buy", "1", "100"))
    with store() as uow:
        assert [f.fill_id for f in uow.fills.history()] == ["f1", "f3"]


def test_repositories_need_an_open_unit(store: SqlStore) -> None:
    uow = store()
    with pytest.raises(RuntimeError, match="not open"):
        uow.accounts.all()
    with uow, pytest.raises(RuntimeError, match="already open"):
        uow.__enter__()
    with pytest.raises(RuntimeError, match="not open"):
        uow.commit()


def test_immediate_units_work_on_every_backend(store: SqlStore) -> None:
    seed(store, NETTING)
    with store(sqlite_begin="IMMEDIATE") as uow:
        uow.fills.add(fill(1, "buy", "1", "100"))
        uow.commit()
    assert count(store, "fills") == 1


def test_a_unit_reads_its_own_queued_writes(store: SqlStore) -> None:
    seed(store, NETTING)
    with store() as uow:
        uow.fills.add(fill(1, "buy", "1", "100"))
        assert uow.fills.existing([(VENUE, "f1")]) == {(VENUE, "f1")}
        assert [f.fill_id for f in uow.fills.history()] == ["f1"]
    assert count(store, "fills") == 0


def test_rollback_discards_queued_writes(store: SqlStore) -> None:
    seed(store, NETTING)
    with store() as uow:
        uow.fills.add(fill(1, "buy", "1", "100"))
        uow.rollback()
        uow.commit()
    assert count(store, "fills") == 0


def test_a_large_batch_flushes_before_commit(store: SqlStore) -> None:
    seed(store, NETTING)
    many = [fill(n, "buy", "1", "100", minutes=0) for n in range(FLUSH_ROWS)]
    with store() as uow:
        uow.fills.add_many(many)  # type: ignore[attr-defined]
        uow.fills.add(fill(FLUSH_ROWS, "buy", "1", "100"))  # the queue is full: flushed first
        with store() as other:
            # Flushed but not committed: still invisible to another unit.
            assert other.fills.history(limit=1) == []
        uow.commit()
    assert count(store, "fills") == FLUSH_ROWS + 1


def test_loading_a_book_on_postgres_locks_it_until_the_unit_ends(postgres_url: str) -> None:
    with SqlStore(postgres_url) as store:
        seed(store, NETTING)
        with store() as first:
            first.books.load(NETTING)
            with store() as second:
                second.connection.execute(text("SET LOCAL lock_timeout = '50ms'"))
                with pytest.raises(OperationalError, match="lock"):
                    second.books.load(NETTING)
        with store() as third:
            assert third.books.load(NETTING).open_positions() == []
