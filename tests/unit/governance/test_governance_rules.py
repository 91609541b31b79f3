"""Each governance rule on hand-made positions: levels, quantities, reasons and orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from governance_kit import (
    INVERSE,
    PERP,
    T0,
    at,
    kinds,
    one,
    profile,
    run,
    snap,
    state,
)

from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.governance import (
    ActionKind,
    CloseStats,
    InvalidationCondition,
    Lifecycle,
    LockTier,
    Signal,
    SignalKind,
    StopMethod,
    TakeProfitTier,
    evaluate,
)
from riskdesk.domain.orders import OrderType, TriggerPrice
from riskdesk.domain.values import Side

D = Decimal


def first(p, s, hours=1.0):  # type: ignore[no-untyped-def]
    """Evaluate one snapshot on a fresh state with profile ``p``."""
    return evaluate(state(p), s, at(hours))


# ------------------------------------------------------------------ protective stop at entry


def test_percent_stop_at_entry_is_a_reduce_only_stop_market_on_the_mark() -> None:
    result = first(profile(stop_percent=0.02), snap("50000"))
    action = one(result.actions, ActionKind.PLACE_STOP)
    assert action.new_value == D("49000.0") and action.old_value is None and action.qty == 2
    assert "percent stop: entry 50,000 − 2.00 %" in action.reason
    (order,) = result.plan.orders  # type: ignore[union-attr]
    assert order.order_type is OrderType.STOP_MARKET and order.reduce_only
    assert order.side is Side.SELL and order.stop_price == D("49000.0") and order.qty == 2
    assert order.trigger is TriggerPrice.MARK
    assert result.state.lifecycle is Lifecycle.ACTIVE
    assert result.state.risk_per_unit == D("1000.0")


def test_atr_stop_is_entry_minus_k_atr_and_sets_r() -> None:
    p = profile(stop_method=StopMethod.ATR, atr_multiplier=2.0)
    result = first(p, snap("50000", atr=300.0))
    assert one(result.actions, ActionKind.PLACE_STOP).new_value == D("49400.0")
    assert result.state.risk_per_unit == D("600.0")


def test_atr_stop_without_atr_falls_back_to_percent_and_says_so() -> None:
    p = profile(stop_method=StopMethod.ATR, stop_percent=0.03)
    action = one(first(p, snap("50000")).actions, ActionKind.PLACE_STOP)
    assert action.new_value == D("48500.0") and "no ATR14 from recent 1h bars" in action.reason


def test_short_stop_sits_above_and_rounds_down() -> None:
    p = profile(stop_method=StopMethod.ATR, atr_multiplier=2.0)
    result = first(p, snap("50000", qty="-2", atr=300.04))
    action = one(result.actions, ActionKind.PLACE_STOP)
    # 50,000 + 600.08 = 50,600.08 → a short's stop rounds down to the tick: 50,600.0.
    assert action.new_value == D("50600.0")
    assert result.plan.orders[0].side is Side.BUY  # type: ignore[union-attr]


def test_given_stop_level_is_snapped_in_the_safe_direction() -> None:
    s = state(profile(), stop_override=D("48765.43"))
    result = evaluate(s, snap("50000"), at(1))
    assert one(result.actions, ActionKind.PLACE_STOP).new_value == D("48765.5")
    assert result.state.risk_per_unit == D("1234.5")


def test_stop_is_kept_inside_the_liquidation_price() -> None:
    p = profile(stop_percent=0.05, liquidation_buffer=0.005)
    action = one(first(p, snap("50000", liquidation=D("48000"))).actions, ActionKind.PLACE_STOP)
    # 47,500 would be past liquidation: 48,000 × 1.005 = 48,240.
    assert action.new_value == D("48240.0") and "liquidation price 48,000" in action.reason


def test_inverse_short_atr_stop_matches_the_demo_numbers() -> None:
    p = profile(stop_method=StopMethod.ATR, atr_multiplier=2.0)
    s = snap("8347", qty="-3000", entry="8314.5", instrument=INVERSE, leverage="5", atr=104.15)
    result = evaluate(state(p, INVERSE), s, at(8))
    assert one(result.actions, ActionKind.PLACE_STOP).new_value == D("8522.5")


def test_trigger_price_can_be_last_or_index() -> None:
    p = profile(trigger=TriggerPrice.LAST)
    result = first(p, snap("50000", last=D("48900")))
    # The last price is already through the 49,000 stop: guard close, judged on the last price.
    assert kinds(result.actions) == ["CLOSE"] and "last price 48,900" in result.actions[0].reason
    assert result.plan.orders[0].trigger is TriggerPrice.LAST  # type: ignore[union-attr]


# ------------------------------------------------------------------ lock-profit ladder


LADDER = (LockTier(0.10, 0.0), LockTier(0.20, 0.10))


def test_roe_10_percent_moves_the_stop_to_breakeven_including_fees() -> None:
    s, _ = run(state(profile(lock_tiers=LADDER)), [(1, snap("50000"))])
    result = evaluate(s, snap("50600"), at(2))  # ROE = 2 × 600 / 10,000 = 12 %
    action = one(result.actions, ActionKind.MOVE_STOP)
    # E(1+r)/(1−r) = 50,000 × 1.0004 / 0.9996 = 50,040.016… → up to the tick.
    assert action.new_value == D("50040.1") and action.old_value == D("49000.0")
    assert "lock-profit tier 1: ROE 12.00 % ≥ 10.00 % → breakeven" in action.reason
    assert result.state.lock_tier == 1


def test_roe_20_percent_locks_10_percent_of_margin_net_of_fees() -> None:
    s, _ = run(state(profile(lock_tiers=LADDER)), [(1, snap("50000"))])
    action = one(evaluate(s, snap("51100"), at(2)).actions, ActionKind.MOVE_STOP)
    # (t + E(s + r·a)) / (s − r·a) with t = 1,000, s = a = 2, r = 0.0004 = 50,540.216…
    assert action.new_value == D("50540.3")


def test_without_fees_the_lock_level_is_seed_003s_formula() -> None:
    p = profile(lock_tiers=LADDER, lock_net_of_fees=False)
    s, _ = run(state(p), [(1, snap("50000"))])
    action = one(evaluate(s, snap("51100"), at(2)).actions, ActionKind.MOVE_STOP)
    # SL = P_entry + θ · isolated_margin / Q = 50,000 + 0.10 × 10,000 / 2.
    assert action.new_value == D("50500.0")


def test_inverse_short_lock_level() -> None:
    p = profile(lock_tiers=LADDER, lock_net_of_fees=False)
    s0 = snap("8000", qty="-3000", entry="8000", instrument=INVERSE, leverage="5")
    assert s0.margin == D("0.75")
    s, _ = run(state(p, INVERSE), [(1, s0)])
    s1 = snap("7600", qty="-3000", entry="8000", instrument=INVERSE, leverage="5")
    action = one(evaluate(s, s1, at(2)).actions, ActionKind.MOVE_STOP)
    # s/(s/E − t) = −30,000 / (−3.75 − 0.075) = 7,843.13… → a short's stop rounds down.
    assert action.new_value == D("7843.0")


def test_a_falling_roe_never_loosens_the_locked_stop() -> None:
    s, results = run(
        state(profile(lock_tiers=LADDER)),
        [(1, snap("50000")), (2, snap("51100")), (3, snap("50700")), (4, snap("50600"))],
    )
    assert s.stop_price == D("50540.3")
    assert [kinds(r.actions) for r in results[2:]] == [[], []]


# ------------------------------------------------------------------ trailing stops


def test_chandelier_trails_the_high_since_entry() -> None:
    p = profile(chandelier_multiplier=3.0)
    s, _ = run(state(p), [(1, snap("50000", atr=100.0, high=50100.0))])
    result = evaluate(s, snap("50800", atr=100.0, high=51000.0), at(2))
    action = one(result.actions, ActionKind.MOVE_STOP)
    assert action.new_value == D("50700.0") and action.rule == "trail:chandelier"
    assert "high since entry 51,000.00 − 3 × ATR 100.00" in action.reason


def test_percent_trail_waits_for_its_activation() -> None:
    p = profile(trail_percent=0.05, trail_activation=0.04)
    _s, results = run(
        state(p),
        [(1, snap("50000")), (2, snap("51800", high=51900.0)), (3, snap("52400", high=52500.0))],
    )
    assert kinds(results[1].actions) == []  # 51,900 < activation 52,000
    action = one(results[2].actions, ActionKind.MOVE_STOP)
    assert action.new_value == D("49875.0") and "(armed at 52,000" in action.reason


def test_an_explicit_activation_price_arms_the_trail() -> None:
    p = profile(trail_percent=0.02)
    s = state(p, activation_price=D("51000"))
    s, results = run(s, [(1, snap("50000")), (2, snap("50900", high=51200.0))])
    assert one(results[1].actions, ActionKind.MOVE_STOP).new_value == D("50176.0")


def test_small_moves_below_the_minimum_step_are_not_sent() -> None:
    p = profile(chandelier_multiplier=3.0, min_stop_move=0.01)
    s, results = run(
        state(p),
        [
            (1, snap("50000", atr=100.0, high=50000.0)),  # placed at 49,700
            (2, snap("50500", atr=100.0, high=50600.0)),  # 50,300: +600 ≥ 1 % of 50,500
            (3, snap("50600", atr=100.0, high=50800.0)),  # 50,500: +200 < 506, not worth it
        ],
    )
    assert kinds(results[1].actions) == ["MOVE_STOP"] and kinds(results[2].actions) == []
    assert s.stop_price == D("50300.0")


# ------------------------------------------------------------------ take-profit ladders


R_LADDER = (TakeProfitTier(2, 0.5), TakeProfitTier(3, 0.3), TakeProfitTier(4, 0.2))


def test_r_ladder_takes_50_30_20_percent_and_the_stop_follows_once_it_fills() -> None:
    _s, results = run(
        state(profile(r_ladder=R_LADDER)),
        [(1, snap("50000")), (2, snap("52000")), (3, snap("53000")), (4, snap("54000"))],
    )
    reduce_2r = one(results[1].actions, ActionKind.REDUCE)
    assert (reduce_2r.qty, reduce_2r.old_value, reduce_2r.new_value) == (1, 2, 1)
    assert "take-profit 2R: mark price 52,000 ≥ 52,000" in reduce_2r.reason
    # The stop keeps covering the 2 held until the take-profit fills.
    assert kinds(results[1].actions) == ["REDUCE"] and results[1].state.stop_qty == 2
    # After the fill of the 2R step the position is 1; 3R closes 0.6, 4R the last 0.4.
    s2, r2 = run(results[1].state, [(3, snap("53000", qty="1")), (4, snap("54000", qty="0.4"))])
    stop = one(r2[0].actions, ActionKind.MOVE_STOP)
    assert stop.qty == 1 and stop.new_value == stop.old_value == D("49000.0")
    assert "resized from 2 to 1: it covers exactly the position held" in stop.reason
    assert one(r2[0].actions, ActionKind.REDUCE).qty == D("0.6")
    final = one(r2[1].actions, ActionKind.CLOSE)
    assert final.qty == D("0.4") and final.rule == "take_profit:r"
    assert s2.lifecycle is Lifecycle.PENDING_CLOSING


def test_r_ladder_split_respects_the_lot_and_hands_remainders_on() -> None:
    s0 = snap("50000", qty="1.001")
    s, results = run(
        state(profile(r_ladder=R_LADDER)),
        [(1, s0), (2, snap("52000", qty="1.001"))],
    )
    assert one(results[1].actions, ActionKind.REDUCE).qty == D("0.5")  # keeps ⌈0.5005⌉ = 0.501
    s, r3 = run(s, [(3, snap("53000", qty="0.501"))])
    assert one(r3[0].actions, ActionKind.REDUCE).qty == D("0.3")  # keeps ⌈0.2002⌉ = 0.201
    s, r4 = run(s, [(4, snap("54000", qty="0.201"))])
    assert one(r4[0].actions, ActionKind.CLOSE).qty == D("0.201")
    assert D("0.5") + D("0.3") + D("0.201") == D("1.001")


def test_a_gap_through_every_tier_closes_exactly_the_position() -> None:
    _s, results = run(state(profile(r_ladder=R_LADDER)), [(1, snap("50000")), (2, snap("54500"))])
    actions = results[1].actions
    assert kinds(actions) == ["REDUCE", "REDUCE", "CLOSE"]
    assert sum(a.qty for a in actions) == 2  # type: ignore[misc]
    # The stop stays working until the position is flat (the close may not fill).
    assert results[1].plan.cancels == ()  # type: ignore[union-attr]
    assert results[1].state.stop_qty == 2 and results[1].state.stop_price == D("49000.0")


def test_roe_ladder_closes_beta_of_what_is_held() -> None:
    p = profile(roe_ladder=(TakeProfitTier(0.12, 0.30), TakeProfitTier(0.25, 0.30)))
    s, results = run(state(p), [(1, snap("50000")), (2, snap("50600"))])  # ROE 12 %
    assert one(results[1].actions, ActionKind.REDUCE).qty == D("0.6")
    s, r2 = run(s, [(3, snap("51300", qty="1.4"))])  # ROE 26 %: keep 2 × 0.7 × 0.7 = 0.98
    assert one(r2[0].actions, ActionKind.REDUCE).qty == D("0.42")


# ------------------------------------------------------------------ add-ons


ADDS = {
    "add_on_cap": 2,
    "add_on_roe_tiers": (0.05, 0.10),
    "add_on_gamma": 0.5,
    "add_on_min_interval": 3600.0,
}


def _signal(name: str, hours: float, direction: int = 1) -> Signal:
    return Signal(name, SignalKind.ENTRY, direction, at(hours))


def test_add_ons_need_roe_a_signal_and_the_interval_and_shrink_geometrically() -> None:
    p = profile(**ADDS)
    s, results = run(
        state(p),
        [
            (1, snap("50000")),
            (2, snap("50300")),  # ROE 6 % but no signal
            (2.5, snap("50300", signals=(_signal("s1", 2.5),))),
        ],
    )
    assert kinds(results[1].actions) == []
    add = one(results[2].actions, ActionKind.ADD)
    assert add.qty == 1 and add.new_value == 3  # Q0·γ¹ = 2 × 0.5
    assert "add-on 1/2 (ROE 6.00 % ≥ 5.00 % and signal s1)" in add.reason
    leg = results[2].plan.adds[0]  # type: ignore[union-attr]
    assert leg.new_entry == D("50100") and leg.new_margin == D("15030")
    order = results[2].plan.orders[-1]  # type: ignore[union-attr]
    assert order.side is Side.BUY and not order.reduce_only and order.leverage == 10
    assert order.protective_stop == s.stop_price
    # The add filled: 3 at 50,100. An hour has not passed since the add: no second one.
    s, r = run(s, [(3, snap("50700", qty="3", entry="50100", signals=(_signal("s2", 3),)))])
    assert kinds(r[0].actions) == ["MOVE_STOP"]  # only the resize to 3
    s, r = run(s, [(3.6, snap("50700", qty="3", entry="50100", signals=(_signal("s3", 3.6),)))])
    assert one(r[0].actions, ActionKind.ADD).qty == D("0.5")  # Q0·γ² (ROE 12 % ≥ 10 %)
    s, r = run(s, [(5, snap("51000", qty="3.5", entry="50100", signals=(_signal("s4", 5),)))])
    assert ActionKind.ADD not in [a.kind for a in r[0].actions]  # the cap is 2
    assert s.add_count == 2


def test_add_ons_stop_once_the_take_profit_ladder_has_started() -> None:
    p = profile(r_ladder=R_LADDER, add_on_requires_signal=False, **ADDS)
    s, results = run(
        state(p), [(1, snap("50000")), (2, snap("52000")), (4, snap("52100", qty="1"))]
    )
    assert s.tp_r_done == 1 and ActionKind.ADD not in [a.kind for a in results[2].actions]


def test_an_add_on_too_small_for_the_lot_is_an_alert_once() -> None:
    p = profile(add_on_requires_signal=False, **{**ADDS, "add_on_gamma": 0.0001})
    s, results = run(state(p), [(1, snap("50000", qty="0.002")), (2, snap("50300", qty="0.002"))])
    alert = one(results[1].actions, ActionKind.ALERT)
    assert "rounds below the minimum size 0.001" in alert.reason
    _, again = run(s, [(3, snap("50300", qty="0.002"))])
    assert kinds(again[0].actions) == []


# ------------------------------------------------------------------ exits


def test_time_stop_closes_after_the_maximum_holding_time() -> None:
    s, results = run(
        state(profile(max_holding_seconds=24 * 3600.0)),
        [(1, snap("50000")), (23, snap("50100")), (24, snap("50100"))],
    )
    assert kinds(results[1].actions) == []
    close = one(results[2].actions, ActionKind.CLOSE)
    assert close.rule == "time_stop" and "held 24.0 h ≥ the maximum 24.0 h" in close.reason
    assert s.lifecycle is Lifecycle.PENDING_CLOSING


def test_stagnation_raises_one_stagnated_event() -> None:
    p = profile(stagnation_seconds=72 * 3600.0, stagnation_roe=0.02)
    s, results = run(state(p), [(1, snap("50000")), (73, snap("50050")), (74, snap("50050"))])
    alert = one(results[1].actions, ActionKind.ALERT)
    assert alert.event == "STAGNATED" and "|ROE| 1.00 % < 2.00 %" in alert.reason
    assert [e.kind for e in results[1].events] == ["STAGNATED"]
    assert kinds(results[2].actions) == [] and s.stagnated


def test_stagnation_can_also_close() -> None:
    p = profile(stagnation_seconds=3600.0, stagnation_close=True)
    _, results = run(state(p), [(1, snap("50000")), (3, snap("50000"))])
    assert kinds(results[1].actions) == ["CLOSE", "ALERT"]


def test_invalidation_condition_on_closed_bars_closes_and_names_the_candle() -> None:
    condition = InvalidationCondition.parse({"timeframe": "1h", "close_below": 49500})
    s = state(profile(), invalidation=(condition,))
    stats = CloseStats(49400.0, at(5), 50200.0, at(2))
    s, results = run(s, [(1, snap("50000")), (6, snap("49600", closes={"1h": stats}))])
    close = one(results[1].actions, ActionKind.CLOSE)
    assert close.rule == "invalidation"
    assert "the 1h candle of 2025-03-03 13:00 closed at 49,400.00, below 49,500" in close.reason


def test_exit_signal_closes_once() -> None:
    exit_signal = Signal("x1", SignalKind.EXIT, 1, at(2), "trend broken")
    s, results = run(
        state(profile()), [(1, snap("50000")), (2, snap("50100", signals=(exit_signal,)))]
    )
    close = one(results[1].actions, ActionKind.CLOSE)
    assert close.reason == "exit signal x1 trend broken" and s.consumed_signals == ("x1",)


def test_opposite_entry_signal_exits_only_when_the_profile_says_so() -> None:
    short_signal = _signal("o1", 2, -1)
    _, off = run(
        state(profile()), [(1, snap("50000")), (2, snap("50100", signals=(short_signal,)))]
    )
    assert kinds(off[1].actions) == []
    p = profile(exit_on_opposite_signal=True)
    _, on = run(state(p), [(1, snap("50000")), (2, snap("50100", signals=(short_signal,)))])
    assert one(on[1].actions, ActionKind.CLOSE).rule == "signal_exit"


def test_guard_stop_closes_when_the_price_is_through_the_stop() -> None:
    _s, results = run(state(profile()), [(1, snap("50000")), (2, snap("48900"))])
    close = one(results[1].actions, ActionKind.CLOSE)
    assert close.rule == "guard_stop"
    assert "mark price 48,900 is through the working stop 49,000" in close.reason
    order = results[1].plan.orders[0]  # type: ignore[union-attr]
    assert order.order_type is OrderType.MARKET and order.reduce_only and order.qty == 2


def test_without_guard_a_crossed_stop_is_one_alert_and_an_event() -> None:
    _s, results = run(
        state(profile(guard_stop=False)),
        [(1, snap("50000")), (2, snap("48900")), (3, snap("48800"))],
    )
    alert = one(results[1].actions, ActionKind.ALERT)
    assert alert.rule == "stop_crossed" and [e.kind for e in results[1].events] == ["STOP_CROSSED"]
    assert kinds(results[2].actions) == []


def test_a_trail_already_through_the_price_closes_with_the_guard() -> None:
    p = profile(chandelier_multiplier=2.0)
    _, results = run(
        state(p),
        [(1, snap("50000", atr=100.0, high=50000.0)), (2, snap("50500", atr=100.0, high=51000.0))],
    )
    close = one(results[1].actions, ActionKind.CLOSE)
    assert (
        "the chandelier trail level 50,800 is already through the mark price 50,500" in close.reason
    )


# ------------------------------------------------------------------ lifecycle, ids, bad input


def test_lifecycle_follows_the_position() -> None:
    s = state(profile())
    waiting = evaluate(s, snap("50000", qty="0"), at(0.5))
    assert waiting.state is s and waiting.actions == ()
    s, results = run(s, [(1, snap("50000")), (2, snap("48000", qty="0"))])
    assert [e.kind for e in results[0].events] == ["LIFECYCLE"]
    assert "pending_entry → active" in results[0].events[0].message
    assert s.lifecycle is Lifecycle.CLOSED and "flat" in s.exit_reason
    # Nothing happens to a closed position.
    assert evaluate(s, snap("40000"), at(3)).actions == ()


def test_a_position_that_flips_side_closes_the_state() -> None:
    s, _ = run(state(profile()), [(1, snap("50000")), (2, snap("50000", qty="-1"))])
    assert s.lifecycle is Lifecycle.CLOSED


def test_replaying_a_tick_gives_the_same_plan_and_intent_ids() -> None:
    s0, _ = run(state(profile(r_ladder=R_LADDER)), [(1, snap("50000"))])
    a = evaluate(s0, snap("52000"), at(2))
    b = evaluate(s0, snap("52000"), at(2))
    assert a.plan is not None and b.plan is not None
    assert a.plan.plan_id == b.plan.plan_id
    assert [o.intent_id for o in a.plan.orders] == [o.intent_id for o in b.plan.orders]
    assert [o.client_order_id for o in a.plan.orders] == [o.client_order_id for o in b.plan.orders]
    c = evaluate(s0, snap("52000"), at(2) + timedelta(seconds=1))
    assert c.plan is not None and c.plan.plan_id != a.plan.plan_id


def test_plan_has_seed_003_shape() -> None:
    _, results = run(state(profile(r_ladder=R_LADDER)), [(1, snap("50000")), (2, snap("52000"))])
    doc = results[1].plan.to_dict()  # type: ignore[union-attr]
    assert set(doc) == {"plan", "orders"}
    plan = doc["plan"]
    assert isinstance(plan, dict)
    assert {"plan_id", "position_id", "actions", "reduce", "adds"} <= set(plan)
    action = plan["actions"][0]
    assert {"action", "old_value", "new_value", "reason"} <= set(action)
    assert plan["reduce"][0]["qty"] == "1.000"
    assert doc["orders"][0]["client_order_id"].startswith("rd")  # type: ignore[index]


def test_bad_inputs_name_the_field() -> None:
    s = state(profile())
    with pytest.raises(InvalidValue) as naive:
        evaluate(s, snap("50000"), T0.replace(tzinfo=None))
    assert naive.value.field == "now"
    with pytest.raises(InvalidValue) as other:
        evaluate(s, snap("8000", qty="-1", entry="8000", instrument=INVERSE), at(1))
    assert other.value.field == "instrument"
    with pytest.raises(InvalidValue) as nan:
        snap("NaN")
    assert nan.value.field == "mark"
    with pytest.raises(InvalidValue) as direction:
        Signal("s", SignalKind.ENTRY, 0, at(1))
    assert direction.value.field == "direction"
    assert PERP.key == s.instrument_key
