"""Golden tables of every governance rule on the real bundled BTC/USDT hourly bars
(2019-09-30 07:00 → 2019-10-24, ATR14 from TA-Lib on the same bars), ticked at every hourly
close by the harness in ``governance_sim``.

Each table pins the timeline of actions, the stop level and the size it covers, the exit and
the P&L; where a level follows a formula (ATR stop, chandelier, percent trails, lock levels,
R levels), the test also recomputes it from the bars independently and compares.

Entries: the demo's perpetual long — 2 BTC at the 2019-09-30 08:00 close 7,998.49, 8×
(margin 1,999.6225 USDT) — and the demo's inverse short — 3,000 BTC/USD contracts (10 USD each)
at the 2019-10-01 08:00 close 8,314.32, 5×.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np
import talib

from riskdesk.adapters.market_data.bundled import read_bars
from riskdesk.domain.governance import (
    GovernanceProfile,
    InvalidationCondition,
    Signal,
    SignalKind,
    preset,
)
from riskdesk.domain.instruments import perpetual_or_future
from tests.golden.governance_sim import Candle, Outcome, simulate

D = Decimal
#: Candle 0 of the bundled file opens at 2019-09-30 07:00 UTC.
FIRST_OPEN = datetime(2019, 9, 30, 7, tzinfo=UTC)
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
STANDARD = preset("standard")
#: Only the rule under test: no lock ladder, no take-profit, no stagnation alert.
PLAIN = replace(STANDARD, lock_tiers=(), r_ladder=(), stagnation_seconds=None)
LONG_ENTRY = D("7998.49")


def _real_bars() -> list[Candle]:
    bars = read_bars("crypto/BTC_USDT-1h_2019-09-30_2019-10-24.csv")
    high, low, close = (
        np.array([float(getattr(b, k)) for b in bars]) for k in ("high", "low", "close")
    )
    atr = talib.ATR(high, low, close, timeperiod=14)
    return [
        Candle(b.open, b.high, b.low, b.close, None if np.isnan(a) else float(a))
        for b, a in zip(bars, atr, strict=True)
    ]


BARS = _real_bars()


def _when(i: int) -> str:
    """Close time of candle ``i``."""
    return (FIRST_OPEN + timedelta(hours=i + 1)).strftime("%m-%d %H:%M")


def _timeline(out: Outcome) -> list[tuple[str, str]]:
    return [(_when(i), a) for i, actions in enumerate(out.actions) for a in actions]


def _long(profile: GovernanceProfile, **kw: object) -> Outcome:
    return simulate(BINANCE, profile, BARS, qty=D(2), leverage=D(8), t0=FIRST_OPEN, **kw)  # type: ignore[arg-type]


def _short(profile: GovernanceProfile, **kw: object) -> Outcome:
    return simulate(
        DERIBIT,
        profile,
        BARS,
        qty=D(-3000),
        leverage=D(5),
        entry_bar=24,
        t0=FIRST_OPEN,
        **kw,  # type: ignore[arg-type]
    )


def _snap(value: float | Decimal, tick: str, rounding: str) -> Decimal:
    step = D(tick)
    exact = D(repr(value)) if isinstance(value, float) else value
    return (exact / step).to_integral_value(rounding=rounding) * step


def _up(value: float | Decimal, tick: str) -> Decimal:
    """A long's stop on the tick grid (rounded up: never looser)."""
    return _snap(value, tick, ROUND_CEILING)


def _down(value: float | Decimal, tick: str) -> Decimal:
    """A short's stop on the tick grid (rounded down)."""
    return _snap(value, tick, ROUND_FLOOR)


def _high_since(entry_bar: int, i: int) -> float:
    """Highest high of candles entry_bar+1 … i (and the entry close)."""
    return max(float(BARS[entry_bar].close), *(float(b.high) for b in BARS[entry_bar + 1 : i + 1]))


def _stops(out: Outcome) -> dict[str, tuple[Decimal | None, Decimal | None]]:
    """Stop level and covered size after each candle with a stop action."""
    return {
        _when(i): (out.stops[i], out.stop_qtys[i])
        for i, actions in enumerate(out.actions)
        if any(a.startswith(("PLACE_STOP", "MOVE_STOP")) for a in actions)
    }


# ------------------------------------------------------------------ the standard profile


