"""The graded kill switch (pure part): every escalation and reset, what each state allows."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from risk_unit_kit import NOW, PERP, denied, engine, hold, intent, later, make_book, run

from riskdesk.domain.errors import InvalidValue, StateError
from riskdesk.domain.orders import OrderType
from riskdesk.domain.risk.decisions import RiskCode
from riskdesk.domain.risk.trading_state import (
    StateChange,
    TradingState,
    TradingStatus,
    escalate,
    reset,
)

A, R, H, F = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED, TradingState.FLATTEN
PAIRS = list(itertools.product(TradingState, TradingState))


def status(state: TradingState) -> TradingStatus:
    return TradingStatus(state, NOW, "initial", "start")


def test_states_are_ordered_by_severity() -> None:
    assert A < R < H < F
    assert [s.label for s in TradingState] == ["active", "reducing", "halted", "flatten"]


@pytest.mark.parametrize(
    ("text", "state"), [("ACTIVE", A), (" reducing ", R), ("Halted", H), ("flatten", F)]
)
def test_parse(text: str, state: TradingState) -> None:
    assert TradingState.parse(text) is state


def test_parse_rejects_unknown_names() -> None:
    with pytest.raises(InvalidValue) as err:
        TradingState.parse("paused", field="on_drawdown")
    assert err.value.field == "on_drawdown"
    assert "paused" in err.value.reason


@pytest.mark.parametrize(("old", "new"), [p for p in PAIRS if p[1] > p[0]])
def test_escalate_moves_up_and_records_the_change(old: TradingState, new: TradingState) -> None:
    moved, change = escalate(status(old), new, "drawdown", "dd 21 %", later(5), by="monitor")
    assert moved == TradingStatus(new, later(5), "drawdown", "dd 21 %", "monitor")
    assert change == StateChange(old, new, later(5), "drawdown", "dd 21 %", "monitor")


@pytest.mark.parametrize(("old", "new"), [p for p in PAIRS if p[1] <= p[0]])
def test_escalate_never_relaxes_or_repeats(old: TradingState, new: TradingState) -> None:
    start = status(old)
    moved, change = escalate(start, new, "daily_loss", "again", later(5))
    assert moved is start
    assert change is None


@pytest.mark.parametrize(("old", "new"), [p for p in PAIRS if p[1] < p[0]])
def test_reset_moves_down_with_reason_and_name(old: TradingState, new: TradingState) -> None:
    moved, change = reset(status(old), new, "  reviewed the book  ", " alice ", later(60))
    assert moved == TradingStatus(new, later(60), "manual_reset", "reviewed the book", "alice")
    assert change == StateChange(old, new, later(60), "manual_reset", "reviewed the book", "alice")


@pytest.mark.parametrize(("old", "new"), [p for p in PAIRS if p[1] >= p[0]])
def test_reset_must_lower_the_state(old: TradingState, new: TradingState) -> None:
    with pytest.raises(StateError) as err:
        reset(status(old), new, "because", "alice", later(1))
    assert err.value.field == "state"
    assert f"{old.label} -> {new.label}" in err.value.reason


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_reset_needs_a_reason(reason: str) -> None:
    with pytest.raises(InvalidValue) as err:
        reset(status(H), A, reason, "alice", later(1))
    assert err.value.field == "reason"


@pytest.mark.parametrize("by", ["", "  "])
def test_reset_needs_a_name(by: str) -> None:
    with pytest.raises(InvalidValue) as err:
        reset(status(H), A, "checked", by, later(1))
    assert err.value.field == "by"


@pytest.mark.parametrize(
    ("state", "entry", "exit_", "protective", "kill_switch"),
    [
        (A, True, True, True, True),
        (R, False, True, True, True),
        (H, False, False, True, False),
        (F, False, False, True, True),
    ],
)
def test_what_each_state_allows(
    state: TradingState, entry: bool, exit_: bool, protective: bool, kill_switch: bool
) -> None:
    """ACTIVE: everything; REDUCING: reducing orders; HALTED: only the supervisor's protective
    orders; FLATTEN: those and the kill switch's closes. Nothing that adds exposure passes a
    non-ACTIVE state, whatever its source."""
    assert state.allows(False) is entry
    assert state.allows(False, "protection") is entry
    assert state.allows(False, "kill_switch") is entry
    assert state.allows(True) is exit_
    assert state.allows(True, "manual") is exit_
    assert state.allows(True, "protection") is protective
    assert state.allows(True, "guard_stop") is protective
    assert state.allows(True, "kill_switch") is kill_switch
    book = hold(make_book(state=state), PERP.key, 1.0)
    entry_decision = run(engine(), intent("0.1"), book)
    assert entry_decision.approved is entry
    if not entry:
        denied(entry_decision, RiskCode.TRADING_STATE)
    manual_exit = run(engine(), intent("0.4", "sell", reduce_only=True), book)
    assert manual_exit.approved is exit_
    stop = intent(
        "1",
        "sell",
        reduce_only=True,
        order_type=OrderType.STOP_MARKET,
        stop_price="45000",
        source="protection",
    )
    assert run(engine(), stop, book).approved is protective
    close = intent("1", "sell", reduce_only=True, source="kill_switch")
    assert run(engine(), close, book).approved is kill_switch


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(list(TradingState)), max_size=12), st.sampled_from(list(TradingState))
)
def test_escalate_is_monotone(targets: list[TradingState], start: TradingState) -> None:
    current = status(start)
    seen = [start]
    for i, target in enumerate(targets):
        current, change = escalate(current, target, "t", "r", later(i))
        assert current.state >= seen[-1]
        assert (change is not None) == (target > seen[-1])
        seen.append(current.state)
    assert current.state == max([start, *targets])
