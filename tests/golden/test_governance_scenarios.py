"""Golden scenario tables: candle sequences → the actions, stop levels, exit candle and P&L of
every governance rule, on small hand-made tables (every number checkable by hand, in the
comments) and on the real bundled BTC/USDT hourly bars."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
import talib

from riskdesk.adapters.market_data.bundled import read_bars
from riskdesk.domain.governance import (
    GovernanceProfile,
    InvalidationCondition,
    LockTier,
    Signal,
    SignalKind,
    StopMethod,
    TakeProfitTier,
    preset,
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
    ),
    Case(
        "ATR stop 100 - 2 × 1.5 = 97 gapped through: filled at the open 96",
        {"stop_method": StopMethod.ATR, "atr_multiplier": 2.0},
        [(99, 100.2, 98.8, 100, 1.5), (100, 101, 99, 100.5, 1.5), (96, 96.5, 95, 96.2, 1.6)],
        {1: ["PLACE_STOP:initial_stop"]},
        {1: "97.00"},
        2,
        "-40.00",
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
            2: ["MOVE_STOP:initial_stop", "REDUCE:take_profit:r"],
            3: ["MOVE_STOP:initial_stop", "REDUCE:take_profit:r"],
            4: ["CLOSE:take_profit:r"],
        },
        {1: "98.00", 4: "98.00"},
        4,
        # 5 × 4.5 + 3 × 6.2 + 2 × 8.1
        "57.30",
    ),
    Case(
        "ROE ladder: ROE 12 % closes half, ROE 30 % closes the rest",
        {"roe_ladder": (TakeProfitTier(0.12, 0.5), TakeProfitTier(0.30, 1.0))},
        [(99, 100.2, 98.8, 100), (100, 101.3, 99.9, 101.2), (101.2, 103.1, 101, 103)],
        {1: ["PLACE_STOP:initial_stop", "REDUCE:take_profit:roe"], 2: ["CLOSE:take_profit:roe"]},
        {1: "98.00"},
        2,
        # 5 × 1.2 + 5 × 3
        "21.00",
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
            2: ["MOVE_STOP:initial_stop", "REDUCE:take_profit:r"],
            3: ["MOVE_STOP:initial_stop", "REDUCE:take_profit:r"],
            4: ["CLOSE:take_profit:r"],
        },
        {1: "102.00"},
        4,
        # 5 × 4.5 + 3 × 6.2 + 2 × 8.1
        "57.30",
        qty="-10",
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
            2: ["MOVE_STOP:initial_stop", "REDUCE:take_profit:r"],
            3: ["MOVE_STOP:initial_stop", "REDUCE:take_profit:r"],
            4: ["CLOSE:take_profit:r"],
        },
        {1: "98.75"},
        4,
        # R = 1.25 (given stop 98.75): 1.66 × 2.5 + 1.00 × 3.8 + 0.67 × 5.0
        "11.30",
        qty="3.33",
        state={"stop_override": D("98.75")},
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
    assert out.exit_bar == case.exit_bar
    assert out.pnl == D(case.pnl), out.fills


def test_the_lot_split_table_fills_exactly_the_position() -> None:
    case = CASES[-1]
    out = simulate(
        TEST,
        replace(BASE, **case.changes),
        candles(case.rows),
        qty=D("3.33"),
        state_changes=case.state,
    )
    assert [f[2] for f in out.fills] == [D("-1.66"), D("-1.00"), D("-0.67")]


# ------------------------------------------------------------------ real bundled bars


BINANCE = perpetual_or_future(
    "BTC/USDT:USDT", "binance", tick_size="0.1", lot_size="0.001", taker_fee_rate="0.0004"
)
DERIBIT = perpetual_or_future(
    "BTC/USD:BTC",
    "deribit",
    tick_size="0.5",
    lot_size="1",
    contract_size="10",
    taker_fee_rate="0.0005",
)


def _real_bars() -> list[Candle]:
    bars = read_bars("crypto/BTC_USDT-1h_2019-09-30_2019-10-24.csv")
    high = np.array([float(b.high) for b in bars])
    low = np.array([float(b.low) for b in bars])
    close = np.array([float(b.close) for b in bars])
    atr = talib.ATR(high, low, close, timeperiod=14)
    return [
        Candle(b.open, b.high, b.low, b.close, None if np.isnan(a) else float(a))
        for b, a in zip(bars, atr, strict=True)
    ]


def _when(i: int) -> str:
    # Candle i of the bundled file opens at 2019-09-30 07:00 + i hours; its close is +1 h.
    return (datetime(2019, 9, 30, 8, tzinfo=UTC) + timedelta(hours=i)).strftime("%m-%d %H:%M")


def _timeline(out) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(_when(i), a) for i, actions in enumerate(out.actions) for a in actions]


def test_real_bars_standard_profile_on_the_demo_long() -> None:
    """The demo's 8× long (2 BTC at the 2019-09-30 08:00 close 7,998.49) under the standard
    profile, ticked at every hourly close: the lock ladder and the 2R/3R steps work the rally
    to 8,470, and the lock-profit stop takes the rest out on the pull-back."""
    bars = _real_bars()
    out = simulate(BINANCE, preset("standard"), bars, qty=D(2), leverage=D(8))
    timeline = _timeline(out)
    # 09:00: no ATR14 yet (2 bars): percent stop 7,838.6 (R = 159.89), raised at once to
    # breakeven incl. fees 7,998.49 × 1.0004 / 0.9996 = 8,004.89 → 8,004.9 (ROE 11.6 %).
    assert timeline == [
        ("09-30 09:00", "PLACE_STOP:lock_profit"),
        ("09-30 10:00", "MOVE_STOP:lock_profit"),
        ("09-30 22:00", "MOVE_STOP:lock_profit"),
        ("09-30 22:00", "REDUCE:take_profit:r"),
    ]
    assert [out.stops[i] for i in (1, 2, 15)] == [D("8004.9"), D("8105.0"), D("8205.0")]
    assert out.exit_bar is not None and _when(out.exit_bar) == "10-01 23:00"
    assert out.exit_reason == "stop 8205.0"
    assert out.pnl == D(GOLDEN_LONG_PNL)
    assert [(_when(b), why, q, p) for b, why, q, p in out.fills] == GOLDEN_LONG_FILLS


def test_real_bars_standard_profile_on_the_demo_inverse_short() -> None:
    """The demo's Deribit short (3,000 USD contracts at the 2019-10-01 08:00 close, 5×)."""
    bars = _real_bars()
    entry_bar = 24  # the candle of 2019-10-01 07:00 closes at 08:00
    out = simulate(
        DERIBIT, preset("standard"), bars, qty=D(-3000), leverage=D(5), entry_bar=entry_bar
    )
    timeline = _timeline(out)
    assert timeline == [
        ("10-01 09:00", "PLACE_STOP:initial_stop"),
        ("10-03 10:00", "MOVE_STOP:lock_profit"),
        ("10-06 02:00", "MOVE_STOP:lock_profit"),
        ("10-06 04:00", "MOVE_STOP:lock_profit"),
        ("10-06 04:00", "REDUCE:take_profit:r"),
        ("10-06 14:00", "MOVE_STOP:lock_profit"),
    ]
    assert out.exit_bar is not None and _when(out.exit_bar) == GOLDEN_SHORT_EXIT
    assert out.pnl == D(GOLDEN_SHORT_PNL)
    assert [(_when(b), why, q, p) for b, why, q, p in out.fills] == GOLDEN_SHORT_FILLS


# 1 × (8,412.87 − 7,998.49) + 1 × (8,205.0 − 7,998.49) USDT
GOLDEN_LONG_PNL = "620.89"
GOLDEN_LONG_FILLS = [
    ("09-30 22:00", "take_profit:r", D("-1.000"), D("8412.87")),
    ("10-01 23:00", "stop", D("-1.000"), D("8205.0")),
]
# Breakeven on 10-03, lock 10 % on 10-06 02:00, half at 2R (7,935.96) on 10-06 04:00, lock 20 %
# at 7,986.5, stopped there on the 10-07 rebound. BTC: 15,000 × (1/7,872.78 − 1/8,314.32)
# + 15,000 × (1/7,986.5 − 1/8,314.32), rounded to the 1e-28 ledger quantum.
GOLDEN_SHORT_EXIT = "10-07 06:00"
GOLDEN_SHORT_PNL = "0.1752358851377327934768937432"
GOLDEN_SHORT_FILLS = [
    ("10-06 04:00", "take_profit:r", D("1500"), D("7872.78")),
    ("10-07 06:00", "stop", D("1500"), D("7986.5")),
]