def test_standard_profile_on_the_demo_long() -> None:
    """Lock ladder and the 2R step work the rally to 8,500; the lock-profit stop takes the rest
    out on the pull-back. The stop covers 2 until the 2R take-profit fills, then 1."""
    out = _long(STANDARD)
    # 09:00: no ATR14 yet (2 bars): percent stop 7,838.6 (R = 159.89), raised at once to
    # breakeven incl. fees 7,998.49 × 1.0004 / 0.9996 = 8,004.89 → 8,004.9 (ROE 11.6 %).
    assert _timeline(out) == [
        ("09-30 09:00", "PLACE_STOP:lock_profit"),
        ("09-30 10:00", "MOVE_STOP:lock_profit"),
        ("09-30 22:00", "MOVE_STOP:lock_profit"),
        ("09-30 22:00", "REDUCE:take_profit:r"),
        ("09-30 23:00", "MOVE_STOP:lock_profit"),  # the resize to the 1 held
    ]
    assert _stops(out) == {
        "09-30 09:00": (D("8004.9"), D(2)),
        "09-30 10:00": (D("8105.0"), D(2)),
        "09-30 22:00": (D("8205.0"), D(2)),
        "09-30 23:00": (D("8205.0"), D(1)),
    }
    assert _up(LONG_ENTRY * D("1.0004") / D("0.9996"), "0.1") == D("8004.9")
    # 2R = 7,998.49 + 2 × 159.89 = 8,318.27, first reached by the 22:00 close 8,412.87.
    assert out.exit_bar is not None and _when(out.exit_bar) == "10-01 23:00"
    assert out.exit_reason == "stop 8205.0"
    # 1 × (8,412.87 − 7,998.49) + 1 × (8,205.0 − 7,998.49) USDT
    assert out.pnl == D("620.89")
    assert [(_when(b), why, q, p) for b, why, q, p in out.fills] == [
        ("09-30 22:00", "take_profit:r", D("-1.000"), D("8412.87")),
        ("10-01 23:00", "stop", D("-1.000"), D("8205.0")),
    ]


def test_standard_profile_on_the_demo_inverse_short() -> None:
    """The ATR stop of the short (above the entry, rounded down), breakeven and lock 10 %, half
    at 2R, lock 20 %, stopped on the 10-07 rebound."""
    out = _short(STANDARD)
    assert _timeline(out) == [
        ("10-01 09:00", "PLACE_STOP:initial_stop"),
        ("10-03 10:00", "MOVE_STOP:lock_profit"),
        ("10-06 02:00", "MOVE_STOP:lock_profit"),
        ("10-06 04:00", "REDUCE:take_profit:r"),
        ("10-06 05:00", "MOVE_STOP:lock_profit"),  # the resize to the 1,500 held
        ("10-06 14:00", "MOVE_STOP:lock_profit"),
    ]
    # ATR stop: 8,314.32 + 2 × ATR14 at the 09:00 close → down to the 0.5 tick.
    atr = BARS[25].atr
    assert atr is not None and math.isclose(atr, 94.79255695958446, rel_tol=1e-12)
    assert _down(D("8314.32") + 2 * D(repr(atr)), "0.5") == D("8503.5")
    assert _stops(out) == {
        "10-01 09:00": (D("8503.5"), D(3000)),
        "10-03 10:00": (D("8306.0"), D(3000)),
        "10-06 02:00": (D("8143.0"), D(3000)),
        "10-06 05:00": (D("8143.0"), D(1500)),
        "10-06 14:00": (D("7986.5"), D(1500)),
    }
    # Breakeven incl. fees for a short: E·(1 − r)/(1 + r) = 8,314.32 × 0.9995 / 1.0005.
    assert _down(D("8314.32") * D("0.9995") / D("1.0005"), "0.5") == D("8306.0")
    assert out.exit_bar is not None and _when(out.exit_bar) == "10-07 06:00"
    # BTC: 15,000 × (1/7,872.78 − 1/8,314.32) + 15,000 × (1/7,986.5 − 1/8,314.32), rounded to
    # the 1e-28 ledger quantum.
    assert out.pnl == D("0.1752358851377327934768937432")
    assert [(_when(b), why, q, p) for b, why, q, p in out.fills] == [
        ("10-06 04:00", "take_profit:r", D("1500"), D("7872.78")),
        ("10-07 06:00", "stop", D("1500"), D("7986.5")),
    ]


