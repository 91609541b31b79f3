"""Decision engine: one test per branch, and every decision lists every factor with its points.

Every branch is exercised end to end on the real AAPL chain (positions found in it that trigger
the branch; valued at the snapshot's response time, Saturday 25 Jul 2026 03:44 New York), and
some also on controlled inputs (a real analysis with the one field a branch depends on
replaced) so a test isolates the factor it is about.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

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
from riskdesk.domain.rebalance.defense import defense_failures
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
    "no_risk_reducing_roll",
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
    # 13 days left (target 21), a little profit, no other risk: roll out for a credit.
    report = run(aapl, config, "AAPL260807P00300000", -3, "1.00")
    fired = {f.name for f in report.decision.factors if f.triggered}
    assert {"expiry_near", "credit_roll"} <= fired
    assert report.decision.action is Action.ROLL
    roll = report.decision.roll
    assert roll is not None and roll.net_credit_mid >= 0
    assert report.plan.order_kind == "combo"
    assert [o.action for o in report.plan.orders] == ["BTC", "STO"]


def test_healthy_position_holds_although_a_roll_is_available(
    aapl: ChainIndex, config: EngineConfig
) -> None:
    # 55 days, 12-delta put, small loss well inside the 15 % trigger; a credit roll to 16 Oct
    # passes every filter, but nothing calls for it.
    report = run(aapl, config, "AAPL260918P00290000", -2, "2.50")
    fired = {f.name for f in report.decision.factors if f.triggered}
    assert fired == {"base", "healthy"}
    assert report.rolls.passed >= 1 and report.rolls.chosen is not None
    assert report.rolls.chosen.is_credit
    assert report.decision.action is Action.HOLD and report.decision.roll is None
    assert report.decision.timing == "wait_for_setup"
    assert report.plan.orders == []
    assert report.plan.monitoring_points


def test_assignment_risk_rolls_into_a_roll_that_cuts_it(
    aapl: ChainIndex, config: EngineConfig
) -> None:
    # Short 10 AAPL 27 Jul 327.5 calls (AAPL 333.80, 2 days left): 83 % likely to be assigned
    # (threshold 80 %, moderate) and |delta| 0.84 (trigger 0.40). Within seed 000's default of
    # no additional capital, one roll cuts both: the 18 Sep 355 call, for a credit.
    report = run(aapl, config, "AAPL260727C00327500", -10, "6.10")
    d = report.decision
    fired = {f.name for f in d.factors if f.triggered}
    assert {"assignment_risk", "defensive_delta", "credit_roll", "roll_risk_reduction"} <= fired
    assert d.action is Action.ROLL and d.risk_level == "high"
    roll = d.roll
    assert roll is not None and roll is report.rolls.best_defensive
    assert roll.is_credit and roll.defense_failures == []
    a = report.analysis
    assert a.assignment_probability is not None and a.assignment_probability >= 0.80
    # It reduces the risk that fired, each by at least the minimum risk reduction (10 %),
    # and the new leg is inside both triggers.
    assert roll.assignment.before == a.assignment_probability
    assert roll.assignment_probability < 0.80 and (roll.assignment.reduction or 0) >= 0.10
    assert abs(roll.new_delta) < 0.40 and (roll.delta_dollars.reduction or 0) >= 0.10
    assert (roll.risk_reduction or 0) >= config.min_risk_reduction
    assert [o.action for o in report.plan.orders] == ["BTC", "STO"]
    # The market is closed at the snapshot time (Saturday): the order works from Monday.
    assert d.timing == "next_open"


def test_defensive_trigger_never_rolls_into_more_risk(
    aapl: ChainIndex, config: EngineConfig
) -> None:
    # The audit case: short 10 AAPL 21 Aug 330 puts sold at 8.50, |delta| 0.416 trips the
    # 0.40 trigger. The only credit rolls (calendars) raise the delta dollars and the
    # assignment probability and their new leg is itself past 0.40: no roll qualifies.
    report = run(aapl, config, "AAPL260821P00330000", -10, "8.50")
    d = report.decision
    fired = {f.name for f in d.factors if f.triggered}
    assert {"defensive_delta", "no_roll", "no_risk_reducing_roll"} <= fired
    assert d.action is not Action.ROLL and d.roll is None
    assert report.rolls.credit_available and report.rolls.qualifying == 0
    why = next(f for f in d.factors if f.name == "no_risk_reducing_roll").explanation
    assert "delta dollars" in why and "past the 0.40 trigger" in why
    for c in report.rolls.candidates:
        assert c.defense_failures
        assert (c.delta_dollars.reduction or 0) < 0.10 or abs(c.new_delta) >= 0.40
    # The decision follows the points: CLOSE (a defensive factor and no way to roll it off).
    assert d.action is Action.CLOSE
    assert d.scores["CLOSE"] > d.scores["HOLD"]


def test_defensive_roll_with_capital_must_cut_the_delta(
    aapl: ChainIndex, config: EngineConfig
) -> None:
    # With capital allowed, rolls down and out do cut the delta: every one the decision could
    # use passes the delta requirement; none is a credit, so closing still scores best.
    report = run(
        aapl, config, "AAPL260821P00330000", -10, "8.50", max_additional_capital=Decimal(10**7)
    )
    rolls = report.rolls
    assert rolls.qualifying > 0 and rolls.best_defensive is not None
    best = rolls.best_defensive
    assert best.defense_failures == []
    assert best.delta_dollars.after is not None and best.delta_dollars.before is not None
    assert best.delta_dollars.after <= 0.9 * best.delta_dollars.before
    assert abs(best.new_delta) < 0.40
    fired = {f.name for f in report.decision.factors if f.triggered}
    assert "no_credit_roll" in fired and report.decision.action is Action.CLOSE


def test_no_credit_roll_and_high_risk_closes(aapl: ChainIndex, config: EngineConfig) -> None:
    # Short 10 AAPL 27 Jul 320 calls, 97 % likely to be assigned. With capital allowed,
    # resizes into the September 360 calls cut the risk, but only for a debit: pay to extend
    # a losing trade, or close. Close wins.
    report = run(
        aapl, config, "AAPL260727C00320000", -10, "12.80", max_additional_capital=Decimal(10**6)
    )
    d = report.decision
    fired = {f.name for f in d.factors if f.triggered}
    assert {"assignment_risk", "defensive_delta", "no_credit_roll"} <= fired
    assert "credit_roll" not in fired
    assert report.rolls.best_defensive is not None and not report.rolls.best_defensive.is_credit
    assert d.action is Action.CLOSE and d.risk_level == "high"
    assert report.plan.order_kind == "single" and report.plan.orders[0].action == "BTC"


def test_assignment_risk_on_controlled_inputs(aapl: ChainIndex, config: EngineConfig) -> None:
    # The same 330 put, as if it were 90 % likely to be assigned: a defensive decision never
    # takes a roll that does not cut the assignment probability.
    position = make_position("AAPL260821P00330000", -10, "8.50")
    params = RebalanceParams(max_additional_capital=Decimal(10**7))
    analysis, rolls = search_rolls(position, aapl, params, config)
    risky = replace(analysis, assignment_probability=0.90)
    decision = decide(risky, rolls, params, config)
    fired = {f.name for f in decision.factors if f.triggered}
    assert "assignment_risk" in fired and decision.risk_level == "high"
    if decision.roll is not None:
        tol = config.thresholds(params.risk_tolerance)
        assert not defense_failures(
            frozenset({"assignment_risk", "defensive_delta"}),
            assignment=decision.roll.assignment,
            delta_dollars=decision.roll.delta_dollars,
            expected_loss=decision.roll.expected_loss,
            new_abs_delta=abs(decision.roll.new_delta),
            tol=tol,
            min_risk_reduction=config.min_risk_reduction,
        )


def test_no_candidate_at_all_closes_a_risky_position(
    aapl: ChainIndex, config: EngineConfig
) -> None:
    position = make_position("AAPL260807P00300000", -3, "1.00")
    analysis, _rolls = search_rolls(position, aapl, RebalanceParams(), config)
    empty = RollEvaluation((7, 60), 0.25, 0.07, 0, 0, {}, False, [], None)
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
    # Explanations read as plain sentences: no "raises ... by -1.3%" double negatives.
    assert not any(" by -" in f.explanation for f in decision.factors)
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
