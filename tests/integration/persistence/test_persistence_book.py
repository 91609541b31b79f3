"""The book's life through the store: real ``Book.apply_fill`` changes saved, reloaded and checked
row by row (open, add, reduce, close, flip; hedge slots; inverse values; batches; funding)."""

from __future__ import annotations

from decimal import Decimal

from persistence_testkit import (
    HEDGE,
    INVERSE,
    LINEAR,
    NETTING,
    SPOT,
    T0,
    count,
    fill,
    seed,
)
from sqlalchemy import select

from riskdesk.adapters.persistence import SqlStore
from riskdesk.adapters.persistence import tables as t
from riskdesk.domain.accounting.book import Account, Book, BookChange
from riskdesk.domain.accounting.position import TradeAction
from riskdesk.domain.fills import Fill, FundingPayment
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.values import LEDGER_QUANTUM, PositionSide


def book_one(store: SqlStore, account: Account, f: Fill, instrument: Instrument) -> BookChange:
    """Load the book, apply one fill, save and commit: the application's path, one fill per unit."""
    with store() as uow:
        book = uow.books.load(account)
        change = book.apply_fill(f, instrument)
        uow.books.save(book, change)
        uow.fills.add(f)
        uow.commit()
    assert_book_persisted(store, book)
    return change


def assert_book_persisted(store: SqlStore, book: Book) -> None:
    """What the store loads equals the in-memory book the domain produced."""
    with store() as uow:
        loaded = uow.books.load(book.account)
    assert loaded.balances == book.balances
    assert loaded.positions == book.positions


def test_open_add_reduce_close_flip(store: SqlStore) -> None:
    seed(store, NETTING)
    steps = [
        (fill(1, "buy", "1", "100", fee="0.05"), 1, 0, [TradeAction.OPEN]),
        (fill(2, "buy", "1", "110", fee="0.05"), 1, 0, [TradeAction.ADD]),
        (fill(3, "sell", "0.5", "120", fee="0.05"), 1, 0, [TradeAction.REDUCE]),
        (fill(4, "sell", "1.5", "90", fee="0.05"), 0, 1, [TradeAction.CLOSE]),
        (fill(5, "sell", "1", "95", fee="0.05"), 1, 1, [TradeAction.OPEN]),
        (fill(6, "buy", "3", "80", fee="0.3"), 1, 2, [TradeAction.CLOSE, TradeAction.OPEN]),
    ]
    changes: list[BookChange] = []
    for f, open_rows, closed_rows, actions in steps:
        change = book_one(store, NETTING, f, LINEAR)
        changes.append(change)
        assert [r.action for r in change.trades] == actions
        assert count(store, "positions") == open_rows
        assert count(store, "closed_positions") == closed_rows

    with store() as uow:
        book = uow.books.load(NETTING)
        (position,) = book.open_positions()
        assert position.qty == Decimal(2)
        assert position.entry_price == Decimal(80)
        assert position.position_id == changes[-1].upserted[-1].position_id
        closed = uow.closed.closed(NETTING.account_id)
        trades = uow.closed.trades(NETTING.account_id)
        events = uow.events.read()
        history = uow.fills.history(NETTING.account_id)
    assert closed == [c for ch in changes for c in ch.closed]
    assert [c.realized_pnl for c in closed] == [Decimal(-15), Decimal(15)]
    assert trades == [r for ch in changes for r in ch.trades]
    assert events == [e.to_dict() for ch in changes for e in ch.events]
    assert history == [f for f, *_ in steps]
    # USDT wallet: realized P&L (-15 + 15) minus fees (0.05 * 5 + 0.3).
    assert book.cash("USDT") == Decimal("-0.55")


