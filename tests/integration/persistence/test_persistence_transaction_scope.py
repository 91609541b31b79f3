"""``SqlStore.transaction()``: several use cases in one transaction. Units of work opened inside
join it on savepoints: a unit's commit keeps its work until the scope commits, a unit left
without committing discards only its own work, and an exception anywhere rolls back all."""

from __future__ import annotations

from decimal import Decimal

import pytest
from persistence_testkit import LINEAR, NETTING, T0, count, fill, seed

from riskdesk.adapters.persistence import SqlStore


def _book(store: SqlStore, *fills_: int) -> None:
    with store() as uow:
        book = uow.books.load(NETTING)
        for n in fills_:
            f = fill(n, "buy", "1", "100")
            uow.books.save(book, book.apply_fill(f, LINEAR))
            uow.fills.add(f)
        uow.commit()


def test_the_scope_commits_once_at_its_end(store: SqlStore) -> None:
    seed(store, NETTING)
    with store.transaction():
        _book(store, 1)
        with store() as uow:  # a later unit of the scope sees the earlier unit's work
            assert uow.books.load(NETTING).open_positions()[0].qty == 1
        _book(store, 2)
    assert count(store, "fills") == 2


def test_an_exception_after_committed_units_rolls_everything_back(store: SqlStore) -> None:
    seed(store, NETTING)
    with pytest.raises(RuntimeError, match="after booking"), store.transaction():
        _book(store, 1, 2)
        with store() as uow:
            uow.prices.put_marks({LINEAR.key: Decimal(101)}, T0, "test")
            uow.commit()
        raise RuntimeError("after booking")
    assert count(store, "fills") == 0
    assert count(store, "positions") == 0
    with store() as uow:
        assert uow.prices.marks() == {}


def test_a_unit_left_without_commit_discards_only_its_own_work(store: SqlStore) -> None:
    seed(store, NETTING)
    with store.transaction():
        _book(store, 1)
        with store() as uow:  # a what-if: writes, never commits
            uow.prices.put_marks({LINEAR.key: Decimal(99)}, T0, "what-if")
        with store() as uow:
            uow.prices.put_marks({LINEAR.key: Decimal(101)}, T0, "kept")
            uow.rollback()  # explicit rollback: this unit's work only
            uow.prices.put_marks({LINEAR.key: Decimal(102)}, T0, "kept")
            uow.commit()
    assert count(store, "fills") == 1
    with store() as uow:
        assert uow.prices.marks() == {LINEAR.key: (Decimal(102), T0)}


def test_nested_scopes_join_the_outer_one(store: SqlStore) -> None:
    seed(store, NETTING)
    with pytest.raises(RuntimeError), store.transaction():
        with store.transaction():
            _book(store, 1)
        raise RuntimeError("outer fails")
    assert count(store, "fills") == 0
