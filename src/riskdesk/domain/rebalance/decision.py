"""HOLD / CLOSE / ROLL by transparent factor scoring.

Each factor checks one condition against a threshold (scaled by the risk tolerance where the
issue asks for it) and, when it fires, adds its points to each action (``DecisionPoints``;
table in docs/options.md). The action with the most points wins (ties: HOLD, then CLOSE, then
ROLL — doing less wins a tie). Every factor is listed in the decision, fired or not, with its
value, threshold, points and a plain sentence, so the result can be checked by hand.

The roll a decision considers: when a defensive factor fired (loss, delta, assignment risk,
early assignment), only a roll that reduces the risk that fired (``defense``) — the best one,
a credit one if any; when none does, ``no_roll`` and ``no_risk_reducing_roll`` fire with the
reason, and CLOSE or HOLD wins on points. Otherwise (only the expiry is near) the best-scored
credit roll, else the best-scored roll.

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
from riskdesk.domain.rebalance.defense import defense_failures, defensive_triggers
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
    if ccy in ("USD", "USDC", "USDT"):
        return f"{x:,.2f} {ccy}"
    return f"{x} {ccy}"


def theta_text(analysis: PositionAnalysis) -> str:
    """The position's theta per day in its premium currency (and USD for coin options)."""
    ccy = analysis.premium_currency
    if ccy in ("USD", "USDC", "USDT"):
        return f"{analysis.theta_per_day:,.2f} {ccy}/day"
    return f"{analysis.theta_per_day_premium:.6f} {ccy}/day ({analysis.theta_per_day:,.2f} USD/day)"


def _change(rr: float | None, what: str) -> str:
    """'cuts X by 12.0 %' / 'raises X by 1.3 %' for a relative reduction ``rr``."""
    if rr is None:
        return f"does not change a comparable {what}"
    verb = "cuts" if rr >= 0 else "raises"
    return f"{verb} the {what} by {abs(rr):.1%}"


