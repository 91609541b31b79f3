"""Defensive triggers and what a defensive roll must achieve.

A defensive factor fires on the position (``defensive_triggers``): the loss trigger, the delta
trigger, assignment risk or a rational early assignment. A roll made *because of* one of them
must reduce the risk that fired it, each by at least ``min_risk_reduction`` (relative):

* delta trigger → the delta dollars, and the new leg's |delta| must be inside the trigger;
* loss trigger → the probability-weighted loss;
* assignment risk / early assignment → the probability of assignment, and the new leg's
  probability must be below the tolerance's assignment threshold;

and, whatever fired, it must not raise the probability-weighted loss by the common-horizon
measure (``rolls``): its reduction must be at least ``min_risk_reduction`` where it is defined
(it is not when the current option has under an hour left). :func:`defense_failures` lists the
requirements a candidate misses, in plain words; an empty list means it qualifies.
"""

from __future__ import annotations

from typing import Final, Protocol

from riskdesk.domain.rebalance.analysis import PositionAnalysis
from riskdesk.domain.rebalance.model import RebalanceParams, ToleranceThresholds

LOSS: Final = "defensive_loss"
DELTA: Final = "defensive_delta"
ASSIGNMENT: Final = "assignment_risk"
EARLY: Final = "early_assignment"
TRIGGERS: Final = (LOSS, DELTA, ASSIGNMENT, EARLY)


class Comparison(Protocol):
    """A risk measure before and after a roll (``rolls.RiskComparison``)."""

    @property
    def before(self) -> float | None: ...

    @property
    def after(self) -> float | None: ...

    @property
    def reduction(self) -> float | None: ...


def defensive_triggers(
    analysis: PositionAnalysis, params: RebalanceParams, tol: ToleranceThresholds
) -> frozenset[str]:
    """The defensive factors that fire on ``analysis`` (thresholds of ``decision``)."""
    short = analysis.position_type.is_short
    fired: set[str] = set()
    if analysis.pnl_pct <= -params.defensive_roll_trigger:
        fired.add(LOSS)
    if short and abs(analysis.greeks.delta) >= tol.defensive_delta:
        fired.add(DELTA)
    p = analysis.assignment_probability
    if short and p is not None and p >= tol.assignment_probability:
        fired.add(ASSIGNMENT)
    if short and analysis.early_assignment_risk:
        fired.add(EARLY)
    return frozenset(fired)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _cut(name: str, c: Comparison, need: float, money: bool) -> str | None:
    """None when ``c`` is reduced by at least ``need``, else why not."""
    if c.reduction is not None and c.reduction >= need:
        return None
    if c.before is None or c.after is None or c.reduction is None:
        return f"{name} cannot be compared (not defined for this position)"

    def show(x: float) -> str:
        return f"{x:,.0f}" if money else f"{x:.1%}"

    change = -c.reduction
    return (
        f"{name} {show(c.before)} -> {show(c.after)} ({change:+.1%}; must fall by at least "
        f"{need:.1%})"
    )


def defense_failures(
    triggers: frozenset[str],
    *,
    assignment: Comparison,
    delta_dollars: Comparison,
    expected_loss: Comparison,
    new_abs_delta: float,
    tol: ToleranceThresholds,
    min_risk_reduction: float,
) -> list[str]:
    """Requirements (module doc) a roll misses against the fired ``triggers``; [] = fit."""
    if not triggers:
        return []
    need = min_risk_reduction
    out: list[str] = []
    if DELTA in triggers:
        why = _cut("delta dollars", delta_dollars, need, money=True)
        if why:
            out.append(why)
        if new_abs_delta >= tol.defensive_delta:
            out.append(
                f"the new leg's |delta| {new_abs_delta:.2f} is already past the "
                f"{tol.defensive_delta:.2f} trigger"
            )
    if ASSIGNMENT in triggers or EARLY in triggers:
        why = _cut("assignment probability", assignment, need, money=False)
        if why:
            out.append(why)
        if assignment.after is not None and assignment.after >= tol.assignment_probability:
            out.append(
                f"the new leg's assignment probability {_pct(assignment.after)} is at or above "
                f"the {_pct(tol.assignment_probability)} threshold"
            )
    if LOSS in triggers or expected_loss.reduction is not None:
        why = _cut("probability-weighted loss", expected_loss, need, money=True)
        if why:
            out.append(why)
    return out


__all__ = [
    "ASSIGNMENT",
    "DELTA",
    "EARLY",
    "LOSS",
    "TRIGGERS",
    "defense_failures",
    "defensive_triggers",
]
