"""Decision engine: one test per branch, and every decision lists every factor with its points.

Branches are exercised twice: end to end on the real AAPL chain, and on controlled inputs
(a real analysis with the one field a branch depends on replaced) so each test isolates the
factor it is about.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from riskdesk.domain.rebalance import (
    Action,
    ChainIndex,
    EngineConfig,
    RebalanceParams,
    RiskTolerance,
    decide,
    make_position,
    rebalance,
    search_rolls,
)
from riskdesk.domain.rebalance.model import DecisionPoints
from riskdesk.domain.rebalance.rolls import RollEvaluation

FACTORS = {
    "base",
    "profit_target",
    "expiry_near",
    "defensive_loss",
    "defensive_delta",
    "assignment_risk",
    "early_assignment",
    "healthy",
    "credit_roll",
    "no_credit_roll",
    "no_roll",
    "roll_risk_reduction",
    "roll_adds_risk",
    "poor_liquidity",
}


def run(
    index: ChainIndex, config: EngineConfig, symbol: str, size: int, entry: str, **params: object
):  # type: ignore[no-untyped-def]
    return rebalance(make_position(symbol, size, entry), index, RebalanceParams(**params), config)  # type: ignore[arg-type]


def test_profit_target_reached_closes(aapl: ChainIndex, config: EngineConfig) -> None:
    # Sold the 21 Aug 300 put at 5.00; it is 1.86 mid now: 62.8 % of the premium captured.
    report = run(aapl, config, "AAPL260821P00300000", -3, "5.00")
    fired = {f.name for f in report.decision.factors if f.triggered}
    assert "profit_target" in fired
    assert report.decision.action is Action.CLOSE
    assert report.plan.order_kind == "single"
    assert report.plan.orders[0].action == "BTC"


def test_expiry_near_rolls_for_a_credit(aapl: ChainIndex, config: EngineConfig) -> None:
    # 14 days left (target 21), a little profit, no other risk: roll out for a credit.
    report = run(aapl, config, "AAPL260807P00300000", -3, "1.00")
    fired = {f.name for f in report.decision.factors if f.triggered}
    assert {"expiry_near", "credit_roll"} <= fired
    assert report.decision.action is Action.ROLL
    roll = report.decision.roll
    assert roll is not None and roll.net_credit_mid >= 0
    assert report.plan.order_kind == "combo"
    assert [o.action for o in report.plan.orders] == ["BTC", "STO"]


def test_healthy_position_holds(aapl: ChainIndex, config: EngineConfig) -> None:
    # 56 days, 12-delta put, small loss well inside the 15 % trigger.
    report = run(aapl, config, "AAPL260918P00290000", -2, "2.50")
    fired = {f.name for f in report.decision.factors if f.triggered}
    # No later expiry lies inside the 14-60 DTE window, so no roll exists ("no_roll").
    assert fired - {"no_roll"} == {"base", "healthy"}
    assert report.decision.action is Action.HOLD
    assert report.decision.timing == "wait_for_setup"
    assert report.plan.orders == []
    assert report.plan.monitoring_points


def test_assignment_risk_rolls_into_a_risk_reducing_credit_roll(
    aapl: ChainIndex, config: EngineConfig
) -> None:
    position = make_position("AAPL260821P00320000", -5, "5.00")
    params = RebalanceParams()
    analysis, rolls = search_rolls(position, aapl, params, config)
    # Same position, but deep in the money: assignment 90 % (threshold 80 %, moderate).
    risky = replace(analysis, assignment_probability=0.90)
    decision = decide(risky, rolls, params, config)
    fired = {f.name for f in decision.factors if f.triggered}
    assert "assignment_risk" in fired and "expiry_near" not in fired
    assert decision.action is Action.ROLL
    assert decision.risk_level == "high"
    # A defensive decision takes the best credit roll that cuts the probability-weighted loss.
    assert rolls.best_risk_reducing is not None
    assert decision.roll is rolls.best_risk_reducing
    assert decision.roll.net_credit_mid >= 0
    assert decision.roll.risk_reduction is not None
    assert decision.roll.risk_reduction >= config.min_risk_reduction


def test_assignment_risk_without_a_risk_reducing_roll_closes(
    aapl: ChainIndex, config: EngineConfig
) -> None:
    # Only calendar rolls (more time = more risk) pass with no extra capital allowed.
    position = make_position("AAPL260807P00300000", -3, "1.00")
    analysis, rolls = search_rolls(position, aapl, RebalanceParams(), config)
    decision = decide(
        replace(analysis, assignment_probability=0.90, dte_days=30),
        rolls,
        RebalanceParams(),
        config,
    )
    fired = {f.name for f in decision.factors if f.triggered}
    assert {"assignment_risk", "roll_adds_risk"} <= fired
    assert decision.action is Action.CLOSE


def test_no_credit_roll_and_high_risk_closes(aapl: ChainIndex, config: EngineConfig) -> None:
    position = make_position("AAPL260807P00300000", -3, "1.00")
    analysis, rolls = search_rolls(position, aapl, RebalanceParams(), config)
    risky = replace(analysis, assignment_probability=0.90, pnl_pct=-0.60)
    debit_only = replace(rolls, credit_available=False, best_risk_reducing=None)
    decision = decide(risky, debit_only, RebalanceParams(), config)
    fired = {f.name for f in decision.factors if f.triggered}
    assert {"assignment_risk", "defensive_loss", "no_credit_roll"} <= fired
    assert decision.action is Action.CLOSE
    assert decision.risk_level == "high"


def test_no_candidate_at_all_closes_a_risky_position(
    aapl: ChainIndex, config: EngineConfig
) -> None:
    position = make_position("AAPL260807P00300000", -3, "1.00")
    analysis, _rolls = search_rolls(position, aapl, RebalanceParams(), config)
    empty = RollEvaluation((14, 60), 0.25, 0.07, 0, 0, {}, False, [], None)
    decision = decide(
        replace(analysis, assignment_probability=0.95), empty, RebalanceParams(), config
    )
    assert decision.action is Action.CLOSE
    assert decision.scores["ROLL"] < 0


def test_tolerance_scales_the_assignment_threshold(aapl: ChainIndex, config: EngineConfig) -> None:
    position = make_position("AAPL260918P00290000", -2, "2.50")
    analysis, rolls = search_rolls(position, aapl, RebalanceParams(), config)
    at_75 = replace(analysis, assignment_probability=0.75)
    fired = {
        tol: next(
            f.triggered
            for f in decide(at_75, rolls, RebalanceParams(risk_tolerance=tol), config).factors
            if f.name == "assignment_risk"
        )
        for tol in RiskTolerance
    }
    assert fired == {
        RiskTolerance.CONSERVATIVE: True,  # 70 %
        RiskTolerance.MODERATE: False,  # 80 %
        RiskTolerance.AGGRESSIVE: False,  # 85 %
    }


@pytest.mark.parametrize(
    ("symbol", "size", "entry"),
    [
        ("AAPL260821P00300000", -3, "5.00"),
        ("AAPL260807P00300000", -3, "1.00"),
        ("AAPL260918P00290000", -2, "2.50"),
        ("AAPL260821P00330000", -10, "8.50"),
        ("AAPL260807P00340000", -5, "4.00"),
        ("AAPL260821C00350000", -2, "3.00"),
        ("AAPL260918C00350000", 2, "10.00"),
    ],
)
def test_every_decision_lists_every_factor(
    aapl: ChainIndex, config: EngineConfig, symbol: str, size: int, entry: str
) -> None:
    decision = run(aapl, config, symbol, size, entry).decision
    assert {f.name for f in decision.factors} == FACTORS
    for f in decision.factors:
        assert set(f.points) == {"HOLD", "CLOSE", "ROLL"}
        assert f.explanation
        if not f.triggered:
            assert all(p == 0 for p in f.points.values())
    # The scores are exactly the sum of the factors' points.
    for action in ("HOLD", "CLOSE", "ROLL"):
        assert decision.scores[action] == pytest.approx(
            sum(f.points[action] for f in decision.factors)
        )
    best = max(decision.scores.values())
    assert decision.scores[decision.action.value] == best
    assert 0.5 <= decision.confidence <= 0.99
    assert decision.reasoning and decision.reasoning[-1].startswith("Timing:")


def test_points_are_configuration(aapl: ChainIndex, config: EngineConfig) -> None:
    # Make taking profit worthless: the profitable position is no longer closed for it.
    points = replace(config.decision_points, profit_target=(0.0, 0.0, 0.0))
    report = run(aapl, replace(config, decision_points=points), "AAPL260821P00300000", -3, "5.00")
    assert report.decision.action is Action.HOLD
    assert DecisionPoints().profit_target == (-30.0, 50.0, -10.0)
