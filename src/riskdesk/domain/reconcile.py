"""Drift between riskdesk's journal and ledger and what the venue says (pure comparisons).

On start (and on demand: ``riskdesk reconcile``) the application loads the journal, asks the
venue for open orders, positions and the fills since the last one seen, and classifies every
difference as a :class:`Drift`. The venue is the truth: the resolution always moves riskdesk
to the venue's state (adopt an unknown order, move an order to the venue's status, book a
missing fill, re-arm a missing stop), and a quantity that fills cannot explain is reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from riskdesk.domain.order_lifecycle import Order, OrderStatus


class DriftKind(StrEnum):
    """What differs."""

    UNKNOWN_ORDER = "unknown_order"  # working at the venue, not in the journal
    ORDER_STATUS = "order_status"  # the journal's status differs from the venue's
    NEVER_SENT = "never_sent"  # journaled as sent, but the venue never received it
    MISSING_FILL = "missing_fill"  # a venue fill the ledger had not booked
    POSITION_QTY = "position_qty"  # ledger and venue positions differ after every fill
    MISSING_STOP = "missing_stop"  # an open position without a working protective stop
    ORDER_TERMS = "order_terms"  # quantity or prices differ from the venue's (an amendment)
    STOP_REPLACEMENT = "stop_replacement"  # a stop change a crash interrupted, finished
    ORPHAN_STOP = "orphan_stop"  # a working protective stop nothing points at, cancelled
    STOP_LEVEL = "stop_level"  # the working stop is not where governance intends it


@dataclass(frozen=True, slots=True)
class Drift:
    """One difference: ``key`` names the order (client id), fill or position; ``ours`` and
    ``venue`` state both sides in words; ``resolution`` what was done (or must be done)."""

    kind: DriftKind
    key: str
    ours: str
    venue: str
    resolution: str

    def to_dict(self) -> dict[str, str]:
        """JSON-safe form."""
        return {
            "kind": self.kind.value,
            "key": self.key,
            "ours": self.ours,
            "venue": self.venue,
            "resolution": self.resolution,
        }


@dataclass(frozen=True, slots=True)
class VenueOrderView:
    """The venue's state of one order (None when the venue never received it)."""

    status: OrderStatus
    filled_qty: Decimal


def order_drift(
    order: Order, venue: VenueOrderView | None
) -> tuple[Drift | None, OrderStatus | None]:
    """Compare a journaled, not yet terminal order with the venue's view.

    Returns the drift (None when they agree) and the status to move the journal to (None: no
    status change; fills are booked separately). A CREATED order never reached the wire and is
    not drift. A PENDING_SUBMIT order the venue does not know was never sent: it may be sent
    (its client id is free). An order the venue holds is moved to the venue's status."""
    cid = order.client_order_id
    if venue is None:
        if order.status is OrderStatus.CREATED:
            return None, None
        if order.status is OrderStatus.PENDING_SUBMIT:
            return (
                Drift(
                    DriftKind.NEVER_SENT,
                    cid,
                    "pending submit",
                    "unknown",
                    "not at the venue: safe to send (same client order id)",
                ),
                None,
            )
        return (
            Drift(
                DriftKind.ORDER_STATUS,
                cid,
                order.status.value,
                "unknown",
                "the venue has no such order: marked failed",
            ),
            OrderStatus.FAILED
            if order.status is not OrderStatus.CANCEL_PENDING
            else OrderStatus.CANCELED,
        )
    target = venue.status
    if target in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
        # Fills move the status; only report when the venue filled more than the journal knows.
        if venue.filled_qty > order.filled_qty:
            return (
                Drift(
                    DriftKind.ORDER_STATUS,
                    cid,
                    f"{order.status.value}, {order.filled_qty} filled",
                    f"{target.value}, {venue.filled_qty} filled",
                    "fills from the venue booked",
                ),
                None,
            )
        if order.status in (OrderStatus.PENDING_SUBMIT, OrderStatus.CREATED):
            return (
                Drift(
                    DriftKind.ORDER_STATUS,
                    cid,
                    order.status.value,
                    target.value,
                    "acknowledged from the venue",
                ),
                OrderStatus.OPEN if order.filled_qty == 0 else None,
            )
        return None, None
    if target is order.status:
        return None, None
    return (
        Drift(
            DriftKind.ORDER_STATUS,
            cid,
            order.status.value,
            target.value,
            f"journal moved to {target.value}",
        ),
        target,
    )


def position_drift(ledger: Mapping[str, Decimal], venue: Mapping[str, Decimal]) -> list[Drift]:
    """Positions (signed contracts by ``account|venue:symbol|slot``) that differ after every
    fill was booked: the ledger cannot be fixed by fills, so the difference is reported."""
    drifts: list[Drift] = []
    for key in sorted(set(ledger) | set(venue)):
        ours = ledger.get(key, Decimal(0))
        theirs = venue.get(key, Decimal(0))
        if ours != theirs:
            drifts.append(
                Drift(
                    DriftKind.POSITION_QTY,
                    key,
                    str(ours),
                    str(theirs),
                    "reported: the ledger is built from fills only; check fills outside riskdesk",
                )
            )
    return drifts


__all__ = ["Drift", "DriftKind", "VenueOrderView", "order_drift", "position_drift"]
