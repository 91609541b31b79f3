"""Roll search on the real AAPL chain: enumeration, exact money, filters, risk comparison."""

from __future__ import annotations

import csv
from dataclasses import replace
from decimal import Decimal
from importlib import resources

import pytest

from riskdesk.domain.rebalance import (
    ChainIndex,
    EngineConfig,
    RebalanceParams,
    RollType,
    make_position,
    search_rolls,
)
from riskdesk.domain.rebalance.model import LiquidityFilter

WIDE = RebalanceParams(max_additional_capital=Decimal(10_000_000))


@pytest.fixture(scope="module")
def quotes() -> dict[str, dict[str, str]]:
    text = (
        resources.files("riskdesk.data")
        .joinpath("options/AAPL_chain_2026-07-24.csv")
        .read_text(encoding="utf-8")
    )
    return {row["contract"]: row for row in csv.DictReader(text.splitlines())}


def test_candidates_come_from_the_chain_and_the_window(
    aapl: ChainIndex, config: EngineConfig
) -> None:
    position = make_position("AAPL260821P00330000", -10, "8.50")
    _, rolls = search_rolls(position, aapl, WIDE, replace(config, max_candidates=100))
    assert rolls.candidates
    for c in rolls.candidates:
        assert c.open.symbol in aapl.by_symbol
        assert c.open.right.value == "P"
        assert c.open.expiry > c.close.expiry
        days_out = (c.open.expiry - c.close.expiry).days
        assert config.roll_min_days_out <= days_out <= config.roll_max_days_out
        assert c.close.symbol == "AAPL260821P00330000" and c.close.action == "BTC"
        assert c.open.action == "STO"
        if c.roll_type is RollType.CALENDAR:
            assert c.open.strike == c.close.strike
        else:
            assert c.open.strike != c.close.strike
        if c.roll_type is RollType.RESIZE:
            assert c.open.quantity < c.close.quantity
            assert c.open.strike < c.close.strike  # further out of the money for a put
        else:
            assert c.open.quantity == c.close.quantity
    kinds = {c.roll_type for c in rolls.candidates}
    assert kinds == set(RollType)


def test_diagonal_strike_is_the_chains_nearest_to_the_target_delta(
    aapl: ChainIndex, config: EngineConfig
) -> None:
    position = make_position("AAPL260821P00330000", -10, "8.50")
    _, rolls = search_rolls(
        position, aapl, replace(WIDE, preferred_roll_types=frozenset({RollType.DIAGONAL})),
        replace(config, max_candidates=100, liquidity=LiquidityFilter(0, 0, 10.0, Decimal(0))),
    )  # fmt: skip
    by_delta = [c for c in rolls.candidates if c.selection.startswith("|delta|")]
    assert by_delta
    for c in by_delta:
        same_expiry = [
            i
            for i, q in enumerate(aapl.snapshot.contracts)
            if q.expiry == c.open.expiry and q.right == c.open.right
        ]
        best = min(same_expiry, key=lambda i: abs(abs(aapl.delta[i]) - 0.25))
        assert aapl.contract(best).symbol == c.open.symbol


def test_money_is_exact_and_matches_the_quotes(
    aapl: ChainIndex, config: EngineConfig, quotes: dict[str, dict[str, str]]
) -> None:
    position = make_position("AAPL260821P00330000", -10, "8.50")
    _, rolls = search_rolls(position, aapl, WIDE, replace(config, max_candidates=100))
    old = quotes["AAPL260821P00330000"]
    for c in rolls.candidates:
        new = quotes[c.open.symbol]
        n_old, n_new = c.close.quantity, c.open.quantity
        natural = (Decimal(new["bid"]) * n_new - Decimal(old["ask"]) * n_old) * 100
        mid_new = (Decimal(new["bid"]) + Decimal(new["ask"])) / 2
        mid_old = (Decimal(old["bid"]) + Decimal(old["ask"])) / 2
        assert c.net_credit_natural == natural
        assert c.net_credit_mid == (mid_new * n_new - mid_old * n_old) * 100
        ratio_old, ratio_new = c.combo_ratio
        assert c.combo_quantity * ratio_old == n_old and c.combo_quantity * ratio_new == n_new
        assert c.net_price_natural * c.combo_quantity * 100 == c.net_credit_natural
        assert c.additional_capital == max(-c.net_credit_mid, Decimal(0)) + max(
            c.capital_required - c.capital_released, Decimal(0)
        )
        # Cash-secured puts: capital = strike x contracts x 100.
        assert c.capital_required == c.open.strike * n_new * 100


