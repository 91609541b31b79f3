"""Invariants of the governance rules over random profiles and random price paths.

* a stop never loosens;
* ladder quantities never exceed the position, and the stop never covers more than is held;
* nothing happens to a CLOSED position;
* evaluating the same snapshot twice yields no new actions;
* the vectorised batch (revaluation + screen + exact rules where flagged) decides exactly what
  the rules decide position by position.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import numpy as np
from governance_kit import BARE, INVERSE, PERP, at, snap, state
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskdesk.domain.governance import (
    ActionKind,
    CloseStats,
    GovernanceBook,
    GovernanceProfile,
    InvalidationCondition,
    Lifecycle,
    LockTier,
    PositionColumns,
    Signal,
    SignalKind,
    Snapshot,
    StopMethod,
    TakeProfitTier,
    evaluate,
    manage_batch,
)

D = Decimal
EXAMPLES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def profiles(draw: st.DrawFn) -> GovernanceProfile:
    """Random profiles with any combination of rules on."""
    lock = draw(st.booleans())
    r = draw(st.booleans())
    roe = draw(st.booleans())
    return replace(
        BARE,
        stop_method=draw(st.sampled_from([StopMethod.ATR, StopMethod.PERCENT])),
        stop_percent=draw(st.sampled_from([0.01, 0.02, 0.05])),
        atr_multiplier=draw(st.sampled_from([1.0, 2.0, 3.0])),
        lock_tiers=(LockTier(0.05, 0.0), LockTier(0.10, 0.05), LockTier(0.30, 0.2)) if lock else (),
        lock_net_of_fees=draw(st.booleans()),
        chandelier_multiplier=draw(st.sampled_from([None, 2.0, 3.0])),
        trail_percent=draw(st.sampled_from([None, 0.01, 0.03])),
        trail_activation=draw(st.sampled_from([None, 0.0, 0.01])),
        min_stop_move=draw(st.sampled_from([0.0, 0.001, 0.005])),
        r_ladder=(TakeProfitTier(1, 0.4), TakeProfitTier(2, 0.3), TakeProfitTier(3, 0.3))
        if r
        else (),
        roe_ladder=(TakeProfitTier(0.1, 0.25), TakeProfitTier(0.3, 0.5)) if roe else (),
        add_on_cap=draw(st.sampled_from([0, 1, 2])),
        add_on_roe_tiers=(0.02, 0.05),
        add_on_requires_signal=draw(st.booleans()),
        add_on_min_interval=draw(st.sampled_from([0.0, 3600.0])),
        max_holding_seconds=draw(st.sampled_from([None, 20 * 3600.0])),
        stagnation_seconds=draw(st.sampled_from([None, 6 * 3600.0])),
        stagnation_close=draw(st.booleans()),
        guard_stop=draw(st.booleans()),
        exit_on_opposite_signal=draw(st.booleans()),
        invalidation=(InvalidationCondition("1h", close_below=D("45000")),)
        if draw(st.booleans())
        else (),
    )


@st.composite
def paths(draw: st.DrawFn) -> tuple[GovernanceProfile, bool, int, list[float], list[bool]]:
    """A profile, the instrument, the side, a path of relative price moves and whether each
    tick's planned orders fill before the next one."""
    p = draw(profiles())
    inverse = draw(st.booleans())
    side = draw(st.sampled_from([1, -1]))
    moves = draw(st.lists(st.floats(-0.03, 0.03), min_size=2, max_size=10))
    fills = draw(st.lists(st.booleans(), min_size=len(moves), max_size=len(moves)))
    return p, inverse, side, moves, fills


def _snapshot(
    inverse: bool, qty: Decimal, entry: Decimal, price: float, high: float, low: float, h: float
) -> Snapshot:
    instrument = INVERSE if inverse else PERP
    tick = instrument.tick_size
    mark = (Decimal(repr(price)) / tick).quantize(D(1)) * tick
    leverage = "5"
    margin = instrument.notional(abs(qty), entry) / D(leverage) if qty else D(0)
    signals = (
        (Signal(f"s{h}", SignalKind.ENTRY, 1 if qty >= 0 else -1, at(h)),)
        if int(h) % 3 == 0
        else ()
    )
    return snap(
        mark,
        qty=qty,
        entry=entry,
        instrument=instrument,
        margin=margin,
        leverage=leverage,
        atr=abs(price) * 0.004,
        high=high,
        low=low,
        liquidation=None,
        closes={"1h": CloseStats(low, at(0), high, at(0))},
        signals=signals,
    )


def _walk(p, inverse, side, moves, fills):  # type: ignore[no-untyped-def]
    """Run the path; yields (state before, snapshot, now, evaluation)."""
    instrument = INVERSE if inverse else PERP
    qty = D(side) * (D(3000) if inverse else D("2"))
    entry = D(50000)
    price = 50000.0
    high = low = price
    s = state(p, instrument)
    out = []
    for k, (move, fill) in enumerate(zip(moves, fills, strict=True)):
        price *= 1 + move
        high, low = max(high, price), min(low, price)
        h = 1.0 + 2 * k
        snapshot = _snapshot(inverse, qty, entry, price, high, low, h)
        result = evaluate(s, snapshot, at(h))
        out.append((s, snapshot, at(h), result))
        s = result.state
        if fill and result.plan is not None:
            for action in result.actions:
                if action.kind in (ActionKind.REDUCE, ActionKind.CLOSE) and action.qty:
                    qty -= D(side) * action.qty
                elif action.kind is ActionKind.ADD and action.qty:
                    qty += D(side) * action.qty
    return out


