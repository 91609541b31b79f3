"""The order state machine: every legal transition, illegal ones refused, one event per
transition, fills, amendments, the adoption path, late fills and the codec."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oms_unit_kit import T0, intent

from riskdesk.domain.errors import InvalidValue, StateError
from riskdesk.domain.order_lifecycle import (
    ALLOWED,
    OrderRole,
    OrderStatus,
    advance,
    amend,
    created_event,
    fill,
    late_fill,
    new_order,
    order_from_dict,
    order_to_dict,
    path_to,
    transition,
)
from riskdesk.domain.orders import OrderType

S = OrderStatus
D = Decimal
NON_FILL = [s for s in S if s not in (S.FILLED, S.PARTIALLY_FILLED)]


def _at(status: S):  # type: ignore[no-untyped-def]
    """An order brought to ``status`` along the shortest legal path (fills for fill states)."""
    order = new_order(intent("i1", qty="2", kind=OrderType.LIMIT, price="100"), T0)
    if status is S.CREATED:
        return order
    if status in (S.FILLED, S.PARTIALLY_FILLED):
        order, _ = advance(order, S.OPEN, T0)
        order, _ = fill(order, D("2") if status is S.FILLED else D("1"), D(100), T0)
        return order
    order, _ = advance(order, status, T0)
    return order


def test_the_happy_path_emits_one_event_per_transition() -> None:
    order = new_order(intent("i1", qty="2", kind=OrderType.LIMIT, price="100"), T0, OrderRole.ENTRY)
    assert created_event(order).to_dict()["new"] == "created"
    events = []
    for status in (S.PENDING_SUBMIT, S.OPEN):
        order, event = transition(order, status, T0 + timedelta(seconds=1), venue_order_id="V1")
        events.append(event)
    order, event = fill(order, D("0.5"), D(100), T0)
    events.append(event)
    order, event = fill(order, D("1.5"), D(102), T0)
    events.append(event)
    assert order.status is S.FILLED
    assert order.avg_price == D("101.5")
    assert order.venue_order_id == "V1"
    assert order.version == 4
    assert [(e.old, e.new) for e in events] == [
        ("created", "pending_submit"),
        ("pending_submit", "open"),
        ("open", "partially_filled"),
        ("partially_filled", "filled"),
    ]


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", NON_FILL)
def test_every_transition_is_allowed_or_refused_as_the_table_says(current: S, target: S) -> None:
    order = _at(current)
    if target in ALLOWED[current]:
        moved, event = transition(order, target, T0, "why")
        assert moved.status is target
        assert (event.old, event.new, event.reason) == (current.value, target.value, "why")
    else:
        with pytest.raises(StateError) as error:
            transition(order, target, T0)
        assert error.value.field == "status"


def test_terminal_states_have_no_way_out() -> None:
    for status in S:
        assert (ALLOWED[status] == frozenset()) is status.terminal


def test_fills_go_through_fill_only() -> None:
    order = _at(S.OPEN)
    with pytest.raises(StateError, match="fill"):
        transition(order, S.FILLED, T0)
    with pytest.raises(StateError, match="exceeds the remaining"):
        fill(order, D(3), D(100), T0)
    with pytest.raises(InvalidValue):
        fill(order, D(0), D(100), T0)
    with pytest.raises(StateError, match="cannot fill"):
        fill(_at(S.CANCELED), D(1), D(100), T0)
    # A fill may race a cancel.
    racing, _ = fill(_at(S.CANCEL_PENDING), D(2), D(100), T0)
    assert racing.status is S.FILLED


def test_amend_changes_a_working_order_in_place() -> None:
    order = _at(S.PARTIALLY_FILLED)
    amended, event = amend(order, T0, qty=D(3), price=D(99))
    assert (amended.intent.qty, amended.intent.price, amended.status) == (D(3), D(99), order.status)
    assert (event.old_qty, event.new_qty, event.old_price, event.new_price) == (
        D(2),
        D(3),
        D(100),
        D(99),
    )
    with pytest.raises(InvalidValue, match="filled") as error:
        amend(order, T0, qty=D(1))
    assert error.value.field == "qty"
    with pytest.raises(InvalidValue) as error:
        amend(order, T0, stop_price=D(90))
    assert error.value.field == "stop_price"
    with pytest.raises(StateError):
        amend(_at(S.FILLED), T0, price=D(1))


def test_path_to_adopts_the_venue_state_by_the_shortest_legal_route() -> None:
    assert path_to(S.CREATED, S.OPEN) == [S.PENDING_SUBMIT, S.OPEN]
    assert path_to(S.PENDING_SUBMIT, S.CANCELED) == [S.CANCELED]
    assert path_to(S.OPEN, S.OPEN) == []
    assert path_to(S.CANCEL_PENDING, S.OPEN) == [S.OPEN]
    with pytest.raises(StateError):
        path_to(S.CANCELED, S.OPEN)
    with pytest.raises(StateError):
        path_to(S.OPEN, S.FILLED)  # fills bring it there
    order, events = advance(_at(S.CREATED), S.EXPIRED, T0, "ioc")
    assert order.status is S.EXPIRED
    assert [e.new for e in events] == ["pending_submit", "expired"]


def test_late_fills_complete_a_cancelled_order_without_reopening_it() -> None:
    order = late_fill(_at(S.CANCELED), D(1), D(100), T0)
    assert (order.status, order.filled_qty) == (S.CANCELED, D(1))
    with pytest.raises(StateError):
        late_fill(_at(S.OPEN), D(1), D(100), T0)
    with pytest.raises(StateError):
        late_fill(_at(S.CANCELED), D(5), D(100), T0)


def test_the_codec_round_trips_every_field() -> None:
    order = _at(S.PARTIALLY_FILLED)
    order = order.__class__(
        **{
            **{f: getattr(order, f) for f in order.__dataclass_fields__},
            "role": OrderRole.PROTECTIVE_STOP,
            "group": "g",
        }
    )
    assert order_from_dict(order_to_dict(order)) == order
    full = new_order(
        intent(
            "i2",
            "sell",
            "0.5",
            OrderType.STOP_LIMIT,
            price="9",
            stop="10",
            reduce_only=True,
            protective_stop="11",
        ),
        T0,
    )
    assert order_from_dict(order_to_dict(full)) == full


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(list(S)), max_size=12))
def test_random_walks_only_take_legal_steps(steps: list[S]) -> None:
    order = new_order(intent("w", qty="3", kind=OrderType.LIMIT, price="100"), T0)
    for target in steps:
        legal = target in ALLOWED[order.status]
        try:
            if target in (S.FILLED, S.PARTIALLY_FILLED):
                if order.remaining == 0:
                    continue
                qty = order.remaining if target is S.FILLED else min(D(1), order.remaining)
                order, event = fill(order, qty, D(100), T0)
            else:
                order, event = transition(order, target, T0)
        except StateError:
            assert not legal or target in (S.FILLED, S.PARTIALLY_FILLED)
            continue
        assert legal
        assert event.new == order.status.value
        assert D(0) <= order.filled_qty <= order.intent.qty
