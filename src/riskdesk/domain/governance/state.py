"""A position's governance state and its lifecycle (seed 003 state machine).

The state is the rules' memory between ticks — the working stop, ladder progress, add-on count,
lifecycle — and nothing that can be recomputed from the market (extremes since entry, ROE and
ATR come with each snapshot). It is keyed by the intent id of the entry (``adopt:<position id>``
for positions governance discovers in the book) and stored with the profile attached to it.

Lifecycle::

    PENDING_ENTRY ──> ACTIVE ──> PENDING_CLOSING ──> CLOSED
          │             │              │  └──> ACTIVE (the close was refused)
          └──> FAILED   └──> CLOSED    └──> FAILED

Any other transition raises :class:`~riskdesk.domain.errors.StateError`; CLOSED and FAILED are
terminal (nothing happens to them any more).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, cast

from riskdesk.domain.errors import InvalidValue, StateError
from riskdesk.domain.governance.profile import GovernanceProfile, InvalidationCondition
from riskdesk.domain.values import ZERO


class Lifecycle(StrEnum):
    """Where a governed position is in its life."""

    PENDING_ENTRY = "pending_entry"
    ACTIVE = "active"
    PENDING_CLOSING = "pending_closing"
    CLOSED = "closed"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        """CLOSED or FAILED: rules no longer act."""
        return self in (Lifecycle.CLOSED, Lifecycle.FAILED)


_ALLOWED: Final[dict[Lifecycle, frozenset[Lifecycle]]] = {
    Lifecycle.PENDING_ENTRY: frozenset({Lifecycle.ACTIVE, Lifecycle.FAILED}),
    Lifecycle.ACTIVE: frozenset({Lifecycle.PENDING_CLOSING, Lifecycle.CLOSED}),
    Lifecycle.PENDING_CLOSING: frozenset({Lifecycle.CLOSED, Lifecycle.ACTIVE, Lifecycle.FAILED}),
    Lifecycle.CLOSED: frozenset(),
    Lifecycle.FAILED: frozenset(),
}


def check_transition(current: Lifecycle, target: Lifecycle, intent_id: str) -> None:
    """Raise :class:`StateError` unless ``current → target`` is a legal move."""
    if target not in _ALLOWED[current]:
        allowed = ", ".join(sorted(t.value for t in _ALLOWED[current])) or "none (terminal)"
        raise StateError(
            f"{intent_id}: cannot go from {current.value} to {target.value} (allowed: {allowed})",
            field="lifecycle",
        )


@dataclass(frozen=True, slots=True)
class GovernanceState:
    """Governance memory of one position. Quantities are absolute contracts; prices are in the
    instrument's price currency; ``direction`` is +1 (long) / −1 (short) once ACTIVE.

    ``seen_qty`` is the size observed at the last tick, ``expected_qty`` the size governance
    expects once its outstanding market orders fill (``pending_intents``, planned or last seen
    filling at ``pending_since``; ``retries`` counts how often they were planned again),
    ``stop_qty`` what the working stop covers — always the size held, never what a pending
    order will leave. ``registered_at`` is when governance started waiting for the entry.
    ``ladder_base`` is the size take-profit fractions refer to (the size at activation plus
    every observed increase). ``risk_per_unit`` is R: the distance from entry to the initial
    protective stop. ``stop_override`` / ``activation_price`` / ``invalidation`` are per-position
    settings given by the trader."""

    intent_id: str
    account_id: str
    instrument_key: str
    slot: str
    profile: GovernanceProfile
    lifecycle: Lifecycle = Lifecycle.PENDING_ENTRY
    position_id: str | None = None
    opened_at: datetime | None = None
    direction: int = 0
    stop_price: Decimal | None = None
    stop_qty: Decimal = ZERO
    stop_rule: str = ""
    stop_intent_id: str | None = None
    initial_stop: Decimal | None = None
    risk_per_unit: Decimal | None = None
    lock_tier: int = 0
    tp_r_done: int = 0
    tp_roe_done: int = 0
    ladder_base: Decimal = ZERO
    initial_qty: Decimal = ZERO
    add_count: int = 0
    last_add_at: datetime | None = None
    seen_qty: Decimal = ZERO
    expected_qty: Decimal = ZERO
    stagnated: bool = False
    alerts: frozenset[str] = frozenset()
    consumed_signals: tuple[str, ...] = ()
    stop_override: Decimal | None = None
    activation_price: Decimal | None = None
    invalidation: tuple[InvalidationCondition, ...] = ()
    exit_reason: str = ""
    updated_at: datetime | None = None
    pending_since: datetime | None = None
    pending_intents: tuple[str, ...] = ()
    retries: int = 0
    registered_at: datetime | None = None

    def evolve(self, **changes: object) -> GovernanceState:
        """A copy with ``changes`` (unknown names raise ``TypeError``).

        A generated copier fills a layout-compatible mutable twin and then takes the frozen
        class (``values.fast_init`` explains the trick): a tick evolves one state per acting
        position, and ``replace`` costs several times as much."""
        for name in changes:
            if name not in _SLOTS:
                raise TypeError(f"GovernanceState has no field {name!r}")
        new = _CLONE(self)
        for name, value in changes.items():
            setattr(new, name, value)
        new.__class__ = GovernanceState
        return cast(GovernanceState, new)

    def transition(self, target: Lifecycle, reason: str, now: datetime) -> GovernanceState:
        """Move the lifecycle (``StateError`` if illegal); ``reason`` is kept for CLOSED/FAILED."""
        check_transition(self.lifecycle, target, self.intent_id)
        changes: dict[str, object] = {"lifecycle": target, "updated_at": now}
        if target in (Lifecycle.CLOSED, Lifecycle.FAILED, Lifecycle.PENDING_CLOSING):
            changes["exit_reason"] = reason
        elif target is Lifecycle.ACTIVE:
            changes["exit_reason"] = ""
        return self.evolve(**changes)

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form (decimals as exact strings, times as ISO 8601)."""
        out: dict[str, object] = {}
        for name in _FIELDS:
            value = getattr(self, name)
            if name == "profile":
                out[name] = self.profile.to_dict()
            elif name == "invalidation":
                out[name] = [c.to_dict() for c in self.invalidation]
            elif name == "alerts":
                out[name] = sorted(self.alerts)
            elif name in ("consumed_signals", "pending_intents"):
                out[name] = list(value)
            elif isinstance(value, Decimal):
                out[name] = str(value)
            elif isinstance(value, datetime):
                out[name] = value.isoformat()
            elif isinstance(value, Lifecycle):
                out[name] = value.value
            else:
                out[name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> GovernanceState:
        """Inverse of :meth:`to_dict`."""
        values: dict[str, object] = {}
        for name in _FIELDS:
            if name not in data:
                continue
            raw = data[name]
            if name == "profile":
                values[name] = GovernanceProfile.from_dict(raw)  # type: ignore[arg-type]
            elif name == "invalidation":
                values[name] = tuple(InvalidationCondition.parse(c) for c in raw)  # type: ignore[attr-defined]
            elif name == "alerts":
                values[name] = frozenset(str(a) for a in raw)  # type: ignore[attr-defined]
            elif name in ("consumed_signals", "pending_intents"):
                values[name] = tuple(str(s) for s in raw)  # type: ignore[attr-defined]
            elif name == "lifecycle":
                values[name] = Lifecycle(str(raw))
            elif name in _DECIMALS:
                values[name] = None if raw is None else Decimal(str(raw))
            elif name in _TIMES:
                values[name] = None if raw is None else datetime.fromisoformat(str(raw))
            else:
                values[name] = raw
        return cls(**values)  # type: ignore[arg-type]


_FIELDS: Final = tuple(f.name for f in fields(GovernanceState))
_SLOTS: Final[dict[str, Any]] = {name: GovernanceState.__dict__[name] for name in _FIELDS}
_TWIN: Final = type(
    "_GovernanceStateBuilder",
    GovernanceState.__bases__,
    {
        "__slots__": GovernanceState.__dict__["__slots__"],
        "__setattr__": object.__setattr__,
        "__delattr__": object.__delattr__,
        "__module__": __name__,
    },
)


def _make_clone() -> Any:
    lines = ["def clone(src):", "    new = _new(_twin)"]
    lines += [f"    new.{name} = src.{name}" for name in _FIELDS]
    lines.append("    return new")
    names: dict[str, Any] = {"_new": object.__new__, "_twin": _TWIN}
    exec(compile("\n".join(lines), "<GovernanceState clone>", "exec"), names)  # noqa: S102 - field names only
    return names["clone"]


#: ``clone(state)``: a mutable twin holding the state's fields (evolve sets the frozen class).
_CLONE: Final = _make_clone()
_DECIMALS: Final = frozenset(
    {
        "stop_price",
        "stop_qty",
        "initial_stop",
        "risk_per_unit",
        "ladder_base",
        "initial_qty",
        "seen_qty",
        "expected_qty",
        "stop_override",
        "activation_price",
    }
)
_TIMES: Final = frozenset(
    {"opened_at", "last_add_at", "updated_at", "pending_since", "registered_at"}
)


def new_state(
    intent_id: str,
    account_id: str,
    instrument_key: str,
    slot: str,
    profile: GovernanceProfile,
    *,
    stop_override: Decimal | None = None,
    activation_price: Decimal | None = None,
    invalidation: tuple[InvalidationCondition, ...] = (),
    now: datetime | None = None,
) -> GovernanceState:
    """A PENDING_ENTRY state for an entry intent (or an adopted position)."""
    if not intent_id:
        raise InvalidValue("must not be empty", field="intent_id")
    for name, value in (("stop", stop_override), ("activation_price", activation_price)):
        if value is not None and (not value.is_finite() or value <= 0):
            raise InvalidValue(f"must be a positive price, got {value}", field=name)
    return GovernanceState(
        intent_id=intent_id,
        account_id=account_id,
        instrument_key=instrument_key,
        slot=slot,
        profile=profile,
        stop_override=stop_override,
        activation_price=activation_price,
        invalidation=invalidation,
        updated_at=now,
        registered_at=now,
    )


__all__ = ["GovernanceState", "Lifecycle", "check_transition", "new_state"]
