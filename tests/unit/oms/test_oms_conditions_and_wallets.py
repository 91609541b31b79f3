"""Conditions on every trigger source fire on a quote, orders and conditions for a venue other
than the connected one are refused, and a transfer wallet missing at the venue is named by its
setting."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from oms_unit_kit import ACCT, PERP, intent, make_desk

from riskdesk.application.transfer_service import TransferAccounts, TransferService
from riskdesk.domain.conditional import ConditionalOrder, ConditionKind, ConditionStatus
from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.matching import Quote
from riskdesk.domain.orders import TriggerPrice
from riskdesk.domain.transfers import TransferPolicy

D = Decimal


@pytest.mark.parametrize("source", list(TriggerPrice))
def test_a_quote_fires_conditions_on_the_price_they_watch(source: TriggerPrice) -> None:
    desk = make_desk()
    desk.quote("8000", "8001")
    cond = ConditionalOrder(
        cond_id=f"c-{source.value}",
        intent=intent(f"c-{source.value}", qty="0.1"),
        watch=PERP.key,
        kind=ConditionKind.PRICE_BELOW,
        level=D(7900),
        source=source,
    )
    desk.cond.arm([cond])
    now = desk.clock.now()
    assert desk.cond.on_quote(PERP.key, Quote(now, D(7950), D(7951), mark=D("7950.5"))) == []
    prices = {"last": D(7890), "mark": D(7890), "index": D(7890)}
    [order] = desk.cond.on_quote(PERP.key, Quote(now, D(7889), D(7891), **prices))
    assert order.intent.intent_id == f"c-{source.value}"
    assert desk.cond.get(cond.cond_id) is None  # fired once
    [fired] = [c for c in desk.cond.all() if c.cond_id == cond.cond_id]
    assert fired.status is ConditionStatus.TRIGGERED


def test_orders_and_conditions_for_another_venue_are_refused_naming_the_venue() -> None:
    desk = make_desk()
    desk.quote("8000", "8001")
    foreign = replace(intent("x", qty="0.1"), venue="binance")
    with pytest.raises(InvalidValue) as err:
        desk.oms.submit(foreign)
    assert err.value.field == "venue" and "paper" in err.value.reason
    with pytest.raises(InvalidValue):
        desk.oms.submit_many([intent("ok", qty="0.1"), foreign])
    with pytest.raises(InvalidValue):
        desk.cond.arm(
            [
                ConditionalOrder(
                    cond_id="c",
                    intent=foreign,
                    watch=PERP.key,
                    kind=ConditionKind.PRICE_ABOVE,
                    level=D(9000),
                )
            ]
        )
    assert desk.oms.orders() == [] and desk.cond.live() == []


def test_a_wallet_missing_at_the_venue_is_named_by_its_setting() -> None:
    desk = make_desk()
    service = TransferService(
        desk.journal,
        desk.broker,
        desk.clock,
        TransferPolicy(currency="USDT", min_free_fut=D(1000)),
        TransferAccounts("spot", ACCT, "oms.transfers.spot_account", "oms.transfers.fut_account"),
    )
    with pytest.raises(InvalidValue) as err:
        service.check()
    assert err.value.field == "oms.transfers.spot_account"
    assert "'spot'" in err.value.reason and "paper" in err.value.reason
    assert service.requests() == []
