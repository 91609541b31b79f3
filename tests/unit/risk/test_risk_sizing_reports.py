"""Sizing (seed 002), leverage by confidence, fractional Kelly, report arithmetic and the
flatten plan."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from risk_unit_kit import (
    ACCT,
    BTC_SPOT,
    ETH_PERP,
    INVERSE,
    NOW,
    PERP,
    VENUE,
    approved,
    engine,
    hold,
    intent,
    linear,
    make_book,
    run,
)

from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.orders import OrderType, client_order_id_for
from riskdesk.domain.risk.flatten import OpenExposure, flatten_orders
from riskdesk.domain.risk.limits import LeverageTier, preset
from riskdesk.domain.risk.sizing import (
    SizingResult,
    kelly_fraction,
    leverage_for_confidence,
    size_position,
)
from riskdesk.domain.risk.trading_state import TradingState
from riskdesk.domain.values import PositionSide, Side

D = Decimal


def size(**kw: object) -> SizingResult:
    args: dict[str, object] = {
        "equity": D(100_000),
        "available": D(100_000),
        "entry": D(50_000),
        "stop": D(40_000),
        "risk_fraction": D("0.02"),
        "max_symbol_fraction": D("0.20"),
    }
    args.update(kw)
    inst = args.pop("instrument", PERP)
    return size_position(inst, **args)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- sizing


def test_seed_formula_quantity_is_risk_over_price_risk() -> None:
    r = size()  # 2,000 / 10,000 per contract
    assert r.qty == D("0.2")
    assert r.capped_by == "risk per trade"
    assert r.risk_amount == D(2000)
    assert r.risk_fraction == D("0.02")
    assert r.notional == D(10_000)
    assert r.capital_usage == D("0.1")
    assert "capped by risk per trade" in r.explanation


def test_short_entry_has_its_stop_above() -> None:
    r = size(stop=D(51_000), max_symbol_fraction=None)
    assert r.qty == D(2)
    assert r.risk_amount == D(2000)


def test_capped_by_the_per_symbol_limit() -> None:
    r = size(stop=D(49_000))  # 2 contracts = 100,000 notional > 20,000
    assert r.qty == D("0.4")
    assert r.capped_by == "per-symbol limit"
    assert r.notional == D(20_000)
    assert r.risk_amount == D(400)


def test_capped_by_available_capital_with_leverage() -> None:
    r = size(available=D(5000))
    assert r.qty == D("0.1")
    assert r.capped_by == "available capital"
    levered = size(available=D(5000), leverage=D(5))  # margin 0.2 x 50,000 / 5 = 2,000
    assert levered.qty == D("0.2")
    assert levered.capped_by == "risk per trade"
    assert levered.leverage == D(5)
    assert levered.capital_usage == D("0.4")


def test_rounded_down_to_the_lot() -> None:
    r = size(stop=D(47_000), max_symbol_fraction=None)  # 0.6666…
    assert r.qty == D("0.666")
    assert r.risk_amount == D("1998")
    assert r.risk_fraction <= D("0.02")
    spot_lot = size(instrument=ETH_PERP, entry=D(2000), stop=D(1700), max_symbol_fraction=None)
    assert spot_lot.qty == D("6.66")


def test_inverse_contracts_are_sized_in_coin() -> None:
    # 2 BTC equity, 2 % = 0.04 BTC; a 10 USD contract loses 10 × (1/40,000 − 1/50,000) = 0.00005.
    r = size(instrument=INVERSE, equity=D(2), available=D(1))
    assert r.qty == D(800)
    assert r.risk_amount == D("0.04")
    assert r.notional == D("0.16")
    assert r.capped_by == "risk per trade"
    capped = size(instrument=INVERSE, equity=D(2), available=D(1), max_symbol_fraction=D("0.05"))
    assert capped.qty == D(500)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"stop": D(50_000)}, "stop"),
        ({"stop": D(0)}, "stop"),
        ({"entry": D(-1)}, "entry"),
        ({"risk_fraction": D(0)}, "risk_fraction"),
        ({"risk_fraction": D(1)}, "risk_fraction"),
        ({"leverage": D(0)}, "leverage"),
    ],
)
def test_bad_sizing_input_is_rejected(kw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidValue) as err:
        size(**kw)
    assert err.value.field == field


def test_a_sized_entry_passes_the_matching_pre_trade_checks() -> None:
    r = size(stop=D(49_000))
    order = intent(r.qty, protective_stop="49000")
    approved(run(engine(max_symbol_exposure=0.20, risk_per_trade=0.02), order, make_book()))


# ----------------------------------------------------------------------------- leverage, Kelly


@pytest.mark.parametrize(
    ("confidence", "leverage"),
    [
        (1.0, 20.0),
        (0.875, 15.0),
        (0.75, 10.0),
        (0.70, 7.5),
        (0.65, 5.0),
        (0.6499, 4.9990),
        (0.325, 3.5),
        (0.0, 2.0),
    ],
)
def test_leverage_by_confidence_bands(confidence: float, leverage: float) -> None:
    tiers = preset("balanced").leverage_tiers
    assert leverage_for_confidence(confidence, tiers) == pytest.approx(leverage, abs=1e-3)


def test_leverage_band_edges_are_high_medium_low() -> None:
    tiers = preset("balanced").leverage_tiers
    assert 10.0 <= leverage_for_confidence(0.75, tiers) <= 20.0
    assert 5.0 <= leverage_for_confidence(0.74, tiers) < 10.0
    assert 5.0 <= leverage_for_confidence(0.65, tiers) <= 10.0
    assert leverage_for_confidence(0.64, tiers) < 5.0


@pytest.mark.parametrize(
    ("name", "expected"), [("conservative", (5.0, 3.0, 2.0)), ("aggressive", (20.0, 10.0, 5.0))]
)
def test_preset_leverage_is_flat_per_band(name: str, expected: tuple[float, ...]) -> None:
    tiers = preset(name).leverage_tiers
    got = tuple(leverage_for_confidence(c, tiers) for c in (0.9, 0.7, 0.3))
    assert got == expected


def test_custom_tiers_in_any_order() -> None:
    tiers = (LeverageTier(0.0, 1.0, 1.0), LeverageTier(0.5, 3.0, 3.0))
    assert leverage_for_confidence(0.6, tiers) == 3.0
    assert leverage_for_confidence(0.4, tiers) == 1.0


@pytest.mark.parametrize("confidence", [-0.01, 1.01, float("nan")])
def test_confidence_outside_zero_one_is_rejected(confidence: float) -> None:
    with pytest.raises(InvalidValue):
        leverage_for_confidence(confidence, preset("balanced").leverage_tiers)


@pytest.mark.parametrize(
    ("p", "b", "fraction", "expected"),
    [
        (0.6, 1.0, 0.5, 0.1),
        (0.6, 1.0, 1.0, 0.2),
        (0.5, 2.0, 0.5, 0.125),
        (0.4, 1.0, 0.5, 0.0),
        (1.0, 1.0, 0.5, 0.5),
        (0.0, 3.0, 0.5, 0.0),
    ],
)
def test_fractional_kelly(p: float, b: float, fraction: float, expected: float) -> None:
    assert kelly_fraction(p, b, fraction) == pytest.approx(expected)


@pytest.mark.parametrize(("p", "b"), [(-0.1, 1.0), (1.1, 1.0), (0.5, 0.0), (0.5, -1.0)])
def test_kelly_rejects_bad_input(p: float, b: float) -> None:
    with pytest.raises(InvalidValue):
        kelly_fraction(p, b)


# ----------------------------------------------------------------------------- flatten


def exposure(
    symbol: str, qty: str, risk: float, slot: PositionSide = PositionSide.NET
) -> OpenExposure:
    return OpenExposure(ACCT, VENUE, symbol, slot, D(qty), risk)


POSITIONS = [
    exposure(ETH_PERP.symbol, "-10", 20_000.0),
    exposure(PERP.symbol, "1", 50_000.0),
    exposure("SOL/USDT:USDT", "0", 99_000.0),
    exposure(BTC_SPOT.symbol, "0.5", 25_000.0),
    exposure(PERP.symbol, "0.2", 10_000.0, PositionSide.LONG),
]


def test_flatten_closes_everything_largest_risk_first() -> None:
    orders = flatten_orders(POSITIONS, NOW, "run1")
    assert [(o.symbol, o.side, o.qty) for o in orders] == [
        (PERP.symbol, Side.SELL, D(1)),
        (BTC_SPOT.symbol, Side.SELL, D("0.5")),
        (ETH_PERP.symbol, Side.BUY, D(10)),
        (PERP.symbol, Side.SELL, D("0.2")),
    ]
    for o in orders:
        assert o.reduce_only
        assert o.order_type is OrderType.MARKET
        assert o.source == "kill_switch"
        assert o.created_at == NOW
    assert orders[-1].position_side is PositionSide.LONG


def test_flatten_ids_are_deterministic_per_run() -> None:
    a = flatten_orders(POSITIONS, NOW, "run1")
    b = flatten_orders(list(reversed(POSITIONS)), NOW + timedelta(seconds=3), "run1")
    assert sorted(o.intent_id for o in a) == sorted(o.intent_id for o in b)
    assert a[0].intent_id == f"flatten:run1:{ACCT}:{VENUE}:{PERP.symbol}:net"
    assert a[0].client_order_id == client_order_id_for(a[0].intent_id)
    assert len({o.client_order_id for o in a}) == len(a)
    c = flatten_orders(POSITIONS, NOW, "run2")
    assert not {o.intent_id for o in a} & {o.intent_id for o in c}


def test_flatten_orders_pass_pre_trade_in_the_flatten_state() -> None:
    book = make_book(
        linear(), linear(ETH_PERP, 2000.0), linear(BTC_SPOT), state=TradingState.FLATTEN
    )
    hold(book, PERP.key, 1.0)
    hold(book, ETH_PERP.key, -10.0)
    hold(book, BTC_SPOT.key, 0.5)
    hold(book, PERP.key, 0.2, slot="long")
    eng = engine(
        daily_loss_limit=0.05, max_symbol_exposure=0.01, max_total_exposure=0.01, max_positions=1
    )
    for order in flatten_orders([p for p in POSITIONS if "SOL" not in p.symbol], NOW, "r"):
        approved(run(eng, order, book))
