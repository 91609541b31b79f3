"""Risk benchmarks: the full pre-trade pipeline with every check on over a book of 1,000 open
positions (order validation included), and the intraday monitors over 10,000 positions.

Run: ``.venv/bin/python benchmarks/risk.py``

Every order passes through all checks (limits are on but sized so the orders pass, so no check
short-circuits): validation against the instrument grid, trading state, stale data, reduce-only,
margin, daily loss, per-symbol and total exposure, positions, risk per trade (a protective stop is
attached), leverage, order notional, price band, order-book liquidity and slippage (a 10-level
book per instrument), rate limit, adjustment count and interval, delta change, daily cost,
concentration, heat, net delta / gamma / vega per underlying and in total, and the scenario grid.
The reference is a plain-Python six-rule check measured in the same run.

The last part measures what the running engine pays for risk on every mark update through the
application (``RiskService.on_mark_update``: the exact revaluation, the equity marks, the risk
book of each book (real, paper) rebuilt, every monitor and the kill switch) on a SQLite book, against the revaluation
alone (``BookService.report``), and a check on the live book the gate keeps between updates.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np

from riskdesk.domain.instruments import perpetual_or_future
from riskdesk.domain.orders import OrderIntent, OrderType
from riskdesk.domain.risk.aggregates import InstrumentRisk, OrderBook, OrderBookSide, RiskBook
from riskdesk.domain.risk.limits import MonitorThresholds, RiskLimits
from riskdesk.domain.risk.monitors import AlertDeduper, MonitorInput, compute_levels, evaluate
from riskdesk.domain.risk.pretrade import PreTradeEngine
from riskdesk.domain.values import Side

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
GRID = (9, 5, 3)


def build_book(n: int) -> tuple[RiskBook, list, dict]:  # type: ignore[type-arg]
    rng = random.Random(11)
    instruments = [
        perpetual_or_future(f"C{i}/USDT:USDT", "bench", tick_size="0.01", lot_size="0.001")
        for i in range(n)
    ]
    book = RiskBook(as_of=NOW, equity=1e9, day_start_equity=1e9, peak_equity=1e9)
    prices = {}
    for i, inst in enumerate(instruments):
        mark = rng.uniform(50, 150)
        prices[inst.key] = mark
        levels = np.linspace(mark * 1.0001, mark * 1.001, 10)
        book_depth = OrderBook(
            OrderBookSide(levels[::-1] - mark * 0.0002, np.full(10, 500.0)),
            OrderBookSide(levels, np.full(10, 500.0)),
        )
        risk = InstrumentRisk(
            key=inst.key,
            venue="bench",
            asset=f"C{i % 50}",
            settle="USDT",
            mark=mark,
            mark_ts=NOW,
            exposure_per_unit=mark,
            notional_per_unit=mark,
            margin_per_unit=mark,
            settle_rate=1.0,
            fee_rate=0.0004,
            contract_size=1.0,
            lot_size=0.001,
            margined=True,
            delta_per_unit=mark,
            scenario_per_unit=np.linspace(-0.3, 0.3, GRID[0])[:, None, None] * mark * np.ones(GRID),
            book=book_depth,
        )
        book.instruments[inst.key] = risk
        qty = rng.choice([-1, 1]) * rng.uniform(1, 100)
        book.positions[("acct", inst.key, "net")] = qty
        book.symbol_exposure[inst.key] = qty * mark
        book.gross += abs(qty * mark)
        book.count += 1
        book.asset_gross[risk.asset] = book.asset_gross.get(risk.asset, 0.0) + abs(qty * mark)
        book.asset_delta[risk.asset] = book.asset_delta.get(risk.asset, 0.0) + qty * mark
        book.delta_sum += qty * mark
        grid = qty * risk.scenario_per_unit
        book.scenario[risk.asset] = grid + book.scenario.get(risk.asset, 0.0)
    book.scenario_sum = sum(book.scenario.values())  # type: ignore[assignment]
    book.scenario_worst = float(book.scenario_sum.min())
    book.available[("acct", "USDT")] = 1e12
    book.account_leverage["acct"] = 10.0
    return book, instruments, prices


def intents(
    instruments: list,
    prices: dict,
    n: int,  # type: ignore[type-arg]
    book_positions: dict | None = None,
) -> list[OrderIntent]:  # type: ignore[type-arg]
    rng = random.Random(5)
    out = []
    for k in range(n):
        inst = instruments[rng.randrange(len(instruments))]
        mark = prices[inst.key]
        held = book_positions.get(("acct", inst.key, "net"), 0.0) if book_positions else 0.0
        side = (
            (Side.BUY if held > 0 else Side.SELL)
            if held
            else (Side.BUY if rng.random() < 0.5 else Side.SELL)
        )
        price = Decimal(str(round(mark * (1.0005 if side is Side.BUY else 0.9995), 2)))
        stop = Decimal(str(round(mark * (0.97 if side is Side.BUY else 1.03), 2)))
        out.append(
            OrderIntent(
                intent_id=f"b{k}",
                account_id="acct",
                venue="bench",
                symbol=inst.symbol,
                side=side,
                qty=Decimal(rng.randint(1, 900)) / 1000,
                order_type=OrderType.LIMIT,
                price=price,
                protective_stop=stop,
                source="rebalance",
            )
        )
    return out


def six_rule_reference(book: RiskBook, key: str, qty: float, price: float) -> bool:
    """What a plain bot does: six float comparisons, no validation, no reasons."""
    equity = book.equity
    notional = abs(qty) * price
    exposure = abs(book.symbol_exposure.get(key, 0.0) + qty * price)
    return (
        notional < 1e9
        and exposure / equity < 0.2
        and (book.gross + notional) / equity < 0.6
        and book.count < 5000
        and notional < book.available[("acct", "USDT")]
        and book.state == 0
    )


def bench_pretrade(n_positions: int = 1000, n_orders: int = 20_000) -> None:
    book, instruments, prices = build_book(n_positions)
    by_key = {i.key: i for i in instruments}
    limits = replace(
        RiskLimits(),
        max_positions=10_000,
        orders_per_second=1e9,
        order_burst=10**9,
        max_adjustments_per_day=10**9,
        min_seconds_between_adjustments=0.0,
        max_cost_per_day=1e12,  # reporting currency (seed 001 units)
        max_delta_change_per_trade=1.0,  # units of the underlying; orders are <= 0.9
        max_net_delta_per_underlying=10.0,
        max_net_delta_total=100.0,
        max_gamma_total=10.0,
        max_vega_total=10.0,
    )
    engine = PreTradeEngine(limits)
    # Every order adds to its position, so none takes the reducing fast path: the worst case.
    orders = intents(instruments, prices, n_orders, book.positions)
    pairs = [(o, by_key[o.instrument_key]) for o in orders]
    for o, inst in pairs[:500]:
        engine.check(o, inst, book, NOW)  # warm up
    samples = []
    approved = 0
    clock = time.perf_counter_ns
    for o, inst in pairs:
        start = clock()
        decision = engine.check(o, inst, book, NOW)
        samples.append(clock() - start)
        approved += decision.approved
    ref = []
    for o in orders:
        q, p = float(o.signed_qty), float(o.price or 0)
        start = clock()
        six_rule_reference(book, o.instrument_key, q, p)
        ref.append(clock() - start)
    # The order object built inside the timed region too (its Decimals parsed beforehand, as
    # an order path receives them): what a caller pays from fields to decision.
    fields = [
        {f: getattr(o, f) for f in o.__slots__ if f != "__weakref__"}  # type: ignore[attr-defined]
        for o in orders
    ]
    built = []
    for kw, (_, inst) in zip(fields, pairs, strict=True):
        start = clock()
        engine.check(OrderIntent(**kw), inst, book, NOW)
        built.append(clock() - start)
    samples.sort()
    med = statistics.median(samples) / 1000
    ref_med = statistics.median(ref) / 1000
    pct = lambda p: samples[int(p * (len(samples) - 1))] / 1000  # noqa: E731
    print(
        f"pre-trade pipeline, every check on, {n_positions:,} open positions, {n_orders:,} orders "
        f"({approved:,} approved)"
    )
    print(
        f"  per order: min {samples[0] / 1000:.2f} us, p10 {pct(0.10):.2f}, p25 {pct(0.25):.2f}, "
        f"median {med:.2f}, p75 {pct(0.75):.2f}, p90 {pct(0.90):.2f}, p99 {pct(0.99):.2f}, "
        f"max {samples[-1] / 1000:.1f} us"
    )
    print(
        f"  plain six-rule float check (reference): median {ref_med:.2f} us -> ratio {med / ref_med:.1f}x"
    )
    print(
        f"  with the OrderIntent built in the timed region: median "
        f"{statistics.median(built) / 1000:.2f} us"
    )
    scale_book, scale_instruments, scale_prices = build_book(10 * n_positions)
    scale_by_key = {i.key: i for i in scale_instruments}
    scale_orders = intents(scale_instruments, scale_prices, 5000, scale_book.positions)
    scaled = []
    for o in scale_orders:
        start = clock()
        engine.check(o, scale_by_key[o.instrument_key], scale_book, NOW)
        scaled.append(clock() - start)

    def warm(book: RiskBook, pairs: list) -> float:  # type: ignore[type-arg]
        """Median over the same 50 orders repeated: the objects they touch stay in the caches."""
        times = []
        for o, inst in pairs[:50] * 100:
            start = clock()
            engine.check(o, inst, book, NOW)
            times.append(clock() - start)
        return statistics.median(times) / 1000

    scale_pairs = [(o, scale_by_key[o.instrument_key]) for o in scale_orders]
    print(
        f"  same pipeline over {10 * n_positions:,} positions: median "
        f"{statistics.median(scaled) / 1000:.2f} us; with the caches warm (50 orders repeated) "
        f"{warm(scale_book, scale_pairs):.2f} us vs {warm(book, pairs):.2f} us over "
        f"{n_positions:,}: the checks are O(1), the difference is memory traffic"
    )


def bench_monitors(n: int = 10_000, rounds: int = 50) -> None:
    """Marks move a little every update (a random walk of 0.2 % per step), as they do between
    two ticks: most positions keep their level, a few cross a threshold."""
    rng = np.random.default_rng(3)
    keys = [f"acct:bench:C{i}/USDT:USDT:net" for i in range(n)]
    labels = [f"C{i}/USDT:USDT" for i in range(n)]
    thresholds = MonitorThresholds()
    dedupe = AlertDeduper(thresholds.cooldown_seconds)
    liq = rng.uniform(0.02, 0.5, n)
    loss = rng.uniform(-0.25, 0.25, n)
    times = []
    raised = []
    for r in range(rounds):
        liq = liq * (1.0 + rng.normal(0.0, 0.002, n))
        loss = loss + rng.normal(0.0, 0.002, n)
        data = MonitorInput(
            keys=keys,
            labels=labels,
            liq_distance=liq,
            loss=loss,
            mark_age=rng.uniform(0, 30, n),
            equity=1e7,
            peak_equity=1.1e7,
            margin_used=5e6,
            heat=3e5,
            ts=NOW + timedelta(seconds=r),
        )
        start = time.perf_counter()
        levels = compute_levels(data, thresholds)
        alerts = dedupe.feed_levels(data, thresholds, levels, data.ts)
        times.append(time.perf_counter() - start)
        raised.append(len(alerts))
    in_alert = int((levels.liquidation > 0).sum() + (levels.loss > 0).sum())
    start = time.perf_counter()
    full = evaluate(data, thresholds)
    formatted = time.perf_counter() - start
    print(
        f"monitors over {n:,} positions per mark update (levels + de-duplication), {rounds} updates"
    )
    print(
        f"  median {statistics.median(times) * 1000:.2f} ms (max {max(times) * 1000:.2f} ms, the first update "
        f"raises everything); {in_alert:,} positions in alert, {statistics.median(raised[1:]):.0f} alerts per "
        f"later update"
    )
    print(
        f"  reference: formatting a reading for every position in alert takes {formatted * 1000:.2f} ms "
        f"({len(full):,} readings) -> {formatted / statistics.median(times):.1f}x the de-duplicated tick"
    )


def bench_mark_update(n: int = 500, rounds: int = 5) -> None:
    """Risk per mark update through the application on a SQLite book of ``n`` positions."""
    import tempfile
    from pathlib import Path

    from riskdesk.adapters.clock import ManualClock
    from riskdesk.application.engine import ServiceRiskGate
    from riskdesk.bootstrap.settings import Settings
    from riskdesk.bootstrap.wiring import build
    from riskdesk.domain.accounting.book import Account
    from riskdesk.domain.fills import Fill

    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock(NOW)
        rt = build(Settings(data_dir=Path(tmp)), str(Path(tmp) / "b.db"), clock=clock, create=True)
        app = rt.app
        insts = [
            perpetual_or_future(f"C{i}/USDT:USDT", "bench", tick_size="0.01", lot_size="0.001")
            for i in range(n)
        ]
        app.book.register_instruments(insts)
        app.book.register_account(Account("acct", "bench", default_leverage=Decimal(10)))
        app.book.move_cash("acct", "USDT", Decimal(10**9), NOW, "deposit", "d")
        app.book.apply_fills(
            [
                Fill.create(
                    venue="bench",
                    fill_id=f"f{i}",
                    account_id="acct",
                    symbol=inst.symbol,
                    side="buy" if i % 2 else "sell",
                    qty="1",
                    price="100",
                    ts=NOW,
                )
                for i, inst in enumerate(insts)
            ]
        )
        update, report = [], []
        for r in range(rounds):
            clock.advance(timedelta(seconds=1))
            app.book.record_prices(
                {i.key: Decimal(100 + (k + r) % 7) for k, i in enumerate(insts)},
                {},
                clock.now(),
                "bench",
            )
            start = time.perf_counter()
            app.book.report(None, clock.now())
            report.append(time.perf_counter() - start)
            start = time.perf_counter()
            done = app.risk.on_mark_update(clock.now())
            update.append(time.perf_counter() - start)
        gate = ServiceRiskGate(app.risk)
        gate.adopt(done.of(app.risk.book_of_account("acct")).book)
        order = OrderIntent(
            intent_id="probe",
            account_id="acct",
            venue="bench",
            symbol=insts[0].symbol,
            side=Side.BUY,
            qty=Decimal("0.001"),
        )
        checks = []
        for k in range(20):
            start = time.perf_counter()
            gate.check(replace(order, intent_id=f"probe{k}"), clock.now())
            checks.append(time.perf_counter() - start)
        rt.store.dispose()
    u, rep = statistics.median(update), statistics.median(report)
    print(f"risk per mark update through the application, {n:,} positions on SQLite")
    print(
        f"  on_mark_update median {u * 1000:.1f} ms = {u / rep:.1f}x the revaluation alone "
        f"({rep * 1000:.1f} ms); a check on the live book (decision stored) "
        f"{statistics.median(checks) * 1000:.2f} ms"
    )


if __name__ == "__main__":
    bench_pretrade()
    bench_monitors()
    bench_mark_update()
