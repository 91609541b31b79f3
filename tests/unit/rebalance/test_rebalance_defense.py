"""Defensive rolls on the real AAPL chain: whatever the position, a roll made because a
defensive factor fired cuts the risk that fired, by at least the minimum risk reduction."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskdesk.domain.rebalance import (
    Action,
    ChainIndex,
    EngineConfig,
    RebalanceParams,
    RiskTolerance,
    make_position,
    rebalance,
)
from riskdesk.domain.rebalance.defense import (
    ASSIGNMENT,
    DELTA,
    LOSS,
    defense_failures,
    defensive_triggers,
)
from riskdesk.domain.rebalance.rolls import RiskComparison


def _near_the_money(aapl: ChainIndex) -> list[int]:
    s = float(aapl.snapshot.underlying.price)
    return [
        i
        for i, c in enumerate(aapl.snapshot.contracts)
        if 0 < aapl.dte[i] <= 90
        and 0.9 <= float(c.strike) / s <= 1.1
        and c.bid is not None
        and c.bid > 0
    ]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pick=st.integers(0, 10_000),
    size=st.sampled_from([-10, -5, -2, -1]),
    entry_factor=st.sampled_from(["0.4", "0.8", "1", "1.3"]),
    capital=st.sampled_from([0, 5_000, 10_000_000]),
    tolerance=st.sampled_from(list(RiskTolerance)),
)
def test_a_defensive_roll_always_cuts_the_risk_that_fired(
    aapl: ChainIndex,
    config: EngineConfig,
    pick: int,
    size: int,
    entry_factor: str,
    capital: int,
    tolerance: RiskTolerance,
) -> None:
    rows = _near_the_money(aapl)
    c = aapl.contract(rows[pick % len(rows)])
    mid = c.mid or Decimal("0.05")
    entry = max((mid * Decimal(entry_factor)).quantize(Decimal("0.01")), Decimal("0.01"))
    params = RebalanceParams(max_additional_capital=Decimal(capital), risk_tolerance=tolerance)
    report = rebalance(make_position(c.symbol, size, entry), aapl, params, config)
    tol = config.thresholds(tolerance)
    fired = defensive_triggers(report.analysis, params, tol)
    assert report.rolls.defensive_triggers == tuple(sorted(fired))
    roll = report.decision.roll
    if report.decision.action is not Action.ROLL or not fired:
        return
    assert roll is not None and roll.defense_failures == []
    need = config.min_risk_reduction
    if DELTA in fired:
        assert (roll.delta_dollars.reduction or 0) >= need
        assert abs(roll.new_delta) < tol.defensive_delta
    if ASSIGNMENT in fired:
        assert (roll.assignment.reduction or 0) >= need
        assert roll.assignment_probability < tol.assignment_probability
    if LOSS in fired or roll.expected_loss.reduction is not None:
        assert (roll.expected_loss.reduction or 0) >= need


def test_failures_name_each_missed_requirement() -> None:
    tol = EngineConfig().thresholds(RiskTolerance.MODERATE)
    worse = RiskComparison(138_940.0, 139_131.0, (138_940 - 139_131) / 138_940)
    failures = defense_failures(
        frozenset({DELTA, ASSIGNMENT}),
        assignment=RiskComparison(0.45, 0.453, -0.0067),
        delta_dollars=worse,
        expected_loss=RiskComparison(5_556.0, 5_489.0, 0.012),
        new_abs_delta=0.42,
        tol=tol,
        min_risk_reduction=0.10,
    )
    assert failures == [
        "delta dollars 138,940 -> 139,131 (+0.1%; must fall by at least 10.0%)",
        "the new leg's |delta| 0.42 is already past the 0.40 trigger",
        "assignment probability 45.0% -> 45.3% (+0.7%; must fall by at least 10.0%)",
        "probability-weighted loss 5,556 -> 5,489 (-1.2%; must fall by at least 10.0%)",
    ]
    assert not defense_failures(
        frozenset(),
        assignment=worse,
        delta_dollars=worse,
        expected_loss=worse,
        new_abs_delta=0.9,
        tol=tol,
        min_risk_reduction=0.10,
    )
