"""The whole use case in one pure function: analyse → enumerate rolls → decide → plan.

``rebalance(position, index, params, config)`` needs nothing but its inputs: the chain index
carries the snapshot and its time (the valuation time of every output).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from riskdesk.domain.rebalance.analysis import PositionAnalysis, analyse_position
from riskdesk.domain.rebalance.chain import ChainIndex
from riskdesk.domain.rebalance.decision import Decision, decide
from riskdesk.domain.rebalance.defense import defensive_triggers
from riskdesk.domain.rebalance.execution import ExecutionPlan, build_plan
from riskdesk.domain.rebalance.model import (
    EngineConfig,
    OptionPosition,
    RebalanceParams,
    check_params,
)
from riskdesk.domain.rebalance.rolls import RollEvaluation, evaluate_rolls


@dataclass(frozen=True, slots=True)
class RebalanceReport:
    """Analysis, roll search, decision and execution plan of one position at ``as_of``."""

    as_of: datetime
    valuation_note: str
    source: str
    params: RebalanceParams
    analysis: PositionAnalysis
    rolls: RollEvaluation
    decision: Decision
    plan: ExecutionPlan


def analyse(
    position: OptionPosition, index: ChainIndex, config: EngineConfig
) -> tuple[PositionAnalysis, int]:
    """Analyse ``position`` on the chain (see :func:`analysis.analyse_position`)."""
    liq = config.liquidity
    return analyse_position(
        position,
        index,
        capital_basis=config.capital_basis,
        margin_rates=config.margin_rates,
        min_open_interest=liq.min_open_interest,
        min_volume=liq.min_volume,
        max_spread_pct=liq.max_spread_pct,
    )


def search_rolls(
    position: OptionPosition, index: ChainIndex, params: RebalanceParams, config: EngineConfig
) -> tuple[PositionAnalysis, RollEvaluation]:
    """Analysis and roll evaluation; the roll search checks every candidate against the
    defensive triggers that fire on the position (``defense``)."""
    check_params(position, params)
    analysis, i0 = analyse(position, index, config)
    triggers = defensive_triggers(analysis, params, config.thresholds(params.risk_tolerance))
    return analysis, evaluate_rolls(position, analysis, i0, index, params, config, triggers)


def rebalance(
    position: OptionPosition,
    index: ChainIndex,
    params: RebalanceParams,
    config: EngineConfig,
    *,
    snapshot_data: bool = True,
) -> RebalanceReport:
    """Analyse, search rolls, decide and plan. ``snapshot_data`` adds the re-quote warning."""
    analysis, rolls = search_rolls(position, index, params, config)
    decision = decide(analysis, rolls, params, config)
    plan = build_plan(analysis, index, decision, params, config.ladder, snapshot_data=snapshot_data)
    return RebalanceReport(
        as_of=index.as_of,
        valuation_note=analysis.valuation_note,
        source=index.snapshot.source,
        params=params,
        analysis=analysis,
        rolls=rolls,
        decision=decision,
        plan=plan,
    )


__all__ = ["RebalanceReport", "analyse", "rebalance", "search_rolls"]
