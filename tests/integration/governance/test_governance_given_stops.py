"""Stops the trader gives: an entry's own protective stop becomes the governed initial stop and
sets R; ``attach --stop`` on a governed position only tightens, never through the mark; the
overview shows the stop working at the venue next to the governed one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from test_governance_service import PERP, T0, Desk

from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.governance import Lifecycle
from riskdesk.domain.orders import OrderIntent, TriggerPrice
from riskdesk.domain.protection import PendingStop, Protection, ProtectionMode
from riskdesk.domain.values import PositionSide, Side

D = Decimal


@pytest.fixture
def desk(sqlite_url: str) -> Iterator[Desk]:
    d = Desk(sqlite_url)
    yield d
    d.rt.store.dispose()


def _entry(
    intent_id: str, stop: str | None, *, account: str = "acct", reduce_only: bool = False
) -> OrderIntent:
    return OrderIntent(
        intent_id,
        account,
        "paper",
        PERP.symbol,
        Side.BUY,
        D(1),
        reduce_only=reduce_only,
        protective_stop=None if stop is None else D(stop),
    )


def _position_id(desk: Desk) -> str:
    (position,) = desk.rt.app.book.positions()
    return position.position_id


def test_an_entrys_stop_is_the_governed_initial_stop_and_sets_r(desk: Desk) -> None:
    state = desk.gov.govern_entry(_entry("cli:e1", "48000.05"), now=T0)
    assert state is not None and state.lifecycle is Lifecycle.PENDING_ENTRY
    assert state.stop_override == D("48000.05") and state.profile.name == "standard"
    desk.fill("buy", "1", "50000")
    result = desk.gov.tick(desk.mark("50000"))
    (checked,) = result.plans
    (action,) = checked.plan.actions
    # The trader's stop, snapped up to the tick (never looser), not the profile's 2 % (49,000).
    assert action.kind.value == "PLACE_STOP" and action.new_value == D("48000.1")
    assert checked.plan.orders[0].stop_price == D("48000.1")
    assert "given stop 48,000.05 (the trader's level, in place of the profile's atr rule)" in (
        action.reason
    )
    assert "1R = |entry 50,000 − stop 48,000.1| = 1,999.9" in action.reason
    (view,) = desk.gov.overview()
    assert view.state.intent_id == "cli:e1" and view.state.risk_per_unit == D("1999.9")
    assert view.state.initial_stop == D("48000.1")
    assert [s.trigger for s in view.steps] == ["53,999.8", "55,999.7", "57,999.6"]
    # The take-profit ladder counts in that R: 2R is 53,999.8, not 52,000 (R 1,000 of 2 %).
    assert not [
        a
        for p in desk.gov.tick(desk.mark("53000", T0 + timedelta(hours=1))).plans
        for a in p.plan.actions
        if a.kind.value == "REDUCE"
    ]
    result = desk.gov.tick(desk.mark("54000", T0 + timedelta(hours=2)))
    reduce = [a for p in result.plans for a in p.plan.actions if a.kind.value == "REDUCE"]
    assert len(reduce) == 1 and "take-profit 2R" in reduce[0].reason
    assert "2 × R 1,999.9" in reduce[0].reason


def test_entries_governance_leaves_to_adoption_or_to_the_stop_they_have(desk: Desk) -> None:
    gov = desk.gov
    assert gov.govern_entry(_entry("e-no-stop", None), now=T0) is None
    assert gov.govern_entry(_entry("e-reduce", "48000", reduce_only=True), now=T0) is None
    assert gov.govern_entry(_entry("e-unknown", "48000", account="nobody"), now=T0) is None
    assert gov.govern_entry(_entry("e1", "48000"), now=T0) is not None
    # A resubmission, or a second entry while the first waits, registers nothing more.
    assert gov.govern_entry(_entry("e1", "48000"), now=T0) is None
    assert gov.govern_entry(_entry("e2", "47000"), now=T0) is None
    # An entry that ends without a fill fails its state; the slot is free again.
    failed = gov.entry_ended("e1", "the entry order ended rejected without a fill", T0)
    assert failed is not None and failed.lifecycle is Lifecycle.FAILED
    # Adding to a held position keeps the stop it has.
    desk.fill("buy", "1", "50000")
    assert gov.govern_entry(_entry("e3", "45000"), now=T0) is None
    assert [s.intent_id for s in gov.states()] == []


def test_attach_stop_on_a_governed_position_only_tightens(desk: Desk) -> None:
    desk.fill("buy", "1", "50000")
    now = desk.mark("50000")
    desk.gov.tick(now)  # adopts it: 2 % stop at 49,000, R 1,000
    pid = _position_id(desk)
    (before,) = desk.gov.states()
    for level, words in (
        ("48000", "would loosen the long's stop governed at 49,000"),
        ("50000", "is at or above the mark 50,000 of the long"),
        ("50100", "is at or above the mark 50,000 of the long"),
    ):
        with pytest.raises(InvalidValue, match=words) as refused:
            desk.gov.attach(pid, "swing", stop=D(level))
        assert refused.value.field == "stop"
        assert desk.gov.states() == [before]  # nothing changed, the profile neither
    state = desk.gov.attach(pid, "standard", stop=D("49500.05"))
    assert state.stop_override == D("49500.1")  # snapped up: never looser than asked
    later = desk.mark("50010", T0 + timedelta(minutes=1))
    (checked,) = desk.gov.tick(later).plans
    (action,) = checked.plan.actions
    assert action.kind.value == "MOVE_STOP" and action.rule == "given_stop"
    assert (action.old_value, action.new_value) == (D("49000.0"), D("49500.1"))
    assert "given stop (set by the trader" in action.reason
    (view,) = desk.gov.overview(later)
    assert view.state.stop_price == D("49500.1") and view.state.risk_per_unit == D("1000.0")
    # Applied once; the trailing rules go on tightening from it.
    assert desk.gov.tick(later + timedelta(minutes=1)).plans == ()
    # A looser level than the working stop at the venue is refused as well.
    with desk.rt.store() as uow:
        uow.oms.put_protections([_protection(D("49800.0"))])
        uow.commit()
    with pytest.raises(InvalidValue, match="working at the venue at 49,800"):
        desk.gov.attach(pid, "standard", stop=D("49600"))


def _protection(level: Decimal, pending: Decimal | None = None) -> Protection:
    return Protection(
        account_id="acct",
        venue="paper",
        symbol=PERP.symbol,
        slot=PositionSide.NET,
        direction=1,
        level=level,
        qty=D(1),
        trigger=TriggerPrice.MARK,
        mode=ProtectionMode.NATIVE,
        updated_at=T0,
        order_id="rd-stop",
        pending=None if pending is None else PendingStop(pending, D(1), T0),
    )


def test_the_overview_shows_the_venues_stop_when_it_is_not_the_governed_one(desk: Desk) -> None:
    desk.fill("buy", "1", "50000")
    now = desk.mark("50000")
    desk.gov.tick(now)  # governed stop 49,000; nothing at the venue yet
    (view,) = desk.gov.overview(now)
    assert view.venue_stop is None and view.stop_differs
    for protection, differs in (
        (_protection(D("49000.0")), False),
        (_protection(D("48500.0")), True),  # the replacement has not reached the venue
        (_protection(D("48500.0"), pending=D("49000.0")), True),  # under way
    ):
        with desk.rt.store() as uow:
            uow.oms.put_protections([protection])
            uow.commit()
        (view,) = desk.gov.overview(now)
        assert view.venue_stop == protection and view.stop_differs is differs
