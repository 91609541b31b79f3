"""Margin and liquidation: formulas by hand, the defining equation as a property, cross vs
isolated backing through ``position_views``, short option margin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from domain_testkit import (
    CRYPTO_OPTION,
    EQUITY_OPTION,
    ETH_LINEAR,
    INVERSE,
    LINEAR,
    SPOT,
    T0,
    make_fill,
    new_book,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.domain.accounting.margin import (
    BINANCE,
    MaintenanceBasis,
    MarginConvention,
    OptionMarginRates,
    bankruptcy_price,
    distance_to_liquidation,
    initial_margin,
    liquidation_price,
    liquidation_price_at,
    maint_amounts,
    maintenance_margin,
    roe,
    short_option_margin,
    tier_for,
)
from riskdesk.domain.accounting.portfolio import (
    MarketSnapshot,
    PortfolioInputs,
    PositionView,
    position_views,
)
from riskdesk.domain.fills import MarginMode
from riskdesk.domain.instruments import Instrument, MarginTier, perpetual_or_future
from riskdesk.domain.values import ACCOUNTING_CONTEXT, ratio

D = Decimal
div = ACCOUNTING_CONTEXT.divide
BYBIT = MarginConvention(MaintenanceBasis.ENTRY, D("0.00055"))


# ------------------------------------------------------------------------------ formulas


def test_initial_and_maintenance_margin() -> None:
    assert initial_margin(LINEAR, D("-0.5"), D(60000), D(20)) == D(1500)
    assert initial_margin(INVERSE, D(100), D(50000), D(10)) == D("0.002")
    assert maintenance_margin(LINEAR, D(-2), D(50000)) == D(500)  # 100000 * 0.5 %
    assert maintenance_margin(INVERSE, D(100), D(40000)) == D("0.000125")  # 0.025 BTC * 0.5 %


def test_tiered_maintenance_and_cum() -> None:
    rows = [(D(0), D("0.004")), (D(50000), D("0.005")), (D(250000), D("0.01"))]
    cums = maint_amounts(rows)
    assert cums == [D(0), D(50), D(1300)]
    tiers = tuple(
        MarginTier(f, c, r, D(50), cum)
        for (f, r), c, cum in zip(rows, [D(50000), D(250000), D(10**9)], cums, strict=True)
    )
    inst = perpetual_or_future(
        "BTC/USDT:USDT", "paper", tick_size="0.1", lot_size="0.001", margin_tiers=tiers
    )
    assert tier_for(inst, D(10000)) == (D("0.004"), D(0))
    assert tier_for(inst, D(300000)) == (D("0.01"), D(1300))
    assert tier_for(LINEAR, D(10**9)) == (D("0.005"), D(0))
    # 5 BTC at 60000 = 300000 notional: 3000 - 1300.
    assert maintenance_margin(inst, D(5), D(60000)) == D(1700)
    # Continuous across a floor.
    assert maintenance_margin(inst, D(1), D(50000)) == D(200)
    assert maintenance_margin(inst, D(1), D("49999.9")) == D("199.9996")


def test_bankruptcy_price_linear_and_inverse() -> None:
    # Linear long 1 @ 20000 with 400 margin: 19600; short: 20400.
    assert bankruptcy_price(LINEAR, D(1), D(20000), D(400)) == D(19600)
    assert bankruptcy_price(LINEAR, D(-1), D(20000), D(400)) == D(20400)
    # Inverse long 1000 USD @ 50000 with 0.01 BTC: 1000 / (0.01 + 0.02) = 33333.33...
    bp = bankruptcy_price(INVERSE, D(100), D(50000), D("0.01"))
    assert bp == div(D(1000), D("0.03"))
    # Inverse short with 0.01 BTC: 1000 / (0.02 - 0.01) = 100000 (loss of 0.01 BTC).
    assert bankruptcy_price(INVERSE, D(-100), D(50000), D("0.01")) == D(100000)
    # A fully collateralised 1x linear long and an over-collateralised inverse short: never.
    assert bankruptcy_price(LINEAR, D(1), D(20000), D(20000)) is None
    assert bankruptcy_price(INVERSE, D(-100), D(50000), D("0.05")) is None


def test_bankruptcy_with_close_fee_bybit_inverse() -> None:
    inst = perpetual_or_future("BTC/USD:BTC", "bybit", tick_size="0.5", lot_size="1")
    bp = bankruptcy_price(inst, D(10000), D(8000), D("0.5"), D("0.00075"))
    assert bp == div(D("10007.5"), D("1.75"))


def test_liquidation_price_linear_binance_by_hand() -> None:
    # Long 1 @ 20000, margin 400, mmr 0.5 %: (20000 - 400) / (1 - 0.005).
    assert liquidation_price(LINEAR, D(1), D(20000), D(400)) == div(D(19600), D("0.995"))
    # Short: (-20000 - 400) / (-1 - 0.005).
    assert liquidation_price(LINEAR, D(-1), D(20000), D(400)) == div(D(20400), D("1.005"))


def test_liquidation_price_bybit_entry_basis_with_fee() -> None:
    # Bybit isolated: LP = E - (IM - MM0 - fee to close at BP) / q.
    q, e, im = D(1), D(20000), D(400)
    bp = bankruptcy_price(LINEAR, q, e, im, BYBIT.close_fee_rate)
    assert bp is not None
    fee = bp * BYBIT.close_fee_rate
    expected = e - (im - e * D("0.005") - fee)
    assert liquidation_price(LINEAR, q, e, im, BYBIT) == expected
    assert liquidation_price(LINEAR, q, e, im, MarginConvention(MaintenanceBasis.ENTRY)) == D(19700)


def test_liquidation_price_inverse_both_bases() -> None:
    q, e, m = D(100), D(50000), D("0.01")
    # Deribit-style (mark basis): (q·cs + |q|·cs·mmr) / (M + q·cs/E).
    assert liquidation_price(INVERSE, q, e, m) == div(D(1005), D("0.03"))
    # Entry basis: q·cs / (M + q·cs/E - MM0), MM0 = 0.02 * 0.005.
    entry = liquidation_price(INVERSE, q, e, m, MarginConvention(MaintenanceBasis.ENTRY))
    assert entry == div(D(1000), D("0.03") - D("0.0001"))
    assert liquidation_price_at(INVERSE, D(0), e, m, mmr=D("0.005")) is None


def test_roe_and_distance() -> None:
    assert roe(D(100), D(140)) == div(D(100), D(140))
    assert roe(D(100), D(140), D("0.693")) == div(D(100), D("140.693"))
    assert roe(D(5), D(0)) == 0
    assert distance_to_liquidation(D(100), D(90), long=True) == (D(10), D("0.1"))
    assert distance_to_liquidation(D(100), D(120), long=False) == (D(20), D("0.2"))
    assert distance_to_liquidation(D(100), D(105), long=True) == (D(-5), D("-0.05"))
    assert distance_to_liquidation(D(100), None, long=True) is None


# ------------------------------------------------------------------------------ properties

CONTRACTS = st.sampled_from([LINEAR, INVERSE])


@settings(max_examples=500, deadline=None)
@given(
    CONTRACTS,
    st.integers(1, 5000),
    st.booleans(),
    st.integers(20000, 90000),
    st.sampled_from([D(1), D(2), D(5), D(10), D(25), D(50), D(100)]),
    st.integers(0, 300),
)
def test_liquidation_equation_and_ordering(
    inst: Instrument, lots: int, long: bool, entry_int: int, leverage: Decimal, extra_pct: int
) -> None:
    """At the liquidation price the margin balance equals the maintenance margin; the price lies
    between the entry and the bankruptcy price."""
    qty = inst.lot_size * lots * (1 if long else -1)
    entry = D(entry_int)
    margin = initial_margin(inst, qty, entry, leverage) * (1 + D(extra_pct) / 100)
    liq = liquidation_price(inst, qty, entry, margin)
    bank = bankruptcy_price(inst, qty, entry, margin)
    if liq is None:
        # Only a position that cannot lose its margin: a linear long backed by its whole
        # notional, or an inverse short backed by its whole coin value.
        assert long != inst.inverse
        assert margin >= inst.notional(qty, entry)
        return
    balance = margin + inst.pnl(qty, entry, liq)
    maintenance = inst.notional(qty, liq) * inst.maint_margin_rate
    # Inverse P&L goes through coin values kept to the 1e-18 ledger quantum.
    slack = D("2e-18") if inst.inverse else D(0)
    assert abs(balance - maintenance) <= inst.notional(qty, liq) * D("1e-15") + slack
    if bank is not None:
        if long:
            assert bank < liq < entry
        else:
            assert entry < liq < bank
    else:
        assert entry < liq if not long else liq < entry


# ------------------------------------------------------------------------------ views: cross vs isolated


def views_of(
    book: object, marks: dict[Instrument, str], inputs: PortfolioInputs | None = None
) -> dict[str, PositionView]:
    instruments = {
        i.key: i for i in (SPOT, LINEAR, ETH_LINEAR, INVERSE, EQUITY_OPTION, CRYPTO_OPTION)
    }
    market = MarketSnapshot(
        {i.key: D(m) for i, m in marks.items()},
        {"USDT": D(1), "USD": D(1), "BTC": D(40000), "ETH": D(3100), "TSLA": D(400)},
        T0,
    )
    return {v.symbol: v for v in position_views([book], instruments, market, inputs)}  # type: ignore[list-item]


def test_cross_liquidation_counts_other_cross_positions() -> None:
    book = new_book({"USDT": 10_000})
    book.apply_fill(make_fill(LINEAR, "buy", "1", "40000", leverage=10), LINEAR)
    book.apply_fill(make_fill(ETH_LINEAR, "sell", "10", "3000", leverage=10), ETH_LINEAR)
    views = views_of(book, {LINEAR: "40000", ETH_LINEAR: "3100"})
    eth_mm = D(31000) * D("0.005")
    eth_upnl = D(-1000)
    btc_mm = D(40000) * D("0.005")
    btc_upnl = D(0)
    btc = views[LINEAR.symbol]
    eth = views[ETH_LINEAR.symbol]
    assert btc.liquidation_price == liquidation_price(
        LINEAR, D(1), D(40000), D(10_000) - eth_mm + eth_upnl
    )
    # As printed: on the 0.1 tick, 31311.5577… rounded up toward the mark.
    assert btc.on_tick().liquidation_price == D("31311.6")
    assert eth.liquidation_price == liquidation_price(
        ETH_LINEAR, D(-10), D(3000), D(10_000) - btc_mm + btc_upnl
    )
    assert btc.margin_mode == "cross"
    assert btc.margin_ccy == D(4000)  # entry notional / leverage
    assert btc.maintenance_ccy == btc_mm
    # Cross: the account's margin ratio (as the exchanges show it) — every cross position's
    # maintenance over the cross margin balance (wallet plus cross unrealized P&L).
    account_ratio = ratio(div(btc_mm + eth_mm, D(10_000) + btc_upnl + eth_upnl))
    assert btc.margin_ratio == eth.margin_ratio == account_ratio
    assert btc.bankruptcy_price == bankruptcy_price(
        LINEAR, D(1), D(40000), D(10_000) - eth_mm + eth_upnl
    )
    assert btc.liq_distance is not None and btc.liquidation_price is not None
    assert btc.liq_distance == D(40000) - btc.liquidation_price
    assert btc.liq_distance_ratio == ratio(div(btc.liq_distance, D(40000)))


def test_isolated_position_ignores_the_wallet_and_is_taken_out_of_the_cross_pool() -> None:
    book = new_book({"USDT": 10_000})
    book.apply_fill(make_fill(LINEAR, "buy", "1", "40000", leverage=10), LINEAR)
    book.apply_fill(
        make_fill(ETH_LINEAR, "sell", "10", "3000", leverage=10, margin_mode=MarginMode.ISOLATED),
        ETH_LINEAR,
    )
    views = views_of(book, {LINEAR: "40000", ETH_LINEAR: "3100"})
    eth = views[ETH_LINEAR.symbol]
    btc = views[LINEAR.symbol]
    assert eth.margin_mode == "isolated"
    assert eth.margin_ccy == D(3000)
    assert eth.liquidation_price == liquidation_price(ETH_LINEAR, D(-10), D(3000), D(3000))
    # The cross BTC position is backed by the wallet less the isolated allocation; the isolated
    # position's maintenance and loss do not count against it.
    assert btc.liquidation_price == liquidation_price(LINEAR, D(1), D(40000), D(7000))
    # ROE of an isolated position: unrealized / isolated margin.
    assert eth.pnl_ratio == ratio(div(D(-1000), D(3000)))


def test_pools_are_per_settlement_currency() -> None:
    book = new_book({"USDT": 10_000, "BTC": D("0.03")})
    book.apply_fill(make_fill(LINEAR, "buy", "1", "40000"), LINEAR)
    book.apply_fill(make_fill(INVERSE, "buy", "100", "50000"), INVERSE)
    views = views_of(book, {LINEAR: "40000", INVERSE: "40000"})
    assert views[LINEAR.symbol].liquidation_price == liquidation_price(
        LINEAR, D(1), D(40000), D(10_000)
    )
    assert views[INVERSE.symbol].liquidation_price == liquidation_price(
        INVERSE, D(100), D(50000), D("0.03")
    )


def test_over_collateralised_inverse_short_has_no_liquidation() -> None:
    book = new_book({"BTC": D("0.5")})
    book.apply_fill(make_fill(INVERSE, "sell", "100", "50000"), INVERSE)
    view = views_of(book, {INVERSE: "40000"})[INVERSE.symbol]
    assert view.liquidation_price is None
    assert view.liq_distance is None


def test_conventions_are_chosen_per_venue() -> None:
    book = new_book({"USDT": 1000})
    book.apply_fill(
        make_fill(LINEAR, "buy", "1", "20000", leverage=50, margin_mode="isolated"), LINEAR
    )
    binance = views_of(book, {LINEAR: "20000"})[LINEAR.symbol]
    bybit = views_of(
        book,
        {LINEAR: "20000"},
        PortfolioInputs(conventions={"paper": MarginConvention(MaintenanceBasis.ENTRY)}),
    )[LINEAR.symbol]
    assert bybit.liquidation_price == D(19700)
    assert binance.liquidation_price == div(D(19600), D("0.995"))  # 19698.4924…
    assert binance.on_tick().liquidation_price == D("19698.5")  # 0.1 tick, toward the mark
    assert binance.on_tick().bankruptcy_price == D("19600.0")
    assert MarginConvention() == BINANCE


# ------------------------------------------------------------------------------ options


def test_short_equity_option_margin_reg_t() -> None:
    rates = OptionMarginRates()
    # Short 2 TSLA 390 puts at 12.00 with TSLA at 400: OTM by 10.
    # per share max(0.2*400 - 10, 0.1*390) + 12 = 70 + 12 = 82 -> 2 * 100 * 82.
    assert short_option_margin(EQUITY_OPTION, D(-2), D(12), D(400), rates) == D(16400)
    # Deep OTM: the floor 10 % of the strike applies: max(0.2*600 - 210, 39) + 1 = 40.
    assert short_option_margin(EQUITY_OPTION, D(-1), D(1), D(600), rates) == D(4000)
    assert short_option_margin(EQUITY_OPTION, D(1), D(12), D(400), rates) == 0


def test_short_crypto_option_margin_deribit() -> None:
    rates = OptionMarginRates()
    # Short 1 BTC 100000 call at 0.01 BTC with BTC at 80000: OTM 20000 = 25 %.
    # initial per unit: max(0.15 - 0.25, 0.10) + 0.01 = 0.11 BTC; maintenance 0.075 + 0.01.
    assert short_option_margin(CRYPTO_OPTION, D(-1), D("0.01"), D(80000), rates) == D("0.11")
    assert short_option_margin(
        CRYPTO_OPTION, D(-1), D("0.01"), D(80000), rates, maintenance=True
    ) == D("0.085")


@pytest.mark.parametrize("qty", [D(1), D("0.5")])
def test_long_options_need_no_margin(qty: Decimal) -> None:
    assert short_option_margin(CRYPTO_OPTION, qty, D("0.01"), D(80000), OptionMarginRates()) == 0