def test_risk_reduction_is_computed_from_before_and_after(
    aapl: ChainIndex, config: EngineConfig
) -> None:
    position = make_position("AAPL260821P00330000", -10, "8.50")
    _, rolls = search_rolls(position, aapl, WIDE, replace(config, max_candidates=100))
    reductions = set()
    for c in rolls.candidates:
        el = c.expected_loss
        assert el.before is not None and el.after is not None and el.reduction is not None
        assert el.reduction == pytest.approx((el.before - el.after) / el.before)
        assert c.risk_reduction == el.reduction
        dd = c.delta_dollars
        assert dd.before is not None and dd.after is not None
        assert dd.reduction == pytest.approx((dd.before - dd.after) / dd.before)
        reductions.add(round(el.reduction, 6))
        if c.roll_type is RollType.RESIZE:
            # Fewer contracts further out: less delta and less probability-weighted loss.
            assert dd.after < dd.before and el.after < el.before
    # Computed per candidate, not a constant per roll type.
    assert len(reductions) == len(rolls.candidates)


def test_capital_limit_and_preferences_filter(aapl: ChainIndex, config: EngineConfig) -> None:
    position = make_position("AAPL260821P00330000", -10, "8.50")
    _, strict = search_rolls(position, aapl, RebalanceParams(), config)
    assert all(c.additional_capital == 0 for c in strict.candidates)
    excluded = strict.rejected.get("additional capital > 0", 0)
    assert excluded > 0 and strict.capital_excluded == excluded
    # The output says why: seed 000's default of 0 additional capital, and what it would take.
    _, wide = search_rolls(position, aapl, WIDE, replace(config, max_candidates=100))
    needed = min(c.additional_capital for c in wide.candidates if c.additional_capital > 0)
    assert strict.capital_needed == needed.quantize(Decimal("0.01"))
    note = next(n for n in strict.notes if "max_additional_capital" in n)
    assert f"{excluded} of {strict.evaluated} candidates" in note and "seed 000" in note
    calendar_only = replace(WIDE, preferred_roll_types=frozenset({RollType.CALENDAR}))
    _, only = search_rolls(position, aapl, calendar_only, config)
    assert {c.roll_type for c in only.candidates} == {RollType.CALENDAR}


def test_liquidity_filter_rejects_thin_contracts(aapl: ChainIndex, config: EngineConfig) -> None:
    position = make_position("AAPL260821P00330000", -10, "8.50")
    tight = replace(config, liquidity=LiquidityFilter(100_000, 0, 0.25, Decimal("0.05")))
    _, rolls = search_rolls(position, aapl, WIDE, tight)
    assert rolls.passed == 0 and rolls.chosen is None
    assert rolls.rejected == {"open interest < 100000": rolls.evaluated}


def test_the_window_moves_with_the_position(aapl: ChainIndex, config: EngineConfig) -> None:
    # 55 days to expiry: a window counted from today (14-60 DTE) had no later expiry; counted
    # from the position's own expiry it reaches 16 Oct (28 days beyond 18 Sep).
    position = make_position("AAPL260918P00290000", -2, "2.50")
    _, rolls = search_rolls(position, aapl, WIDE, config)
    assert rolls.evaluated > 0 and rolls.candidates
    assert {c.open.expiry.date().isoformat() for c in rolls.candidates} == {"2026-10-16"}
    # Long-dated (17 Dec 2027): candidates 35 days beyond (21 Jan 2028); 17 Mar 2028 lies
    # 91 days beyond, outside the default 7-60 days, inside a 120-day window.
    leaps = make_position("AAPL271217P00300000", -1, "30")
    _, far = search_rolls(leaps, aapl, WIDE, config)
    assert far.evaluated > 0
    assert {c.open.expiry.date().isoformat() for c in far.candidates} <= {"2028-01-21"}
    wider = replace(config, roll_max_days_out=120)
    _, far_wider = search_rolls(leaps, aapl, WIDE, wider)
    assert "2028-03-17" in {c.open.expiry.date().isoformat() for c in far_wider.candidates}
    last = make_position("AAPL281215P00300000", -1, "40")
    _, none = search_rolls(last, aapl, WIDE, config)
    assert none.evaluated == 0 and none.chosen is None
    assert "7-60 days beyond 2028-12-15" in none.notes[0]


