"""``RiskService.live_book``: the risk book the last mark update built, shared with the
engine's risk gate (which keeps it current), offered to other callers without a rebuild."""

from __future__ import annotations

from datetime import timedelta

import pytest
from risk_service_kit import T0, Desk, order

from riskdesk.application.engine import ServiceRiskGate
from riskdesk.domain.risk.aggregates import RiskBook


def test_the_live_book_is_the_mark_updates_and_the_gates(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk.fill("buy", "0.1", "50000", at=T0 - timedelta(hours=1))
    desk.marks(perp="50000")
    update = desk.risk.on_mark_update()
    gate = ServiceRiskGate(desk.risk)
    gate.adopt(update.book)
    builds: list[object] = []
    original = desk.risk.risk_book

    def counting(*args: object, **kw: object) -> RiskBook:
        builds.append(args)
        return original(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(desk.risk, "risk_book", counting)
    assert desk.risk.live_book() is update.book
    # An approval through the gate is seen by every reader of the live book at once.
    assert gate.check(order("0.01", intent_id="live-1"), T0).approved
    live = desk.risk.live_book()
    assert live is update.book and len(live.pending) == 1
    assert builds == []


def test_a_refresh_forgets_it_and_the_next_reader_rebuilds_it_once(desk: Desk) -> None:
    desk.marks(perp="50000")
    update = desk.risk.on_mark_update()
    gate = ServiceRiskGate(desk.risk)
    gate.adopt(update.book)
    gate.refresh()
    rebuilt = desk.risk.live_book()
    assert rebuilt is not update.book
    # The gate's next check uses that same rebuilt book (no second build).
    gate.check(order("0.01", intent_id="live-2"), T0)
    assert gate.book is rebuilt


def test_without_a_mark_update_it_is_built_on_first_use(desk: Desk) -> None:
    desk.marks(perp="50000")
    first = desk.risk.live_book()
    assert desk.risk.live_book() is first
    assert first.instruments  # priced at the stored marks
