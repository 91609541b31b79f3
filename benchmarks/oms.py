"""Order-management benchmarks: order events per second through the order manager and the paper
venue, and trigger evaluation of 10,000 resting conditional orders per price update.

Run: ``.venv/bin/python benchmarks/oms.py``

1. **Order events through OMS + paper venue** (in-memory mode: the in-memory order journal and
   ledger, the paper venue without a state file, risk gate approving everything). An *order
   event* is one journaled state-machine event (an ``OrderTransitioned`` or ``OrderAmended``);
   venue fills are counted separately (each is also one FILLED event). Two workloads:

   * *batched order flow* (the venue's batch endpoints, 20 orders a request): 100 resting limit
     orders placed, amended and cancelled (CREATED, PENDING_SUBMIT, OPEN, AMENDED,
     CANCEL_PENDING, CANCELED), then 25 market orders alternating buy and sell, each filled and
     booked in the ledger (CREATED, PENDING_SUBMIT, OPEN, FILLED);
   * *one order at a time*: a market order (filled and booked) and a limit order amended and
     cancelled, each call its own venue request and journal commit.

   Target ≥ 50,000 events/s.
2. **Trigger evaluation**: 10,000 armed conditions on one instrument (a third each stop-loss,
   take-profit and trailing stop with activation and callback), one price update at a time
   along a random walk; the time per update (median and p99). Target ≤ 5 ms per update.

Each is compared with a reference measured in the same run: (1) a plain-Python order store
(a dict per order, its status set four times, an event dict appended per change — no risk, no
venue, no ledger); (2) the same conditions checked one by one in a Python loop.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal

from riskdesk.adapters.brokers.paper import PaperBroker, PaperConfig
from riskdesk.adapters.clock import ManualClock
from riskdesk.application.conditionals import ConditionalEngine
from riskdesk.application.oms import AllowAll, OrderManager
from riskdesk.application.oms_memory import MemoryLedger, MemoryOmsJournal
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.conditional import ConditionalOrder, ConditionKind, TriggerBook
from riskdesk.domain.instruments import perpetual_or_future
from riskdesk.domain.matching import Quote
from riskdesk.domain.orders import OrderIntent, OrderType, TriggerPrice
from riskdesk.domain.values import Side

T0 = datetime(2025, 6, 1, tzinfo=UTC)
D = Decimal
PERP = perpetual_or_future(
    "BTC/USDT:USDT", "paper", tick_size="0.1", lot_size="0.001", taker_fee_rate="0.0004"
)
CATALOG = {PERP.key: PERP}


def _stack() -> tuple[OrderManager, MemoryOmsJournal, PaperBroker, ManualClock]:
    clock = ManualClock(T0)
    broker = PaperBroker(CATALOG.get, clock, PaperConfig())
    account = Account("acct", "paper")
    broker.open_account(account)
    broker.deposit("acct", "USDT", D(10**9), "d")
    broker.on_quote(PERP.key, Quote(T0, D("29999.9"), D(30000), mark=D(30000)))
    ledger = MemoryLedger(CATALOG.get)
    ledger.open(account)
    journal = MemoryOmsJournal()
    oms = OrderManager(journal, broker, ledger, AllowAll(), clock, CATALOG.get, ledger.has)
    ConditionalEngine(journal, oms, clock)  # registered on fills, as in production
    return oms, journal, broker, clock


def _intent(i: int, side: Side, kind: OrderType, price: str | None = None) -> OrderIntent:
    return OrderIntent(
        intent_id=f"b{i}",
        account_id="acct",
        venue="paper",
        symbol=PERP.symbol,
        side=side,
        qty=D("0.01"),
        order_type=kind,
        price=None if price is None else D(price),
        leverage=D(10),
    )


def bench_orders(rounds: int) -> tuple[float, int, int]:
    """One order at a time; returns (events/s, events, fills)."""
    oms, journal, broker, _ = _stack()
    repo = journal.repo
    start = time.perf_counter()
    for i in range(rounds):
        side = Side.BUY if i % 2 == 0 else Side.SELL
        oms.submit(_intent(4 * i, side, OrderType.MARKET))
        ref = oms.submit(_intent(4 * i + 1, Side.BUY, OrderType.LIMIT, "20000.0"))
        oms.amend(ref.client_order_id, price=D("20000.1"))
        oms.cancel(ref.client_order_id)
    elapsed = time.perf_counter() - start
    events = len(repo.event_log)
    fills = len(broker.fills_since(None).fills)
    return events / elapsed, events, fills


def bench_batches(rounds: int, size: int = 100) -> tuple[float, int, int]:
    """Batched order flow; returns (events/s, events, fills)."""
    oms, journal, broker, _ = _stack()
    k = 0
    start = time.perf_counter()
    for _ in range(rounds):
        limits = [_intent(k + i, Side.BUY, OrderType.LIMIT, "20000.0") for i in range(size)]
        k += size
        ids = [o.client_order_id for o in oms.submit_many(limits)]
        oms.amend_many([(c, None, D("20000.1"), None) for c in ids])
        oms.cancel_many(ids)
        markets = [
            _intent(k + i, Side.BUY if i % 2 == 0 else Side.SELL, OrderType.MARKET)
            for i in range(size // 4)
        ]
        k += size // 4
        oms.submit_many(markets)
    elapsed = time.perf_counter() - start
    events = len(journal.repo.event_log)
    return events / elapsed, events, len(broker.fills_since(None).fills)


def bench_reference_orders(rounds: int) -> float:
    """Plain-Python order store: a dict per order, status changes, an event per change."""
    store: dict[str, dict[str, object]] = {}
    log: list[dict[str, object]] = []
    start = time.perf_counter()
    for i in range(rounds):
        for j, steps in (
            (0, ("created", "pending", "open", "filled")),
            (1, ("created", "pending", "open", "amended", "cancel_pending", "canceled")),
        ):
            key = f"r{4 * i + j}"
            order: dict[str, object] = {"id": key, "qty": D("0.01"), "filled": D(0)}
            store[key] = order
            for step in steps:
                old = order.get("status")
                order["status"] = step
                log.append({"id": key, "old": old, "new": step})
    return len(log) / (time.perf_counter() - start)


def _conditions(n: int, rng: random.Random) -> list[ConditionalOrder]:
    conds = []
    for i in range(n):
        kind = (ConditionKind.STOP_LOSS, ConditionKind.TAKE_PROFIT, ConditionKind.TRAILING_STOP)[
            i % 3
        ]
        side = Side.SELL if rng.random() < 0.5 else Side.BUY
        intent = OrderIntent(
            f"c{i}", "acct", "paper", PERP.symbol, side, D("0.01"), reduce_only=True
        )
        if kind is ConditionKind.TRAILING_STOP:
            conds.append(
                ConditionalOrder(
                    f"c{i}",
                    intent,
                    PERP.key,
                    kind,
                    activation=D(rng.randint(25000, 35000)),
                    callback=D("0.3"),
                )
            )
        else:
            # Levels far from the walk: nothing fires, every update evaluates all of them.
            level = rng.choice((rng.randint(10000, 20000), rng.randint(40000, 50000)))
            below = level < 30000
            if kind is ConditionKind.STOP_LOSS:
                side = Side.SELL if below else Side.BUY
            else:
                side = Side.BUY if below else Side.SELL
            intent = OrderIntent(
                f"c{i}", "acct", "paper", PERP.symbol, side, D("0.01"), reduce_only=True
            )
            conds.append(ConditionalOrder(f"c{i}", intent, PERP.key, kind, level=D(level)))
    return conds


def bench_triggers(n: int, updates: int) -> tuple[float, float, int]:
    """Milliseconds per price update (median, p99) with ``n`` armed conditions."""
    rng = random.Random(7)
    book = TriggerBook()
    book.add_many(_conditions(n, rng))
    price = 30000.0
    times = []
    fired = 0
    for _ in range(updates):
        price *= 1.0 + rng.gauss(0.0, 0.0005)
        start = time.perf_counter()
        fired += len(book.on_price(PERP.key, TriggerPrice.MARK, price))
        times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times) * 1e3, times[int(len(times) * 0.99)] * 1e3, fired


def bench_reference_triggers(n: int, updates: int) -> float:
    """The same conditions checked one by one in Python (median ms per update)."""
    rng = random.Random(7)
    conds = [
        (
            c.kind,
            c.rising,
            float(c.level) if c.level is not None else 0.0,
            float(c.callback or 0),
            None if c.activation is None else float(c.activation),
        )
        for c in _conditions(n, rng)
    ]
    extreme: list[float | None] = [None] * n
    price = 30000.0
    times = []
    for _ in range(updates):
        price *= 1.0 + rng.gauss(0.0, 0.0005)
        start = time.perf_counter()
        for i, (kind, rising, level, callback, activation) in enumerate(conds):
            if kind is ConditionKind.TRAILING_STOP:
                e = extreme[i]
                if e is None:
                    if activation is None or (
                        price <= activation if rising else price >= activation
                    ):
                        extreme[i] = price
                    continue
                e = min(e, price) if rising else max(e, price)
                extreme[i] = e
                _ = price >= e * (1 + callback) if rising else price <= e * (1 - callback)
            else:
                _ = price >= level if rising else price <= level
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    bench_orders(200)  # warm up
    bench_batches(2)
    batch_rate, batch_events, batch_fills = max(bench_batches(40) for _ in range(3))
    rounds = 3000
    rate, events, fills = max(bench_orders(rounds) for _ in range(3))
    ref_rate = bench_reference_orders(rounds)
    verdict = "OK" if batch_rate >= 50_000 else "MISSED"
    print("OMS + paper venue, in-memory (best of 3 runs)")
    print(
        f"  batched order flow: {batch_rate:,.0f} order events/s "
        f"({batch_events} events, {batch_fills} fills; target >= 50,000: {verdict})"
    )
    print(f"  one order at a time: {rate:,.0f} order events/s ({events} events, {fills} fills)")
    print(
        f"  reference plain-Python order store: {ref_rate:,.0f} events/s; "
        f"ratios {ref_rate / batch_rate:.0f}x (batched) and {ref_rate / rate:.0f}x (single)"
    )
    n, updates = 10_000, 2_000
    conds = _conditions(n, random.Random(7))
    add = time.perf_counter()
    TriggerBook().add_many(conds)
    add = time.perf_counter() - add
    median, p99, fired = bench_triggers(n, updates)
    ref = bench_reference_triggers(n, 200)
    print(
        f"Trigger book, {n:,} resting conditions ({updates} price updates, {fired} fired; "
        f"arming all: {add * 1e3:.0f} ms)"
    )
    print(
        f"  median {median:.3f} ms, p99 {p99:.3f} ms per update "
        f"(target <= 5 ms: {'OK' if p99 <= 5 else 'MISSED'})"
    )
    print(
        f"  reference Python loop: median {ref:.2f} ms per update; ratio {ref / median:.0f}x faster"
    )


if __name__ == "__main__":
    main()
