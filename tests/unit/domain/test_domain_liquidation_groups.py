"""Cross liquidation when several positions of one instrument share the margin (hedge mode):
every cross position of the same instrument moves with the price, the others stay at their
marks. Hand-computed cases, Binance's published hedge-mode cross formula as an independent
reference, and the defining equation as a property (margin balance = maintenance at the
liquidation price, and no nearer price where it holds)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from domain_testkit import ETH_LINEAR, INVERSE, LINEAR, T0, make_fill, new_book
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.domain.accounting.book import Book, PositionMode
from riskdesk.domain.accounting.margin import (
    MaintenanceBasis,
    MarginConvention,
    MarginLeg,
    group_bankruptcy_price,
    group_liquidation_price,
    leg_of,
    liquidation_price,
    maint_amounts,
    margin_excess,
)
from riskdesk.domain.accounting.portfolio import MarketSnapshot, PositionView, position_views
from riskdesk.domain.fills import MarginMode
from riskdesk.domain.instruments import Instrument, MarginTier, perpetual_or_future
from riskdesk.domain.values import ACCOUNTING_CONTEXT

D = Decimal
div = ACCOUNTING_CONTEXT.divide

#: Binance USD-M BTCUSDT brackets (floor, rate, max leverage), 2024-10 (as bundled).
_BRACKETS = [
    (D(0), D("0.004"), D(125)),
    (D(50_000), D("0.005"), D(100)),
    (D(600_000), D("0.0065"), D(75)),
    (D(3_000_000), D("0.01"), D(50)),
    (D(12_000_000), D("0.02"), D(25)),
    (D(70_000_000), D("0.025"), D(20)),
    (D(100_000_000), D("0.05"), D(10)),
]
_CUMS = maint_amounts([(f, r) for f, r, _ in _BRACKETS])
_CAPS = [f for f, _, _ in _BRACKETS[1:]] + [D(10) ** 12]
TIERS = tuple(
    MarginTier(f, cap, r, lev, cum)
    for (f, r, lev), cap, cum in zip(_BRACKETS, _CAPS, _CUMS, strict=True)
)
TIERED = perpetual_or_future(
    "BTC/USDT:USDT", "paper", tick_size="0.1", lot_size="0.001", margin_tiers=TIERS
)
#: Inverse tiers by coin notional (as a coin-margined venue would publish them).
COIN_TIERS = tuple(
    MarginTier(D(f), D(c), D(r), D(50), cum)
    for (f, c, r), cum in zip(
        [(0, 5, "0.004"), (5, 20, "0.005"), (20, 10**9, "0.01")],
        maint_amounts([(D(0), D("0.004")), (D(5), D("0.005")), (D(20), D("0.01"))]),
        strict=True,
    )
)
COIN_TIERED = perpetual_or_future(
    "BTC/USD:BTC", "paper", tick_size="0.5", lot_size="1", contract_size="100",
    margin_tiers=COIN_TIERS,
)  # fmt: skip


def hedge_book(wallet: dict[str, object]) -> Book:
    return new_book(wallet, mode=PositionMode.HEDGE, margin_mode=MarginMode.CROSS, leverage=20)


def views(book: Book, marks: dict[Instrument, str]) -> dict[tuple[str, str], PositionView]:
    instruments = {i.key: i for i in (LINEAR, ETH_LINEAR, INVERSE)}
    market = MarketSnapshot(
        {i.key: D(m) for i, m in marks.items()},
        {"USDT": D(1), "USD": D(1), "BTC": D(40000), "ETH": D(3000)},
        T0,
    )
    return {(v.symbol, v.slot): v for v in position_views([book], instruments, market)}


# ------------------------------------------------------------------------------ by hand


def test_fully_hedged_pair_is_liquidated_only_by_maintenance_far_away() -> None:
    """The audit's case: 1000 USDT, long 1 and short 1 BTC at 20000. The P&L cancels at every
    price, so only the maintenance (0.5 % of 2 × P) can use the 1000 up: at P = 100,000."""
    book = hedge_book({"USDT": 1000})
    book.apply_fill(make_fill(LINEAR, "buy", "1", "20000", position_side="long"), LINEAR)
    book.apply_fill(make_fill(LINEAR, "sell", "1", "20000", position_side="short"), LINEAR)
    for mark in ("20000", "26000", "15000"):
        rows = views(book, {LINEAR: mark})
        long, short = rows[(LINEAR.symbol, "long")], rows[(LINEAR.symbol, "short")]
        assert long.liquidation_price == short.liquidation_price == D(100_000)
        assert long.bankruptcy_price is None  # the margin is never used up by the price alone
        # The danger lies above the mark for both legs; the distance is positive for both.
        assert long.liq_distance == short.liq_distance == D(100_000) - D(mark)
    # Binance's hedge-mode formula: (WB + cumL + cumS − L·EL + S·ES) / (L·mmrL + S·mmrS − L + S).
    assert div(D(1000) - 20000 + 20000, D("0.005") + D("0.005") - 1 + 1) == D(100_000)


def test_hedged_pair_with_net_long_by_hand() -> None:
    """Long 2 @ 20000 and short 1 @ 21000 on 1000 USDT: balance 1000 + 2(P−20000) − (P−21000)
    = P − 18000 meets maintenance 0.5 % × 3P at P = 18000 / 0.985."""
    book = hedge_book({"USDT": 1000})
    book.apply_fill(make_fill(LINEAR, "buy", "2", "20000", position_side="long"), LINEAR)
    book.apply_fill(make_fill(LINEAR, "sell", "1", "21000", position_side="short"), LINEAR)
    rows = views(book, {LINEAR: "20000"})
    expected = div(D(18000), D("0.985"))
    long, short = rows[(LINEAR.symbol, "long")], rows[(LINEAR.symbol, "short")]
    assert long.liquidation_price == short.liquidation_price == expected
    # Bankruptcy: P − 18000 = 0.
    assert long.bankruptcy_price == D(18000)
    assert long.liq_distance == D(20000) - expected  # falls to it
    assert short.liq_distance == D(20000) - expected  # the short leg goes with the group
    assert long.on_tick().liquidation_price == D("18274.2")  # 18274.11…, up toward the mark
    # Treating the other leg as fixed (the old answer) would have been wrong:
    wrong = liquidation_price(LINEAR, D(2), D(20000), D(1000) - D(21000) * D("0.005"))
    assert wrong != expected


def test_inverse_hedged_pair_is_liquidated_only_by_a_collapse() -> None:
    """Coin-margined: the coin P&L of 100 long and 100 short contracts cancels; the maintenance
    in coin, 0.5 % × 2000 USD / P, reaches the 0.01 BTC wallet at P = 1000."""
    book = hedge_book({"BTC": "0.01"})
    book.apply_fill(make_fill(INVERSE, "buy", "100", "50000", position_side="long"), INVERSE)
    book.apply_fill(make_fill(INVERSE, "sell", "100", "50000", position_side="short"), INVERSE)
    rows = views(book, {INVERSE: "45000"})
    long, short = rows[(INVERSE.symbol, "long")], rows[(INVERSE.symbol, "short")]
    assert long.liquidation_price == short.liquidation_price == D(1000)
    assert long.liq_distance == D(44000) and short.liq_distance == D(44000)


def test_other_symbols_stay_at_their_marks() -> None:
    """A cross ETH short losing 1000 with 155 maintenance shrinks what backs the BTC pair."""
    book = hedge_book({"USDT": 10_000})
    book.apply_fill(make_fill(LINEAR, "buy", "2", "20000", position_side="long"), LINEAR)
    book.apply_fill(make_fill(LINEAR, "sell", "1", "21000", position_side="short"), LINEAR)
    book.apply_fill(make_fill(ETH_LINEAR, "sell", "10", "3000", position_side="short"), ETH_LINEAR)
    rows = views(book, {LINEAR: "20000", ETH_LINEAR: "3100"})
    backing = D(10_000) - D(31_000) * D("0.005") - D(1000)
    # P − 19000 + backing = 0.015 P.
    expected = div(D(19000) - backing, D("0.985"))
    assert rows[(LINEAR.symbol, "long")].liquidation_price == expected
    # And the ETH short is backed by the wallet less the BTC pair's maintenance, plus its P&L.
    btc_mm = (2 + 1) * D(20000) * D("0.005")
    btc_upnl = D(0) + D(1000)
    assert rows[(ETH_LINEAR.symbol, "short")].liquidation_price == liquidation_price(
        ETH_LINEAR, D(-10), D(3000), D(10_000) - btc_mm + btc_upnl
    )


def test_isolated_legs_are_not_grouped() -> None:
    book = new_book({"USDT": 1000}, mode=PositionMode.HEDGE, margin_mode=MarginMode.ISOLATED)
    book.apply_fill(
        make_fill(LINEAR, "buy", "1", "20000", position_side="long", leverage=20), LINEAR
    )
    book.apply_fill(
        make_fill(LINEAR, "sell", "1", "20000", position_side="short", leverage=20), LINEAR
    )
    rows = views(book, {LINEAR: "20000"})
    assert rows[(LINEAR.symbol, "long")].liquidation_price == liquidation_price(
        LINEAR, D(1), D(20000), D(1000)
    )
    assert rows[(LINEAR.symbol, "short")].liquidation_price == liquidation_price(
        LINEAR, D(-1), D(20000), D(1000)
    )


def test_entry_basis_fully_hedged_has_no_liquidation() -> None:
    legs = [leg_of(LINEAR, D(1), D(20000)), leg_of(LINEAR, D(-1), D(20000))]
    bybit = MarginConvention(MaintenanceBasis.ENTRY)
    assert group_liquidation_price(LINEAR, legs, D(1000), bybit) is None
    # ... unless the fixed maintenance already exceeds the margin: then it is liquidated at
    # any price, which no single price describes either.
    assert group_liquidation_price(LINEAR, legs, D(100), bybit) is None
    assert margin_excess(LINEAR, legs, D(100), D(20000), bybit) < 0


def test_group_of_one_is_the_single_position_formula() -> None:
    for inst, qty, entry, margin in (
        (LINEAR, D(1), D(20000), D(400)),
        (LINEAR, D(-3), D(20000), D(4000)),
        (INVERSE, D(100), D(50000), D("0.01")),
        (INVERSE, D(-100), D(50000), D("0.01")),
    ):
        leg = leg_of(inst, qty, entry)
        assert group_liquidation_price(inst, [leg], margin) == liquidation_price(
            inst, qty, entry, margin
        )


# ------------------------------------------------------------------------------ properties


def binance_hedge_formula(
    long: tuple[Decimal, Decimal], short: tuple[Decimal, Decimal], wallet: Decimal, mmr: Decimal
) -> Decimal:
    """Binance USD-M cross liquidation price in hedge mode (its published formula, BOTH = 0):
    ``(WB + cumL + cumS − L·EL + S·ES) / (L·MMR_L + S·MMR_S − L + S)`` with sizes ``L, S`` ≥ 0."""
    (lq, le), (sq, se) = long, short
    return div(wallet - lq * le + sq * se, lq * mmr + sq * mmr - lq + sq)


@settings(max_examples=500, deadline=None)
@given(
    st.integers(1, 3000),
    st.integers(0, 3000),
    st.integers(15000, 90000),
    st.integers(15000, 90000),
    st.integers(50, 200_000),
)
def test_matches_binance_hedge_mode_formula(
    long_lots: int, short_lots: int, long_entry: int, short_entry: int, wallet: int
) -> None:
    long = (LINEAR.lot_size * long_lots, D(long_entry))
    short = (LINEAR.lot_size * short_lots, D(short_entry))
    legs = [leg_of(LINEAR, long[0], long[1])]
    if short_lots:
        legs.append(leg_of(LINEAR, -short[0], short[1]))
    ours = group_liquidation_price(LINEAR, legs, D(wallet))
    theirs = binance_hedge_formula(long, short, D(wallet), LINEAR.maint_margin_rate)
    if ours is None:
        assert theirs <= 0
    else:
        assert ours == theirs


@st.composite
def groups(draw: st.DrawFn) -> tuple[Instrument, list[MarginLeg], Decimal, Decimal, bool]:
    inst = draw(st.sampled_from([LINEAR, INVERSE, TIERED, COIN_TIERED]))
    n = draw(st.integers(1, 3))
    legs = []
    for _ in range(n):
        lots = draw(st.integers(1, 100_000 if inst.inverse else 200_000))
        sign = draw(st.sampled_from([1, -1]))
        entry = D(draw(st.integers(10_000, 100_000)))
        legs.append(leg_of(inst, inst.lot_size * lots * sign, entry))
    mark = D(draw(st.integers(10_000, 100_000)))
    gross = sum(abs(leg.qty) for leg in legs) * inst.contract_size
    notional = gross / mark if inst.inverse else gross * mark
    backing = notional * D(draw(st.integers(1, 400))) / 1000
    entry_basis = draw(st.booleans()) and not inst.margin_tiers
    return inst, legs, backing, mark, entry_basis


def _residual_bound(inst: Instrument, legs: list[MarginLeg], price: Decimal) -> Decimal:
    gross = sum(abs(leg.qty) for leg in legs)
    return inst.notional(gross, price) * D("1e-30") + D("1e-26")


@settings(max_examples=600, deadline=None)
@given(groups())
def test_liquidation_price_solves_the_equation_nearest_to_the_mark(
    case: tuple[Instrument, list[MarginLeg], Decimal, Decimal, bool],
) -> None:
    inst, legs, backing, mark, entry_basis = case
    conv = MarginConvention(MaintenanceBasis.ENTRY if entry_basis else MaintenanceBasis.MARK)
    liq = group_liquidation_price(inst, legs, backing, conv, mark)

    def excess(price: Decimal) -> Decimal:
        return margin_excess(inst, legs, backing, price, conv)

    at_mark = excess(mark)
    if liq is None:
        # No price on a wide grid around the mark crosses the equation.
        probes = [mark * D(k) / 100 for k in (1, 5, 20, 50, 80, 95, 105, 120, 200, 500, 2000)]
        signs = {excess(p) > 0 for p in probes} | {at_mark > 0}
        assert len(signs) == 1
        return
    # At the liquidation price the margin balance equals the maintenance margin.
    assert abs(excess(liq)) <= _residual_bound(inst, legs, liq)
    # Between the mark and the liquidation price the excess keeps the mark's sign: nothing
    # nearer liquidates the group first.
    for k in range(1, 20):
        probe = mark + (liq - mark) * D(k) / 20
        value = excess(probe)
        if abs(value) > _residual_bound(inst, legs, probe):
            assert (value > 0) == (at_mark > 0)


@settings(max_examples=300, deadline=None)
@given(groups())
def test_bankruptcy_price_uses_the_margin_up(
    case: tuple[Instrument, list[MarginLeg], Decimal, Decimal, bool],
) -> None:
    inst, legs, backing, _, _ = case
    bank = group_bankruptcy_price(inst, legs, backing)
    if bank is None:
        return
    balance = backing + sum(inst.entry_value(leg.qty, bank) - leg.basis for leg in legs)
    assert abs(balance) <= _residual_bound(inst, legs, bank)


def test_tiered_group_picks_each_legs_own_bracket() -> None:
    """Long 100 BTC @ 30000 and short 60 BTC @ 30000 on 100,000 USDT with Binance brackets: at
    the root each leg's maintenance comes from the bracket holding its own notional."""
    legs = [leg_of(TIERED, D(100), D(30000)), leg_of(TIERED, D(-60), D(30000))]
    liq = group_liquidation_price(TIERED, legs, D(100_000), reference=D(30000))
    assert liq is not None
    # By hand: both notionals fall in [600k, 3M) near 28000 → 0.65 %, cum 950 each:
    # 100000 + 40(P − 30000) = 0.0065·160·P − 1900  →  P = (1_200_000 − 100_000 − 1900) / 38.96
    assert liq == div(D(1_200_000) - D(100_000) - D(1900), D(40) - D("0.0065") * 160)
    assert abs(margin_excess(TIERED, legs, D(100_000), liq)) < D("1e-30")
    assert D(600_000) <= 60 * liq < D(3_000_000)


@pytest.mark.parametrize("inst", [LINEAR, INVERSE])
def test_view_distance_sign_for_a_net_short_group_long_leg(inst: Instrument) -> None:
    """A long leg in a net-short group is liquidated by a rising price: its liquidation price is
    above the mark and its distance positive (not 'already past')."""
    book = hedge_book({"USDT": 5000, "BTC": "0.005"})
    small, big = ("1", "3") if not inst.inverse else ("100", "300")
    book.apply_fill(make_fill(inst, "buy", small, "40000", position_side="long"), inst)
    book.apply_fill(make_fill(inst, "sell", big, "40000", position_side="short"), inst)
    rows = views(book, {inst: "40000"})
    long = rows[(inst.symbol, "long")]
    assert long.liquidation_price is not None and long.liquidation_price > D(40000)
    assert long.liq_distance is not None and long.liq_distance > 0
    assert long.liq_distance == long.liquidation_price - D(40000)