# ------------------------------------------------------------------ trailing stops


def test_chandelier_trail() -> None:
    """3 × ATR14 below the high since entry, from the first candle with an ATR (22:00); every
    move is at least the minimum step (0.05 % of the price)."""
    out = _long(replace(PLAIN, chandelier_multiplier=3.0))
    assert [a for _, a in _timeline(out)] == ["PLACE_STOP:initial_stop"] + [
        "MOVE_STOP:trail:chandelier"
    ] * 9
    moves = {i for i, a in enumerate(out.actions) if a == ["MOVE_STOP:trail:chandelier"]}
    assert [_when(i) for i in sorted(moves)] == [
        "09-30 22:00",
        "09-30 23:00",
        "10-01 00:00",
        "10-01 01:00",
        "10-01 02:00",
        "10-01 03:00",
        "10-01 04:00",
        "10-01 06:00",
        "10-01 07:00",
    ]
    for i in moves:
        atr = BARS[i].atr
        assert atr is not None
        assert out.stops[i] == _up(_high_since(0, i) - 3 * atr, "0.1"), _when(i)
        assert out.stop_qtys[i] == 2
    # 22:00: 8,438.05 − 3 × 106.49 = 8,118.57 → 8,118.6; from 23:00 the high is 8,500.
    assert out.stops[14] == D("8118.6") and _high_since(0, 15) == 8500.0
    assert out.exit_bar is not None and _when(out.exit_bar) == "10-01 15:00"
    assert out.pnl == D("459.42")  # 2 × (8,228.2 − 7,998.49)


def test_percent_trail_without_activation() -> None:
    """2 % below the high since entry from the first tick: it lifts the 2 % percent stop at
    once and follows the rally to 8,337.26; stopped on the 16:00 dip."""
    out = _long(replace(PLAIN, trail_percent=0.02))
    assert _timeline(out) == [
        ("09-30 09:00", "PLACE_STOP:trail:percent"),
        ("09-30 10:00", "MOVE_STOP:trail:percent"),
        ("09-30 11:00", "MOVE_STOP:trail:percent"),
        ("09-30 12:00", "MOVE_STOP:trail:percent"),
    ]
    for i in (1, 2, 3, 4):
        assert out.stops[i] == _up(_high_since(0, i) * 0.98, "0.1")
        assert out.stop_qtys[i] == 2
    assert [out.stops[i] for i in (1, 2, 3, 4)] == [
        D("7989.8"),
        D("8091.9"),
        D("8134.0"),
        D("8170.6"),
    ]
    assert out.exit_bar is not None and _when(out.exit_bar) == "09-30 16:00"
    assert out.pnl == D("344.22")  # 2 × (8,170.6 − 7,998.49)


def test_trail_with_activation_and_callback() -> None:
    """Exchange-style trailing order: armed once the high reaches 7,998.49 × 1.03 = 8,238.44
    (the 10:00 candle, high 8,257), then 1 % below the high."""
    out = _long(replace(PLAIN, trail_percent=0.01, trail_activation=0.03))
    assert _timeline(out) == [
        ("09-30 09:00", "PLACE_STOP:initial_stop"),
        ("09-30 10:00", "MOVE_STOP:trail:percent"),
        ("09-30 11:00", "MOVE_STOP:trail:percent"),
        ("09-30 12:00", "MOVE_STOP:trail:percent"),
    ]
    assert _high_since(0, 1) < float(LONG_ENTRY * D("1.03")) <= _high_since(0, 2)
    assert out.stops[1] == D("7838.6")  # 2 % percent stop: 7,998.49 × 0.98 → 7,838.6
    for i in (2, 3, 4):
        assert out.stops[i] == _up(_high_since(0, i) * 0.99, "0.1")
    assert "(armed at 8,238.4447)" in out.reasons[2][0]
    assert out.exit_bar is not None and _when(out.exit_bar) == "09-30 13:00"
    assert out.pnl == D("510.82")  # 2 × (8,253.9 − 7,998.49)


# ------------------------------------------------------------------ take-profit ladders


