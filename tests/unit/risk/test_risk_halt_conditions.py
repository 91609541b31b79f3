"""Which emulated conditions HALTED disarms: those whose order would open or add to a
position (``domain.risk.halt``)."""

from __future__ import annotations

from decimal import Decimal

from risk_unit_kit import ACCT, ETH_PERP, PERP

from riskdesk.domain.conditional import ConditionalOrder, ConditionKind, ConditionStatus
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.orders import OrderIntent
from riskdesk.domain.risk.halt import adds_exposure, entry_conditions, reduces
from riskdesk.domain.values import PositionSide, Side


def _intent(side: str, qty: str, inst: Instrument = PERP, **kw: object) -> OrderIntent:
    return OrderIntent(
        intent_id=f"{side}{qty}{inst.symbol}",
        account_id=ACCT,
        venue=inst.venue,
        symbol=inst.symbol,
        side=Side(side),
        qty=Decimal(qty),
        **kw,  # type: ignore[arg-type]
    )


def _cond(
    intent: OrderIntent, kind: ConditionKind = ConditionKind.STOP_LOSS, **kw: object
) -> ConditionalOrder:
    return ConditionalOrder(
        cond_id=intent.intent_id,
        intent=intent,
        watch=intent.instrument_key,
        kind=kind,
        level=Decimal(100),
        **kw,  # type: ignore[arg-type]
    )


LONG = {(ACCT, PERP.key, "net"): 2.0}


def test_reduces_is_the_pretrade_definition() -> None:
    assert reduces(2.0, -1.0) and reduces(2.0, -2.0) and reduces(-2.0, 0.5)
    assert not reduces(2.0, -3.0)  # crosses zero: opens a short
    assert not reduces(2.0, 1.0) and not reduces(0.0, -1.0)


def test_an_exit_of_the_position_held_is_kept_whatever_its_kind() -> None:
    for kind in (ConditionKind.STOP_LOSS, ConditionKind.TAKE_PROFIT, ConditionKind.PRICE_BELOW):
        assert not adds_exposure(_cond(_intent("sell", "2"), kind), LONG)


def test_an_order_that_opens_adds_or_flips_is_an_entry() -> None:
    assert adds_exposure(_cond(_intent("buy", "1")), LONG)  # adds
    assert adds_exposure(_cond(_intent("sell", "3")), LONG)  # flips to short
    assert adds_exposure(_cond(_intent("buy", "1", ETH_PERP)), LONG)  # opens another instrument


def test_reduce_only_never_adds() -> None:
    assert not adds_exposure(_cond(_intent("sell", "3", reduce_only=True)), {})


def test_hedge_mode_slots_are_judged_on_their_own_slot() -> None:
    short_leg = _intent("buy", "1", position_side=PositionSide.SHORT)
    held = {(ACCT, PERP.key, "long"): 5.0, (ACCT, PERP.key, "short"): -1.0}
    assert not adds_exposure(_cond(short_leg), held)  # covers the short slot
    assert adds_exposure(_cond(_intent("buy", "1", position_side=PositionSide.LONG)), held)


def test_a_waiting_exit_is_judged_after_its_parent_fills() -> None:
    parent = _intent("buy", "1")
    child = _cond(_intent("sell", "1"), status=ConditionStatus.WAITING, parent=parent.intent_id)
    assert not adds_exposure(child, {}, parent)
    assert adds_exposure(child, {})  # parent unknown: a sell on a flat book opens a short
    picked = entry_conditions([child], {}, {parent.intent_id: parent})
    assert picked == []


def test_ended_conditions_are_not_picked() -> None:
    done = _cond(_intent("buy", "1"), status=ConditionStatus.CANCELED)
    assert entry_conditions([done], {}, {}) == []