def test_per_fill_saves_in_one_unit_match_the_book(store: SqlStore) -> None:
    # The import path: one unit of work, one save per fill; positions close and reopen in the
    # same slot between flushes.
    seed(store, NETTING)
    fills = [
        fill(1, "buy", "1", "100"),
        fill(2, "sell", "1", "101"),
        fill(3, "sell", "2", "102"),
        fill(4, "buy", "3", "99"),
        fill(5, "sell", "0.5", "98"),
    ]
    changes = []
    with store() as uow:
        book = uow.books.load(NETTING)
        for n, f in enumerate(fills):
            change = book.apply_fill(f, LINEAR)
            uow.books.save(book, change)
            uow.fills.add(f)
            changes.append(change)
            if n == 2:
                assert uow.closed.closed() == changes[1].closed  # a read mid-way flushes
        uow.commit()
    assert_book_persisted(store, book)
    with store() as uow:
        assert uow.closed.closed() == [c for ch in changes for c in ch.closed]
        assert uow.closed.trades() == [r for ch in changes for r in ch.trades]
        assert uow.events.read() == [e.to_dict() for ch in changes for e in ch.events]


def test_rows_hold_the_domain_values(store: SqlStore) -> None:
    seed(store, NETTING)
    book_one(store, NETTING, fill(1, "buy", "1", "100"), LINEAR)
    book_one(store, NETTING, fill(2, "buy", "2", "103.3"), LINEAR)
    with store() as uow:
        row = uow.connection.execute(select(t.positions)).mappings().one()
    assert row["qty"] == Decimal(3)
    assert row["basis"] == Decimal("306.6")
    assert row["entry_price"] == Decimal("102.2")
    assert row["fill_count"] == 2
    assert row["slot"] == "net"
    assert row["opened_at"] == T0.replace(minute=1)
    assert row["updated_at"] == T0.replace(minute=2)


def test_hedge_mode_keeps_a_long_and_a_short_slot(store: SqlStore) -> None:
    seed(store, HEDGE)
    long_open = fill(1, "buy", "1", "100", account=HEDGE, position_side="long")
    short_open = fill(2, "sell", "2", "101", account=HEDGE, position_side="short")
    long_close = fill(3, "sell", "1", "102", account=HEDGE, position_side="long")
    book_one(store, HEDGE, long_open, LINEAR)
    book_one(store, HEDGE, short_open, LINEAR)
    with store() as uow:
        slots = {p.slot: p for p in uow.books.load(HEDGE).open_positions()}
    assert set(slots) == {PositionSide.LONG, PositionSide.SHORT}
    assert slots[PositionSide.SHORT].qty == Decimal(-2)
    # Isolated margin at 10x: 1 * 100 / 10 and 2 * 101 / 10.
    assert slots[PositionSide.LONG].isolated_margin == Decimal(10)
    assert slots[PositionSide.SHORT].isolated_margin == Decimal("20.2")
    book_one(store, HEDGE, long_close, LINEAR)
    with store() as uow:
        (short,) = uow.books.load(HEDGE).open_positions()
        (closed,) = uow.closed.closed(HEDGE.account_id)
    assert short.slot is PositionSide.SHORT
    assert closed.slot is PositionSide.LONG
    assert closed.realized_pnl == Decimal(2)


def test_inverse_values_keep_every_ledger_decimal(store: SqlStore) -> None:
    seed(store, NETTING)
    symbol = INVERSE.symbol
    book_one(store, NETTING, fill(1, "buy", "100", "60000.5", symbol=symbol), INVERSE)
    book_one(store, NETTING, fill(2, "buy", "37", "61234.5", symbol=symbol), INVERSE)
    change = book_one(store, NETTING, fill(3, "sell", "50", "59000", symbol=symbol), INVERSE)
    (position,) = change.upserted
    assert position.basis.as_tuple().exponent == LEDGER_QUANTUM.as_tuple().exponent
    with store() as uow:
        (loaded,) = uow.books.load(NETTING).open_positions()
        balance = uow.books.load(NETTING).cash("BTC")
    assert loaded == position
    assert balance == change.trades[0].realized_pnl


def test_spot_moves_cash_in_the_quote(store: SqlStore) -> None:
    seed(store, NETTING)
    buy = fill(1, "buy", "0.5", "50000", symbol=SPOT.symbol, fee="25")
    sell = fill(2, "sell", "0.2", "51000", symbol=SPOT.symbol, fee="10.2")
    book_one(store, NETTING, buy, SPOT)
    book_one(store, NETTING, sell, SPOT)
    with store() as uow:
        book = uow.books.load(NETTING)
    # -25000 - 25 + 10200 - 10.2
    assert book.cash("USDT") == Decimal("-14835.2")
    assert book.position(SPOT.key) is not None


