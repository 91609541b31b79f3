"""Which stale-data reading trips the kill switch: a mark that went stale always; a position
never marked (mark age infinite) only when the policy counts it."""

from __future__ import annotations

import math

import numpy as np
from risk_unit_kit import NOW

from riskdesk.domain.risk.limits import MonitorThresholds
from riskdesk.domain.risk.monitors import MonitorInput, compute_levels, stale_trigger

T = MonitorThresholds()


def _input(ages: list[float]) -> MonitorInput:
    n = len(ages)
    return MonitorInput(
        keys=[f"p{i}" for i in range(n)],
        labels=[f"POS{i}" for i in range(n)],
        liq_distance=np.full(n, np.nan),
        loss=np.zeros(n),
        mark_age=np.array(ages, dtype=float),
        equity=100_000.0,
        peak_equity=100_000.0,
        margin_used=0.0,
        heat=0.0,
        ts=NOW,
    )


def _trigger(ages: list[float], include_unmarked: bool) -> int | None:
    data = _input(ages)
    return stale_trigger(data, compute_levels(data, T), include_unmarked)


def test_a_never_marked_position_trips_only_when_the_policy_counts_it() -> None:
    assert _trigger([10.0, math.inf], include_unmarked=False) is None
    assert _trigger([10.0, math.inf], include_unmarked=True) == 1


def test_a_mark_that_went_stale_trips_either_way() -> None:
    ages = [math.inf, 299.0, T.stale_critical_seconds, 5000.0]
    assert _trigger(ages, include_unmarked=False) == 2
    assert _trigger(ages, include_unmarked=True) == 0


def test_the_never_marked_position_is_still_a_critical_alert_level() -> None:
    levels = compute_levels(_input([math.inf]), T)
    assert levels.stale.tolist() == [2]


def test_no_position_no_trigger() -> None:
    assert _trigger([], include_unmarked=True) is None
