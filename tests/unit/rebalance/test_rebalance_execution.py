"""Tickets: ladders on the tick in our favour, combo and single-leg tickets, monitoring levels."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskdesk.domain.pricing import bsm_greeks, prob_itm
from riskdesk.domain.rebalance import (
    Action,
    ChainIndex,
    EngineConfig,
    RebalanceParams,
    make_position,
    rebalance,
)
from riskdesk.domain.rebalance.execution import (
    credit_ladder,
    single_ladder,
    spot_for_delta,
    spot_for_prob_itm,
)
from riskdesk.domain.rebalance.model import LadderConfig

CENT = Decimal("0.01")
prices = st.decimals(min_value="-20", max_value="20", places=3, allow_nan=False)


@given(mid=prices, spread=st.decimals(min_value="0", max_value="3", places=3))
def test_credit_ladder_never_worse_than_its_floor(mid: Decimal, spread: Decimal) -> None:
    natural = mid - spread
    ladder = LadderConfig()
    rungs, floor = credit_ladder(mid, natural, CENT, ladder, keep_credit=False)
    assert rungs[0] >= mid  # first limit at the mid, rounded in our favour
    assert all(a > b for a, b in itertools.pairwise(rungs))  # strictly conceding
    assert all(r >= floor for r in rungs) and rungs[-1] == floor
    assert all(r % CENT == 0 for r in rungs)
    expected_floor = mid - Decimal("0.75") * (mid - natural)
    assert expected_floor <= floor < expected_floor + CENT
    assert len(rungs) <= ladder.steps + 1


@given(mid=st.decimals(min_value="0", max_value="3", places=3))
def test_a_credit_roll_never_ladders_into_a_debit(mid: Decimal) -> None:
    rungs, floor = credit_ladder(mid, mid - 5, CENT, LadderConfig(), keep_credit=True)
    assert floor >= 0 and all(r >= 0 for r in rungs)


def tick(price: Decimal) -> Decimal:
    return Decimal("0.01") if price < 3 else Decimal("0.05")


@given(
    mid=st.decimals(min_value="0.02", max_value="50", places=3),
    spread=st.decimals(min_value="0", max_value="2", places=2),
)
def test_buy_to_close_ladder_pays_at_most_its_limit(mid: Decimal, spread: Decimal) -> None:
    rungs, cap = single_ladder(mid, mid + spread, True, tick, LadderConfig())
    assert all(a < b for a, b in itertools.pairwise(rungs))
    assert all(r <= max(cap, tick(r)) for r in rungs)
    assert all(r % tick(r) == 0 for r in rungs)
    assert rungs[0] <= max(mid, tick(mid))


def test_roll_ticket_is_one_combo(aapl: ChainIndex, config: EngineConfig) -> None:
    report = rebalance(
        make_position("AAPL260807P00300000", -3, "1.00"), aapl, RebalanceParams(), config
    )
    plan = report.plan
    assert plan.action is Action.ROLL and plan.order_kind == "combo"
    roll = report.decision.roll
    assert roll is not None and plan.combo_ratio == (1, 1)
    assert plan.ladder is not None and plan.ladder.mid == roll.net_price_mid
    assert plan.limit_price == abs(plan.ladder.prices[0]) and plan.price_type == "NET CREDIT"
    assert plan.net_cash_flow == plan.ladder.prices[0] * 3 * 100
    text = plan.ticket_text
    assert "BTC 3 AAPL260807P00300000" in text and f"STO 3 {roll.open.symbol}" in text
    assert "LMT NET CREDIT" in text and "TIF DAY" in text
    assert plan.ticket["type"] == "combo" and plan.ticket["time_in_force"] == "DAY"
    assert [leg["action"] for leg in plan.ticket["legs"]] == ["BTC", "STO"]  # type: ignore[index]
    assert any("snapshot" in w for w in plan.risk_warnings)
    kinds = {p.kind for p in plan.monitoring_points}
    assert kinds == {"price", "date"}


def test_close_ticket_uses_the_single_leg_tick(aapl: ChainIndex, config: EngineConfig) -> None:
    # Profit taken on the 21 Aug 330 put sold at 30: closing at mid 9.10 on the 0.05 tick.
    report = rebalance(
        make_position("AAPL260821P00330000", -1, "30"), aapl, RebalanceParams(), config
    )
    plan = report.plan
    assert plan.action is Action.CLOSE and plan.order_kind == "single"
    assert plan.ladder is not None
    assert plan.ladder.prices[0] == Decimal("9.10")
    assert all(p % Decimal("0.05") == 0 for p in plan.ladder.prices)
    assert plan.ladder.prices[-1] <= plan.ladder.natural == Decimal("9.25")
    assert plan.orders[0].action == "BTC" and plan.orders[0].order_type == "LMT"
    assert plan.net_cash_flow == -plan.ladder.prices[0] * 100


@pytest.mark.parametrize("call", [True, False])
def test_monitoring_levels_invert_the_model(call: bool) -> None:
    k, t, r, q, vol = 330.0, 28 / 365, 0.04, 0.0, 0.31
    s = spot_for_delta(k, t, r, q, vol, 0.40, call)
    assert s is not None
    assert abs(float(bsm_greeks(s, k, t, r, q, vol, call).delta)) == pytest.approx(0.40)
    s2 = spot_for_prob_itm(k, t, r - q, vol, 0.80, call)
    assert s2 is not None
    assert float(prob_itm(s2, k, t, r, q, vol, call)) == pytest.approx(0.80)
    assert spot_for_delta(k, 0.0, r, q, vol, 0.4, call) is None
