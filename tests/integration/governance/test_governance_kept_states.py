"""The management tick keeps the governance states in memory between ticks and reloads them only
when the store changed under it (the store's revision); a service limited to some accounts never
touches the others' states."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from test_governance_service import T0, Desk

from riskdesk.adapters.persistence import SqlStore
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import build
from riskdesk.domain.governance import Lifecycle, new_state, preset

D = Decimal


@pytest.fixture
def desk(sqlite_url: str) -> Iterator[Desk]:
    d = Desk(sqlite_url)
    yield d
    d.rt.store.dispose()


def test_every_write_of_states_raises_the_revision(store_url: str) -> None:
    with SqlStore(store_url) as store:
        with store() as uow:
            assert uow.governance.revision() == 0
            uow.governance.put_states([new_state("a", "acct", "paper:X", "net", preset("swing"))])
            uow.commit()
        with store() as uow:
            first = uow.governance.revision()
            uow.governance.put_states([])  # nothing written: no new revision
            assert uow.governance.revision() == first == 1
            uow.governance.put_states([new_state("b", "acct", "paper:X", "net", preset("swing"))])
            uow.commit()
        with store() as uow:
            assert uow.governance.revision() == 2


def test_stored_profiles_are_interned(store_url: str) -> None:
    with SqlStore(store_url) as store:
        with store() as uow:
            uow.governance.put_states(
                [new_state(f"i{k}", "acct", "paper:X", "net", preset("perp_roe")) for k in range(3)]
            )
            uow.commit()
        with store() as uow:
            states = uow.governance.states()
        assert len({id(s.profile) for s in states}) == 1


def test_a_write_by_another_process_is_seen_by_the_next_tick(desk: Desk, sqlite_url: str) -> None:
    desk.fill("buy", "1", "50000")
    now = desk.mark("50000")
    (plan,) = desk.gov.tick(now).plans
    assert plan.plan.profile == "standard"
    # Another runtime over the same database attaches a profile and a given stop.
    other = build(Settings(), sqlite_url, clock=desk.clock, migrate=False)
    try:
        (position,) = other.app.book.positions()
        other.app.governance.attach(position.position_id, "swing", stop=D("49500"))
    finally:
        other.store.dispose()
    # The kept copy is stale: the next tick reloads it and governs with the new profile and
    # the given (tighter) stop.
    later = desk.mark("50100", T0 + timedelta(minutes=5))
    desk.gov.tick(later)
    (view,) = desk.gov.overview(later)
    assert view.state.profile.name == "swing" and view.state.stop_override == D("49500.0")
    assert view.state.stop_price == D("49500.0") and view.state.stop_rule == "given_stop"


def test_ticks_keep_their_copy_and_store_only_changes(desk: Desk) -> None:
    desk.fill("buy", "1", "50000")
    desk.gov.tick(desk.mark("50000"))
    with desk.rt.store() as uow:
        revision = uow.governance.revision()
    # A quiet tick changes nothing: nothing is written, the revision stays.
    desk.gov.tick(desk.mark("50010", T0 + timedelta(minutes=1)))
    with desk.rt.store() as uow:
        assert uow.governance.revision() == revision
    # A lock-profit move is written once, and the next tick starts from it.
    result = desk.gov.tick(desk.mark("51080", T0 + timedelta(hours=1)))
    assert [a.kind.value for p in result.plans for a in p.plan.actions] == ["MOVE_STOP"]
    with desk.rt.store() as uow:
        assert uow.governance.revision() == revision + 1
        (stored,) = uow.governance.states()
    again = desk.gov.tick(desk.mark("51080", T0 + timedelta(hours=1, minutes=1)))
    assert again.plans == ()
    assert stored.stop_price is not None and stored.stop_price > D("50000")


def test_a_service_limited_to_some_accounts_leaves_the_others_alone(sqlite_url: str) -> None:
    desk = Desk(sqlite_url, Settings(governance={"accounts": ["someone-else"]}))
    try:
        desk.fill("buy", "1", "50000")
        now = desk.mark("50000")
        result = desk.gov.tick(now)
        assert result.positions == 0 and result.plans == ()
        # A state of the ungoverned account stored by someone else stays as it is.
        state = new_state("foreign", "acct", "paper:BTC/USDT:USDT", "net", preset("standard"))
        with desk.rt.store() as uow:
            uow.governance.put_states([state])
            uow.commit()
        desk.gov.tick(now + timedelta(days=3))
        with desk.rt.store() as uow:
            assert uow.governance.get("foreign") == state
        assert state.lifecycle is Lifecycle.PENDING_ENTRY
    finally:
        desk.rt.store.dispose()
