"""Intraday monitors (vectorised levels) and alert de-duplication."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from risk_unit_kit import NOW, later

from riskdesk.domain.risk.limits import MonitorThresholds
from riskdesk.domain.risk.monitors import (
    Alert,
    AlertDeduper,
    AlertLevel,
    MonitorInput,
    Reading,
    evaluate,
)

T = MonitorThresholds()
OK, INFO, WARN, CRIT, EMERG = (
    AlertLevel.OK,
    AlertLevel.INFO,
    AlertLevel.WARNING,
    AlertLevel.CRITICAL,
    AlertLevel.EMERGENCY,
)


def data(
    liq: list[float] | None = None,
    loss: list[float] | None = None,
    age: list[float] | None = None,
    *,
    equity: float = 100_000.0,
    peak: float = 100_000.0,
    margin: float = 0.0,
    heat: float = 0.0,
) -> MonitorInput:
    n = max(len(liq or []), len(loss or []), len(age or []))

    def arr(values: list[float] | None, fill: float) -> np.ndarray:
        return np.array(values if values is not None else [fill] * n, dtype=float)

    return MonitorInput(
        keys=[f"p{i}" for i in range(n)],
        labels=[f"POS{i}" for i in range(n)],
        liq_distance=arr(liq, np.nan),
        loss=arr(loss, 0.0),
        mark_age=arr(age, 0.0),
        equity=equity,
        peak_equity=peak,
        margin_used=margin,
        heat=heat,
        ts=NOW,
    )


def by_key(readings: list[Reading]) -> dict[str, Reading]:
    return {r.key: r for r in readings}


def test_thresholds_have_the_seed_values() -> None:
    assert (T.liq_warning, T.liq_critical, T.liq_emergency) == (0.10, 0.05, 0.03)
    assert (T.loss_warning, T.loss_critical) == (0.10, 0.20)
    assert T.drawdown_alert == 0.15
    assert (T.margin_warning, T.margin_critical, T.margin_block) == (0.80, 0.90, 1.00)
    assert T.heat_levels == (0.05, 0.10, 0.15)


def test_a_quiet_book_has_no_readings() -> None:
    assert evaluate(data([0.5, np.nan], [0.05, -0.05], [1.0, 59.0]), T) == []
    assert evaluate(data(), T) == []


def test_liquidation_proximity_levels_vectorised() -> None:
    # A level is reached at its threshold (distance <= threshold).
    readings = by_key(
        evaluate(data(liq=[0.5, 0.101, 0.10, 0.051, 0.05, 0.031, 0.03, 0.029, np.nan]), T)
    )
    levels = {k: r.level for k, r in readings.items()}
    assert levels == {
        "liquidation:p2": WARN,
        "liquidation:p3": WARN,
        "liquidation:p4": CRIT,
        "liquidation:p5": CRIT,
        "liquidation:p6": EMERG,
        "liquidation:p7": EMERG,
    }
    r = readings["liquidation:p7"]
    assert r.kind == "liquidation"
    assert (r.value, r.threshold) == (0.029, 0.03)
    assert r.message == "POS7 is 2.90 % from its liquidation price (alert at 3 % or less)"
    assert readings["liquidation:p4"].threshold == 0.05
    assert readings["liquidation:p2"].threshold == 0.10
    assert readings["liquidation:p6"].threshold == 0.03


def test_position_loss_levels() -> None:
    readings = by_key(evaluate(data(loss=[-0.05, -0.0999, -0.10, -0.11, -0.20, -0.25, 0.5]), T))
    assert {k: r.level for k, r in readings.items()} == {
        "loss:p2": WARN,
        "loss:p3": WARN,
        "loss:p4": CRIT,
        "loss:p5": CRIT,
    }
    r = readings["loss:p5"]
    assert r.kind == "position_loss"
    assert (r.value, r.threshold) == (-0.25, 0.20)
    assert r.message == "POS5 is down 25.00 % on its entry (alert at 20 %)"


def test_stale_data_levels() -> None:
    readings = by_key(evaluate(data(age=[59.0, 60.0, 299.0, 300.0, 301.0]), T))
    assert {k: r.level for k, r in readings.items()} == {
        "stale:p1": WARN,
        "stale:p2": WARN,
        "stale:p3": CRIT,
        "stale:p4": CRIT,
    }
    assert readings["stale:p4"].kind == "stale_data"
    assert readings["stale:p4"].message == "POS4 mark is 301 s old (alert at 300 s)"


def test_stale_critical_reading_reports_the_critical_threshold() -> None:
    (r,) = evaluate(data(age=[400.0]), T)
    assert r.threshold == T.stale_critical_seconds


@pytest.mark.parametrize(
    ("equity", "level"),
    [(100_000.0, None), (85_001.0, None), (85_000.0, CRIT), (84_999.0, CRIT), (50_000.0, CRIT)],
)
def test_drawdown_alert(equity: float, level: AlertLevel | None) -> None:
    readings = by_key(evaluate(data(equity=equity, peak=100_000.0), T))
    if level is None:
        assert "drawdown" not in readings
    else:
        r = readings["drawdown"]
        assert r.level is level
        assert r.value == pytest.approx(1 - equity / 100_000.0)
        assert "below its peak (alert at 15 %)" in r.message


def test_equity_above_the_peak_is_no_drawdown() -> None:
    assert evaluate(data(equity=120_000.0, peak=100_000.0), T) == []
    assert evaluate(data(equity=1.0, peak=0.0), T) == []


@pytest.mark.parametrize(
    ("used", "level", "threshold"),
    [
        (79_999.0, None, None),
        (80_000.0, WARN, 0.80),
        (89_999.0, WARN, 0.80),
        (90_000.0, CRIT, 0.90),
        (100_000.0, EMERG, 1.00),
        (250_000.0, EMERG, 1.00),
    ],
)
def test_margin_usage_levels(
    used: float, level: AlertLevel | None, threshold: float | None
) -> None:
    readings = by_key(evaluate(data(margin=used), T))
    if level is None:
        assert "margin_usage" not in readings
        return
    r = readings["margin_usage"]
    assert (r.level, r.threshold) == (level, threshold)
    assert f"{used / 1000:.2f} % of equity" in r.message


@pytest.mark.parametrize(
    ("heat", "level"),
    [(4_999.0, None), (5_000.0, INFO), (10_000.0, WARN), (14_999.0, WARN), (15_000.0, CRIT)],
)
def test_portfolio_heat_levels(heat: float, level: AlertLevel | None) -> None:
    readings = by_key(evaluate(data(heat=heat), T))
    if level is None:
        assert "portfolio_heat" not in readings
    else:
        assert readings["portfolio_heat"].level is level


def test_book_levels_need_positive_equity() -> None:
    assert evaluate(data(equity=0.0, peak=0.0, margin=5.0, heat=5.0), T) == []


def test_custom_thresholds_are_used() -> None:
    tight = MonitorThresholds(liq_warning=0.5, loss_warning=0.01, heat_levels=(0.01, 0.02, 0.03))
    readings = by_key(evaluate(data(liq=[0.4], loss=[-0.02], heat=2_500.0), tight))
    assert readings["liquidation:p0"].level is WARN
    assert readings["loss:p0"].level is WARN
    assert readings["portfolio_heat"].level is WARN


def test_ten_thousand_positions_in_one_pass() -> None:
    n = 10_000
    rng = np.random.default_rng(7)
    liq = rng.uniform(0.0, 0.2, n)
    loss = rng.uniform(-0.3, 0.1, n)
    readings = evaluate(data(list(liq), list(loss), [0.0] * n), T)
    liq_count = sum(r.kind == "liquidation" for r in readings)
    loss_count = sum(r.kind == "position_loss" for r in readings)
    assert liq_count == int((liq <= 0.10).sum())
    assert loss_count == int((loss <= -0.10).sum())
    emergencies = [r for r in readings if r.level is EMERG]
    assert len(emergencies) == int((liq < 0.03).sum())


# ----------------------------------------------------------------------------- de-duplication


def reading(key: str, level: AlertLevel, kind: str = "position_loss") -> Reading:
    return Reading(key, kind, level, f"{key} at {level.label}", 0.1, 0.1)


def test_alert_once_per_level_not_every_tick() -> None:
    d = AlertDeduper(cooldown_seconds=900.0)
    first = d.feed([reading("loss:a", WARN)], NOW)
    assert [(a.key, a.level) for a in first] == [("loss:a", WARN)]
    assert first[0].ts == NOW and first[0].message == "loss:a at warning"
    for s in range(1, 60):
        assert d.feed([reading("loss:a", WARN)], later(s * 10)) == []


def test_level_changes_raise_again_up_and_down() -> None:
    d = AlertDeduper(cooldown_seconds=900.0)
    d.feed([reading("loss:a", WARN)], NOW)
    assert [a.level for a in d.feed([reading("loss:a", CRIT)], later(1))] == [CRIT]
    assert d.feed([reading("loss:a", CRIT)], later(2)) == []
    assert [a.level for a in d.feed([reading("loss:a", WARN)], later(3))] == [WARN]


def test_cooldown_re_raises_an_unchanged_alert() -> None:
    d = AlertDeduper(cooldown_seconds=900.0)
    d.feed([reading("loss:a", WARN)], NOW)
    assert d.feed([reading("loss:a", WARN)], later(899)) == []
    assert len(d.feed([reading("loss:a", WARN)], later(900))) == 1
    # The cool-down restarts from the re-raise.
    assert d.feed([reading("loss:a", WARN)], later(1799)) == []
    assert len(d.feed([reading("loss:a", WARN)], later(1800))) == 1


def test_back_to_normal_message_once() -> None:
    d = AlertDeduper(cooldown_seconds=900.0)
    d.feed([reading("loss:a", WARN), reading("drawdown", CRIT, "drawdown")], NOW)
    back = d.feed([reading("drawdown", CRIT, "drawdown")], later(5))
    assert len(back) == 1
    assert back[0].key == "loss:a"
    assert back[0].level is INFO
    assert back[0].message == "loss:a is back within limits"
    assert d.feed([reading("drawdown", CRIT, "drawdown")], later(6)) == []
    # Returning is a new alert.
    again = d.feed([reading("loss:a", WARN), reading("drawdown", CRIT, "drawdown")], later(7))
    assert [(a.key, a.level) for a in again] == [("loss:a", WARN)]


def test_info_levels_leave_silently() -> None:
    d = AlertDeduper(cooldown_seconds=900.0)
    d.feed([reading("portfolio_heat", INFO, "portfolio_heat")], NOW)
    assert d.feed([], later(1)) == []
    assert d.memory == {}


def test_back_to_normal_keeps_the_alert_kind() -> None:
    d = AlertDeduper(cooldown_seconds=900.0)
    d.feed([reading("loss:a", WARN, "position_loss")], NOW)
    (back,) = d.feed([], later(1))
    assert back.kind == "position_loss"


def test_remembered_alerts_are_the_monitors_own_with_their_kind() -> None:
    d = AlertDeduper(cooldown_seconds=900.0)
    own = Alert("paper:drawdown", "drawdown", CRIT, "paper book: …", 0.2, 0.15, NOW)
    other = Alert("protection:a|paper:BTC|net", "guard_stop", CRIT, "guard", 0.0, 0.0, NOW)
    assert d.remember(own) and not d.remember(other)
    assert d.feed([reading("paper:drawdown", CRIT, "drawdown")], later(1)) == []  # remembered
    (back,) = d.feed([], later(2))  # and nothing about the protection it never raised
    assert (back.key, back.kind, back.level) == ("paper:drawdown", "drawdown", INFO)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 400), st.sampled_from([OK, WARN, CRIT, EMERG])),
        min_size=1,
        max_size=40,
    )
)
def test_dedupe_alerts_only_on_change_or_after_cooldown(
    steps: list[tuple[int, AlertLevel]],
) -> None:
    cooldown = 900.0
    d = AlertDeduper(cooldown_seconds=cooldown)
    t = NOW
    last: tuple[AlertLevel, object] | None = None  # level and time of the last raise
    for gap, level in steps:
        t = t + timedelta(seconds=gap)
        feed = [] if level is OK else [reading("liquidation:x", level, "liquidation")]
        alerts = d.feed(feed, t)
        assert len(alerts) <= 1
        if level is OK:
            if last is None:
                assert alerts == []
            else:
                assert [a.level for a in alerts] == [INFO]
            last = None
            continue
        expected = (
            last is None or last[0] != level or (t - last[1]).total_seconds() >= cooldown  # type: ignore[operator]
        )
        assert bool(alerts) == expected
        if alerts:
            assert alerts[0].level is level
            last = (level, t)
