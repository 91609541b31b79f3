"""The monitors' de-duplication memory after a restart: it is rebuilt from the stored alerts the
monitors themselves raised, never from the other alerts of the journal (the OMS supervisor's
``protection:*``, recovery's ``recovery:*``), and each key keeps the kind it was raised under."""

from __future__ import annotations

from datetime import timedelta

from risk_service_kit import T0, Desk

from riskdesk.domain.risk.monitors import Alert, AlertLevel

POSITION = "acct|paper:BTC/USDT:USDT|net"


def _store(desk: Desk, *alerts: Alert) -> None:
    with desk.rt.store() as uow:
        uow.risk.add_alerts(list(alerts))
        uow.commit()


def _at(desk: Desk, minutes: int, perp: str) -> None:
    """Move the clock and the BTC mark together (monitors measure mark ages on the clock)."""
    desk.clock.set(T0 + timedelta(minutes=minutes))
    desk.marks(perp=perp, at=T0 + timedelta(minutes=minutes))


def test_a_supervisor_alert_is_not_cleared_by_the_monitors(desk: Desk) -> None:
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=1))
    desk.marks(perp="50000")
    just_before = T0 - timedelta(minutes=1)
    _store(
        desk,
        Alert(
            f"protection:{POSITION}", "guard_stop", AlertLevel.CRITICAL, "guard", 0, 0, just_before
        ),
        Alert(
            f"recovery:{POSITION}",
            "recovery_missing_stop",
            AlertLevel.CRITICAL,
            "drift",
            0,
            0,
            just_before,
        ),
    )
    restarted = desk.reopen()
    assert restarted.risk.on_mark_update().alerts == []
    _at(desk, 1, "50000")
    assert restarted.risk.on_mark_update().alerts == []
    # The journal still holds the supervisor's alerts, and nothing the monitors made up.
    assert [a.key for a in desk.risk.alerts()] == [f"protection:{POSITION}", f"recovery:{POSITION}"]


def test_a_monitor_alert_is_remembered_across_a_restart_and_clears_under_its_kind(
    desk: Desk,
) -> None:
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=1))
    desk.marks(perp="44000")  # −12 %: warning
    assert [(a.kind, a.level) for a in desk.risk.on_mark_update().alerts] == [
        ("position_loss", AlertLevel.WARNING)
    ]
    restarted = desk.reopen()
    _at(desk, 5, "44000")
    assert restarted.risk.on_mark_update().alerts == []  # not repeated after the restart
    _at(desk, 6, "50000")
    back = restarted.risk.on_mark_update().alerts
    assert [(a.key, a.kind, a.level) for a in back] == [
        ("loss:acct:paper:BTC/USDT:USDT:net", "position_loss", AlertLevel.INFO)
    ]
    assert back[0].message.endswith("is back within limits")


def test_a_book_alert_clears_under_its_kind_after_a_restart(desk: Desk) -> None:
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=2))
    desk.marks(perp="60000", at=T0 - timedelta(hours=1))
    desk.risk.revalue(T0 - timedelta(hours=1))  # the paper peak: 110,000
    desk.marks(perp="40000")  # paper equity 90,000: −18 %, a drawdown alert
    raised = [a for a in desk.risk.on_mark_update().alerts if a.kind == "drawdown"]
    assert [a.key for a in raised] == ["paper:drawdown"]
    restarted = desk.reopen()
    _at(desk, 5, "40000")
    assert [a for a in restarted.risk.on_mark_update().alerts if "drawdown" in a.key] == []
    _at(desk, 6, "60000")
    back = [a for a in restarted.risk.on_mark_update().alerts if "drawdown" in a.key]
    assert [(a.key, a.kind, a.level) for a in back] == [
        ("paper:drawdown", "drawdown", AlertLevel.INFO)
    ]
