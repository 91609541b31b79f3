"""Stop changes a crash (or the stop-edit budget) interrupts: the change is journaled with the
protection before the venue is asked, so recovery finishes it by its intent — the stop
governance intends stays, the one it supersedes goes, never a moment without a working stop —
and everything recovery adopts, cancels or moves is drift with an alert.

A "crash" here raises at a crash point; "restart" builds new services over the same journal,
ledger and venue (``oms_unit_kit.restart``).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from oms_unit_kit import PERP, Crash, Desk, crash_at, intent, make_desk, restart

from riskdesk.application.oms import AllowAll
from riskdesk.domain.order_lifecycle import OrderStatus
from riskdesk.domain.orders import OrderIntent
from riskdesk.domain.reconcile import DriftKind
from riskdesk.domain.risk.decisions import Decision
from riskdesk.domain.values import PositionSide
from riskdesk.ports.broker import BrokerCapabilities

D = Decimal
S = OrderStatus
KEY = f"acct|{PERP.key}|net"


def _protected(native_amend: bool = False, **kw) -> Desk:  # type: ignore[no-untyped-def]
    desk = make_desk(capabilities=BrokerCapabilities(native_amend=native_amend), **kw)
    desk.bar("8000", "8000", "8000", "8000")
    desk.oms.submit(intent("e", qty="2", protective_stop="7800"))
    desk.sup.review()
    return desk


def _working_stops(desk: Desk) -> list[tuple[Decimal | None, Decimal]]:
    return sorted(
        (v.intent.stop_price, v.intent.qty - v.filled_qty)
        for v in desk.broker.open_orders()
        if v.intent.stop_price is not None
    )


def _move(desk: Desk, level: str) -> None:
    desk.sup.set_stop("acct", PERP.key, PositionSide.NET, D(level), reason="lock profit")


@pytest.mark.parametrize("point", ["journal_written", "submitted"])
def test_a_replacement_cut_by_a_crash_keeps_the_new_stop_and_cancels_the_old(point: str) -> None:
    desk = _protected()
    desk.oms.checkpoint = crash_at(point)
    with pytest.raises(Crash):
        _move(desk, "7900")
    # Both stops may work at the venue now; the protection still names the old one.
    desk = restart(desk)
    report = desk.recovery.run()
    assert _working_stops(desk) == [(D(7900), D(2))]
    p = desk.sup.get(KEY)
    assert p is not None and (p.level, p.qty, p.pending) == (D(7900), D(2), None)
    [drift] = [d for d in report.drifts if d.kind is DriftKind.STOP_REPLACEMENT]
    assert "kept" in drift.resolution and "7900" in drift.resolution and "7800" in drift.resolution
    kinds = {a.kind for a in desk.alerts}
    assert {"stop_replacement_resumed", "recovery_stop_replacement"} <= kinds
    assert desk.recovery.run().drifts == []  # done: a second pass finds nothing


def test_a_replacement_cut_after_the_new_stop_worked_cancels_the_superseded_one() -> None:
    desk = _protected()
    desk.oms.checkpoint = crash_at("stop_replace")
    with pytest.raises(Crash):
        _move(desk, "7900")
    assert _working_stops(desk) == [(D(7800), D(2)), (D(7900), D(2))]
    desk = restart(desk)
    report = desk.recovery.run()
    assert _working_stops(desk) == [(D(7900), D(2))]
    assert [d.kind for d in report.drifts] == [DriftKind.ORPHAN_STOP]
    assert "orphan_stop_cancelled" in {a.kind for a in desk.alerts}


def test_a_change_cut_before_its_order_was_journaled_is_made_on_restart() -> None:
    class Dies:
        """A risk gate the process dies in (after the protection journaled the change)."""

        def check(self, intent: OrderIntent, now: object) -> Decision:
            raise Crash("risk")

    desk = _protected()
    desk.oms.risk = Dies()
    with pytest.raises(Crash):
        _move(desk, "7900")
    p = desk.sup.get(KEY)
    assert p is not None and p.pending is not None and p.pending.level == D(7900)
    desk = restart(desk, risk=AllowAll())
    report = desk.recovery.run()
    assert _working_stops(desk) == [(D(7900), D(2))]
    assert [d.kind for d in report.drifts] == [DriftKind.STOP_REPLACEMENT]


def test_a_replacement_that_never_worked_is_placed_again_the_old_stop_covering_meanwhile() -> None:
    desk = _protected()
    desk.oms.checkpoint = crash_at("journal_written")
    with pytest.raises(Crash):
        _move(desk, "7900")
    desk.broker.faults.add("submit:reject:stop_market:1")  # the resend after the restart fails
    desk = restart(desk)
    report = desk.recovery.run()
    assert _working_stops(desk) == [(D(7900), D(2))]
    [drift] = [d for d in report.drifts if d.kind is DriftKind.STOP_REPLACEMENT]
    assert "replacement redone" in drift.resolution
    refused = [o for o in desk.oms.orders() if o.status is S.REJECTED]
    assert len(refused) == 1 and refused[0].intent.stop_price == D(7900)


def test_an_amendment_the_journal_missed_is_adopted_from_the_venue() -> None:
    desk = _protected(native_amend=True)
    desk.oms.checkpoint = crash_at("amended")
    with pytest.raises(Crash):
        _move(desk, "7900")
    p = desk.sup.get(KEY)
    assert p is not None and p.order_id is not None
    assert desk.oms.require(p.order_id).intent.stop_price == D(7800)  # the journal's view
    desk = restart(desk)
    report = desk.recovery.run()
    kinds = [d.kind for d in report.drifts]
    assert kinds == [DriftKind.ORDER_TERMS, DriftKind.STOP_REPLACEMENT]
    p = desk.sup.get(KEY)
    assert p is not None and (p.level, p.pending) == (D(7900), None)
    assert desk.oms.require(p.order_id or "").intent.stop_price == D(7900)
    assert _working_stops(desk) == [(D(7900), D(2))]


def test_an_amendment_cut_before_the_venue_saw_it_is_made_on_restart() -> None:
    desk = _protected(native_amend=True)
    desk.broker.faults.add("amend:unavailable")  # the venue never sees the amendment…
    desk.oms.config = desk.oms.config.__class__(submit_attempts=1)
    desk.oms.checkpoint = crash_at("submitted")  # …and the fallback replacement is cut
    with pytest.raises(Crash):
        _move(desk, "7900")
    desk.broker.faults.rules.clear()
    desk = restart(desk)
    desk.recovery.run()
    assert _working_stops(desk) == [(D(7900), D(2))]


def test_recovery_moves_a_stop_to_where_governance_intends_it() -> None:
    desk = _protected()
    desk = restart(desk, intended=lambda: {KEY: D("7950.0")})
    report = desk.recovery.run()
    assert _working_stops(desk) == [(D(7950), D(2))]
    [drift] = report.drifts
    assert drift.kind is DriftKind.STOP_LEVEL and "7950" in drift.resolution
    assert "recovery_stop_level" in {a.kind for a in desk.alerts}


def test_a_deferred_tightening_is_visible_and_made_when_the_budget_allows() -> None:
    desk = make_desk(
        capabilities=BrokerCapabilities(stop_edits_per_second=0.001, stop_edit_burst=1)
    )
    desk.bar("8000", "8000", "8000", "8000")
    desk.oms.submit(intent("e", protective_stop="7800"))
    desk.sup.review()  # placing spends the only token (and never waits)
    p = desk.sup.set_stop("acct", PERP.key, PositionSide.NET, D(7850))
    assert p.level == D(7800)
    assert p.pending is not None and (p.pending.level, p.pending.deferred) == (D(7850), True)
    assert [a.kind for a in desk.alerts].count("stop_edit_deferred") == 1
    assert [r.action for r in desk.sup.review()] == ["deferred"]  # still no budget
    assert [a.kind for a in desk.alerts].count("stop_edit_deferred") == 1  # told once
    assert _working_stops(desk) == [(D(7800), D(1))]
    desk.clock.advance(timedelta(seconds=1001))  # one token back
    [report] = desk.sup.review()
    assert report.action == "deferred edit made"
    assert _working_stops(desk) == [(D(7850), D(1))]
    p = desk.sup.get(KEY)
    assert p is not None and (p.level, p.pending) == (D(7850), None)


def test_a_stop_replaced_by_hand_is_adopted_not_undone() -> None:
    desk = _protected()
    p = desk.sup.get(KEY)
    assert p is not None and p.order_id is not None
    desk.oms.amend(p.order_id, stop_price=D(7900))  # cancel-replace (no native amend)
    [report] = desk.sup.review()
    assert report.action == "adopted stop"
    assert _working_stops(desk) == [(D(7900), D(2))]
    p = desk.sup.get(KEY)
    assert p is not None and p.level == D(7900)


def test_a_replacement_the_venue_cannot_confirm_keeps_the_old_stop_until_it_can() -> None:
    desk = _protected()
    desk.oms.checkpoint = crash_at("journal_written")
    with pytest.raises(Crash):
        _move(desk, "7900")
    desk = restart(desk)
    desk.broker.faults.add("query:unavailable::*")  # the venue cannot say what it holds
    report = desk.recovery.run()
    [drift] = [d for d in report.drifts if d.kind is DriftKind.STOP_REPLACEMENT]
    assert "unresolved" in drift.resolution
    assert _working_stops(desk) == [(D(7800), D(2))]  # the old stop still covers
    assert all(desk.sup.covered().values())
    desk.broker.faults.rules.clear()
    desk.recovery.run()  # the venue answers again: finished
    assert _working_stops(desk) == [(D(7900), D(2))]
