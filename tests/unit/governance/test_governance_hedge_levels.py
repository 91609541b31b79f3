"""A hedge leg of a cross-margin group can have the group's liquidation price on its profitable
side: the protective stop ignores it there (a long's stop clamped to a liquidation price above
the market would be through the price), and the revaluation's distance does not read the side
of the mark as "past liquidation"."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from governance_kit import at, one, profile, snap, state

from riskdesk.domain.governance import ActionKind, PositionColumns, evaluate, revalue

D = Decimal


@pytest.mark.parametrize("qty", ["2", "-2"])
def test_a_liquidation_price_on_the_profitable_side_does_not_bound_the_stop(qty: str) -> None:
    p = profile(stop_percent=0.05, liquidation_buffer=0.005)
    # Long leg: the group's liquidation (100,000) is above the market; short leg: below it.
    liq = D("100000") if qty == "2" else D("1000")
    result = evaluate(state(p), snap("50000", qty=qty, liquidation=liq), at(0))
    action = one(result.actions, ActionKind.PLACE_STOP)
    assert action.new_value == (D("47500.0") if qty == "2" else D("52500.0"))
    assert "profitable side" in action.reason
    assert not [a for a in result.actions if a.kind is ActionKind.CLOSE]


def test_a_liquidation_price_on_the_loss_side_still_bounds_the_stop() -> None:
    p = profile(stop_percent=0.05, liquidation_buffer=0.005)
    result = evaluate(state(p), snap("50000", qty="-2", liquidation=D("51000")), at(0))
    action = one(result.actions, ActionKind.PLACE_STOP)
    # 52,500 would be past liquidation: 51,000 × 0.995 = 50,745.
    assert (
        action.new_value == D("50745.0") and "inside the liquidation price 51,000" in action.reason
    )


def _cols(**extra: np.ndarray) -> PositionColumns:
    return PositionColumns(
        qty=np.array([1.0, -1.0]),
        entry=np.array([20000.0, 20000.0]),
        margin=np.array([2000.0, 2000.0]),
        mark=np.array([20000.0, 20000.0]),
        contract_size=np.ones(2),
        inverse=np.zeros(2, dtype=bool),
        tick=np.full(2, 0.1),
        fee_rate=np.zeros(2),
        liquidation=np.array([100000.0, 100000.0]),
        **extra,
    )


def test_the_revaluation_distance_of_hedge_legs() -> None:
    # Without the book's signed distance: the distance to the group's price, whatever the side.
    assert revalue(_cols()).liq_distance == pytest.approx([4.0, 4.0])
    # With it: the book's value (it knows which way the group liquidates).
    signed = np.array([4.0, -0.01])
    assert revalue(_cols(liq_distance=signed)).liq_distance == pytest.approx(signed)
