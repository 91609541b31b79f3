"""Staleness by the source of a mark: a mark recorded by hand is as-of data the user vouches
for — a warning only after ``manual_mark_max_age_seconds`` (a day), the kill switch only when
``manual_marks_trip_stale_data`` says so, and entries allowed up to
``max_manual_mark_age_seconds`` — while a feed mark keeps the live-feed thresholds."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from risk_unit_kit import NOW, approved, denied, engine, intent, later, linear, make_book, run

from riskdesk.domain.risk.decisions import RiskCode
from riskdesk.domain.risk.limits import MonitorThresholds
from riskdesk.domain.risk.monitors import (
    AlertDeduper,
    AlertLevel,
    MonitorInput,
    compute_levels,
    evaluate,
    stale_trigger,
)

T = MonitorThresholds()
DAY = T.manual_mark_max_age_seconds


def _input(ages: list[float], manual: list[bool]) -> MonitorInput:
    n = len(ages)
    return MonitorInput(
        keys=[f"acct:paper:S{i}:net" for i in range(n)],
        labels=[f"S{i}" for i in range(n)],
        liq_distance=np.full(n, np.nan),
        loss=np.zeros(n),
        mark_age=np.array(ages, dtype=float),
        equity=100_000.0,
        peak_equity=100_000.0,
        margin_used=0.0,
        heat=0.0,
        ts=NOW,
        manual=np.array(manual, dtype=bool),
    )


def test_the_default_manual_threshold_is_a_day_far_above_the_feed_levels() -> None:
    assert DAY == 86_400.0
    assert DAY > T.stale_critical_seconds > T.stale_warning_seconds


def test_a_hand_mark_327_s_old_is_quiet_a_feed_mark_is_critical() -> None:
    data = _input([327.0, 327.0], [True, False])
    levels = compute_levels(data, T)
    assert levels.stale.tolist() == [0, 2]
    readings = [r for r in evaluate(data, T) if r.kind == "stale_data"]
    assert [(r.key, r.level) for r in readings] == [
        ("stale:acct:paper:S1:net", AlertLevel.CRITICAL)
    ]
    # The feed mark trips the switch; the hand mark never does by default.
    assert stale_trigger(data, levels, include_unmarked=False) == 1
    only_hand = _input([327.0], [True])
    assert stale_trigger(only_hand, compute_levels(only_hand, T), include_unmarked=False) is None


def test_a_hand_mark_older_than_a_day_is_a_warning_not_a_trigger() -> None:
    data = _input([DAY - 1.0, DAY, 3 * DAY], [True, True, True])
    levels = compute_levels(data, T)
    assert levels.stale.tolist() == [0, 1, 1]
    readings = [r for r in evaluate(data, T) if r.kind == "stale_data"]
    assert {r.level for r in readings} == {AlertLevel.WARNING}
    assert readings[0].message == (
        "S1 mark was set by hand 24 h 00 min ago (alert at 24 h 00 min): record a current one"
    )
    assert readings[1].message.startswith("S2 mark was set by hand 3 d 0 h ago")
    assert (readings[0].value, readings[0].threshold) == (DAY, DAY)
    assert stale_trigger(data, levels, include_unmarked=True) is None


def test_the_policy_can_make_an_old_hand_mark_trip_the_switch() -> None:
    data = _input([327.0, 2 * DAY], [True, True])
    levels = compute_levels(data, T)
    assert stale_trigger(data, levels, include_unmarked=False, include_manual=True) == 1
    young = _input([327.0], [True])
    assert (
        stale_trigger(young, compute_levels(young, T), include_unmarked=False, include_manual=True)
        is None
    )


def test_a_never_marked_position_is_judged_as_before_next_to_hand_marks() -> None:
    data = _input([math.inf, 10.0], [False, True])
    levels = compute_levels(data, T)
    assert levels.stale.tolist() == [2, 0]
    assert stale_trigger(data, levels, include_unmarked=False) is None
    assert stale_trigger(data, levels, include_unmarked=True) == 0


def test_a_hand_mark_alert_is_raised_once_and_cleared() -> None:
    dedupe = AlertDeduper(T.cooldown_seconds)
    old = _input([DAY + 5], [True])
    first = dedupe.feed_levels(old, T, compute_levels(old, T), NOW)
    assert [(a.kind, a.level) for a in first] == [("stale_data", AlertLevel.WARNING)]
    assert dedupe.feed_levels(old, T, compute_levels(old, T), later(60)) == []
    fresh = _input([5.0], [True])
    back = dedupe.feed_levels(fresh, T, compute_levels(fresh, T), later(120))
    assert [a.level for a in back] == [AlertLevel.INFO]


# ----------------------------------------------------------------------------- pre-trade


def test_an_entry_may_rely_on_a_hand_mark_for_a_day() -> None:
    eng = engine(max_mark_age_seconds=300.0, max_manual_mark_age_seconds=DAY)
    hand = make_book(replace(linear(), manual_mark=True))
    approved(run(eng, intent("0.01"), hand, later(327)))
    approved(run(eng, intent("0.01"), hand, later(DAY)))
    late = denied(run(eng, intent("0.01"), hand, later(DAY + 1)), RiskCode.STALE_DATA)
    assert late.limit == DAY
    assert "limit 86,400 s" in late.reason


def test_an_entry_on_a_feed_mark_keeps_the_feed_limit() -> None:
    eng = engine(max_mark_age_seconds=300.0, max_manual_mark_age_seconds=DAY)
    feed = make_book(linear())
    stale = denied(run(eng, intent("0.01"), feed, later(327)), RiskCode.STALE_DATA)
    assert (stale.value, stale.limit) == (327.0, 300.0)


def test_the_manual_limit_can_be_switched_off() -> None:
    eng = engine(max_mark_age_seconds=300.0, max_manual_mark_age_seconds=None)
    hand = make_book(replace(linear(), manual_mark=True))
    approved(run(eng, intent("0.01"), hand, later(30 * DAY)))