def test_roe_take_profit_ladder() -> None:
    """Seed 003's ROE ladder (perp_roe: 12 % → 30 % of what is held, 25 % → 30 % of the rest,
    50 % → 50 %): ROE = 2 × (close − E) / 1,999.6225. 10:00 close 8,201.57 → ROE 20.3 %: close
    0.6; 11:00 close 8,283.85 → 28.5 %: close 0.42 (keep ⌈1.4 × 0.7⌉ = 0.98). The stop covers
    2, then 1.4, then 0.98; the runner is stopped at the percent stop on 10-06."""
    out = _long(replace(preset("perp_roe"), lock_tiers=(), add_on_cap=0, stagnation_seconds=None))
    assert _timeline(out) == [
        ("09-30 09:00", "PLACE_STOP:initial_stop"),
        ("09-30 10:00", "REDUCE:take_profit:roe"),
        ("09-30 11:00", "MOVE_STOP:initial_stop"),
        ("09-30 11:00", "REDUCE:take_profit:roe"),
        ("09-30 12:00", "MOVE_STOP:initial_stop"),
    ]
    margin = D(2) * LONG_ENTRY / 8
    assert margin == D("1999.6225")
    assert 2 * (BARS[2].close - LONG_ENTRY) / margin > D("0.12")
    assert 2 * (BARS[3].close - LONG_ENTRY) / margin > D("0.25")
    assert _stops(out) == {
        "09-30 09:00": (D("7838.6"), D(2)),
        "09-30 11:00": (D("7838.6"), D("1.4")),
        "09-30 12:00": (D("7838.6"), D("0.98")),
    }
    assert [(_when(b), q, p) for b, _, q, p in out.fills] == [
        ("09-30 10:00", D("-0.600"), D("8201.57")),
        ("09-30 11:00", D("-0.420"), D("8283.85")),
        ("10-06 14:00", D("-0.980"), D("7838.6")),
    ]
    assert out.pnl == D("85.007")


def test_given_stop_sets_r() -> None:
    """A given stop 7,900 (the ATR is not yet known): R = 98.49, so 2R = 8,195.47, 3R = 8,293.96,
    4R = 8,392.45 — the 10:00 close 8,201.57 takes half, the 22:00 close 8,412.87 the rest."""
    out = _long(STANDARD, state_changes={"stop_override": D("7900")})
    assert _timeline(out) == [
        ("09-30 09:00", "PLACE_STOP:lock_profit"),
        ("09-30 10:00", "MOVE_STOP:lock_profit"),
        ("09-30 10:00", "REDUCE:take_profit:r"),
        ("09-30 11:00", "MOVE_STOP:lock_profit"),
        # 3R and 4R in one candle: everything closes, the stop stays until it has.
        ("09-30 22:00", "REDUCE:take_profit:r"),
        ("09-30 22:00", "CLOSE:take_profit:r"),
    ]
    assert out.state is not None and out.state.risk_per_unit == D("98.49")
    assert "given stop 7,900" in out.reasons[1][0]
    assert "(entry 7,998.49 + 2 × R 98.49)" in out.reasons[2][1]
    assert _stops(out)["09-30 11:00"] == (D("8105.0"), D(1))
    assert out.exit_bar is not None and _when(out.exit_bar) == "09-30 22:00"
    # 1 × (8,201.57 − 7,998.49) + 1 × (8,412.87 − 7,998.49)
    assert out.pnl == D("617.46")


# ------------------------------------------------------------------ add-ons


