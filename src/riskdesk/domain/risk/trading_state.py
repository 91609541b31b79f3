"""The graded kill switch: ACTIVE → REDUCING → HALTED → FLATTEN.

* ACTIVE — every order goes through the normal checks.
* REDUCING — only orders that reduce a position (reduce-only) are accepted.
* HALTED — no new orders; working entry orders are cancelled. **One exemption**: the
  protective-order supervisor's reducing orders (sources in :data:`PROTECTIVE_SOURCES`: placing
  or re-arming a position's stop, a guard stop firing, closing a position whose stop level is
  already crossed) still pass — a position must never be left without its stop.
* FLATTEN — every position is closed with reduce-only orders (source :data:`KILL_SWITCH_SOURCE`),
  largest risk contribution first; the protective stops stay in place until the closes fill. Only
  those closing orders and the supervisor's protective orders are accepted.

Triggers only ever escalate. Leaving a state takes an explicit manual reset with a reason; the
status (and its history) is persisted by the application so a restart keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from riskdesk.domain.errors import InvalidValue, StateError

#: Sources of the protective-order supervisor's orders (``domain.protection``): its stops, the
#: guard stop's market order and the close of a position whose stop is already crossed.
PROTECTIVE_SOURCES = frozenset({"protection", "guard_stop"})
#: Source of the closing orders the kill switch sends in FLATTEN.
KILL_SWITCH_SOURCE = "kill_switch"


class TradingState(IntEnum):
    """Ordered by severity."""

    ACTIVE = 0
    REDUCING = 1
    HALTED = 2
    FLATTEN = 3

    @property
    def label(self) -> str:
        """Lower-case name."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str, field: str = "state") -> TradingState:
        """``active``/``reducing``/``halted``/``flatten`` in any case."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise InvalidValue(
                f"expected active, reducing, halted or flatten, got {text!r}", field=field
            ) from None

    def allows(self, reducing: bool, source: str = "") -> bool:
        """Whether an order may be sent in this state: anything when ACTIVE; reducing orders
        when REDUCING; in HALTED only the supervisor's protective orders, in FLATTEN those and
        the kill switch's closing orders (both must reduce a position)."""
        if self is TradingState.ACTIVE:
            return True
        if not reducing:
            return False
        if self is TradingState.REDUCING:
            return True
        if source in PROTECTIVE_SOURCES:
            return True
        return self is TradingState.FLATTEN and source == KILL_SWITCH_SOURCE

    @property
    def accepts(self) -> str:
        """What this state accepts, in words."""
        return _ACCEPTS[self]


_ACCEPTS = {
    TradingState.ACTIVE: "every order that passes the checks",
    TradingState.REDUCING: "only orders that reduce a position",
    TradingState.HALTED: "no new orders, except the protective-order supervisor's stops",
    TradingState.FLATTEN: (
        "only the kill switch's closing orders and the protective-order supervisor's stops"
    ),
}


@dataclass(frozen=True, slots=True)
class TradingStatus:
    """The current state, since when (None: never changed), why, and who set it."""

    state: TradingState
    since: datetime | None
    trigger: str
    reason: str
    by: str = "system"


@dataclass(frozen=True, slots=True)
class StateChange:
    """A transition, for the journal and the history table."""

    old: TradingState
    new: TradingState
    ts: datetime
    trigger: str
    reason: str
    by: str


def escalate(
    status: TradingStatus,
    target: TradingState,
    trigger: str,
    reason: str,
    now: datetime,
    by: str = "system",
) -> tuple[TradingStatus, StateChange | None]:
    """Move to ``target`` if it is more severe than the current state; otherwise nothing changes
    (a trigger never relaxes the state)."""
    if target <= status.state:
        return status, None
    change = StateChange(status.state, target, now, trigger, reason, by)
    return TradingStatus(target, now, trigger, reason, by), change


def reset(
    status: TradingStatus, target: TradingState, reason: str, by: str, now: datetime
) -> tuple[TradingStatus, StateChange]:
    """Manual reset to a less severe state (usually ACTIVE). A reason is required."""
    if not reason or not reason.strip():
        raise InvalidValue("a reset needs a reason", field="reason")
    if not by or not by.strip():
        raise InvalidValue("a reset needs the name of who resets", field="by")
    if target >= status.state:
        raise StateError(
            f"reset must lower the state: {status.state.label} -> {target.label} is not lower",
            field="state",
        )
    change = StateChange(status.state, target, now, "manual_reset", reason.strip(), by.strip())
    return TradingStatus(target, now, "manual_reset", reason.strip(), by.strip()), change
