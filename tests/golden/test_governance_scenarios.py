"""Golden scenario tables on small hand-made candles: candle sequences → the actions, stop levels
and the size each stop covers, exit candle and P&L of every governance rule (every number
checkable by hand, in the comments). The same rules on the real bundled bars are in
``test_governance_real_bars.py``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
import talib

from riskdesk.domain.governance import (
    GovernanceProfile,
    InvalidationCondition,
    LockTier,
    Signal,
    SignalKind,
    StopMethod,
    TakeProfitTier,
)
from riskdesk.domain.instruments import perpetual_or_future
from tests.golden.governance_sim import T0, Candle, candles, simulate

D = Decimal
TEST = perpetual_or_future("TEST/USDT:USDT", "golden", tick_size="0.01", lot_size="0.01")
BASE = GovernanceProfile(
    name="golden",
    stop_method=StopMethod.PERCENT,
    stop_percent=0.02,
    lock_tiers=(),
    lock_net_of_fees=False,
    chandelier_multiplier=None,
    r_ladder=(),
    stagnation_seconds=None,
    min_stop_move=0.0,
)


@dataclass(frozen=True)
class Case:
    """One golden row: profile changes, candles, and what must happen."""

    name: str
    changes: dict[str, Any]
    rows: list[tuple[object, ...]]
    actions: dict[int, list[str]]
    stops: dict[int, str | None]
    exit_bar: int | None
    pnl: str
    qty: str = "10"
    signals: dict[int, tuple[Signal, ...]] | None = None
    state: dict[str, object] | None = None
    stop_qtys: dict[int, str] | None = None


# Entry: 10 contracts at the close of candle 0 = 100.00, 10× → margin 100, so ROE = P&L / 100.
CASES = [
    Case(
        "percent stop 2 % is hit intrabar: exit at the stop, -2 × 10",
        {},
        [
            (99, 100.2, 98.8, 100),
            (100, 101, 99, 100.5),
            (100.5, 100.6, 97.5, 98.2),
            (98.2, 99, 97, 98.5),
        ],
        {1: ["PLACE_STOP:initial_stop"]},
        {1: "98.00", 2: "98.00"},
        2,
        "-20.00",
        stop_qtys={1: "10", 2: "10"},
    ),
    Case(
        "ATR stop 100 - 2 × 1.5 = 97 gapped through: filled at the open 96",
        {"stop_method": StopMethod.ATR, "atr_multiplier": 2.0},
        [(99, 100.2, 98.8, 100, 1.5), (100, 101, 99, 100.5, 1.5), (96, 96.5, 95, 96.2, 1.6)],
        {1: ["PLACE_STOP:initial_stop"]},
        {1: "97.00"},
        2,
        "-40.00",
        stop_qtys={1: "10"},
    ),
    Case(
        "lock ladder: ROE 15 % → breakeven 100, then ROE 22 % → lock 10 % at 101, stopped at 101",
        {"lock_tiers": (LockTier(0.10, 0.0), LockTier(0.20, 0.10))},
        [
            (99, 100.2, 98.8, 100),
            (100, 101.6, 99.9, 101.5),
            (101.5, 102.4, 101.2, 102.2),
            (102.2, 102.3, 100.5, 100.8),
        ],
        {1: ["PLACE_STOP:lock_profit"], 2: ["MOVE_STOP:lock_profit"]},
        {1: "100.00", 2: "101.00"},
        3,
        "10.00",
        stop_qtys={1: "10", 2: "10"},
    ),
    Case(
        "R ladder 2R/3R/4R × 50/30/20 % with R = 2: 5 @ 104.5, 3 @ 106.2, 2 @ 108.1",
        {"r_ladder": (TakeProfitTier(2, 0.5), TakeProfitTier(3, 0.3), TakeProfitTier(4, 0.2))},
        [
            (99, 100.2, 98.8, 100),
            (100, 101, 99.5, 100.8),
            (100.8, 104.7, 100.6, 104.5),
            (104.5, 106.4, 104, 106.2),
            (106.2, 108.3, 106, 108.1),
        ],
        {
            1: ["PLACE_STOP:initial_stop"],
            # The stop covers what is held: resized once each take-profit has filled.
            2: ["REDUCE:take_profit:r"],
            3: ["MOVE_STOP:initial_stop", "REDUCE:take_profit:r"],
            4: ["MOVE_STOP:initial_stop", "CLOSE:take_profit:r"],
        },
        {1: "98.00", 4: "98.00"},
        4,
        # 5 × 4.5 + 3 × 6.2 + 2 × 8.1
        "57.30",
        stop_qtys={1: "10", 2: "10", 3: "5", 4: "2"},
    ),
    Case(
        "ROE ladder: ROE 12 % closes half, ROE 30 % closes the rest",
        {"roe_ladder": (TakeProfitTier(0.12, 0.5), TakeProfitTier(0.30, 1.0))},
        [(99, 100.2, 98.8, 100), (100, 101.3, 99.9, 101.2), (101.2, 103.1, 101, 103)],
        {
            1: ["PLACE_STOP:initial_stop", "REDUCE:take_profit:roe"],
            2: ["MOVE_STOP:initial_stop", "CLOSE:take_profit:roe"],
        },
        {1: "98.00"},
        2,
        # 5 × 1.2 + 5 × 3
        "21.00",
        stop_qtys={1: "10", 2: "5"},
    ),
    Case(
        "chandelier 2 × ATR: 102 - 2 = 100, 105 - 2 = 103, stopped at 103",
        {"chandelier_multiplier": 2.0},
        [
            (99, 100.2, 98.8, 100, 1),
            (100, 102, 99.8, 101.8, 1),
            (101.8, 105, 101.5, 104.6, 1),
            (104.6, 104.8, 102.5, 103.4, 1),
        ],
        {1: ["PLACE_STOP:trail:chandelier"], 2: ["MOVE_STOP:trail:chandelier"]},
        {1: "100.00", 2: "103.00"},
        3,
        "30.00",
        stop_qtys={1: "10", 2: "10"},
    ),
    Case(
        "percent trail 3 % armed at +4 % (104): 106 × 0.97 = 102.82, stopped there",
        {"trail_percent": 0.03, "trail_activation": 0.04},
        [
            (99, 100.2, 98.8, 100),
            (100, 103.5, 99.9, 103),
            (103, 106, 102.9, 105.5),
            (105.5, 105.6, 102, 102.5),
        ],
        {1: ["PLACE_STOP:initial_stop"], 2: ["MOVE_STOP:trail:percent"]},
        {1: "98.00", 2: "102.82"},
        3,
        "28.20",
        stop_qtys={1: "10", 2: "10"},
    ),
    Case(
        "percent trail 3 % without activation: armed at once, 104 × 0.97 = 100.88, stopped there",
        {"trail_percent": 0.03},
        [
            (99, 100.2, 98.8, 100),
            (100, 101, 99.5, 100.8),  # 101 × 0.97 = 97.97 < the 98 percent stop: kept
            (100.8, 104, 100.7, 103.5),
            (103.5, 103.6, 100.5, 101),
        ],
        {1: ["PLACE_STOP:initial_stop"], 2: ["MOVE_STOP:trail:percent"]},
        {1: "98.00", 2: "100.88"},
        3,
        # 10 × (100.88 − 100)
        "8.80",
        stop_qtys={1: "10", 2: "10"},
    ),
    Case(
        "time stop after 3 h: closed at the close of candle 3",
        {"max_holding_seconds": 3 * 3600.0},
        [
            (99, 100.2, 98.8, 100),
            (100, 100.5, 99.5, 100.2),
            (100.2, 100.9, 100, 100.7),
            (100.7, 101, 100.3, 100.4),
            (100.4, 101, 100, 100.5),
        ],
        {1: ["PLACE_STOP:initial_stop"], 3: ["CLOSE:time_stop"]},
        {1: "98.00"},
        3,
        "4.00",
        stop_qtys={1: "10", 3: "10"},
    ),
    Case(
        "stagnation after 2 h within ±2 % ROE: one STAGNATED alert, no exit",
        {"stagnation_seconds": 2 * 3600.0, "stagnation_roe": 0.02},
        [
            (99, 100.2, 98.8, 100),
            (100, 100.2, 99.9, 100.1),
            (100.1, 100.2, 100, 100.1),
            (100.1, 100.2, 100, 100.1),
            (100.1, 100.2, 100, 100.1),
        ],
        {1: ["PLACE_STOP:initial_stop"], 3: ["ALERT:stagnation"]},
        {4: "98.00"},
        None,
        "0",
        stop_qtys={4: "10"},
    ),
    Case(
        "stagnation with stagnation_close: closed at 100.1 after 3 h with ROE 1 %",
        {"stagnation_seconds": 2 * 3600.0, "stagnation_roe": 0.02, "stagnation_close": True},
        [
            (99, 100.2, 98.8, 100),
            (100, 100.2, 99.9, 100.1),
            (100.1, 100.2, 100, 100.1),  # held 2 h: not more than 2 h yet
            (100.1, 100.2, 100, 100.1),
            (100.1, 100.2, 100, 100.1),
        ],
        {1: ["PLACE_STOP:initial_stop"], 3: ["CLOSE:stagnation", "ALERT:stagnation"]},
        {1: "98.00", 3: "98.00"},
        3,
        "1.00",
        stop_qtys={3: "10"},
    ),
    Case(
        "exit signal: closed at the close of the candle it arrives with",
        {},
        [
            (99, 100.2, 98.8, 100),
            (100, 101, 99.8, 100.6),
            (100.6, 101.2, 100.1, 100.9),
            (100.9, 101, 100, 100.2),
        ],
        {1: ["PLACE_STOP:initial_stop"], 2: ["CLOSE:signal_exit"]},
        {1: "98.00"},
        2,
        "9.00",
        signals={2: (Signal("flat-1", SignalKind.EXIT, 1, T0, "model says flat"),)},
        stop_qtys={2: "10"},
    ),
    Case(
        "opposite entry signal with exit_on_opposite_signal: closed at 100.9",
        {"exit_on_opposite_signal": True},
        [
            (99, 100.2, 98.8, 100),
            (100, 101, 99.8, 100.6),
            (100.6, 101.2, 100.1, 100.9),
            (100.9, 101, 100, 100.2),
        ],
        {1: ["PLACE_STOP:initial_stop"], 2: ["CLOSE:signal_exit"]},
        {1: "98.00"},
        2,
        "9.00",
        signals={2: (Signal("short-1", SignalKind.ENTRY, -1, T0),)},
    ),
    Case(
        "opposite entry signal without exit_on_opposite_signal: ignored",
        {},
        [
            (99, 100.2, 98.8, 100),
            (100, 101, 99.8, 100.6),
            (100.6, 101.2, 100.1, 100.9),
            (100.9, 101, 100, 100.2),
        ],
        {1: ["PLACE_STOP:initial_stop"]},
        {3: "98.00"},
        None,
        "0",
        signals={2: (Signal("short-1", SignalKind.ENTRY, -1, T0),)},
    ),
    Case(
        "guard stop: the chandelier level 106 − 2 × 1 = 104 is through the close 102.5: closed",
        {"chandelier_multiplier": 2.0},
        [
            (99, 100.2, 98.8, 100, 1),
            (100, 101, 99.8, 100.8, 1),  # 101 − 2 = 99
            (100.8, 106, 100.7, 102.5, 1),
            (102.5, 103, 101, 101.5, 1),
        ],
        {1: ["PLACE_STOP:trail:chandelier"], 2: ["CLOSE:guard_stop"]},
        {1: "99.00", 2: "99.00"},
        2,
        # 10 × 2.5
        "25.00",
        stop_qtys={1: "10", 2: "10"},
    ),
    Case(
        "invalidation: a 1h candle closes below 99.5 → closed at 99.4",
        {"invalidation": (InvalidationCondition("1h", close_below=D("99.5")),)},
        [
            (99, 100.2, 98.8, 100),
            (100, 100.5, 99.6, 99.8),
            (99.8, 99.9, 99.2, 99.4),
            (99.4, 99.5, 99, 99.2),
        ],
        {1: ["PLACE_STOP:initial_stop"], 2: ["CLOSE:invalidation"]},
        {1: "98.00"},
        2,
        "-6.00",
        stop_qtys={1: "10", 2: "10"},
    ),
    Case(
        "add-on on a signal at ROE 6 %: +5 @ 100.6 (average 100.2), stop covers 15, stopped at 98",
        {
            "add_on_cap": 1,
            "add_on_roe_tiers": (0.05,),
            "add_on_gamma": 0.5,
            "add_on_min_interval": 0.0,
        },
        [
            (99, 100.2, 98.8, 100),
            (100, 100.7, 99.9, 100.6),
            (100.6, 100.8, 99, 99.5),
            (99.5, 99.6, 97.9, 98.3),
        ],
        {1: ["PLACE_STOP:initial_stop", "ADD:add_on"], 2: ["MOVE_STOP:initial_stop"]},
        {1: "98.00", 2: "98.00"},
        3,
        # 15 × (98 − 100.2)
        "-33.00",
        signals={1: (Signal("go", SignalKind.ENTRY, 1, T0),)},
        # Covers the 10 held until the add fills, then the 15.
        stop_qtys={1: "10", 2: "15"},
    ),
    Case(
        "short R ladder (mirror): stop 102, 5 @ 95.5, 3 @ 93.8, 2 @ 91.9",
        {"r_ladder": (TakeProfitTier(2, 0.5), TakeProfitTier(3, 0.3), TakeProfitTier(4, 0.2))},
        [
            (101, 101.2, 99.8, 100),
            (100, 100.5, 99, 99.2),
            (99.2, 99.4, 95.3, 95.5),
            (95.5, 96, 93.6, 93.8),
            (93.8, 94, 91.7, 91.9),
        ],
        {
            1: ["PLACE_STOP:initial_stop"],
            # The stop covers what is held: resized once each take-profit has filled.
            2: ["REDUCE:take_profit:r"],
            3: ["MOVE_STOP:initial_stop", "REDUCE:take_profit:r"],
            4: ["MOVE_STOP:initial_stop", "CLOSE:take_profit:r"],
        },
        {1: "102.00"},
        4,
        # 5 × 4.5 + 3 × 6.2 + 2 × 8.1
        "57.30",
        qty="-10",
        stop_qtys={1: "10", 2: "10", 3: "5", 4: "2"},
    ),
    Case(
        "given stop level and lot remainders: 3.33 split 50/30/20 → 1.66, 1.00, 0.67",
        {"r_ladder": (TakeProfitTier(2, 0.5), TakeProfitTier(3, 0.3), TakeProfitTier(4, 0.2))},
        [
            (99, 100.2, 98.8, 100),
            (100, 100.7, 99.9, 100.5),
            (100.5, 102.7, 100.4, 102.5),
            (102.5, 103.9, 102.4, 103.8),
            (103.8, 105.1, 103.7, 105),
        ],
        {
            1: ["PLACE_STOP:initial_stop"],
            # The stop covers what is held: resized once each take-profit has filled.
            2: ["REDUCE:take_profit:r"],
            3: ["MOVE_STOP:initial_stop", "REDUCE:take_profit:r"],
            4: ["MOVE_STOP:initial_stop", "CLOSE:take_profit:r"],
        },
        {1: "98.75"},
        4,
        # R = 1.25 (given stop 98.75): 1.66 × 2.5 + 1.00 × 3.8 + 0.67 × 5.0
        "11.30",
        qty="3.33",
        state={"stop_override": D("98.75")},
        stop_qtys={1: "3.33", 2: "3.33", 3: "1.67", 4: "0.67"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_golden_table(case: Case) -> None:
    profile = replace(BASE, **case.changes)
    out = simulate(
        TEST,
        profile,
        candles(case.rows),
        qty=D(case.qty),
        signals=case.signals,
        state_changes=case.state,
    )
    got = {i: a for i, a in enumerate(out.actions) if a}
    assert got == case.actions, out.reasons
    for bar, level in case.stops.items():
        assert out.stops[bar] == (None if level is None else D(level)), (bar, out.stops)
    for bar, qty in (case.stop_qtys or {}).items():
        assert out.stop_qtys[bar] == D(qty), (bar, out.stop_qtys)
    assert out.exit_bar == case.exit_bar
    assert out.pnl == D(case.pnl), out.fills


def test_the_lot_split_table_fills_exactly_the_position() -> None:
    case = next(c for c in CASES if c.name.startswith("given stop level and lot remainders"))
    out = simulate(
        TEST,
        replace(BASE, **case.changes),
        candles(case.rows),
        qty=D("3.33"),
        state_changes=case.state,
    )
    assert [f[2] for f in out.fills] == [D("-1.66"), D("-1.00"), D("-0.67")]


def test_atr_stop_with_talib_atr_on_the_table() -> None:
    """ATR from TA-Lib on the candles themselves (not typed in): 16 candles of true range 2,
    one of 4, then 2 again. Wilder ATR14: 2 at candle 14 and 15, (2·13 + 4)/14 = 2.142857… at
    candle 16, (2.142857…·13 + 2)/14 = 418/196 = 2.132653… at candle 17 — the candle after
    the entry (close of candle 16 = 100): stop 100 − 2 × 2.132653 = 95.7347 → up to 95.74."""
    rows = [(100, 101, 99, 100)] * 16 + [(100, 102, 98, 100), (100, 101, 99, 100)]
    rows.append((100, 100.2, 95.5, 95.8))
    high, low, close = (np.array([float(r[k]) for r in rows]) for k in (1, 2, 3))
    atr = talib.ATR(high, low, close, timeperiod=14)
    assert atr[14] == atr[15] == 2.0 and atr[17] == pytest.approx(418 / 196, rel=1e-12)
    bars = [
        Candle(*(D(str(x)) for x in r), None if np.isnan(a) else float(a))
        for r, a in zip(rows, atr, strict=True)
    ]
    out = simulate(
        TEST,
        replace(BASE, stop_method=StopMethod.ATR, atr_multiplier=2.0),
        bars,
        qty=D(10),
        entry_bar=16,
    )
    assert {i: a for i, a in enumerate(out.actions) if a} == {17: ["PLACE_STOP:initial_stop"]}
    assert (out.stops[17], out.stop_qtys[17]) == (D("95.74"), D(10))
    assert "ATR14(1h) 2.13 = 95.74" in out.reasons[17][0]
    assert out.exit_bar == 18 and out.pnl == D("-42.60")  # 10 × (95.74 − 100)
