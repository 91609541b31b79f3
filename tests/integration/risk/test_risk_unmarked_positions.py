"""A position that has never had a mark: its risk is unknown, so entries in it are denied and a
stale-data alert is raised; the desk's kill switch moves only when data that was flowing went
stale, unless ``kill_switch.unmarked_trips_stale_data`` says otherwise."""

from __future__ import annotations

from datetime import timedelta

from risk_service_kit import ETH, T0, Desk, DeskFactory, order

from riskdesk.bootstrap.risk_settings import KillSwitchSettings, RiskSettings
from riskdesk.bootstrap.settings import Settings
from riskdesk.domain.risk.decisions import Denied, RiskCode
from riskdesk.domain.risk.monitors import AlertLevel
from riskdesk.domain.risk.trading_state import TradingState


def _eth_never_marked(desk: Desk) -> None:
    """Long 0.1 BTC (marked now) and 1 ETH (never marked)."""
    desk.fill("buy", "0.1", "50000", at=T0 - timedelta(hours=1))
    desk.fill("buy", "1", "2000", symbol=ETH.symbol, at=T0 - timedelta(hours=1))
    desk.marks(perp="50000")


def test_a_position_never_marked_alerts_and_blocks_its_entries_but_does_not_halt(
    desk: Desk,
) -> None:
    _eth_never_marked(desk)
    update = desk.risk.on_mark_update()
    assert update.monitor.state.state is TradingState.ACTIVE
    assert update.monitor.change is None
    assert desk.risk.history() == []
    (alert,) = [a for a in update.monitor.alerts if a.kind == "stale_data"]
    assert alert.key == "stale:acct:paper:ETH/USDT:USDT:net"
    assert alert.level is AlertLevel.CRITICAL
    assert alert.message.startswith("ETH/USDT:USDT (acct, long) has no mark")
    # New risk in the unmarked symbol is refused; the marked one trades normally.
    eth = desk.risk.check(order("0.1", symbol=ETH.symbol)).decision
    assert isinstance(eth, Denied) and eth.code is RiskCode.NO_MARK
    assert desk.risk.check(order("0.01")).decision.approved
    # Closing the unmarked position is still possible (reducing orders skip the mark check).
    assert desk.risk.check(order("1", "sell", symbol=ETH.symbol)).decision.approved


def test_data_that_stopped_flowing_still_halts_next_to_an_unmarked_position(desk: Desk) -> None:
    _eth_never_marked(desk)
    result = desk.risk.monitor(now=T0 + timedelta(seconds=301))
    assert result.state.state is TradingState.HALTED
    assert result.change is not None and result.change.trigger == "stale_data"
    # The reason names the position whose mark went stale, not the one never marked.
    assert result.change.reason == "BTC/USDT:USDT (acct, long) mark is 301 s old (alert at 300 s)"


def test_the_policy_can_make_an_unmarked_position_trip_the_switch(
    new_desk: DeskFactory,
) -> None:
    settings = Settings(
        risk=RiskSettings(kill_switch=KillSwitchSettings(unmarked_trips_stale_data=True))
    )
    desk = new_desk(settings=settings)
    _eth_never_marked(desk)
    result = desk.risk.on_mark_update().monitor
    assert result.state.state is TradingState.HALTED
    assert result.change is not None and result.change.trigger == "stale_data"
    assert result.change.reason.startswith("ETH/USDT:USDT (acct, long) has no mark")


def test_the_policy_default_is_documented_in_the_settings() -> None:
    field = KillSwitchSettings.model_fields["unmarked_trips_stale_data"]
    assert field.default is False
    assert field.description and "never marked" in field.description
    assert RiskSettings().to_policy().unmarked_trips_stale_data is False
