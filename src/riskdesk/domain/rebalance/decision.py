"""HOLD / CLOSE / ROLL by transparent factor scoring.

Each factor checks one condition against a threshold (scaled by the risk tolerance where the
issue asks for it) and, when it fires, adds its points to each action (``DecisionPoints``;
table in docs/options.md). The action with the most points wins (ties: HOLD, then CLOSE, then
ROLL — doing less wins a tie). Every factor is listed in the decision, fired or not, with its
value, threshold, points and a plain sentence, so the result can be checked by hand.

Confidence = 0.5 + 0.5 × (winner's lead over the runner-up) / ``confidence_scale``, within
[0.5, 0.99]. Risk level: *high* when assignment risk or early assignment fires, or a defensive
factor fires with at most ``expiry_critical_days`` left, or both defensive factors fire;
*medium* when any other risk factor fires; else *low*. Timing: HOLD waits for a setup
(``wait_for_setup``); CLOSE/ROLL are ``immediate`` while the market is open (24/7 for crypto)
and ``next_open`` otherwise; an illiquid quote defers a non-urgent trade to ``wait_for_setup``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from riskdesk.domain.rebalance.analysis import PositionAnalysis
from riskdesk.domain.rebalance.model import (
    Action,
    EngineConfig,
    RebalanceParams,
    RiskTolerance,
    ToleranceThresholds,
)
from riskdesk.domain.rebalance.rolls import RollCandidate, RollEvaluation

RiskLevel = Literal["low", "medium", "high"]
Timing = Literal["immediate", "next_open", "wait_for_setup"]
_ORDER = (Action.HOLD, Action.CLOSE, Action.ROLL)


@dataclass(frozen=True, slots=True)
class Factor:
    """One scored condition: ``points`` are what it added to each action (zeros when it did not
    fire); ``value`` and ``threshold`` in the units the explanation states."""

    name: str
    triggered: bool
    value: float | str | None
    threshold: float | str | None
    points: dict[str, float]
    explanation: str


@dataclass(frozen=True, slots=True)
class Decision:
    """The decision with its evidence: total ``scores`` per action, every factor, the plain
    ``reasoning``, the thresholds used and, for a ROLL, the chosen ``roll``."""

    action: Action
    confidence: float
    risk_level: RiskLevel
    timing: Timing
    scores: dict[str, float]
    factors: list[Factor]
    reasoning: list[str]
    risk_tolerance: RiskTolerance
    thresholds: ToleranceThresholds
    roll: RollCandidate | None = None
    notes: list[str] = field(default_factory=list)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _money(x: object, ccy: str) -> str:
    return f"{x:,.2f} {ccy}" if ccy in ("USD", "USDC", "USDT") else f"{x} {ccy}"


def decide(
    analysis: PositionAnalysis,
    rolls: RollEvaluation,
    params: RebalanceParams,
    config: EngineConfig,
) -> Decision:
    """Score the factors of ``analysis`` and ``rolls`` and pick HOLD, CLOSE or ROLL."""
    tol = config.thresholds(params.risk_tolerance)
    pts = config.decision_points
    short = analysis.position_type.is_short
    ccy = analysis.premium_currency
    factors: list[Factor] = []
    scores = dict.fromkeys((a.value for a in _ORDER), 0.0)

    def add(
        name: str,
        fired: bool,
        value: float | str | None,
        threshold: float | str | None,
        points: tuple[float, float, float],
        explanation: str,
    ) -> bool:
        applied = {a.value: (p if fired else 0.0) for a, p in zip(_ORDER, points, strict=True)}
        for key, p in applied.items():
            scores[key] += p
        factors.append(Factor(name, fired, value, threshold, applied, explanation))
        return fired

    add("base", True, None, None, pts.base, "status-quo bias: doing nothing wins a tie")
    profit = add(
        "profit_target",
        analysis.pnl_pct >= params.profit_target,
        analysis.pnl_pct,
        params.profit_target,
        pts.profit_target,
        f"P&L is {_pct(analysis.pnl_pct)} of the entry premium; target {_pct(params.profit_target)}",
    )
    near = add(
        "expiry_near",
        analysis.dte_days <= params.target_days_to_roll,
        float(analysis.dte_days),
        float(params.target_days_to_roll),
        pts.expiry_near,
        f"{analysis.dte_days} days to expiry; roll window opens at {params.target_days_to_roll} days",
    )
    loss = add(
        "defensive_loss",
        analysis.pnl_pct <= -params.defensive_roll_trigger,
        analysis.pnl_pct,
        -params.defensive_roll_trigger,
        pts.defensive_loss,
        f"loss trigger at {_pct(-params.defensive_roll_trigger)} of the entry premium; "
        f"P&L is {_pct(analysis.pnl_pct)}",
    )
    abs_delta = abs(analysis.greeks.delta)
    delta_hit = add(
        "defensive_delta",
        short and abs_delta >= tol.defensive_delta,
        abs_delta,
        tol.defensive_delta,
        pts.defensive_delta,
        f"|delta| {abs_delta:.2f} per unit vs {tol.defensive_delta:.2f} "
        f"({params.risk_tolerance.value}); applies to short options",
    )
    p_assign = analysis.assignment_probability
    assign = add(
        "assignment_risk",
        short and p_assign is not None and p_assign >= tol.assignment_probability,
        p_assign,
        tol.assignment_probability,
        pts.assignment_risk,
        f"probability of finishing in the money {_pct(p_assign)} vs "
        f"{_pct(tol.assignment_probability)} ({params.risk_tolerance.value})",
    )
    early = add(
        "early_assignment",
        short and analysis.early_assignment_risk,
        "yes" if analysis.early_assignment_risk else "no",
        None,
        pts.early_assignment,
        analysis.early_assignment_note,
    )
    theta_ok = analysis.theta_per_day >= 0 or not short
    any_risk = near or loss or delta_hit or assign or early
    add(
        "healthy",
        not any_risk and theta_ok,
        analysis.theta_per_day,
        None,
        pts.healthy,
        "no risk factor fired"
        + (f"; theta earns {analysis.theta_per_day:,.2f} USD/day" if short else ""),
    )
    warranted = any_risk
    defensive = loss or delta_hit or assign or early
    # A defensive decision rolls only into risk-reducing credit rolls when one exists.
    best = rolls.best_risk_reducing if defensive and rolls.best_risk_reducing else rolls.chosen
    add(
        "credit_roll",
        warranted and rolls.credit_available,
        "yes" if rolls.credit_available else "no",
        None,
        pts.credit_roll,
        "a roll that nets a credit at the mid exists"
        if rolls.credit_available
        else "no credit roll",
    )
    add(
        "no_credit_roll",
        warranted and not rolls.credit_available,
        "yes" if not rolls.credit_available else "no",
        None,
        pts.no_credit_roll,
        "risk calls for action but no roll nets a credit: rolling would pay to extend the risk",
    )
    add(
        "no_roll",
        best is None,
        float(rolls.passed),
        None,
        pts.no_roll,
        f"{rolls.evaluated} candidates evaluated, {rolls.passed} passed the filters",
    )
    rr = best.risk_reduction if best is not None else None
    add(
        "roll_risk_reduction",
        warranted and rr is not None and rr >= config.min_risk_reduction,
        rr,
        config.min_risk_reduction,
        pts.roll_risk_reduction,
        f"best roll cuts the probability-weighted loss by {_pct(rr)} "
        f"(needs {_pct(config.min_risk_reduction)})",
    )
    add(
        "roll_adds_risk",
        defensive and rr is not None and rr < 0,
        rr,
        0.0,
        pts.roll_adds_risk,
        f"a defensive roll should cut risk, but the best roll raises the probability-weighted "
        f"loss by {_pct(None if rr is None else -rr)}",
    )
    add(
        "poor_liquidity",
        not analysis.quote.liquid,
        "; ".join(analysis.quote.liquidity_notes) or "ok",
        None,
        pts.poor_liquidity,
        "current option: " + ("; ".join(analysis.quote.liquidity_notes) or "liquid"),
    )
    ranked = sorted(_ORDER, key=lambda a: (-scores[a.value], _ORDER.index(a)))
    action = ranked[0]
    lead = scores[action.value] - scores[ranked[1].value]
    confidence = min(0.99, max(0.5, 0.5 + 0.5 * lead / config.confidence_scale))
    critical = analysis.dte_days <= config.expiry_critical_days
    if assign or early or ((loss or delta_hit) and critical) or (loss and delta_hit):
        risk: RiskLevel = "high"
    elif any_risk:
        risk = "medium"
    else:
        risk = "low"
    timing: Timing
    if action is Action.HOLD or (not analysis.quote.liquid and risk != "high"):
        timing = "wait_for_setup"
    elif analysis.market.is_open:
        timing = "immediate"
    else:
        timing = "next_open"
    roll = best if action is Action.ROLL else None
    reasoning = _reasoning(action, analysis, factors, roll, profit, ccy, timing)
    return Decision(
        action=action,
        confidence=round(confidence, 4),
        risk_level=risk,
        timing=timing,
        scores=scores,
        factors=factors,
        reasoning=reasoning,
        risk_tolerance=params.risk_tolerance,
        thresholds=tol,
        roll=roll,
        notes=list(rolls.notes),
    )


def _reasoning(
    action: Action,
    a: PositionAnalysis,
    factors: list[Factor],
    roll: RollCandidate | None,
    profit: bool,
    ccy: str,
    timing: str,
) -> list[str]:
    lines: list[str] = []
    fired = [f for f in factors if f.triggered and f.name != "base"]
    if action is Action.HOLD:
        lines.append(
            f"HOLD {a.symbol}: {a.dte_days} days left, P&L {_money(a.unrealized_pnl, ccy)} "
            f"({_pct(a.pnl_pct)} of the entry premium), assignment probability "
            f"{_pct(a.assignment_probability)}."
        )
    elif action is Action.CLOSE:
        verb = "Buy to close" if a.position_type.is_short else "Sell to close"
        why = "take the profit" if profit else "cut the risk"
        lines.append(
            f"CLOSE {a.symbol} to {why}: {verb} at about {a.mark} (natural {a.close_price}); "
            f"realises {_money(a.pnl_at_close, ccy)} at the natural price."
        )
    elif roll is not None:
        kind = "credit" if roll.net_credit_mid >= 0 else "debit"
        lines.append(
            f"ROLL ({roll.roll_type.value}) {roll.label}: net {kind} "
            f"{_money(abs(roll.net_credit_mid), ccy)} at mid "
            f"({_money(roll.net_credit_natural, ccy)} at natural); assignment probability "
            f"{_pct(a.assignment_probability)} -> {_pct(roll.assignment_probability)}; "
            f"probability-weighted loss {_fmt(roll.expected_loss.before)} -> "
            f"{_fmt(roll.expected_loss.after)} USD ({_pct(roll.risk_reduction)} lower); "
            f"new breakeven {roll.new_breakeven:.2f}."
        )
    for f in fired:
        lines.append(f"{f.name.replace('_', ' ')}: {f.explanation}.")
    lines.append(
        f"Timing: {timing.replace('_', ' ')} ({a.market.session.value}, {a.market.reason})."
    )
    return lines


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


__all__ = ["Decision", "Factor", "RiskLevel", "Timing", "decide"]
