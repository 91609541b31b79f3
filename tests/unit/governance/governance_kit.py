"""Builders for the governance tests: instruments, profiles with only the named rules on,
snapshots, and a helper that runs a sequence of ticks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from riskdesk.domain.governance import (
    Action,
    ActionKind,
    Evaluation,
    GovernanceProfile,
    GovernanceState,
    Snapshot,
    StopMethod,
    evaluate,
    new_state,
)
from riskdesk.domain.instruments import Instrument, perpetual_or_future, spot

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
PERP = perpetual_or_future(
    "BTC/USDT:USDT", "paper", tick_size="0.1", lot_size="0.001", taker_fee_rate="0.0004"
)
INVERSE = perpetual_or_future(
    "BTC/USD:BTC",
    "paper",
    tick_size="0.5",
    lot_size="1",
    contract_size="10",
    taker_fee_rate="0.0005",
)
SPOT = spot("BTC/USDT", "paper", tick_size="0.01", lot_size="0.0001")

#: Every rule off: tests switch on what they exercise.
BARE = GovernanceProfile(
    name="bare",
    stop_method=StopMethod.PERCENT,
    stop_percent=0.02,
    lock_tiers=(),
    chandelier_multiplier=None,
    trail_percent=None,
    min_stop_move=0.0,
    r_ladder=(),
    roe_ladder=(),
    add_on_cap=0,
    stagnation_seconds=None,
    guard_stop=True,
)


def profile(**changes: Any) -> GovernanceProfile:
    """``BARE`` with some rules on."""
    return replace(BARE, **changes)


def state(
    p: GovernanceProfile = BARE, instrument: Instrument = PERP, **changes: Any
) -> GovernanceState:
    """A PENDING_ENTRY state for position ``p1``."""
    s = new_state("intent-1", "acct", instrument.key, "net", p)
    return s.evolve(**changes) if changes else s


def snap(
    mark: str | Decimal,
    qty: str | Decimal = "2",
    entry: str | Decimal = "50000",
    *,
    leverage: str = "10",
    instrument: Instrument = PERP,
    margin: str | Decimal | None = None,
    **kw: Any,
) -> Snapshot:
    """A snapshot of ``p1``: isolated margin = entry notional / leverage unless given."""
    q = Decimal(qty)
    e = Decimal(entry)
    if margin is None:
        m = instrument.notional(q, e) / Decimal(leverage) if q else Decimal(0)
    else:
        m = Decimal(margin)
    return Snapshot(
        instrument=instrument,
        position_id="p1",
        qty=q,
        entry=e,
        margin=m,
        opened_at=kw.pop("opened_at", T0),
        mark=Decimal(mark),
        leverage=Decimal(leverage),
        **kw,
    )


def at(hours: float) -> datetime:
    """``T0`` plus some hours."""
    return T0 + timedelta(hours=hours)


def run(
    s: GovernanceState, snaps: Iterable[tuple[float, Snapshot]]
) -> tuple[GovernanceState, list[Evaluation]]:
    """Evaluate a sequence of ``(hours after T0, snapshot)``; returns the last state and every
    evaluation."""
    out = []
    for hours, snapshot in snaps:
        result = evaluate(s, snapshot, at(hours))
        out.append(result)
        s = result.state
    return s, out


def kinds(actions: Sequence[Action]) -> list[str]:
    """Action kinds as strings."""
    return [a.kind.value for a in actions]


def one(actions: Sequence[Action], kind: ActionKind) -> Action:
    """The only action of ``kind``."""
    found = [a for a in actions if a.kind is kind]
    assert len(found) == 1, actions
    return found[0]