def test_probability_of_profit_is_that_of_the_combined_position(
    aapl: ChainIndex, config: EngineConfig, quotes: dict[str, dict[str, str]]
) -> None:
    import numpy as np

    from riskdesk.domain.rebalance.chain import prob_beyond

    entry = Decimal("8.50")
    position = make_position("AAPL260821P00330000", -10, entry)
    _, rolls = search_rolls(position, aapl, WIDE, replace(config, max_candidates=100))
    old_ask = Decimal(quotes["AAPL260821P00330000"]["ask"])
    for c in rolls.candidates:
        new_bid = Decimal(quotes[c.open.symbol]["bid"])
        # Entry credit + the roll's net credit at natural, per new contract: the combined
        # position breaks even at K - that (a put).
        kept = (entry - old_ask) * c.close.quantity + new_bid * c.open.quantity
        per_contract = kept / c.open.quantity
        j = aapl.find(c.open.symbol)
        args = (aapl.spot[j], aapl.years[j], aapl.drift[j], aapl.vol[j])
        if per_contract <= 0:
            assert c.new_breakeven is None and c.prob_profit == 0.0
        else:
            assert c.new_breakeven == c.open.strike - per_contract
            pop = prob_beyond(args[0], float(c.open.strike - per_contract), *args[1:], above=True)
            assert c.prob_profit == pytest.approx(float(pop))
        leg = prob_beyond(args[0], float(c.open.strike - new_bid), *args[1:], above=True)
        assert c.leg_prob_profit == pytest.approx(float(leg))
        assert c.leg_breakeven == c.open.strike - new_bid
        assert np.isfinite(c.prob_profit)


def test_long_positions_roll_by_selling_and_buying(aapl: ChainIndex, config: EngineConfig) -> None:
    position = make_position("AAPL260821C00350000", 4, "4.00")
    _, rolls = search_rolls(position, aapl, WIDE, config)
    assert rolls.candidates
    for c in rolls.candidates:
        assert (c.close.action, c.open.action) == ("STC", "BTO")
        assert c.close.natural == c.close.bid and c.open.natural == c.open.ask
        # Long: capital is the premium paid.
        assert c.capital_required == c.open.natural * c.open.quantity * 100


def test_horizon_loss_of_a_roll_matches_a_brute_force_integral(
    aapl: ChainIndex, config: EngineConfig
) -> None:
    import numpy as np

    from riskdesk.domain.pricing import bsm_price

    position = make_position("AAPL260821P00330000", -10, "8.50")
    _, rolls = search_rolls(position, aapl, WIDE, config)
    i0 = aapl.find("AAPL260821P00330000")
    t, vol, s, mu = aapl.years[i0], aapl.vol[i0], aapl.spot[i0], aapl.drift[i0]
    z = np.linspace(-9, 9, 400_001)
    s_t = s * np.exp((mu - 0.5 * vol * vol) * t + vol * np.sqrt(t) * z)
    density = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    for c in rolls.candidates[:5]:
        j = aapl.find(c.open.symbol)
        value = bsm_price(s_t, aapl.strike[j], aapl.years[j] - t, 0.04, 0.0, aapl.vol[j], False)
        loss = np.maximum(value - float(c.open.natural), 0) * float(c.open.quantity) * 100
        assert c.expected_loss.after == pytest.approx(np.trapezoid(loss * density, z), rel=1e-5)
