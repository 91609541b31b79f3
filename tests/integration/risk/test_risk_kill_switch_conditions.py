"""HALTED and FLATTEN disarm the emulated conditions that would open or add to a position
(cancelled in the condition journal with the kill switch's reason) and keep the protective ones
armed: stop-loss, take-profit and trailing stops that reduce a position, reduce-only exits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from test_risk_kill_switch_enforcement import BTC, ETH, Paper, _paper

from riskdesk.application.engine import StepReport
from riskdesk.application.kill_switch import KillSwitch
from riskdesk.bootstrap.oms_runtime import replay_run
from riskdesk.bootstrap.risk_runtime import enforce_state
from riskdesk.bootstrap.settings import Settings
from riskdesk.domain.conditional import ConditionalOrder, ConditionKind, ConditionStatus
from riskdesk.domain.order_lifecycle import OrderStatus
from riskdesk.domain.orders import OrderIntent, OrderType, TriggerPrice
from riskdesk.domain.risk.trading_state import TradingState
from riskdesk.domain.values import Side

REASON = "kill switch: trading is halted"


@pytest.fixture
def paper(tmp_path: Path) -> Iterator[Paper]:
    yield from _paper(tmp_path)


def _kill_switch(paper: Paper) -> KillSwitch:
    return KillSwitch(
        paper.rt.app.risk, paper.oms.orders, paper.clock, conditionals=paper.oms.conditionals
    )


def _cond(
    cond_id: str,
    kind: ConditionKind,
    side: str,
    qty: str,
    level: str | None,
    inst: object = BTC,
    **kw: object,
) -> ConditionalOrder:
    intent = OrderIntent(
        intent_id=cond_id,
        account_id="pu",
        venue="paper",
        symbol=inst.symbol,  # type: ignore[attr-defined]
        side=Side(side),
        qty=Decimal(qty),
        reduce_only=bool(kw.pop("reduce_only", False)),
    )
    return ConditionalOrder(
        cond_id=cond_id,
        intent=intent,
        watch=inst.key,  # type: ignore[attr-defined]
        kind=kind,
        level=None if level is None else Decimal(level),
        **kw,  # type: ignore[arg-type]
    )


def _arm_mix(paper: Paper) -> None:
    """Long 0.2 BTC; two entry conditions and three protective ones."""
    assert paper.submit("0.2").status is OrderStatus.FILLED
    paper.oms.conditionals.arm(
        [
            # Entries: a buy of ETH above 3,100 (no ETH held), a breakout buy stop adding to BTC.
            _cond("eth-above", ConditionKind.PRICE_ABOVE, "buy", "1", "3100", ETH),
            _cond("btc-breakout", ConditionKind.STOP_LOSS, "buy", "0.1", "51000"),
            # Protective: they shrink the 0.2 BTC long.
            _cond("btc-sl", ConditionKind.STOP_LOSS, "sell", "0.2", "47000"),
            _cond("btc-tp", ConditionKind.TAKE_PROFIT, "sell", "0.2", "55000"),
            _cond(
                "btc-trail",
                ConditionKind.TRAILING_STOP,
                "sell",
                "0.1",
                None,
                reduce_only=True,
                callback=Decimal("0.02"),
            ),
        ]
    )


def test_halted_disarms_entry_conditions_and_keeps_the_protective_ones(paper: Paper) -> None:
    _arm_mix(paper)
    paper.rt.app.risk.escalate(TradingState.HALTED, "manual", "ops halt")
    done = _kill_switch(paper).enforce()
    assert sorted(c.cond_id for c in done.disarmed) == ["btc-breakout", "eth-above"]
    assert all(c.status is ConditionStatus.CANCELED and c.reason == REASON for c in done.disarmed)
    assert sorted(c.cond_id for c in paper.oms.conditionals.live()) == [
        "btc-sl",
        "btc-tp",
        "btc-trail",
    ]
    # Recorded in the condition journal (what a restart re-arms from).
    journal = {c.cond_id: c for c in paper.oms.conditionals.all()}
    assert journal["eth-above"].status is ConditionStatus.CANCELED
    assert journal["eth-above"].reason == REASON
    assert journal["btc-sl"].status is ConditionStatus.ARMED
    # The market reaches the disarmed levels: nothing is released.
    assert paper.oms.conditionals.on_price(ETH.key, TriggerPrice.MARK, Decimal(3200)) == []
    assert paper.oms.conditionals.on_price(BTC.key, TriggerPrice.MARK, Decimal(51500)) == []
    # Enforcing again finds nothing more to disarm.
    assert _kill_switch(paper).enforce().disarmed == []


def test_flatten_disarms_entry_conditions_too(paper: Paper) -> None:
    _arm_mix(paper)
    paper.rt.app.risk.escalate(TradingState.FLATTEN, "manual", "close everything")
    done = _kill_switch(paper).enforce()
    assert sorted(c.cond_id for c in done.disarmed) == ["btc-breakout", "eth-above"]
    assert {c.reason for c in done.disarmed} == {"kill switch: trading is flatten"}
    assert [o.intent.symbol for o in done.closes] == [BTC.symbol]


def test_reducing_leaves_every_condition_armed(paper: Paper) -> None:
    _arm_mix(paper)
    paper.rt.app.risk.escalate(TradingState.REDUCING, "manual", "slow down")
    assert _kill_switch(paper).enforce().disarmed == []
    assert len(paper.oms.conditionals.live()) == 5


def test_a_waiting_oto_child_that_opens_another_instrument_is_disarmed(paper: Paper) -> None:
    """The parent is a resting reduce-only exit (it stays); its child would buy ETH."""
    paper.submit("0.2")
    parent = OrderIntent(
        intent_id="exit",
        account_id="pu",
        venue="paper",
        symbol=BTC.symbol,
        side=Side.SELL,
        qty=Decimal("0.2"),
        order_type=OrderType.LIMIT,
        price=Decimal("52000"),
        reduce_only=True,
    )
    child = _cond("then-eth", ConditionKind.PRICE_ABOVE, "buy", "1", "3100", ETH)
    order, _ = paper.oms.conditionals.oto(parent, child)
    assert order.status is OrderStatus.OPEN
    paper.rt.app.risk.escalate(TradingState.HALTED, "manual", "ops halt")
    done = _kill_switch(paper).enforce()
    assert done.cancelled == []  # the reduce-only parent stays
    assert [c.cond_id for c in done.disarmed] == ["then-eth"]


def test_a_bracket_keeps_its_exits_while_its_filled_entry_is_held(paper: Paper) -> None:
    entry = OrderIntent(
        intent_id="br",
        account_id="pu",
        venue="paper",
        symbol=BTC.symbol,
        side=Side.BUY,
        qty=Decimal("0.1"),
    )
    order, legs = paper.oms.conditionals.bracket(entry, Decimal(45000), Decimal(56000))
    paper.oms.settle()
    assert paper.oms.orders.get(order.client_order_id).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert {c.status for c in paper.oms.conditionals.live()} == {ConditionStatus.ARMED}
    paper.rt.app.risk.escalate(TradingState.HALTED, "manual", "ops halt")
    assert _kill_switch(paper).enforce().disarmed == []
    assert sorted(c.cond_id for c in paper.oms.conditionals.live()) == sorted(
        c.cond_id for c in legs
    )


def test_the_command_line_enforcement_disarms_entry_conditions(paper: Paper) -> None:
    """What ``riskdesk risk halt`` and ``prices set`` run after a state change."""
    _arm_mix(paper)
    paper.rt.app.risk.escalate(TradingState.HALTED, "manual", "ops halt")
    done = enforce_state(paper.rt.app, paper.rt.store, "paper", paper.oms)
    assert done is not None
    assert sorted(c.cond_id for c in done.disarmed) == ["btc-breakout", "eth-above"]


def test_a_bracket_whose_entry_is_cancelled_ends_with_it(paper: Paper) -> None:
    entry = OrderIntent(
        intent_id="br-limit",
        account_id="pu",
        venue="paper",
        symbol=BTC.symbol,
        side=Side.BUY,
        qty=Decimal("0.1"),
        order_type=OrderType.LIMIT,
        price=Decimal("49000"),
    )
    order, _ = paper.oms.conditionals.bracket(entry, Decimal(45000), Decimal(56000))
    assert order.status is OrderStatus.OPEN
    paper.rt.app.risk.escalate(TradingState.HALTED, "manual", "ops halt")
    done = _kill_switch(paper).enforce()
    assert [o.intent.intent_id for o in done.cancelled] == ["br-limit"]
    paper.oms.settle()
    # Its exits waited for a fill that will not come: none is left armed or waiting.
    assert paper.oms.conditionals.live() == []
    assert {c.reason for c in done.disarmed} == {
        f"{REASON}: its parent br-limit ended without a fill"
    }


def test_the_engine_loop_disarms_entry_conditions_while_halted(tmp_path: Path) -> None:
    run = replay_run(Settings(data_dir=tmp_path), str(tmp_path / "r.db"))
    reports: list[StepReport] = []
    try:
        run.engine.recover()
        run.engine.run(run.feed, until=datetime(2019, 10, 7, 5, tzinfo=UTC))
        intent = OrderIntent(
            intent_id="breakout",
            account_id="paper-usdm",
            venue="paper",
            symbol="BTC/USDT:USDT",
            side=Side.BUY,
            qty=Decimal("0.001"),
        )
        run.oms.conditionals.arm(
            [
                ConditionalOrder(
                    cond_id="breakout",
                    intent=intent,
                    watch=intent.instrument_key,
                    kind=ConditionKind.PRICE_ABOVE,
                    level=Decimal(20000),
                )
            ]
        )
        run.rt.app.risk.escalate(TradingState.HALTED, "manual", "ops halt")
        run.engine.run(run.feed, until=datetime(2019, 10, 7, 7, tzinfo=UTC), on_step=reports.append)
        assert reports and reports[0].enforcement is not None
        assert [c.cond_id for c in reports[0].enforcement.disarmed] == ["breakout"]
        assert run.oms.conditionals.live() == []
    finally:
        run.close()