def test_add_ons_on_signals() -> None:
    """perp_roe without its ROE ladder: entry signals at 09:00 and 10:00 add Q0·0.5 = 1 (ROE
    11.6 % ≥ 5 %) and Q0·0.25 = 0.5 (ROE 16.4 % ≥ 10 %); the stop follows each fill, and the
    lock ladder on the larger position (average entry 8,060.72) stops it out at 8,168."""
    signals = {i: (Signal(f"entry-{i}", SignalKind.ENTRY, 1, FIRST_OPEN),) for i in (1, 2, 3)}
    out = _long(
        replace(preset("perp_roe"), roe_ladder=(), stagnation_seconds=None), signals=signals
    )
    assert _timeline(out) == [
        ("09-30 09:00", "PLACE_STOP:lock_profit"),
        ("09-30 09:00", "ADD:add_on"),
        ("09-30 10:00", "MOVE_STOP:lock_profit"),
        ("09-30 10:00", "ADD:add_on"),
        ("09-30 11:00", "MOVE_STOP:lock_profit"),
    ]
    assert _stops(out) == {
        "09-30 09:00": (D("8004.9"), D(2)),
        "09-30 10:00": (D("8043.7"), D(3)),
        "09-30 11:00": (D("8168.0"), D("3.5")),
    }
    # (2 × 7,998.49 + 1 × 8,114.76) / 3 = 8,037.2467; + 0.5 at 8,201.57 → 8,060.7214.
    assert "average entry 7,998.49 → 8,037.24666667 at 8,114.76" in out.reasons[1][1]
    assert "average entry 8,037.24666667 → 8,060.72142857 at 8,201.57" in out.reasons[2][1]
    # The cap (2) is reached: the 11:00 signal adds nothing.
    assert out.state is not None and out.state.add_count == 2
    assert out.exit_bar is not None and _when(out.exit_bar) == "09-30 16:00"
    assert [(q, p) for _, _, q, p in out.fills] == [
        (D("1.000"), D("8114.76")),
        (D("0.500"), D("8201.57")),
        (D("-3.500"), D("8168.0")),
    ]
    assert out.pnl == D("375.475000005")  # 3.5 × (8,168 − 8,060.72142857)


# ------------------------------------------------------------------ exits


def test_time_stop() -> None:
    out = _long(replace(PLAIN, max_holding_seconds=12 * 3600.0))
    assert _timeline(out) == [
        ("09-30 09:00", "PLACE_STOP:initial_stop"),
        ("09-30 20:00", "CLOSE:time_stop"),
    ]
    assert "time stop: held 12.0 h ≥ the maximum 12.0 h" in out.reasons[12][0]
    assert out.stop_qtys[12] == 2  # the stop covers the 2 until the close fills
    assert out.pnl == D("402.34")  # 2 × (8,199.66 − 7,998.49)


def test_stagnation_alert_and_close_on_the_short() -> None:
    """The short hardly moves for a day: after 26 h its ROE is 4.73 % < 5 % — STAGNATED, and
    with stagnation_close it is closed at the 10-02 10:00 close 8,236.44."""
    alert_only = _short(replace(PLAIN, stagnation_seconds=24 * 3600.0, stagnation_roe=0.05))
    assert ("10-02 10:00", "ALERT:stagnation") in _timeline(alert_only)
    out = _short(
        replace(PLAIN, stagnation_seconds=24 * 3600.0, stagnation_roe=0.05, stagnation_close=True)
    )
    assert _timeline(out) == [
        ("10-01 09:00", "PLACE_STOP:initial_stop"),
        ("10-02 10:00", "CLOSE:stagnation"),
        ("10-02 10:00", "ALERT:stagnation"),
    ]
    assert "held 26.0 h > 24.0 h with |ROE| 4.73 % < 5.00 %" in out.reasons[50][0]
    assert out.stop_qtys[50] == 3000
    # 30,000 USD × (1/8,236.44 − 1/8,314.32) BTC
    assert out.pnl == D("0.0341177924537457917185476328")


def test_invalidation_on_a_real_candle() -> None:
    """A long entered at the 10-01 00:00 close 8,423.57, invalid once "a 1h candle closes below
    8,300": the first close below it, 8,277.22 (the candle of 10-01 12:00), closes it at once."""
    profile = replace(PLAIN, invalidation=(InvalidationCondition("1h", close_below=D("8300")),))
    out = _long(profile, entry_bar=16)
    first_below = next(i for i in range(17, len(BARS)) if BARS[i].close < D("8300"))
    assert _timeline(out) == [
        ("10-01 01:00", "PLACE_STOP:initial_stop"),
        (_when(first_below), "CLOSE:invalidation"),
    ]
    assert _when(first_below) == "10-01 13:00"
    assert out.reasons[first_below][0] == (
        "invalidated: the 1h candle of 2019-10-01 12:00 closed at 8,277.22, below 8,300"
    )
    # ATR stop of this entry: 8,423.57 − 2 × ATR14 at 01:00.
    atr = BARS[17].atr
    assert atr is not None and out.stops[17] == _up(D("8423.57") - 2 * D(repr(atr)), "0.1")
    assert out.pnl == D("-292.70")  # 2 × (8,277.22 − 8,423.57)
