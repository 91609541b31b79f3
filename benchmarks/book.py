"""Book benchmarks: fills applied per second, and a portfolio summary over 10,000 positions.

Run: ``.venv/bin/python benchmarks/book.py [--fills N] [--positions N]``

Machines here are noisy, so every number is printed next to a reference measured in the same
process: a plain-Python float "ledger" doing the same weighted-average arithmetic without
validation, exactness or events. The ratio says what exact Decimal accounting costs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from riskdesk.adapters.clock import ManualClock
from riskdesk.adapters.persistence import SqlStore
from riskdesk.application.book_service import BookService
from riskdesk.domain.accounting.book import Account, Book
from riskdesk.domain.accounting.portfolio import MarketSnapshot, position_views, summarize
from riskdesk.domain.fills import Fill
from riskdesk.domain.instruments import Instrument, perpetual_or_future
from riskdesk.domain.values import Side

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _instruments(n: int) -> list[Instrument]:
    return [
        perpetual_or_future(f"C{i}/USDT:USDT", "bench", tick_size="0.01", lot_size="0.001")
        for i in range(n)
    ]


def _fills(instruments: list[Instrument], n: int, seed: int = 7) -> list[Fill]:
    rng = random.Random(seed)
    fills = []
    for k in range(n):
        inst = instruments[rng.randrange(len(instruments))]
        fills.append(
            Fill(
                venue="bench",
                fill_id=str(k),
                account_id="acct",
                symbol=inst.symbol,
                side=Side.BUY if rng.random() < 0.5 else Side.SELL,
                qty=Decimal(rng.randint(1, 5000)) / 1000,
                price=Decimal(rng.randint(90_000, 110_000)) / 100,
                ts=T0 + timedelta(seconds=k),
                fee=Decimal("0.01"),
            )
        )
    return fills


def _best(run: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def float_reference(fills: list[Fill]) -> None:
    """Plain floats, one dict: what a naive bot does (and gets wrong by rounding)."""
    qty: dict[str, float] = {}
    cost: dict[str, float] = {}
    realized = 0.0
    for f in fills:
        q = float(f.qty) * (1 if f.side is Side.BUY else -1)
        p = float(f.price)
        old = qty.get(f.symbol, 0.0)
        if old == 0 or (old > 0) == (q > 0):
            qty[f.symbol] = old + q
            cost[f.symbol] = cost.get(f.symbol, 0.0) + q * p
        else:
            avg = cost[f.symbol] / old
            close = -q if abs(q) <= abs(old) else old
            realized += close * (p - avg)
            qty[f.symbol] = old + q
            cost[f.symbol] = qty[f.symbol] * (avg if abs(q) <= abs(old) else p)


def bench_fills(n: int) -> None:
    instruments = _instruments(50)
    by_key = {i.key: i for i in instruments}
    fills = _fills(instruments, n)

    def domain() -> None:
        book = Book(Account("acct", "bench"), {"USDT": Decimal(10**9)})
        for f in fills:
            book.apply_fill(f, by_key[f.instrument_key])

    t_ref = _best(lambda: float_reference(fills))
    t_dom = _best(domain)
    print(f"fills: {n:,} over 50 symbols")
    print(f"  float reference (no validation, inexact) : {n / t_ref:12,.0f} fills/s")
    print(
        f"  riskdesk Book.apply_fill (exact Decimal)  : {n / t_dom:12,.0f} fills/s   "
        f"({t_dom / t_ref:.1f}x the float reference)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore(f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.migrate()
        service = BookService(store, ManualClock(T0))
        service.register_instruments(instruments)
        service.register_account(Account("acct", "bench"))
        rows = list(enumerate(fills, start=1))
        start = time.perf_counter()
        service.apply(rows)
        t_db = time.perf_counter() - start
    print(
        f"  BookService.apply into SQLite (1 txn)    : {n / t_db:12,.0f} fills/s   "
        f"({t_db / t_dom:.1f}x the in-memory book)"
    )


def bench_summary(n: int) -> None:
    instruments = _instruments(n)
    by_key = {i.key: i for i in instruments}
    book = Book(Account("acct", "bench"), {"USDT": Decimal(10**9)})
    rng = random.Random(3)
    for k, inst in enumerate(instruments):
        book.apply_fill(
            Fill(
                venue="bench",
                fill_id=f"o{k}",
                account_id="acct",
                symbol=inst.symbol,
                side=Side.BUY if k % 2 else Side.SELL,
                qty=Decimal(rng.randint(1, 900)) / 1000,
                price=Decimal(rng.randint(90_000, 110_000)) / 100,
                ts=T0,
            ),
            inst,
        )
    market = MarketSnapshot(
        {i.key: Decimal(rng.randint(90_000, 110_000)) / 100 for i in instruments},
        {"USDT": Decimal(1), "USD": Decimal(1)},
        T0 + timedelta(hours=1),
    )

    def run() -> None:
        views = position_views([book], by_key, market)
        summarize([book], by_key, market, views=views)

    def reference() -> None:
        total = 0.0
        for p in book.positions.values():
            mark = float(market.marks[p.instrument_key])
            total += float(p.qty) * mark - float(p.basis)

    samples = []
    for _ in range(5):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    t_ref = _best(reference)
    median = statistics.median(samples)
    print(
        f"portfolio summary over {n:,} positions (views with margin, liquidation, exposure + summary)"
    )
    print(
        f"  median {median * 1000:8.1f} ms  (min {min(samples) * 1000:.1f} ms); float uPnL-only loop "
        f"{t_ref * 1000:.2f} ms -> {median / t_ref:.0f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fills", type=int, default=20_000)
    parser.add_argument("--positions", type=int, default=10_000)
    args = parser.parse_args()
    bench_fills(args.fills)
    bench_summary(args.positions)


if __name__ == "__main__":
    main()
