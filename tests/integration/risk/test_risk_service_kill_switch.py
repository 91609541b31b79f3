"""The kill switch through RiskService: triggers in monitor(), the configurable policy,
escalate/reset persisted with their history, alerts stored and de-duplicated, and a new process
reading the persisted state."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from risk_service_kit import DAY, T0, Desk, DeskFactory, MarginMode, order
from typer.testing import CliRunner

from riskdesk.bootstrap.risk_settings import KillSwitchSettings, MonitorSettings, RiskSettings
from riskdesk.bootstrap.settings import Settings
from riskdesk.domain.errors import InvalidValue, StateError
from riskdesk.domain.risk.decisions import Denied, RiskCode
from riskdesk.domain.risk.monitors import AlertLevel
from riskdesk.domain.risk.trading_state import TradingState
from riskdesk.interfaces.cli.app import app as cli_app

A, R, H, F = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED, TradingState.FLATTEN


def policy(**kw: object) -> Settings:
    monitors = MonitorSettings(drawdown_alert=min(0.15, float(kw.get("drawdown_limit", 0.20))))  # type: ignore[arg-type]
    return Settings(
        risk=RiskSettings(kill_switch=KillSwitchSettings(**kw), monitors=monitors)  # type: ignore[arg-type]
    )


def _daily_loss(desk: Desk) -> None:
    """Day-start snapshot at 100,000, long 1 BTC from 50,000, mark 44,000: −6 % today."""
    desk.snapshot(DAY)
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=1))
    desk.marks(perp="44000")


def _drawdown(desk: Desk, low: str) -> None:
    """Peak 110,000 (snapshot at a 60,000 mark, no day-start snapshot), then the mark falls."""
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=2))
    desk.marks(perp="60000", at=T0 - timedelta(hours=1))
    desk.snapshot(T0 - timedelta(hours=1))
    desk.marks(perp=low)


def _near_liquidation(desk: Desk) -> None:
    """Isolated 20x long: liquidation ≈ 47,739; at 48,000 it is 0.54 % away."""
    desk.fill(
        "buy",
        "1",
        "50000",
        at=T0 - timedelta(hours=1),
        leverage="20",
        margin_mode=MarginMode.ISOLATED,
    )
    desk.marks(perp="48000")


# ----------------------------------------------------------------------------- triggers


def test_initial_status_is_active(desk: Desk) -> None:
    status = desk.risk.status()
    assert status.state is A
    assert desk.risk.history() == []


def test_daily_loss_moves_trading_to_reducing(desk: Desk) -> None:
    _daily_loss(desk)
    result = desk.risk.monitor()
    assert result.state.state is R
    assert result.change is not None
    assert (result.change.old, result.change.new) == (A, R)
    assert result.change.trigger == "daily_loss"
    assert result.change.reason == "daily loss 6.00 % reached the limit 5 %"
    assert result.change.by == "system"
    assert desk.risk.status().state is R
    # The next tick changes nothing (no repeated transition).
    again = desk.risk.monitor()
    assert again.change is None and again.state.state is R
    assert len(desk.risk.history()) == 1
    entry = desk.risk.check(order("0.01")).decision
    assert isinstance(entry, Denied) and entry.code is RiskCode.TRADING_STATE
    assert desk.risk.check(order("0.5", "sell")).decision.approved


def test_drawdown_halts_trading(desk: Desk) -> None:
    _drawdown(desk, "30000")  # equity 80,000 vs peak 110,000: 27.3 %
    result = desk.risk.monitor()
    assert result.state.state is H
    assert result.change is not None and result.change.trigger == "drawdown"
    assert result.change.reason == "drawdown 27.27 % reached the limit 20 %"
    kinds = {r.kind: r.level for r in result.readings}
    assert kinds["drawdown"] is AlertLevel.CRITICAL


def test_drawdown_of_exactly_the_limit_halts(desk: Desk) -> None:
    _drawdown(desk, "38000")  # equity 88,000 vs peak 110,000: exactly 20 %
    assert desk.risk.monitor().state.state is H


def test_liquidation_emergency_moves_trading_to_reducing(desk: Desk) -> None:
    _near_liquidation(desk)
    result = desk.risk.monitor()
    assert result.state.state is R
    assert result.change is not None and result.change.trigger == "liquidation_emergency"
    assert "0.54 % from its liquidation price" in result.change.reason
    (reading,) = [r for r in result.readings if r.kind == "liquidation"]
    assert reading.level is AlertLevel.EMERGENCY


def test_stale_data_halts_trading(desk: Desk) -> None:
    desk.fill("buy", "0.1", "50000", at=T0 - timedelta(hours=1))
    desk.marks(perp="50000")
    assert desk.risk.monitor(now=T0 + timedelta(seconds=299)).change is None
    result = desk.risk.monitor(now=T0 + timedelta(seconds=301))
    assert result.state.state is H
    assert result.change is not None and result.change.trigger == "stale_data"
    assert result.change.reason.endswith("mark is 301 s old (alert at 300 s)")


def test_monitor_uses_the_clock_for_stale_data(desk: Desk) -> None:
    desk.fill("buy", "0.1", "50000", at=T0 - timedelta(hours=1))
    desk.marks(perp="50000")
    desk.clock.advance(timedelta(minutes=10))
    assert desk.risk.monitor().state.state is H


@pytest.mark.parametrize(
    ("settings", "setup", "state"),
    [
        (policy(on_daily_loss="flatten"), _daily_loss, F),
        (policy(on_daily_loss="active"), _daily_loss, A),
        (policy(on_liquidation_emergency="halted"), _near_liquidation, H),
        (policy(on_drawdown="reducing", drawdown_limit=0.05), lambda d: _drawdown(d, "54000"), R),
    ],
    ids=["daily-loss-flatten", "daily-loss-off", "liquidation-halted", "drawdown-5pct-reducing"],
)
def test_policy_decides_the_target_state(
    new_desk: DeskFactory, settings: Settings, setup: object, state: TradingState
) -> None:
    desk = new_desk(settings=settings)
    setup(desk)  # type: ignore[operator]
    assert desk.risk.monitor().state.state is state
    assert desk.risk.status().state is state


def test_stale_policy_is_configurable(new_desk: DeskFactory) -> None:
    desk = new_desk(settings=policy(on_stale_data="reducing"))
    desk.fill("buy", "0.1", "50000", at=T0 - timedelta(hours=1))
    desk.marks(perp="50000")
    assert desk.risk.monitor(now=T0 + timedelta(minutes=10)).state.state is R


def test_several_triggers_take_the_most_severe_in_one_transition(desk: Desk) -> None:
    desk.snapshot(DAY)
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=1))
    desk.marks(perp="20000")  # −30 % today and from the peak: daily loss and drawdown
    result = desk.risk.monitor()
    assert result.state.state is H
    assert [(c.new, c.trigger) for c in desk.risk.history()] == [(H, "drawdown")]


def test_triggers_never_relax_a_more_severe_state(desk: Desk) -> None:
    desk.risk.escalate(F, "manual", "flatten everything", by="alice")
    _daily_loss(desk)
    result = desk.risk.monitor()
    assert result.change is None
    assert result.state.state is F
    assert len(desk.risk.history()) == 1


# ----------------------------------------------------------------------------- escalate / reset


def test_escalate_and_reset_are_persisted_with_history(desk: Desk) -> None:
    s1, c1 = desk.risk.escalate(R, "manual", "news", by="alice")
    assert c1 is not None and s1.state is R
    desk.clock.advance(timedelta(minutes=1))
    same, none = desk.risk.escalate(R, "manual", "again", by="alice")
    assert none is None and same.state is R
    lower, none = desk.risk.escalate(A, "manual", "relax?", by="alice")
    assert none is None and lower.state is R
    desk.risk.escalate(F, "manual", "close all", by="bob")  # a jump of two levels
    desk.clock.advance(timedelta(minutes=1))
    status, change = desk.risk.reset("positions closed, reviewed", by="carol", target=H)
    assert status.state is H and change.old is F
    desk.clock.advance(timedelta(minutes=1))
    desk.risk.reset("all clear", by="carol")
    assert desk.risk.status().state is A
    assert desk.risk.status().trigger == "manual_reset"
    history = [(c.old, c.new, c.trigger, c.reason, c.by) for c in desk.risk.history()]
    assert history == [
        (A, R, "manual", "news", "alice"),
        (R, F, "manual", "close all", "bob"),
        (F, H, "manual_reset", "positions closed, reviewed", "carol"),
        (H, A, "manual_reset", "all clear", "carol"),
    ]
    times = [c.ts for c in desk.risk.history()]
    assert times == sorted(times) and times[0] == T0


@pytest.mark.parametrize(
    ("reason", "by", "field"), [("", "alice", "reason"), ("  ", "a", "reason"), ("ok", "", "by")]
)
def test_reset_needs_a_reason_and_a_name_and_records_nothing_without(
    desk: Desk, reason: str, by: str, field: str
) -> None:
    desk.risk.escalate(H, "manual", "halt", by="alice")
    with pytest.raises(InvalidValue) as err:
        desk.risk.reset(reason, by=by)
    assert err.value.field == field
    assert desk.risk.status().state is H
    assert len(desk.risk.history()) == 1


def test_reset_must_lower_the_state(desk: Desk) -> None:
    with pytest.raises(StateError):
        desk.risk.reset("nothing to reset", by="alice")
    desk.risk.escalate(R, "manual", "x", by="alice")
    with pytest.raises(StateError):
        desk.risk.reset("up is not a reset", by="alice", target=H)
    assert desk.risk.status().state is R


def test_escalate_needs_a_reason(desk: Desk) -> None:
    with pytest.raises(InvalidValue):
        desk.risk.escalate(H, "manual", "   ")
    assert desk.risk.history() == []


_READER = """
import json, sys
from datetime import datetime
from decimal import Decimal
from riskdesk.adapters.clock import ManualClock
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import build
from riskdesk.domain.orders import OrderIntent
from riskdesk.domain.values import Side
rt = build(Settings(), sys.argv[1], clock=ManualClock(datetime.fromisoformat(sys.argv[2])), migrate=False)
risk = rt.app.risk
s = risk.status()
entry = OrderIntent("p-1", "acct", "paper", "BTC/USDT:USDT", Side.BUY, Decimal("0.01"))
decision = risk.check(entry, what_if=True).decision
print(json.dumps({
    "state": s.state.label, "trigger": s.trigger, "reason": s.reason, "by": s.by,
    "since": s.since.isoformat(),
    "history": [[c.old.label, c.new.label, c.reason] for c in risk.history()],
    "entry": decision.code.value if not decision.approved else "approved",
}))
rt.store.dispose()
"""


def _python(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_new_process_reads_the_persisted_state(desk: Desk) -> None:
    desk.marks(perp="50000")
    desk.risk.escalate(H, "manual", "desk halted by ops", by="ops")
    desk.rt.store.dispose()  # nothing held open: the other process reads the file
    seen = json.loads(_python(_READER, desk.rt.url, (T0 + timedelta(minutes=1)).isoformat()))
    assert seen == {
        "state": "halted",
        "trigger": "manual",
        "reason": "desk halted by ops",
        "by": "ops",
        "since": T0.isoformat(),
        "history": [["active", "halted", "desk halted by ops"]],
        "entry": "trading_state",
    }
    restarted = desk.reopen()
    restarted.risk.reset("restarted and checked", by="alice")
    assert [c.new for c in restarted.risk.history()] == [H, A]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("riskdesk")
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_cli_trips_and_reads_the_state_across_processes(desk: Desk) -> None:
    url = desk.rt.url
    done = _cli(
        "risk",
        "halt",
        "--reason",
        "halted from the cli",
        "--state",
        "flatten",
        "--by",
        "ops",
        "--db",
        url,
    )
    assert done.returncode == 0, done.stderr
    assert desk.risk.status().state is F  # written by another process
    shown = _cli("risk", "state", "--db", url, "--json")
    assert shown.returncode == 0, shown.stderr
    state = json.loads(shown.stdout)["paper"]  # the desk's account is on the paper venue
    assert (state["state"], state["trigger"], state["reason"], state["by"]) == (
        "flatten",
        "manual",
        "halted from the cli",
        "ops",
    )
    assert [(h["old"], h["new"]) for h in state["history"]] == [("active", "flatten")]
    # A reset without a reason is refused and changes nothing.
    runner = CliRunner()
    refused = runner.invoke(cli_app, ["risk", "reset", "--reason", "  ", "--db", url])
    assert refused.exit_code != 0
    assert "reason" in refused.output
    assert desk.risk.status().state is F
    ok = runner.invoke(
        cli_app,
        ["risk", "reset", "--reason", "flat now", "--by", "alice", "--to", "halted", "--db", url],
    )
    assert ok.exit_code == 0, ok.output
    last = desk.risk.history()[-1]
    assert (last.old, last.new, last.reason, last.by) == (F, H, "flat now", "alice")


# ----------------------------------------------------------------------------- alerts


def test_alerts_are_stored_and_not_repeated_every_tick(desk: Desk) -> None:
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=1))
    desk.marks(perp="44000")  # −12 %: warning
    first = desk.risk.monitor()
    assert [(a.kind, a.level) for a in first.alerts] == [("position_loss", AlertLevel.WARNING)]
    for minutes in (1, 2, 3):
        desk.marks(perp="44000", at=T0 + timedelta(minutes=minutes))
        assert desk.risk.monitor().alerts == []
    desk.marks(perp="39000", at=T0 + timedelta(minutes=4))  # −22 %: critical
    assert [a.level for a in desk.risk.monitor().alerts] == [AlertLevel.CRITICAL]
    desk.marks(perp="50000", at=T0 + timedelta(minutes=5))
    back = desk.risk.monitor().alerts
    assert [(a.level, a.message.endswith("is back within limits")) for a in back] == [
        (AlertLevel.INFO, True)
    ]
    stored = desk.risk.alerts()
    assert [a.level for a in stored] == [AlertLevel.WARNING, AlertLevel.CRITICAL, AlertLevel.INFO]
    assert (
        stored[0].message
        == "BTC/USDT:USDT (acct, long) is down 12.00 % on its entry (alert at 10 %)"
    )
    assert [a.level for a in desk.risk.alerts(limit=1)] == [AlertLevel.INFO]


def test_a_restarted_service_does_not_repeat_a_recent_alert(desk: Desk) -> None:
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=1))
    desk.marks(perp="44000")
    assert len(desk.risk.monitor().alerts) == 1
    restarted = desk.reopen()
    # Monitors measure time on the clock, so the clock moves with the marks.
    desk.clock.set(T0 + timedelta(minutes=10))
    desk.marks(perp="44000", at=T0 + timedelta(minutes=10))
    assert restarted.risk.monitor().alerts == []
    # After the cool-down (15 min) the unchanged alert is raised again.
    desk.clock.set(T0 + timedelta(minutes=15))
    desk.marks(perp="44000", at=T0 + timedelta(minutes=15))
    assert len(restarted.risk.monitor().alerts) == 1
    assert len(desk.risk.alerts()) == 2


def test_deposit_at_the_day_start_snapshot_is_not_a_daily_loss(desk: Desk) -> None:
    desk.rt.app.book.move_cash("acct", "USDT", Decimal(50_000), DAY, "deposit", "dep-2")
    desk.snapshot(DAY)
    desk.marks(perp="50000")
    assert desk.risk.monitor().state.state is A