@EXAMPLES
@given(paths())
def test_a_stop_never_loosens(case) -> None:  # type: ignore[no-untyped-def]
    p, inverse, side, moves, fills = case
    previous: Decimal | None = None
    for _, _, _, result in _walk(p, inverse, side, moves, fills):
        stop = result.state.stop_price
        if previous is not None and stop is not None:
            assert side * (stop - previous) >= 0, (previous, stop)
        for action in result.actions:
            if action.kind is ActionKind.MOVE_STOP:
                assert action.old_value is not None and action.new_value is not None
                assert side * (action.new_value - action.old_value) >= 0
        previous = stop if stop is not None else previous


@EXAMPLES
@given(paths())
def test_ladder_quantities_never_exceed_the_position(case) -> None:  # type: ignore[no-untyped-def]
    p, inverse, side, moves, fills = case
    for _, snapshot, _, result in _walk(p, inverse, side, moves, fills):
        held = abs(snapshot.qty)
        out = sum(
            (
                a.qty
                for a in result.actions
                if a.kind in (ActionKind.REDUCE, ActionKind.CLOSE) and a.qty
            ),
            D(0),
        )
        assert out <= held
        for a in result.actions:
            if a.kind in (ActionKind.PLACE_STOP, ActionKind.MOVE_STOP):
                assert a.qty is not None and 0 < a.qty <= held
            if a.kind in (ActionKind.REDUCE, ActionKind.CLOSE):
                assert a.qty is not None and a.qty > 0 and a.qty % snapshot.instrument.lot_size == 0
        assert 0 <= result.state.expected_qty <= max(held, result.state.expected_qty)
        if result.plan is not None:
            for leg in result.plan.reduce:
                assert leg.remaining >= 0


@EXAMPLES
@given(paths(), st.floats(-0.2, 0.2))
def test_nothing_happens_to_a_closed_position(case, move) -> None:  # type: ignore[no-untyped-def]
    p, inverse, side, moves, fills = case
    walk = _walk(p, inverse, side, moves, fills)
    _last_state, _last_snap, _last_now, last = walk[-1]
    instrument = INVERSE if inverse else PERP
    flat = evaluate(
        last.state, _snapshot(inverse, D(0), D(50000), 50000.0, 50000.0, 50000.0, 99), at(99)
    )
    closed = flat.state
    if last.state.lifecycle is Lifecycle.PENDING_ENTRY:
        return
    assert closed.lifecycle is Lifecycle.CLOSED
    again = _snapshot(
        inverse,
        D(side) * D(2 if not inverse else 3000),
        D(50000),
        50000 * (1 + move),
        60000.0,
        40000.0,
        100,
    )
    result = evaluate(closed, again, at(100) + timedelta(days=30))
    assert result.actions == () and result.state is closed and result.plan is None
    assert instrument.key == closed.instrument_key


@EXAMPLES
@given(paths())
def test_the_same_snapshot_twice_gives_no_new_actions(case) -> None:  # type: ignore[no-untyped-def]
    p, inverse, side, moves, fills = case
    for _, snapshot, now, result in _walk(p, inverse, side, moves, fills):
        again = evaluate(result.state, snapshot, now)
        assert again.actions == (), [a.reason for a in again.actions]


def _columns(snaps: list[Snapshot]) -> PositionColumns:
    def arr(fn) -> np.ndarray:  # type: ignore[no-untyped-def]
        return np.array([fn(s) for s in snaps], dtype=float)

    return PositionColumns(
        qty=arr(lambda s: float(s.qty)),
        entry=arr(lambda s: float(s.entry)),
        margin=arr(lambda s: float(s.margin)),
        mark=arr(lambda s: float(s.mark)),
        contract_size=arr(lambda s: float(s.instrument.contract_size)),
        inverse=np.array([s.instrument.inverse for s in snaps], dtype=bool),
        tick=arr(lambda s: float(s.instrument.tick_size)),
        fee_rate=arr(lambda s: float(s.instrument.taker_fee_rate)),
        high=arr(lambda s: math.nan if s.high is None else s.high),
        low=arr(lambda s: math.nan if s.low is None else s.low),
        atr=arr(lambda s: math.nan if s.atr is None else s.atr),
        liquidation=arr(lambda s: math.nan if s.liquidation is None else float(s.liquidation)),
        has_signal=np.array([bool(s.signals) for s in snaps], dtype=bool),
        lot=arr(lambda s: float(s.instrument.lot_size)),
        min_qty=arr(lambda s: float(s.instrument.min_qty)),
        opened=arr(lambda s: s.opened_at.timestamp()),
        close_low={"1h": arr(lambda s: s.closes["1h"].low)},
        close_high={"1h": arr(lambda s: s.closes["1h"].high)},
    )


@EXAMPLES
@given(st.lists(paths(), min_size=1, max_size=4), st.floats(-0.05, 0.05))
def test_the_batch_decides_what_the_rules_decide(cases, move) -> None:  # type: ignore[no-untyped-def]
    states = []
    snaps = []
    for p, inverse, side, moves, fills in cases:
        walk = _walk(p, inverse, side, moves, fills)
        _prev_state, prev_snap, _, last = walk[-1]
        states.append(last.state)
        price = float(prev_snap.mark) * (1 + move)
        snaps.append(
            _snapshot(
                inverse,
                prev_snap.qty,
                prev_snap.entry,
                price,
                max(prev_snap.high or price, price),
                min(prev_snap.low or price, price),
                50,
            )
        )
    now = at(50)
    book = GovernanceBook.of(states)
    result = manage_batch(book, _columns(snaps), lambda i: snaps[i], now)
    for i, s in enumerate(states):
        expected = evaluate(s, snaps[i], now)
        got = result.evaluations.get(i)
        assert (got.actions if got else ()) == expected.actions
        assert (got.plan if got else None) == expected.plan
        assert (got.events if got else ()) == expected.events
        assert result.book.states[i] == expected.state
