"""Option position rebalancer (pure): chain analytics, position analysis, roll search from the
real chain, HOLD/CLOSE/ROLL factor scoring and order tickets. No I/O, clock or logging: the
valuation time is the chain snapshot's own time. Method and units: docs/options.md."""

from riskdesk.domain.rebalance.analysis import ExpiredOption, PositionAnalysis
from riskdesk.domain.rebalance.chain import (
    ChainIndex,
    ChainSnapshot,
    ContractTerms,
    OptionQuote,
    RateInputs,
    UnderlyingQuote,
    VenueGreeks,
    analyse_chain,
)
from riskdesk.domain.rebalance.decision import Decision, Factor, decide
from riskdesk.domain.rebalance.engine import RebalanceReport, analyse, rebalance, search_rolls
from riskdesk.domain.rebalance.execution import ExecutionPlan, MonitoringPoint, OrderLeg
from riskdesk.domain.rebalance.model import (
    Action,
    EngineConfig,
    MarketDataError,
    OptionPosition,
    PositionType,
    RebalanceParams,
    RiskTolerance,
    RollType,
    make_params,
    make_position,
)
from riskdesk.domain.rebalance.rolls import RollCandidate, RollEvaluation

__all__ = [
    "Action",
    "ChainIndex",
    "ChainSnapshot",
    "ContractTerms",
    "Decision",
    "EngineConfig",
    "ExecutionPlan",
    "ExpiredOption",
    "Factor",
    "MarketDataError",
    "MonitoringPoint",
    "OptionPosition",
    "OptionQuote",
    "OrderLeg",
    "PositionAnalysis",
    "PositionType",
    "RateInputs",
    "RebalanceParams",
    "RebalanceReport",
    "RiskTolerance",
    "RollCandidate",
    "RollEvaluation",
    "RollType",
    "UnderlyingQuote",
    "VenueGreeks",
    "analyse",
    "analyse_chain",
    "decide",
    "make_params",
    "make_position",
    "rebalance",
    "search_rolls",
]
