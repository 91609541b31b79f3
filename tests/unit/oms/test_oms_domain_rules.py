"""Pure rules around orders: SPOT → FUT transfers, protective-stop review, drift detection."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from oms_unit_kit import PERP, T0, intent

from riskdesk.domain.errors import InvalidValue, StateError
from riskdesk.domain.order_lifecycle import OrderStatus, advance, fill, new_order
from riskdesk.domain.orders import OrderType, TriggerPrice
from riskdesk.domain.protection import (
    Need,
    Protection,
    ProtectionMode,
    StopState,
    crossed,
    guard_condition,
    review,
    stop_intent,
    stop_intent_id,
)
from riskdesk.domain.reconcile import DriftKind, VenueOrderView, order_drift, position_drift
from riskdesk.domain.transfers import (
    TransferPolicy,
    TransferStatus,
    decide,
    move,
    transfer_id_for,
)
from riskdesk.domain.values import PositionSide, Side

D = Decimal
POLICY = TransferPolicy(min_free_fut=D(1000), spot_buffer=D(100), daily_cap=D(2000))


def _decide(free_fut: str, free_spot: str, *, last=None, moved="0", now=T0, policy=POLICY):  # type: ignore[no-untyped-def]
    return decide(
        policy,
        from_account="spot",
        to_account="fut",
        free_fut=D(free_fut),
        free_spot=D(free_spot),
        now=now,
        last_request_at=last,
        moved_today=D(moved),
    )


# ---------------------------------------------------------------------------- transfers


def test_need_is_min_free_fut_minus_free_fut_and_needs_the_buffer() -> None:
    assert _decide("1200", "5000").request is None  # nothing needed
    decision = _decide("400", "5000")
    assert decision.need == D(600)
    assert decision.request is not None
    assert (decision.request.amount, decision.request.status) == (D(600), TransferStatus.PENDING)
    assert _decide("400", "699").request is None  # 699 < 600 + 100
    assert _decide("400", "700").request is not None
    assert _decide("-50", "5000").need == D(1050)  # a negative free balance counts in full


def test_interval_daily_cap_and_auto_mode() -> None:
    assert _decide("400", "5000", last=T0 - timedelta(minutes=4)).request is None
    assert _decide("400", "5000", last=T0 - timedelta(minutes=5)).request is not None
    assert _decide("400", "5000", moved="1500").request is None  # 600 > 2000 − 1500
    auto = TransferPolicy(min_free_fut=D(1000), spot_buffer=D(100), auto=True)
    request = _decide("0", "5000", policy=auto).request
    assert (
        request is not None
        and request.status is TransferStatus.APPROVED
        and request.approved_by == "auto"
    )


def test_transfer_ids_are_idempotent_per_interval_window() -> None:
    a = _decide("400", "5000", now=T0 + timedelta(minutes=1)).request
    b = _decide("400", "5000", now=T0 + timedelta(minutes=4)).request
    c = _decide("400", "5000", now=T0 + timedelta(minutes=6)).request
    assert a is not None and b is not None and c is not None
    assert a.transfer_id == b.transfer_id != c.transfer_id
    assert transfer_id_for("s", "f", "USDT", T0, timedelta(minutes=5)).startswith("tr-")


def test_transfer_state_machine() -> None:
    request = _decide("400", "5000").request
    assert request is not None
    with pytest.raises(StateError):
        move(request, TransferStatus.EXECUTED, T0)
    with pytest.raises(InvalidValue) as error:
        move(request, TransferStatus.APPROVED, T0)
    assert error.value.field == "by"
    approved = move(request, TransferStatus.APPROVED, T0, by="alice")
    done = move(approved, TransferStatus.EXECUTED, T0)
    assert done.status.terminal and done.approved_by == "alice"
    failed = move(approved, TransferStatus.FAILED, T0, error="venue said no")
    assert failed.error == "venue said no"
    assert move(request, TransferStatus.REJECTED, T0).status is TransferStatus.REJECTED
    with pytest.raises(InvalidValue):
        TransferPolicy(min_free_fut=D(-1))
    with pytest.raises(InvalidValue):
        TransferPolicy(min_interval=timedelta(0))


# ---------------------------------------------------------------------------- protection


def _protection(
    mode: ProtectionMode = ProtectionMode.NATIVE, qty: str = "1", direction: int = 1
) -> Protection:
    return Protection(
        account_id="acct",
        venue=PERP.venue,
        symbol=PERP.symbol,
        slot=PositionSide.NET,
        direction=direction,
        level=D(95),
        qty=D(qty),
        trigger=TriggerPrice.MARK,
        mode=mode,
        updated_at=T0,
        order_id="rdx",
    )


def test_review_decides_place_resize_rearm_flip_release() -> None:
    p = _protection()
    working = StopState(OrderStatus.OPEN, D(1))
    assert review(None, D(0), None) is Need.NONE
    assert review(p, D(0), working) is Need.RELEASE
    assert review(None, D(1), None) is Need.PLACE
    assert review(p, D(1), working) is Need.NONE
    assert review(p, D("1.5"), working) is Need.RESIZE
    assert review(p, D(1), StopState(OrderStatus.CANCELED, D(1))) is Need.REARM
    assert review(p, D(1), StopState(None, D(0))) is Need.REARM
    assert review(p, D(-1), working) is Need.FLIP
    guard = _protection(ProtectionMode.GUARD)
    assert review(guard, D(1), None, guard_armed=True) is Need.NONE
    assert review(guard, D(2), None, guard_armed=True) is Need.RESIZE
    assert review(guard, D(1), None, guard_armed=False) is Need.REARM


def test_stop_orders_are_reduce_only_on_the_mark_with_deterministic_ids() -> None:
    p = _protection(direction=-1)
    order = stop_intent(p, 3, T0)
    assert (order.side, order.order_type, order.reduce_only, order.trigger) == (
        Side.BUY,
        OrderType.STOP_MARKET,
        True,
        TriggerPrice.MARK,
    )
    assert (
        order.intent_id
        == stop_intent_id(p, 3)
        == stop_intent(p, 3, T0 + timedelta(days=1)).intent_id
    )
    assert stop_intent_id(p, 4) != order.intent_id
    guard = guard_condition(p, 3, T0)
    assert guard.intent.order_type is OrderType.MARKET and guard.intent.reduce_only
    assert guard.rising  # a short's stop fires on the way up
    assert crossed(1, D(95), D(95)) and not crossed(1, D(95), D(96))
    assert crossed(-1, D(105), D(106)) and not crossed(-1, D(105), D(104))
    with pytest.raises(InvalidValue):
        _protection(qty="-1")


# ---------------------------------------------------------------------------- drift


def test_order_drift_takes_the_venue_as_the_truth() -> None:
    pending, _ = advance(new_order(intent("p"), T0), OrderStatus.PENDING_SUBMIT, T0)
    drift, target = order_drift(pending, None)
    assert drift is not None and drift.kind is DriftKind.NEVER_SENT and target is None
    assert order_drift(new_order(intent("c"), T0), None) == (None, None)
    opened, _ = advance(pending, OrderStatus.OPEN, T0)
    drift, target = order_drift(opened, VenueOrderView(OrderStatus.CANCELED, D(0)))
    assert drift is not None and target is OrderStatus.CANCELED
    drift, target = order_drift(opened, None)
    assert target is OrderStatus.FAILED
    drift, target = order_drift(opened, VenueOrderView(OrderStatus.FILLED, D(1)))
    assert drift is not None and target is None  # fills move it
    drift, target = order_drift(pending, VenueOrderView(OrderStatus.OPEN, D(0)))
    assert drift is not None and target is OrderStatus.OPEN
    filled, _ = fill(opened, D(1), D(100), T0)
    assert order_drift(filled, VenueOrderView(OrderStatus.FILLED, D(1))) == (None, None)
    assert order_drift(opened, VenueOrderView(OrderStatus.OPEN, D(0))) == (None, None)


def test_position_drift_reports_what_fills_cannot_explain() -> None:
    drifts = position_drift({"a": D(1), "b": D(2)}, {"a": D(1), "c": D(-1)})
    assert [(d.key, d.ours, d.venue) for d in drifts] == [("b", "2", "0"), ("c", "0", "-1")]
    assert drifts[0].to_dict()["kind"] == "position_qty"
