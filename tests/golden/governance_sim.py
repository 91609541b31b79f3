"""A candle-by-candle harness for the governance golden tables.

One position, one instrument. At each candle, in order:

1. the working stop (if any) fills when the candle trades through it: a long's stop at
   ``min(open, stop)`` (a gap fills at the open), a short's at ``max(open, stop)``;
2. at the close the management tick runs (``evaluate``) with mark = close, the extremes since
   entry, the candle's ATR and the closes since entry;
3. its market orders (REDUCE / CLOSE / ADD) fill at the close.

Realized P&L is exact (linear: ``qty·(exit − entry)``; fees are zero unless the instrument has
them). The harness only moves the position the way a venue would; every decision is the rules'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from riskdesk.domain.governance import (
    ActionKind,
    CloseStats,
    GovernanceProfile,
    GovernanceState,
    Signal,
    Snapshot,
    evaluate,
    new_state,
)
from riskdesk.domain.instruments import Instrument

D = Decimal
ZERO = Decimal(0)
TEN = Decimal(10)
T0 = datetime(2025, 1, 6, 0, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Candle:
    """One hourly candle; ``atr`` is the ATR known at its close (None: not enough bars)."""

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    atr: float | None = None


def candles(rows: Sequence[tuple[object, ...]]) -> list[Candle]:
    """``(open, high, low, close[, atr])`` rows."""
    out = []
    for row in rows:
        o, h, lo, c = (D(str(x)) for x in row[:4])
        atr = float(row[4]) if len(row) > 4 and row[4] is not None else None  # type: ignore[arg-type]
        out.append(Candle(o, h, lo, c, atr))
    return out


@dataclass
class Outcome:
    """What happened: actions per candle (``KIND:rule``), the stop after each candle and the
    size it covers, the size held after each candle, the exit candle and why, the realized P&L
    (settlement currency), every fill."""

    actions: list[list[str]] = field(default_factory=list)
    stops: list[Decimal | None] = field(default_factory=list)
    stop_qtys: list[Decimal | None] = field(default_factory=list)
    held: list[Decimal] = field(default_factory=list)
    exit_bar: int | None = None
    exit_reason: str = ""
    pnl: Decimal = ZERO
    fills: list[tuple[int, str, Decimal, Decimal]] = field(default_factory=list)
    state: GovernanceState | None = None
    reasons: list[list[str]] = field(default_factory=list)


def simulate(
    instrument: Instrument,
    profile: GovernanceProfile,
    bars: Sequence[Candle],
    *,
    qty: Decimal,
    leverage: Decimal = TEN,
    entry_bar: int = 0,
    signals: dict[int, tuple[Signal, ...]] | None = None,
    state_changes: dict[str, object] | None = None,
    step: timedelta = timedelta(hours=1),
    t0: datetime = T0,
) -> Outcome:
    """Open ``qty`` (signed) at the close of ``entry_bar`` and run the rules to the end; candle
    ``i`` opens at ``t0 + i·step``."""
    signals = signals or {}
    state = new_state("golden", "acct", instrument.key, "net", profile)
    if state_changes:
        state = state.evolve(**state_changes)
    entry = bars[entry_bar].close
    position = qty
    basis = entry  # average entry price
    margin = instrument.notional(qty, entry) / leverage
    opened = t0 + step * (entry_bar + 1)
    out = Outcome()
    high = low = entry
    closes: list[tuple[Decimal, datetime]] = []
    for i, bar in enumerate(bars):
        now = t0 + step * (i + 1)
        if i <= entry_bar:
            out.actions.append([])
            out.stops.append(None)
            out.stop_qtys.append(None)
            out.held.append(position if i == entry_bar else ZERO)
            out.reasons.append([])
            continue
        # 1. the resting stop.
        stop = state.stop_price
        if position and stop is not None:
            hit = bar.low <= stop if position > 0 else bar.high >= stop
            if hit:
                price = min(bar.open, stop) if position > 0 else max(bar.open, stop)
                _fill(out, i, "stop", -position, price, basis, instrument)
                out.exit_bar, out.exit_reason = i, f"stop {stop}"
                position = D(0)
        high, low = max(high, bar.high), min(low, bar.low)
        closes.append((bar.close, now - step))
        low_close = min(closes, key=lambda c: c[0])
        high_close = max(closes, key=lambda c: c[0])
        snapshot = Snapshot(
            instrument=instrument,
            position_id="golden-position",
            qty=position,
            entry=basis,
            margin=margin if position else D(0),
            opened_at=opened,
            mark=bar.close,
            leverage=leverage,
            atr=bar.atr,
            high=float(high),
            low=float(low),
            closes={
                "1h": CloseStats(
                    float(low_close[0]), low_close[1], float(high_close[0]), high_close[1]
                )
            },
            signals=signals.get(i, ()),
        )
        result = evaluate(state, snapshot, now)
        state = result.state
        out.actions.append([f"{a.kind.value}:{a.rule}" for a in result.actions])
        out.reasons.append([a.reason for a in result.actions])
        # 3. market orders at the close.
        for action in result.actions:
            if action.kind in (ActionKind.REDUCE, ActionKind.CLOSE) and action.qty:
                signed = -action.qty if position > 0 else action.qty
                margin = margin * (abs(position) - action.qty) / abs(position)
                _fill(out, i, action.rule, signed, bar.close, basis, instrument)
                position += signed
                if position == 0:
                    out.exit_bar, out.exit_reason = i, action.rule
            elif action.kind is ActionKind.ADD and action.qty:
                signed = action.qty if position > 0 else -action.qty
                # The ledger's average entry, shown to 8 decimals in the reasons.
                basis = ((basis * position + bar.close * signed) / (position + signed)).quantize(
                    D("1e-8")
                )
                margin += instrument.notional(signed, bar.close) / leverage
                position += signed
                out.fills.append((i, "add", signed, bar.close))
        out.stops.append(state.stop_price)
        out.stop_qtys.append(None if state.stop_price is None else state.stop_qty)
        out.held.append(position)
    out.state = state
    return out


def _fill(
    out: Outcome,
    bar: int,
    why: str,
    signed: Decimal,
    price: Decimal,
    entry: Decimal,
    instrument: Instrument,
) -> None:
    out.fills.append((bar, why, signed, price))
    # Closing ``-signed`` of a position entered at ``entry``.
    out.pnl += instrument.pnl(-signed, entry, price)