def test_a_merged_batch_writes_only_the_final_state(store: SqlStore) -> None:
    seed(store, NETTING)
    fills = [
        fill(1, "buy", "1", "100"),
        fill(2, "buy", "1", "102"),
        fill(3, "sell", "2", "104"),  # closes the first position
        fill(4, "sell", "3", "99"),  # opens a second one in the same slot
    ]
    with store() as uow:
        book = uow.books.load(NETTING)
        batch = BookChange()
        for f in fills:
            batch.merge(book.apply_fill(f, LINEAR))
        uow.books.save(book, batch)
        uow.fills.add_many(fills)  # type: ignore[attr-defined]
        uow.commit()
    assert_book_persisted(store, book)
    with store() as uow:
        (position,) = uow.books.load(NETTING).open_positions()
        (closed,) = uow.closed.closed()
        trades = uow.closed.trades()
    assert position.qty == Decimal(-3)
    assert closed.realized_pnl == Decimal(6)
    assert closed.position_id != position.position_id
    assert len(trades) == 4
    assert count(store, "events") == len(batch.events)


def test_funding_is_booked_and_keyed(store: SqlStore) -> None:
    seed(store, NETTING)
    book_one(store, NETTING, fill(1, "buy", "2", "100"), LINEAR)
    payment = FundingPayment.create(
        venue=LINEAR.venue,
        account_id=NETTING.account_id,
        symbol=LINEAR.symbol,
        rate="0.0001",
        mark_price="101",
        ts=T0.replace(hour=16),
    )
    with store() as uow:
        book = uow.books.load(NETTING)
        change = book.apply_funding(payment, LINEAR)
        uow.books.save(book, change)
        (position,) = change.upserted
        amount = change.cash["USDT"]
        uow.fills.add_funding(payment, str(amount), position.position_id)
        uow.commit()
    assert_book_persisted(store, book)
    assert amount == Decimal("-0.0202")
    with store() as uow:
        assert uow.fills.existing([payment.key, (LINEAR.venue, "f1"), ("x", "y")]) == {
            payment.key,
            (LINEAR.venue, "f1"),
        }
        row = uow.connection.execute(select(t.funding_payments)).mappings().one()
        (funded,) = uow.books.load(NETTING).open_positions()
    assert row["amount"] == amount
    assert row["position_id"] == position.position_id
    assert funded.funding == amount


def test_cash_movements_update_balance_and_are_keyed(store: SqlStore) -> None:
    seed(store, NETTING)
    key = (NETTING.venue, "cash:dep-1")
    with store() as uow:
        book = uow.books.load(NETTING)
        change = book.move_cash("USDT", Decimal("1000.25"), T0, "deposit", key)
        uow.books.save(book, change)
        uow.fills.add_cash_movement(
            key, NETTING.account_id, "USDT", Decimal("1000.25"), T0, "deposit"
        )
        uow.commit()
    with store() as uow:
        assert uow.books.load(NETTING).cash("USDT") == Decimal("1000.25")
        assert uow.fills.existing([key]) == {key}
        assert uow.fills.cash_movements() == [(NETTING.account_id, "USDT", Decimal("1000.25"), T0)]
        assert uow.fills.cash_movements(since=T0.replace(hour=13)) == []
        assert uow.fills.cash_movements(account_id="other") == []
        (event,) = uow.events.read(kind="cash_moved")
    assert event["amount"] == "1000.25"


def test_a_stop_change_is_saved_as_an_upsert(store: SqlStore) -> None:
    seed(store, NETTING)
    book_one(store, NETTING, fill(1, "buy", "1", "100"), LINEAR)
    with store() as uow:
        book = uow.books.load(NETTING)
        updated = book.set_stop(LINEAR.key, PositionSide.NET, Decimal("95.5"))
        uow.books.save(book, BookChange(upserted=[updated]))
        uow.commit()
    with store() as uow:
        position = uow.books.load(NETTING).position(LINEAR.key)
    assert position is not None
    assert position.stop_price == Decimal("95.5")
