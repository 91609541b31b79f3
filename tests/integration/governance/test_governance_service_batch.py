"""The service's tick and the pure batch decide the same actions on the same snapshots.

The service builds its inputs itself — positions as columns, ATR with TA-Lib on the bars closed
by ``now``, the extremes since each entry from the bars that closed *after* it (the entry's own
bar is history before the position) — and runs ``manage_batch``. Here the same snapshots are
built by hand from the book's views and the bar file, run through ``manage_batch`` and through
per-position ``evaluate``: the plans (ids, actions, levels, quantities, reasons) must be equal.
The benchmark once fed its batch the entry bar's range and saw a different plan count."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from riskdesk.adapters.clock import ManualClock
from riskdesk.application.governance_service import Bars, wilder_atr
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import Runtime, build
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.fills import Fill, MarginMode
from riskdesk.domain.governance import GovernanceBook, PositionColumns, Snapshot, manage_batch
from riskdesk.domain.governance.engine import evaluate
from riskdesk.domain.governance.plan import ManagePlan
from riskdesk.domain.instruments import perpetual_or_future

D = Decimal
T0 = datetime(2025, 3, 3, 12, tzinfo=UTC)
START = T0 - timedelta(hours=50)
PERP = perpetual_or_future(
    "BTC/USDT:USDT", "paper", tick_size="0.1", lot_size="0.001", taker_fee_rate="0.0004"
)
ACCOUNTS = ("a1", "a2", "a3")
ENTRY_BARS = (20, 35, 44)  # each account's entry at the close of this bar
_ids = itertools.count(1)


def _closes() -> np.ndarray:
    rng = np.random.default_rng(5)
    return np.round(50000 + 40 * np.arange(50) + rng.normal(0, 60, 50), 1)


def _highs(closes: np.ndarray) -> np.ndarray:
    highs = closes + 50
    # A spike in each entry's own bar: it happened before the position opened, so it must not
    # set the extreme since entry (the chandelier would otherwise trail from it).
    highs[list(ENTRY_BARS)] += 900
    return highs


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    closes = _closes()
    highs = _highs(closes)
    rows = ["timestamp_ms,open,high,low,close,volume"]
    for i, c in enumerate(closes):
        ts = int((START + timedelta(hours=i)).timestamp() * 1000)
        rows.append(f"{ts},{c:.1f},{highs[i]:.1f},{c - 60:.1f},{c:.1f},1")
    path = tmp_path / "bars.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    settings = Settings(
        governance={
            "bars": {PERP.key: {"file": str(path), "timeframe": "1h"}},
            "profiles": {"standard": {"chandelier_multiplier": 3.0}},
        }
    )
    runtime = build(settings, sqlite_url, clock=ManualClock(T0), migrate=False)
    book = runtime.app.book
    book.register_instruments([PERP])
    for account in ACCOUNTS:
        book.register_account(
            Account(
                account, "paper", default_margin_mode=MarginMode.ISOLATED, default_leverage=D(10)
            )
        )
        book.move_cash(account, "USDT", D(100000), START, "deposit", "dep")
    for account, bar in zip(ACCOUNTS, ENTRY_BARS, strict=True):
        book.apply_fills(
            [
                Fill.create(
                    venue="paper",
                    fill_id=f"f{next(_ids)}",
                    account_id=account,
                    symbol=PERP.symbol,
                    side="buy",
                    qty="1",
                    price=f"{closes[bar]:.1f}",
                    ts=START + timedelta(hours=bar + 1),
                    leverage="10",
                    margin_mode=MarginMode.ISOLATED,
                )
            ]
        )
    yield runtime
    runtime.store.dispose()


def _mark(rt: Runtime, price: str, at: datetime) -> None:
    rt.app.book.record_prices({PERP.key: D(price)}, {"BTC": D(price)}, at, "test")


def _snapshots(rt: Runtime, now: datetime) -> tuple[list[Snapshot], list[object]]:
    """Each governed state's snapshot, built by hand: the view's values, ATR(14) of the bars
    closed by ``now``, the extremes of the bars that opened at or after the entry."""
    closes = _closes()
    highs = _highs(closes)
    ts = np.array([int((START + timedelta(hours=i)).timestamp()) for i in range(50)])
    bars = Bars("1h", ts, closes, highs, closes - 60, closes).closed_by(now)
    atr = wilder_atr(bars, 14)
    views = {v.position_id: v for v in rt.app.book.positions(None, now)}
    states = rt.app.governance.states()
    snaps = []
    for state in states:
        v = views[state.position_id or ""]
        since = bars.ts >= v.opened_at.timestamp()
        snaps.append(
            Snapshot(
                instrument=PERP,
                position_id=v.position_id,
                qty=v.qty,
                entry=v.entry_price,
                margin=v.margin_ccy,
                opened_at=v.opened_at,
                mark=v.mark_price,
                leverage=v.leverage,
                atr=atr,
                high=float(bars.high[since].max()) if since.any() else None,
                low=float(bars.low[since].min()) if since.any() else None,
                liquidation=v.liquidation_price,
            )
        )
    return snaps, list(states)


def _columns(snaps: list[Snapshot]) -> PositionColumns:
    def arr(values: list[float | None]) -> np.ndarray:
        return np.array([math.nan if x is None else x for x in values], dtype=float)

    n = len(snaps)
    return PositionColumns(
        qty=arr([float(s.qty) for s in snaps]),
        entry=arr([float(s.entry) for s in snaps]),
        margin=arr([float(s.margin) for s in snaps]),
        mark=arr([float(s.mark) for s in snaps]),
        contract_size=np.ones(n),
        inverse=np.zeros(n, dtype=bool),
        tick=np.full(n, 0.1),
        fee_rate=np.full(n, 0.0004),
        high=arr([s.high for s in snaps]),
        low=arr([s.low for s in snaps]),
        atr=arr([s.atr for s in snaps]),
        liquidation=arr([None if s.liquidation is None else float(s.liquidation) for s in snaps]),
        has_signal=np.zeros(n, dtype=bool),
        lot=np.full(n, 0.001),
        min_qty=np.full(n, float(PERP.min_qty)),
        opened=arr([s.opened_at.timestamp() for s in snaps]),
    )


def _shape(plans: list[ManagePlan]) -> list[tuple[object, ...]]:
    return sorted(
        (
            p.plan_id,
            p.position_id,
            tuple(
                (a.kind, a.rule, a.old_value, a.new_value, a.qty, a.intent_id, a.reason)
                for a in p.actions
            ),
            tuple((o.intent_id, o.qty, o.stop_price) for o in p.orders),
        )
        for p in plans
    )


def test_the_service_and_the_batch_plan_the_same_actions_on_the_same_snapshots(
    rt: Runtime,
) -> None:
    gov = rt.app.governance
    closes = _closes()
    _mark(rt, f"{closes[-1] + 300:.1f}", T0)
    first = gov.tick(T0)  # places the stops (stored: the next tick starts from them)
    assert len(first.plans) == len(ACCOUNTS)
    now = T0 + timedelta(minutes=30)
    _mark(rt, "53400", now)
    result = gov.tick(now, dry_run=True)
    kinds = {a.kind.value for p in result.plans for a in p.plan.actions}
    assert "MOVE_STOP" in kinds and "REDUCE" in kinds, kinds
    # The trailing stops follow the highs since each entry, never the spike in the entry's own
    # bar (the others' spikes came after an earlier entry: those count).
    own = {
        a: f"high since entry {h:,.2f}"
        for a, h in zip(ACCOUNTS, _highs(closes)[list(ENTRY_BARS)], strict=True)
    }
    reasons = [
        (c.plan.account_id, a.reason) for c in (*first.plans, *result.plans) for a in c.plan.actions
    ]
    assert any("chandelier trail: high since entry" in r for _, r in reasons)
    assert not [r for account, r in reasons if own[account] in r]
    snaps, states = _snapshots(rt, now)
    batch = manage_batch(GovernanceBook.of(states), _columns(snaps), lambda i: snaps[i], now)
    exact = [evaluate(s, snap, now).plan for s, snap in zip(states, snaps, strict=True)]
    service = _shape([c.plan for c in result.plans])
    assert service == _shape(list(batch.plans))
    assert service == _shape([p for p in exact if p is not None])
