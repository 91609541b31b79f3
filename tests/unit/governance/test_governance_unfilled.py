"""Orders that do not fill, and the stop that must cover what is actually held.

* the stop always covers exactly the size held: a take-profit does not shrink it before it
  fills, and a size change (fill, partial fill, outside order) resizes it at the next tick;
* a take-profit or close that has not filled after ``fill_timeout_seconds`` is planned again
  (the old order cancelled) with an ALERT; an add-on that has not filled is dropped;
* a position in PENDING_CLOSING stays protected, picks up size added outside governance and is
  closed again when the close does not fill;
* an entry that never opens its position moves to FAILED after ``entry_timeout_seconds``;
* properties over random paths where orders fill or not: after every tick the planned stop
  covers exactly what is held, and an order that did not fill is never forgotten.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from governance_kit import at, kinds, one, profile, run, snap, state
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_governance_properties import _columns, _walk, paths

from riskdesk.domain.governance import (
    ActionKind,
    CloseStats,
    GovernanceBook,
    Lifecycle,
    TakeProfitTier,
    evaluate,
    manage_batch,
    settle_denials,
)

D = Decimal
R_LADDER = (TakeProfitTier(2, 0.5), TakeProfitTier(3, 0.3), TakeProfitTier(4, 0.2))
EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


def _took_profit():  # type: ignore[no-untyped-def]
    """2 held; the 2R take-profit planned at hour 2 (close 1)."""
    s, results = run(state(profile(r_ladder=R_LADDER)), [(1, snap("50000")), (2, snap("52000"))])
    assert kinds(results[1].actions) == ["REDUCE"]
    return s, results[1]


def test_the_stop_is_not_shrunk_before_the_take_profit_fills() -> None:
    s, result = _took_profit()
    assert s.stop_qty == 2 and s.seen_qty == 2 and s.expected_qty == 1
    assert s.pending_intents == (result.actions[0].intent_id,) and s.pending_since == at(2)


def test_an_unfilled_take_profit_is_planned_again_with_an_alert() -> None:
    s, first = _took_profit()
    # Within the timeout (5 min) nothing happens; after it the reduce is planned again.
    s, (quiet,) = run(s, [(2 + 240 / 3600, snap("51500"))])
    assert quiet.actions == ()
    s, (late,) = run(s, [(3, snap("51500"))])
    assert kinds(late.actions) == ["REDUCE", "ALERT"]
    retry = one(late.actions, ActionKind.REDUCE)
    assert retry.rule == "retry" and retry.qty == 1
    assert "retry 1: the take-profit planned at 2025-03-03 10:00 has not filled after 1.0 h" in (
        retry.reason
    )
    assert late.plan is not None and late.plan.cancels == (first.actions[0].intent_id,)
    assert one(late.actions, ActionKind.ALERT).event == "UNFILLED"
    assert any(e.kind == "UNFILLED" for e in late.events)
    assert s.stop_qty == 2 and s.expected_qty == 1 and s.retries == 1
    assert s.pending_intents == (retry.intent_id,)
    # The retry fills: the stop follows the position, the bookkeeping is clear.
    s, (filled,) = run(s, [(4, snap("51500", qty="1"))])
    assert kinds(filled.actions) == ["MOVE_STOP"] and filled.actions[0].qty == 1
    assert (s.pending_intents, s.pending_since, s.retries) == ((), None, 0)


def test_a_partly_filled_take_profit_resizes_the_stop_and_keeps_the_rest_pending() -> None:
    s, _ = _took_profit()
    s, (partial,) = run(s, [(2.01, snap("52000", qty="1.5"))])
    stop = one(partial.actions, ActionKind.MOVE_STOP)
    assert stop.qty == D("1.5") and "resized from 2 to 1.5" in stop.reason
    assert s.expected_qty == 1 and s.pending_since == at(2.01)
    s, (late,) = run(s, [(3, snap("52000", qty="1.5"))])
    assert one(late.actions, ActionKind.REDUCE).qty == D("0.5")


def test_size_added_outside_governance_while_a_take_profit_is_pending() -> None:
    s, _ = _took_profit()
    s, (result,) = run(s, [(2.01, snap("52000", qty="3"))])
    # The outside buy of 1 does not fill the reduce: 3 held, the reduce of 1 still owed.
    assert one(result.actions, ActionKind.MOVE_STOP).qty == 3
    assert s.expected_qty == 2 and s.ladder_base == 3


def test_a_guard_close_that_never_fills_keeps_the_position_protected_and_is_retried() -> None:
    s, results = run(state(profile()), [(1, snap("50000")), (2, snap("48900"))])
    close = one(results[1].actions, ActionKind.CLOSE)
    assert close.rule == "guard_stop" and results[1].plan.cancels == ()  # type: ignore[union-attr]
    assert s.lifecycle is Lifecycle.PENDING_CLOSING
    assert s.stop_price == D("49000.0") and s.stop_qty == 2  # the stop stays working
    s, (retry,) = run(s, [(3, snap("47000"))])
    assert kinds(retry.actions) == ["CLOSE", "ALERT"]
    again = one(retry.actions, ActionKind.CLOSE)
    assert again.qty == 2 and again.rule == "retry"
    assert "closing because: guard stop" in again.reason
    assert retry.plan.cancels == (close.intent_id,)  # type: ignore[union-attr]
    # Size added outside governance while closing: closed too at once, the stop resized.
    s, (grown,) = run(s, [(3.01, snap("46000", qty="3"))])
    assert kinds(grown.actions) == ["CLOSE", "MOVE_STOP"]
    assert one(grown.actions, ActionKind.CLOSE).qty == 1
    assert one(grown.actions, ActionKind.MOVE_STOP).qty == 3 and s.stop_qty == 3
    # Ten days later, still not filled: planned again for the whole position.
    s, (later,) = run(s, [(240, snap("40000", qty="3"))])
    assert one(later.actions, ActionKind.CLOSE).qty == 3 and s.retries == 2
    s, (flat,) = run(s, [(241, snap("40000", qty="0"))])
    assert s.lifecycle is Lifecycle.CLOSED and flat.actions == ()


def test_a_stored_pending_close_without_a_time_is_retried_at_once() -> None:
    # States stored before the time of outstanding orders was kept.
    s, _ = run(state(profile()), [(1, snap("50000")), (2, snap("48900"))])
    legacy = s.evolve(pending_since=None, pending_intents=())
    result = evaluate(legacy, snap("47000"), at(2.01))
    assert one(result.actions, ActionKind.CLOSE).qty == 2


def test_an_unfilled_add_on_is_dropped_with_an_alert() -> None:
    p = profile(
        add_on_cap=2,
        add_on_roe_tiers=(0.05,),
        add_on_requires_signal=False,
        add_on_min_interval=0.0,
    )
    s, results = run(state(p), [(1, snap("50000")), (2, snap("50300"))])
    add = one(results[1].actions, ActionKind.ADD)
    assert s.expected_qty == 3 and s.stop_qty == 2 and s.pending_intents == (add.intent_id,)
    s, (late,) = run(s, [(3, snap("50300"))])
    assert kinds(late.actions) == ["ALERT"] and "the add-on planned" in late.actions[0].reason
    assert late.plan.cancels == (add.intent_id,)  # type: ignore[union-attr]
    assert s.expected_qty == 2 and s.pending_intents == () and s.add_count == 1


def test_take_profits_wait_while_an_add_on_is_outstanding() -> None:
    p = profile(
        r_ladder=R_LADDER,
        add_on_cap=1,
        add_on_roe_tiers=(0.05,),
        add_on_requires_signal=False,
        add_on_min_interval=0.0,
    )
    s, results = run(state(p), [(1, snap("50000")), (2, snap("50300"))])
    assert kinds(results[1].actions) == ["ADD"]
    s, (waiting,) = run(s, [(2.01, snap("52000"))])  # 2R reached, the add not filled yet
    assert waiting.actions == ()
    s, (filled,) = run(s, [(2.02, snap("52000", qty="3"))])
    assert kinds(filled.actions) == ["MOVE_STOP", "REDUCE"]


def test_an_entry_that_never_fills_fails_after_its_timeout() -> None:
    s = state(profile(entry_timeout_seconds=3600.0)).evolve(registered_at=at(0))
    waiting = evaluate(s, snap("50000", qty="0"), at(0.5))
    assert waiting.state is s and waiting.actions == ()
    failed = evaluate(s, snap("50000", qty="0"), at(1))
    assert failed.state.lifecycle is Lifecycle.FAILED
    assert "has not opened a position 1.0 h after it was registered" in failed.state.exit_reason
    (event,) = failed.events
    assert event.kind == "LIFECYCLE" and "pending_entry → failed" in event.message
    forever = state(profile(entry_timeout_seconds=None)).evolve(registered_at=at(0))
    assert evaluate(forever, snap("50000", qty="0"), at(1000)).state is forever


def test_a_refused_take_profit_leaves_nothing_outstanding() -> None:
    s0, _ = run(state(profile(r_ladder=R_LADDER)), [(1, snap("50000"))])
    result = evaluate(s0, snap("52000"), at(2))
    reduce = one(result.actions, ActionKind.REDUCE)
    assert reduce.intent_id is not None
    settled = settle_denials(s0, result, {reduce.intent_id}, at(2))
    assert settled.tp_r_done == 0 and settled.expected_qty == 2
    assert settled.pending_intents == () and settled.pending_since is None


# ------------------------------------------------------------------ properties


def _held_after(snapshot_qty: Decimal) -> Decimal:
    return abs(snapshot_qty)


@EXAMPLES
@given(paths())
def test_after_every_tick_the_stop_covers_exactly_what_is_held(case) -> None:  # type: ignore[no-untyped-def]
    """Whatever filled or did not, the planned working stop covers the size held."""
    for _, snapshot, _, result in _walk(*case):
        s = result.state
        if s.lifecycle in (Lifecycle.ACTIVE, Lifecycle.PENDING_CLOSING) and s.stop_price:
            assert s.stop_qty == _held_after(snapshot.qty), [a.reason for a in result.actions]
        for a in result.actions:
            if a.kind in (ActionKind.PLACE_STOP, ActionKind.MOVE_STOP):
                assert a.qty == abs(snapshot.qty)


@EXAMPLES
@given(paths())
def test_an_order_that_did_not_fill_is_never_forgotten(case) -> None:  # type: ignore[no-untyped-def]
    """A tick that follows an unfilled take-profit, close or add-on by more than the timeout,
    the position unchanged, plans a reduction again (a retry, or an exit that supersedes it)
    or raises an ALERT about it."""
    walk = _walk(*case)
    timeout = timedelta(seconds=case[0].fill_timeout_seconds)
    for (_, snap_a, now_a, a), (_, snap_b, now_b, b) in itertools.pairwise(walk):
        outstanding = a.state.expected_qty != a.state.seen_qty
        open_ = a.state.lifecycle in (Lifecycle.ACTIVE, Lifecycle.PENDING_CLOSING)
        if not (outstanding and open_ and snap_b.qty == snap_a.qty and now_b - now_a >= timeout):
            continue
        reasons = [x.reason for x in b.actions]
        unfilled = any(x.kind is ActionKind.ALERT and x.event == "UNFILLED" for x in b.actions)
        reduces = any(x.kind in (ActionKind.REDUCE, ActionKind.CLOSE) for x in b.actions)
        assert unfilled or reduces, (a.state, reasons)
        if a.state.expected_qty < a.state.seen_qty:
            assert reduces, (a.state, reasons)


@EXAMPLES
@given(
    st.lists(paths(), min_size=1, max_size=3),
    st.lists(st.floats(0.0, 48.0), min_size=0, max_size=3),
    st.floats(0.0, 60.0),
)
def test_the_batch_decides_what_the_rules_decide_with_orders_outstanding(
    cases, registered, later
) -> None:  # type: ignore[no-untyped-def]
    """Books mixing positions whose orders filled or not (evaluated some time later: retries,
    timeouts, closes that did not complete) and entries still waiting (some past their
    timeout): the vectorised batch decides exactly what the rules decide one by one."""
    states, snaps = [], []
    for case in cases:
        *_, (_, last_snap, _, last) = _walk(*case)
        states.append(last.state)
        snaps.append(last_snap)
    for k, hours in enumerate(registered):
        states.append(
            state(profile(entry_timeout_seconds=24 * 3600.0)).evolve(
                intent_id=f"entry-{k}", registered_at=at(hours)
            )
        )
        flat = CloseStats(50000.0, at(0), 50000.0, at(0))
        snaps.append(snap("50000", qty="0", closes={"1h": flat}))
    now = at(20 + later)
    book = GovernanceBook.of(states)
    result = manage_batch(book, _columns(snaps), lambda i: snaps[i], now)
    for i, s in enumerate(states):
        expected = evaluate(s, snaps[i], now)
        got = result.evaluations.get(i)
        assert (got.actions if got else ()) == expected.actions
        assert (got.plan if got else None) == expected.plan
        assert (got.events if got else ()) == expected.events
        assert result.book.states[i] == expected.state