def _defensive_pick(
    rolls: RollEvaluation,
    triggers: frozenset[str],
    tol: ToleranceThresholds,
    config: EngineConfig,
) -> tuple[RollCandidate | None, bool, str | None]:
    """The roll a defensive decision may use, whether a qualifying credit roll exists, and why
    none qualifies. Uses the search's own check when it checked the same triggers; otherwise
    re-checks the reported candidates."""
    if rolls.defensive_triggers == tuple(sorted(triggers)):
        return rolls.best_defensive, rolls.qualifying_credit, rolls.defense_note
    fits = [
        c
        for c in rolls.candidates
        if not defense_failures(
            triggers,
            assignment=c.assignment,
            delta_dollars=c.delta_dollars,
            expected_loss=c.expected_loss,
            new_abs_delta=abs(c.new_delta),
            tol=tol,
            min_risk_reduction=config.min_risk_reduction,
        )
    ]
    credit = [c for c in fits if c.is_credit]
    pool = credit or fits
    best = pool[0] if pool else None
    note = None
    if best is None and rolls.candidates:
        note = (
            f"none of the {len(rolls.candidates)} reported candidates reduces the risk that "
            f"fired ({', '.join(sorted(triggers))})"
        )
    return best, bool(credit), note


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
    triggers = defensive_triggers(analysis, params, tol)

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
        "defensive_loss" in triggers,
        analysis.pnl_pct,
        -params.defensive_roll_trigger,
        pts.defensive_loss,
        f"loss trigger at {_pct(-params.defensive_roll_trigger)} of the entry premium; "
        f"P&L is {_pct(analysis.pnl_pct)}",
    )
    abs_delta = abs(analysis.greeks.delta)
    delta_hit = add(
        "defensive_delta",
        "defensive_delta" in triggers,
        abs_delta,
        tol.defensive_delta,
        pts.defensive_delta,
        f"|delta| {abs_delta:.2f} per unit vs {tol.defensive_delta:.2f} "
        f"({params.risk_tolerance.value}); applies to short options",
    )
    p_assign = analysis.assignment_probability
    assign = add(
        "assignment_risk",
        "assignment_risk" in triggers,
        p_assign,
        tol.assignment_probability,
        pts.assignment_risk,
        f"probability of finishing in the money {_pct(p_assign)} vs "
        f"{_pct(tol.assignment_probability)} ({params.risk_tolerance.value})",
    )
    early = add(
        "early_assignment",
        "early_assignment" in triggers,
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
        "no risk factor fired" + (f"; theta earns {theta_text(analysis)}" if short else ""),
    )
    warranted = any_risk
    defensive = bool(triggers)
    defense_note: str | None = None
    if defensive:
        best, credit_exists, defense_note = _defensive_pick(rolls, triggers, tol, config)
        kind = "risk-reducing roll"
    else:
        best, credit_exists, kind = rolls.chosen, rolls.credit_available, "roll"
    add(
        "credit_roll",
        warranted and best is not None and credit_exists,
        "yes" if credit_exists else "no",
        None,
        pts.credit_roll,
        f"a {kind} that nets a credit at the mid exists"
        if credit_exists
        else f"no {kind} nets a credit",
    )
    add(
        "no_credit_roll",
        warranted and best is not None and not credit_exists,
        "yes" if best is not None and not credit_exists else "no",
        None,
        pts.no_credit_roll,
        f"risk calls for action but no {kind} nets a credit: rolling would pay to extend the risk",
    )
    no_fit = defensive and best is None and rolls.passed > 0
    add(
        "no_roll",
        best is None,
        float(rolls.passed),
        None,
        pts.no_roll,
        f"{rolls.evaluated} candidates evaluated, {rolls.passed} passed the filters"
        + (", none reduces the risk that fired" if no_fit else ""),
    )
    rr = best.risk_reduction if best is not None else None
    add(
        "roll_risk_reduction",
        warranted and rr is not None and rr >= config.min_risk_reduction,
        rr,
        config.min_risk_reduction,
        pts.roll_risk_reduction,
        f"the {kind} {_change(rr, 'probability-weighted loss')} "
        f"(earns points from {_pct(config.min_risk_reduction)})",
    )
    add(
        "no_risk_reducing_roll",
        no_fit,
        ", ".join(sorted(triggers)) or None,
        config.min_risk_reduction,
        pts.no_risk_reducing_roll,
        defense_note
        or "a defensive roll must reduce the risk that fired by the minimum risk reduction",
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
    reasoning = _reasoning(action, analysis, factors, roll, profit, ccy, timing, triggers)
    notes = list(rolls.notes)
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
        notes=notes,
    )


def _reasoning(
    action: Action,
    a: PositionAnalysis,
    factors: list[Factor],
    roll: RollCandidate | None,
    profit: bool,
    ccy: str,
    timing: str,
    triggers: frozenset[str],
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
        be = "n/a" if roll.new_breakeven is None else f"{roll.new_breakeven:,.2f}"
        lines.append(
            f"ROLL ({roll.roll_type.value}) {roll.label}: net {kind} "
            f"{_money(abs(roll.net_credit_mid), ccy)} at mid "
            f"({_money(roll.net_credit_natural, ccy)} at natural); assignment probability "
            f"{_pct(a.assignment_probability)} -> {_pct(roll.assignment_probability)}; "
            f"delta dollars {_fmt(roll.delta_dollars.before)} -> "
            f"{_fmt(roll.delta_dollars.after)} USD; probability-weighted loss "
            f"{_fmt(roll.expected_loss.before)} -> {_fmt(roll.expected_loss.after)} USD "
            f"({_change(roll.risk_reduction, 'loss')}); combined position breakeven {be}, "
            f"probability of profit {_pct(roll.prob_profit)}."
        )
        if triggers:
            lines.append(
                "The roll reduces the risk that fired ("
                + ", ".join(t.replace("_", " ") for t in sorted(triggers))
                + ")."
            )
    for f in fired:
        lines.append(f"{f.name.replace('_', ' ')}: {f.explanation}.")
    lines.append(
        f"Timing: {timing.replace('_', ' ')} ({a.market.session.value}, {a.market.reason})."
    )
    return lines


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


__all__ = ["Decision", "Factor", "RiskLevel", "Timing", "decide", "theta_text"]
