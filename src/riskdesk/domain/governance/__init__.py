"""Position governance: pure rules that manage an open position and explain every decision.

``evaluate(state, snapshot, now) -> Evaluation(state, actions, plan, events)`` runs the protective
stop at entry, trailing stops that never loosen (percent, ATR chandelier, seed 003's ROE
lock-profit ladder, activation + callback), take-profit ladders (R multiples, ROE), add-ons,
time stop, stagnation, invalidation conditions, signal exits and the guard stop, and returns a
:class:`ManagePlan` (seed 003 ``POST /positions/manage`` shape) whose order intents have
deterministic ids. :func:`manage_batch` does the same for many positions at once: a vectorised
revaluation and screen in NumPy, the rules' decisions in NumPy for the positions the screen
flags (``vector.decide``), plans built only for those that act, and the exact rules where a
decision lies near a boundary.
"""

from riskdesk.domain.governance.batch import (
    BatchResult,
    GovernanceBook,
    PositionColumns,
    manage_batch,
    revalue,
    signal_may_act,
)
from riskdesk.domain.governance.engine import Evaluation, evaluate, settle_denials
from riskdesk.domain.governance.plan import (
    Action,
    ActionKind,
    AddLeg,
    GovernanceEvent,
    ManagePlan,
    ReduceLeg,
    StoredPlan,
    governance_id,
)
from riskdesk.domain.governance.profile import (
    PRESETS,
    GovernanceProfile,
    InvalidationCondition,
    LockTier,
    StopMethod,
    TakeProfitTier,
    preset,
    timeframe_seconds,
)
from riskdesk.domain.governance.snapshot import CloseStats, Signal, SignalKind, Snapshot
from riskdesk.domain.governance.state import (
    GovernanceState,
    Lifecycle,
    check_transition,
    new_state,
)

__all__ = [
    "PRESETS",
    "Action",
    "ActionKind",
    "AddLeg",
    "BatchResult",
    "CloseStats",
    "Evaluation",
    "GovernanceBook",
    "GovernanceEvent",
    "GovernanceProfile",
    "GovernanceState",
    "InvalidationCondition",
    "Lifecycle",
    "LockTier",
    "ManagePlan",
    "PositionColumns",
    "ReduceLeg",
    "Signal",
    "SignalKind",
    "Snapshot",
    "StopMethod",
    "StoredPlan",
    "TakeProfitTier",
    "check_transition",
    "evaluate",
    "governance_id",
    "manage_batch",
    "new_state",
    "preset",
    "revalue",
    "settle_denials",
    "signal_may_act",
    "timeframe_seconds",
]
