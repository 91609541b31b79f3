"""The vectorised decisions (``vector.decide`` and ``engine.evaluate_decided``) against the exact
rules, position by position.

* random books — every preset and random profiles, linear and inverse contracts, longs and
  shorts, liquidation prices on the loss side, on the profitable side (hedge legs) or none,
  entries whose position just appeared, orders outstanding or filled — with the mark placed
  where a float decision could go wrong: exactly on a lock-profit tier's ROE, on an R level,
  on the working stop, on a trailing activation price, or anywhere;
* the common actions of a tick (a lock-profit or trailing move, the stop at entry, a
  take-profit, a guard-stop close) are decided in NumPy, not left to the exact rules: a tick's
  speed depends on it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal

import numpy as np
from governance_kit import BARE, INVERSE, PERP, at, profile, snap, state
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_governance_properties import _columns, _walk, profiles

from riskdesk.domain.governance import (
    PRESETS,
    CloseStats,
    GovernanceBook,
    GovernanceProfile,
    GovernanceState,
    LockTier,
    Snapshot,
    TakeProfitTier,
    evaluate,
    manage_batch,
    preset,
    revalue,
)
from riskdesk.domain.governance.batch import screen
from riskdesk.domain.governance.vector import DECIDED, decide

D = Decimal
EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
WHERE = ("anywhere", "lock_tier", "r_level", "stop", "activation", "entry")


@st.composite
def any_profile(draw: st.DrawFn) -> GovernanceProfile:
    """A preset (as configured, with their ATR stops and ladders) or a random profile."""
    if draw(st.booleans()):
        p = preset(draw(st.sampled_from(PRESETS)))
        return replace(p, trail_activation=draw(st.sampled_from([p.trail_activation, 0.01])))
    return draw(profiles())


def _mark(
    where: str,
    s: GovernanceState,
    last: Snapshot,
    p: GovernanceProfile,
    move: float,
    tier: int,
) -> float:
    """A price on the boundary ``where`` names (exact when the numbers allow it)."""
    entry = float(last.entry)
    d = 1 if last.qty >= 0 else -1
    leverage = float(last.leverage)
    if where == "lock_tier" and p.lock_tiers:
        roe = p.lock_tiers[tier % len(p.lock_tiers)].trigger_roe
        return entry * (1 + d * roe / leverage)
    if where == "r_level" and p.r_ladder and s.risk_per_unit:
        step = p.r_ladder[tier % len(p.r_ladder)].trigger
        return entry + d * step * float(s.risk_per_unit)
    if where == "stop" and s.stop_price is not None:
        return float(s.stop_price)
    if where == "activation" and p.trail_activation is not None:
        return entry * (1 + d * p.trail_activation)
    if where == "entry":
        return entry
    return float(last.mark) * (1 + move)


@st.composite
def rows(draw: st.DrawFn) -> tuple[GovernanceState, Snapshot]:
    """One position: a path walked with some profile, then a snapshot on a boundary (or an
    entry whose position just appeared)."""
    p = draw(any_profile())
    inverse = draw(st.booleans())
    side = draw(st.sampled_from([1, -1]))
    instrument = INVERSE if inverse else PERP
    if draw(st.integers(0, 5)) == 0:
        # An entry whose position appears now.
        s = state(p, instrument)
        qty = D(side) * (D(3000) if inverse else D(2))
        last = snap("50000", qty=qty, instrument=instrument, leverage="5", opened_at=at(0))
        moves: list[float] = []
    else:
        moves = draw(st.lists(st.floats(-0.02, 0.04), min_size=1, max_size=8))
        # Mostly books whose orders filled (what a tick usually sees), sometimes not.
        if draw(st.integers(0, 3)) == 0:
            fills = draw(st.lists(st.booleans(), min_size=len(moves), max_size=len(moves)))
        else:
            fills = [True] * len(moves)
        *_, (_, last, _, result) = _walk(p, inverse, side, moves, fills)
        s = result.state
    where = draw(st.sampled_from(WHERE))
    price = _mark(where, s, last, p, draw(st.floats(-0.06, 0.08)), draw(st.integers(0, 3)))
    tick = instrument.tick_size
    mark = (D(repr(max(price, 1.0))) / tick).quantize(D(1)) * tick
    if draw(st.booleans()):
        mark = D(repr(max(price, 1.0)))  # off the tick grid, as a mark may be
    liq_side = draw(st.sampled_from(["none", "loss", "profit"]))
    d = 1 if last.qty >= 0 else -1
    liquidation = {
        "none": None,
        "loss": D(50000) * (1 - d * D("0.15")),
        "profit": D(50000) * (1 + d * D("0.4")),
    }[liq_side]
    high = max(last.high or float(mark), float(mark))
    low = min(last.low or float(mark), float(mark))
    row = Snapshot(
        instrument=instrument,
        position_id=last.position_id,
        qty=last.qty,
        entry=last.entry,
        margin=last.margin,
        opened_at=last.opened_at,
        mark=mark,
        leverage=last.leverage,
        atr=draw(st.sampled_from([None, float(mark) * 0.004, float(mark) * 0.01])),
        high=high,
        low=low,
        liquidation=liquidation,
        closes={"1h": CloseStats(low, at(0), high, at(0))},
        signals=last.signals if draw(st.integers(0, 3)) == 0 else (),
    )
    return s, row


def _same(states: list[GovernanceState], snaps: list[Snapshot], hours: float) -> None:
    now = at(hours)
    book = GovernanceBook.of(states)
    result = manage_batch(book, _columns(snaps), lambda i: snaps[i], now)
    for i, s in enumerate(states):
        expected = evaluate(s, snaps[i], now)
        got = result.evaluations.get(i)
        assert (got.actions if got else ()) == expected.actions, i
        assert (got.plan if got else None) == expected.plan, i
        assert (got.events if got else ()) == expected.events, i
        assert result.book.states[i] == expected.state, i
    # The kept book's columns are those of its states (only changed rows were rebuilt).
    np.testing.assert_array_equal(result.book.table, GovernanceBook.of(result.book.states).table)


@EXAMPLES
@given(st.lists(rows(), min_size=1, max_size=6), st.sampled_from([20.0, 20.5, 48.0, 30 * 24.0]))
def test_the_vectorised_decisions_are_the_rules_decisions(cases, hours) -> None:  # type: ignore[no-untyped-def]
    _same([s for s, _ in cases], [row for _, row in cases], hours)


# ---------------------------------------------------------------------------------- routes

LOCK = (LockTier(0.10, 0.0), LockTier(0.20, 0.10))
R = (TakeProfitTier(2, 0.5), TakeProfitTier(3, 0.5))


def _common() -> tuple[list[GovernanceState], list[Snapshot]]:
    """A lock-profit move, a chandelier move, a take-profit, a guard close, a stop at entry."""
    states, snaps = [], []

    def add(p: GovernanceProfile, first: str, then: str, **kw: object) -> None:
        s = evaluate(state(p), snap(first, leverage="5"), at(1)).state
        states.append(s.evolve(position_id=f"p{len(states)}"))
        snaps.append(
            snap(then, leverage="5", closes={"1h": CloseStats(1.0, at(0), 1e9, at(0))}, **kw)
        )

    add(profile(lock_tiers=LOCK), "50000", "51250")  # ROE 12.5 % → breakeven
    add(profile(chandelier_multiplier=2.0), "50000", "52000", atr=100.0, high=52000.0)
    add(profile(r_ladder=R, stop_percent=0.01), "50000", "51100")  # 2R = 51,000
    add(profile(), "50000", "48000")  # through the 2 % stop: guard close
    states.append(state(BARE))  # an entry whose position appears now
    snaps.append(snap("50000", leverage="5", closes={"1h": CloseStats(1.0, at(0), 1e9, at(0))}))
    return [s.evolve(position_id=f"p{i}") for i, s in enumerate(states)], [
        replace(x, position_id=f"p{i}") for i, x in enumerate(snaps)
    ]


def test_the_common_actions_are_decided_in_numpy() -> None:
    states, snaps = _common()
    book = GovernanceBook.of(states)
    cols = _columns(snaps)
    now = at(2)
    reval = revalue(cols)
    flagged = np.flatnonzero(screen(book, cols, now, reval))
    assert flagged.tolist() == list(range(len(states)))
    decisions = decide(book, cols, now, reval, flagged)
    assert decisions.route == [DECIDED] * len(states)
    kinds = []
    for i in range(len(states)):
        result = evaluate(states[i], snaps[i], now)
        kinds.append([a.kind.value for a in result.actions])
    assert kinds == [
        ["MOVE_STOP"],
        ["MOVE_STOP"],
        ["REDUCE"],
        ["CLOSE"],
        ["PLACE_STOP"],
    ]
    _same(states, snaps, 2)


def test_a_price_on_a_boundary_goes_to_the_exact_rules() -> None:
    """ROE exactly on the 10 % tier (51,000 at 5×): the float ROE could fall either side."""
    s = evaluate(state(profile(lock_tiers=LOCK)), snap("50000", leverage="5"), at(1)).state
    row = snap("51000", leverage="5", closes={"1h": CloseStats(1.0, at(0), 1e9, at(0))})
    book = GovernanceBook.of([s])
    cols = _columns([row])
    reval = revalue(cols)
    assert not math.isnan(reval.roe[0])
    decisions = decide(book, cols, at(2), reval, np.array([0]))
    assert decisions.route != [DECIDED]
    _same([s], [row], 2)
