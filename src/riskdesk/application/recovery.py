"""Recovery and reconciliation: make riskdesk agree with the venue, the venue being the truth.

Run on start (``riskdesk run`` does it before its first step) and on demand
(``riskdesk reconcile``):

1. **Fills.** Every venue fill after the last one seen is booked in the ledger and applied to
   its order (idempotent: a crash between fill and ledger update loses nothing, doubles
   nothing).
2. **Journal vs venue.** Every order the journal has not finished is looked up by client id:
   one the venue holds is moved to the venue's status; one journaled but never received is sent
   (same client id) when young enough, else marked failed; one the venue cannot be asked about
   stays as it is.
   A working order whose quantity or prices differ from the venue's (an amendment the journal
   missed) takes the venue's terms.
3. **Unknown orders.** Working orders at the venue the journal lacks are adopted into it.
4. **Positions.** Ledger and venue positions are compared after every fill; a difference fills
   cannot explain is reported.
5. **Protection.** Conditional orders and protections are reloaded, and the supervisor runs: a
   stop change a crash interrupted is finished by its journaled intent (the replacement the
   venue holds is kept and the stop it supersedes cancelled; one that never worked is placed
   again), a position without a working stop gets one, an orphaned stop is cancelled.
6. **Intended stops.** Where governance intends a stop level (``intended``) and the working stop
   is elsewhere — a crash cut a plan between governance's decision and the order — the stop is
   moved there.

Everything recovery adopts, cancels or moves is reported as drift and raises an alert
(``riskdesk risk alerts``). Then governance resumes with the engine's next step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from riskdesk.application.conditionals import ConditionalEngine
from riskdesk.application.oms import OrderManager
from riskdesk.application.supervisor import AlertSink, ProtectionReport, ProtectionSupervisor
from riskdesk.domain.errors import BrokerError, RiskdeskError
from riskdesk.domain.order_lifecycle import Order, OrderStatus
from riskdesk.domain.protection import Need, protection_key
from riskdesk.domain.reconcile import (
    Drift,
    DriftKind,
    VenueOrderView,
    order_drift,
    position_drift,
)
from riskdesk.domain.risk.monitors import Alert, AlertLevel
from riskdesk.ports.broker import VenueOrder
from riskdesk.ports.clock import Clock


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What recovery found and did."""

    as_of: datetime
    fills_booked: int
    drifts: list[Drift] = field(default_factory=list)
    protection: list[ProtectionReport] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    conditions: int = 0

    @property
    def clean(self) -> bool:
        """Nothing differed."""
        return not self.drifts

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form."""
        return {
            "as_of": self.as_of.isoformat(),
            "fills_booked": self.fills_booked,
            "drifts": [d.to_dict() for d in self.drifts],
            "protection": [p.to_dict() for p in self.protection],
            "resumed": list(self.resumed),
            "conditions_armed": self.conditions,
            "clean": self.clean,
        }


#: Governance's intended stop level per protection key (``account|venue:symbol|slot``).
IntendedStops = Callable[[], Mapping[str, Decimal]]


def _no_intended() -> Mapping[str, Decimal]:
    return {}


def _no_alerts(_: Alert) -> None:
    """Nowhere to send alerts (unit tests)."""


class Recovery:
    """Reconciles the journal, the ledger and the protections with the venue."""

    def __init__(
        self,
        oms: OrderManager,
        conditionals: ConditionalEngine,
        supervisor: ProtectionSupervisor,
        clock: Clock,
        alerts: AlertSink = _no_alerts,
        intended: IntendedStops = _no_intended,
    ) -> None:
        self._oms = oms
        self._cond = conditionals
        self._sup = supervisor
        self._clock = clock
        self._alerts = alerts
        self._intended = intended

    def run(self, now: datetime | None = None) -> RecoveryReport:
        """Reconcile (see the module docstring)."""
        now = now or self._clock.now()
        oms = self._oms
        oms.load()
        drifts: list[Drift] = []
        synced = oms.sync(now)
        for _, fill in synced.fills:
            drifts.append(
                Drift(
                    DriftKind.MISSING_FILL,
                    f"{fill.venue}:{fill.fill_id}",
                    "not applied",
                    f"{fill.side.value} {fill.qty} @ {fill.price}",
                    "booked in the ledger and applied to its order",
                )
            )
        resumed: list[str] = []
        for order in oms.live():
            try:
                view = oms.broker.query(order.client_order_id, order.intent.symbol)
            except BrokerError:
                continue
            drift, target = order_drift(
                order, None if view is None else VenueOrderView(view.status, view.filled_qty)
            )
            if order.status in (OrderStatus.CREATED, OrderStatus.PENDING_SUBMIT):
                after = oms.resume(order, now)
                resumed.append(
                    f"{order.intent.intent_id}: {order.status.value} → {after.status.value}"
                )
                if drift is not None:
                    drifts.append(
                        Drift(
                            drift.kind,
                            drift.key,
                            drift.ours,
                            drift.venue,
                            f"{drift.resolution}; now {after.status.value}",
                        )
                    )
                continue
            if drift is not None:
                drifts.append(drift)
            current = order
            if target is not None:
                current = oms.move(order, target, "reconciled with the venue", now)
            if view is not None and view.status.working and current.status.working:
                drifts.extend(self._terms(current, view, now))
        drifts.extend(self._unknown(now))
        drifts.extend(self._positions())
        conditions = self._cond.load()
        self._sup.load()
        before = {k for k, ok in self._sup.covered().items() if not ok}
        protection = self._sup.review(now)
        for report in protection:
            if report.drift is not None:
                drifts.append(
                    Drift(
                        report.drift,
                        report.key,
                        report.ours,
                        report.venue,
                        f"{report.action}: {report.detail}",
                    )
                )
            elif report.key in before and report.need in (Need.PLACE, Need.REARM, Need.RESIZE):
                drifts.append(
                    Drift(
                        DriftKind.MISSING_STOP,
                        report.key,
                        "no working stop covering the position",
                        "position open",
                        report.action,
                    )
                )
        moved, more = self._intended_stops(now)
        protection.extend(moved)
        drifts.extend(more)
        for drift in drifts:
            self._alert(drift, now)
        return RecoveryReport(now, synced.booked, drifts, protection, resumed, conditions)

    def _alert(self, drift: Drift, now: datetime) -> None:
        level = (
            AlertLevel.CRITICAL
            if drift.kind in (DriftKind.POSITION_QTY, DriftKind.MISSING_STOP)
            else AlertLevel.WARNING
        )
        self._alerts(
            Alert(
                f"recovery:{drift.key}",
                f"recovery_{drift.kind.value}",
                level,
                f"recovery: {drift.kind.value} {drift.key}: ours {drift.ours}; venue "
                f"{drift.venue} → {drift.resolution}",
                0.0,
                0.0,
                now,
            )
        )

    def _terms(self, order: Order, view: VenueOrder, now: datetime) -> list[Drift]:
        before = order.intent
        adopted = self._oms.adopt_terms(order, view, now)
        if adopted is None:
            return []
        after = adopted.intent
        return [
            Drift(
                DriftKind.ORDER_TERMS,
                order.client_order_id,
                f"qty {before.qty}, price {before.price}, stop {before.stop_price}",
                f"qty {after.qty}, price {after.price}, stop {after.stop_price}",
                "the venue's amendment adopted",
            )
        ]

    def _intended_stops(self, now: datetime) -> tuple[list[ProtectionReport], list[Drift]]:
        """Move working stops to the level governance intends (see the module docstring)."""
        reports: list[ProtectionReport] = []
        drifts: list[Drift] = []
        intended = self._intended()
        if not intended:
            return reports, drifts
        for p in self._sup.protections():
            level = intended.get(p.key)
            if level is None or p.pending is not None or level == p.level:
                continue
            try:
                after = self._sup.set_stop(
                    p.account_id,
                    p.instrument_key,
                    p.slot,
                    level,
                    reason="governance's intended stop (recovery)",
                    now=now,
                )
            except RiskdeskError as exc:
                drifts.append(
                    Drift(
                        DriftKind.STOP_LEVEL,
                        p.key,
                        f"governance intends {level}",
                        f"stop at {p.level}",
                        f"not moved: {exc}",
                    )
                )
                continue
            reports.append(
                ProtectionReport(
                    p.key, Need.NONE, "moved to the intended stop", f"{p.level} → {after.level}"
                )
            )
            drifts.append(
                Drift(
                    DriftKind.STOP_LEVEL,
                    p.key,
                    f"governance intends {level}",
                    f"stop at {p.level}",
                    f"stop moved to {after.level} ({after.mode.value})",
                )
            )
        return reports, drifts

    def _unknown(self, now: datetime) -> list[Drift]:
        try:
            listed: list[VenueOrder] = self._oms.broker.open_orders(None)
        except BrokerError:
            return []
        drifts = []
        for view in listed:
            if self._oms.get(view.client_order_id) is not None:
                continue
            adopted = self._oms.adopt_unknown(view, now)
            drifts.append(
                Drift(
                    DriftKind.UNKNOWN_ORDER,
                    view.client_order_id,
                    "not in the journal",
                    f"{view.status.value} {view.intent.side.value} {view.intent.qty} {view.intent.symbol}",
                    f"adopted as {adopted.role.value}",
                )
            )
        return drifts

    def _positions(self) -> list[Drift]:
        try:
            venue = self._oms.broker.positions(None)
        except BrokerError:
            return []
        ledger = {
            protection_key(p.account_id, p.instrument_key, p.slot): p.qty
            for p in self._oms.ledger.open_positions()
            if p.venue == self._oms.broker.venue
        }
        theirs = {protection_key(v.account_id, v.instrument_key, v.slot): v.qty for v in venue}
        return position_drift(ledger, theirs)


__all__ = ["IntendedStops", "Recovery", "RecoveryReport"]
