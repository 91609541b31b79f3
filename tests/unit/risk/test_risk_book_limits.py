"""Book-wide Greek limits (gamma and vega in total), the reduce-only exemption of every check
that blocks entries (for orders flagged ``reduce_only=True``), what an approval says it checked,
the reasons' values and limits, working orders counted as pending, sizing within every cap
given the book, and the FLATTEN order by risk contribution."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from risk_unit_kit import (
    ACCT,
    EQUITY,
    ETH_PERP,
    NOW,
    OPTION,
    PERP,
    VENUE,
    approved,
    denied,
    engine,
    hold,
    intent,
    linear,
    make_book,
    option,
    run,
)

from riskdesk.domain.instruments import Instrument, equity_option
from riskdesk.domain.orders import OrderIntent
from riskdesk.domain.risk.aggregates import InstrumentRisk, RiskBook
from riskdesk.domain.risk.decisions import Decision, RiskCode
from riskdesk.domain.risk.flatten import OpenExposure, flatten_orders, risk_contributions
from riskdesk.domain.risk.limits import RiskLimits
from riskdesk.domain.risk.pretrade import PreTradeEngine
from riskdesk.domain.risk.sizing import book_caps, size_position
from riskdesk.domain.risk.trading_state import TradingState
from riskdesk.domain.values import PositionSide

AAPL = equity_option("AAPL250919C00200000", VENUE)
CATALOG: dict[str, Instrument] = {OPTION.key: OPTION, AAPL.key: AAPL, PERP.key: PERP}


def aapl(*, gamma: float = 0.01, vega: float = 0.5) -> InstrumentRisk:
    """An AAPL call (multiplier 100, underlying 200): dollar Greeks per contract."""
    return InstrumentRisk(
        key=AAPL.key,
        venue=VENUE,
        asset="AAPL",
        settle="USD",
        mark=10.0,
        mark_ts=NOW,
        exposure_per_unit=0.5 * 100 * 200,
        notional_per_unit=100 * 200,
        margin_per_unit=1000.0,
        settle_rate=1.0,
        contract_size=100.0,
        is_option=True,
        delta_per_unit=0.5 * 100 * 200,
        gamma_per_unit=gamma * 200 * 200 * 100 / 100.0,
        vega_per_unit=vega * 100,
        underlying_price=200.0,
    )


def check(eng: PreTradeEngine, order: OrderIntent, book: RiskBook) -> Decision:
    return eng.check(order, CATALOG[order.instrument_key], book, NOW)


# ----------------------------------------------------------------------------- Greek totals


def test_gamma_in_total_is_checked_on_the_book_after_the_order() -> None:
    """TSLA 1,600 and AAPL 400 dollar gamma per contract; each underlying within 5 %, the book
    above 6 %."""
    eng = engine(max_gamma_per_underlying=0.05, max_gamma_total=0.06)
    book = make_book(option(), aapl())
    hold(book, OPTION.key, 3.0)  # 4,800 TSLA
    assert book.gamma_sum == pytest.approx(4_800.0)
    decision = denied(check(eng, intent("4", inst=AAPL), book), RiskCode.GAMMA)
    assert decision.reason == (
        "book dollar gamma (1 % move of every underlying) would be 6,400.00 = 6.40 % of equity, "
        "limit 6.00 %"
    )
    assert (decision.value, decision.limit) == (pytest.approx(0.064), 0.06)
    assert decision.suggestion == "hedge the book or reduce the order"
    approved(check(eng, intent("3", inst=AAPL), book))  # 6,000: at the limit
    # Selling gamma elsewhere brings the total down.
    approved(check(eng, intent("3", "sell", inst=AAPL), book))
    assert book.gamma_sum == pytest.approx(4_800.0)  # a check changes nothing


def test_vega_in_total_is_checked_on_the_book_after_the_order() -> None:
    eng = engine(max_vega_per_underlying=0.01, max_vega_total=0.015)
    book = make_book(option(), aapl())
    hold(book, OPTION.key, 20.0)  # 1,000 TSLA vega
    decision = denied(check(eng, intent("11", inst=AAPL), book), RiskCode.VEGA)
    assert "book vega (1 vol point on every underlying) would be 1,550.00 = 1.55 %" in (
        decision.reason
    )
    assert (decision.value, decision.limit) == (pytest.approx(0.0155), 0.015)
    approved(check(eng, intent("10", inst=AAPL), book))


def test_gamma_and_vega_totals_exempt_reduce_only_orders() -> None:
    eng = engine(max_gamma_total=0.01, max_vega_total=0.001)
    book = make_book(option())
    hold(book, OPTION.key, 10.0)  # 16,000 gamma, 500 vega: both above
    denied(check(eng, intent("1", inst=OPTION), book), RiskCode.GAMMA)
    approved(check(eng, intent("5", "sell", inst=OPTION, reduce_only=True), book))


def test_per_underlying_gamma_reason_states_value_and_limit() -> None:
    decision = denied(
        run(engine(max_gamma_per_underlying=0.05), intent("4", inst=OPTION), make_book(option())),
        RiskCode.GAMMA,
    )
    assert (decision.value, decision.limit) == (pytest.approx(0.064), 0.05)


def test_concentration_reason_states_value_and_limit() -> None:
    book = make_book(linear())
    hold(book, PERP.key, 0.5)  # 25 %
    decision = denied(
        run(engine(max_concentration=0.30), intent("0.2"), book), RiskCode.CONCENTRATION
    )
    assert (
        decision.reason
        == "BTC: gross exposure 35,000.00 would be 35.00 % of equity 100,000.00, limit 30.00 %"
    )
    assert (decision.value, decision.limit) == (pytest.approx(0.35), 0.30)


# ----------------------------------------------------------------------------- reduce-only


def _breaching_book(available: float) -> RiskBook:
    """A long of 2 BTC (200 % of a 50,000 equity that fell 50 % today), 40,000 of heat, a stale
    mark, 99 adjustments and huge costs today: every entry check fails."""
    book = make_book(
        linear(grid=True, mark_ts=NOW.replace(hour=1)),
        linear(ETH_PERP, 2000.0, mark_ts=NOW.replace(hour=1)),
        equity=50_000.0,
        day_start=100_000.0,
        available=available,
    )
    hold(book, PERP.key, 2.0)
    book.heat = 40_000.0
    book.adjustments_today = 99
    book.cost_today = 1e9
    return book


_BLOCKING = {
    "stale_data": {"max_mark_age_seconds": 60.0},
    "insufficient_margin": {},
    "daily_loss": {"daily_loss_limit": 0.05},
    "symbol_exposure": {"max_symbol_exposure": 0.20},
    "total_exposure": {"max_total_exposure": 0.60},
    "max_positions": {"max_positions": 0},
    "leverage": {"max_leverage": 1.0},
    "risk_per_trade": {"risk_per_trade": 0.001},
    "no_protective_stop": {"require_protective_stop": True},
    "concentration": {"max_concentration": 0.40},
    "portfolio_heat": {"max_portfolio_heat": 0.10},
    "net_delta": {"max_net_delta_per_underlying": 0.50, "max_net_delta_total": 1.0},
    "scenario_loss": {"max_scenario_loss": 0.30},
    "adjustments_per_day": {"max_adjustments_per_day": 10},
    "cost_per_day": {"max_cost_per_day": 1000.0},
}


@pytest.mark.parametrize("code", sorted(_BLOCKING))
def test_each_entry_check_exempts_an_order_flagged_reduce_only(code: str) -> None:
    eng = engine(**_BLOCKING[code])
    book = _breaching_book(0.0 if code == "insufficient_margin" else 1e9)
    stop = "40000" if code in ("risk_per_trade", "portfolio_heat") else None
    source = "hedge" if code in ("adjustments_per_day", "cost_per_day") else "manual"
    new = code == "max_positions"  # a new position, not an add
    entry = run(
        eng,
        intent(
            "0.1" if new else "0.01",
            protective_stop=None if new else stop,
            source=source,
            inst=ETH_PERP if new else PERP,
        ),
        book,
    )
    assert code in {d.code.value for d in getattr(entry, "all", ())}, entry
    exit_ = intent("0.5", "sell", reduce_only=True, protective_stop=stop, source=source)
    assert exit_.reduce_only is True
    approved(run(eng, exit_, book))


@pytest.mark.parametrize(
    ("code", "limits", "order"),
    [
        (
            "order_notional",
            {"max_order_notional": 1000.0},
            lambda: intent("0.5", "sell", reduce_only=True),
        ),
        (
            "price_band",
            {"price_band": 0.05},
            lambda: intent("0.5", "sell", reduce_only=True, price="40000"),
        ),
    ],
)
def test_shape_checks_still_stop_a_reduce_only_exit(code: str, limits: dict, order: object) -> None:  # type: ignore[type-arg]
    book = hold(make_book(), PERP.key, 1.0)
    denied(run(engine(**limits), order(), book), RiskCode(code))  # type: ignore[operator]


# ----------------------------------------------------------------------------- approvals


def test_an_approval_counts_the_checks_that_ran() -> None:
    every = PreTradeEngine(RiskLimits())
    exit_ = approved(
        run(every, intent("0.5", "sell", reduce_only=True), hold(make_book(), PERP.key, 1.0))
    )
    # Common four, order notional, rate limit: the rest does not apply to an exit.
    assert exit_.checks == 6
    entry = approved(run(every, intent("0.01", protective_stop="49000"), make_book()))
    # Common four + margin + stale, daily loss, symbol, total, positions, leverage, notional,
    # concentration + rate + risk per trade, heat + net delta per underlying and total.
    assert entry.checks == 18
    hedge = approved(
        run(every, intent("0.01", protective_stop="49000", source="hedge"), make_book())
    )
    assert hedge.checks == 18 + 4  # seed 001's four adjustment checks
    none = approved(run(engine(), intent("0.01"), make_book()))
    assert none.checks == 5  # every limit off: the common four and the margin


def test_no_protective_stop_reason_names_the_entry_and_the_allowed_risk() -> None:
    eng = engine(require_protective_stop=True, risk_per_trade=0.02)
    decision = denied(run(eng, intent("0.1"), make_book()), RiskCode.NO_PROTECTIVE_STOP)
    assert decision.reason == (
        "the long entry of 0.1 paper:BTC/USDT:USDT at 50000 gives no protective stop: its whole "
        "notional 5,000.00 (5.00 % of equity) is at risk; a stop is required so the loss to it "
        "stays within 2,000.00 (2.00 % of equity 100,000.00)"
    )
    assert decision.suggestion == "attach a stop price (--stop) no lower than 30,000 for this size"
    assert (decision.value, decision.limit) == (pytest.approx(0.05), 0.02)
    short = denied(run(eng, intent("0.1", "sell"), make_book()), RiskCode.NO_PROTECTIVE_STOP)
    assert short.suggestion.endswith("no higher than 70,000 for this size")
    approved(run(eng, intent("0.1", protective_stop="30000"), make_book()))


# ----------------------------------------------------------------------------- pending orders


def test_a_working_order_counts_as_if_filled_until_it_fills_or_ends() -> None:
    book = make_book(available=10_000.0)
    book.add_pending("o1", ACCT, PERP.key, "net", 0.2, margin=1_000.0, trade_risk=200.0)
    assert book.symbol_exposure[PERP.key] == pytest.approx(10_000.0)
    assert (book.gross, book.count, book.positions) == (pytest.approx(10_000.0), 0, {})
    assert book.available[(ACCT, "USDT")] == pytest.approx(9_000.0)
    assert book.heat == pytest.approx(200.0)
    book.add_pending("o1", ACCT, PERP.key, "net", 0.2, margin=1_000.0)  # idempotent
    assert book.gross == pytest.approx(10_000.0)
    assert book.fill_pending("o1", 0.05)
    assert book.positions == {(ACCT, PERP.key, "net"): pytest.approx(0.05)}
    assert book.gross == pytest.approx(10_000.0) and book.count == 1
    book.drop_pending("o1")  # cancelled with 0.15 left
    assert book.gross == pytest.approx(2_500.0)
    assert book.available[(ACCT, "USDT")] == pytest.approx(9_750.0)  # 0.15 of 0.2 released
    assert book.heat == pytest.approx(50.0)
    assert not book.fill_pending("o1", 0.1)  # no longer counted: book it as a fill


def test_the_next_entry_sees_a_working_one() -> None:
    eng = engine(max_symbol_exposure=0.20)
    book = make_book()
    book.add_pending("o1", ACCT, PERP.key, "net", 0.3)  # 15,000
    decision = denied(run(eng, intent("0.2"), book), RiskCode.SYMBOL_EXPOSURE)
    assert decision.suggestion == "reduce the order to at most 0.1 contracts"


def test_a_working_entry_does_not_make_a_reduce_only_order_valid() -> None:
    book = make_book()
    book.add_pending("o1", ACCT, PERP.key, "net", 0.3)
    denied(run(engine(), intent("0.1", "sell", reduce_only=True), book), RiskCode.REDUCE_ONLY)


# ----------------------------------------------------------------------------- sizing


def _size(book: RiskBook, limits: RiskLimits, stop: str = "49000", entry: str = "50000"):  # type: ignore[no-untyped-def]
    inst = book.instruments[PERP.key]
    caps = book_caps(
        book,
        inst,
        limits,
        account_id=ACCT,
        slot="net",
        long=D(stop) < D(entry),
        entry=float(entry),
        stop=float(stop),
        leverage=None,
    )
    return size_position(
        PERP,
        equity=D(repr(book.equity)),
        available=D(repr(book.available[(ACCT, "USDT")])),
        entry=D(entry),
        stop=D(stop),
        risk_fraction=D(str(limits.risk_per_trade)),
        max_symbol_fraction=None,
        caps=caps,
    )


D = Decimal
_SIZING = replace(
    RiskLimits(),
    orders_per_second=None,
    max_order_notional=None,
    max_mark_age_seconds=None,
    max_net_delta_per_underlying=None,
    max_net_delta_total=None,
)


def test_sizing_accounts_for_the_position_already_held() -> None:
    """The audit's case: 1 BTC held is 28.6 % of 175,000; the per-symbol limit is 20 %, so no
    more BTC fits — and `check` agrees."""
    book = make_book(equity=175_000.0)
    hold(book, PERP.key, 1.0)
    r = _size(book, _SIZING)
    assert (r.qty, r.capped_by) == (D(0), "per-symbol limit")
    assert "holds 50,000.00 of 35,000.00" in r.explanation
    denied(
        run(PreTradeEngine(_SIZING), intent("0.01", protective_stop="49000"), book),
        RiskCode.SYMBOL_EXPOSURE,
    )


def test_sizing_accounts_for_working_orders() -> None:
    book = make_book(equity=100_000.0)
    book.add_pending("o1", ACCT, PERP.key, "net", 0.3)  # 15,000 of 20,000
    assert _size(book, _SIZING).qty == D("0.1")


def test_sizing_against_the_held_side_may_go_through_it() -> None:
    book = make_book(equity=100_000.0)
    hold(book, PERP.key, -0.3)  # short 15,000
    r = _size(
        book,
        replace(
            _SIZING,
            risk_per_trade=0.5,
            max_total_exposure=None,
            max_leverage=None,
            max_concentration=None,
        ),
    )
    assert (r.qty, r.capped_by) == (D("0.7"), "per-symbol limit")  # 0.3 to flat + 0.4 long


def test_sizing_is_zero_when_trading_is_not_active_or_the_daily_loss_is_reached() -> None:
    halted = make_book(state=TradingState.HALTED)
    assert _size(halted, _SIZING).capped_by == "trading state"
    loss = make_book(equity=94_000.0, day_start=100_000.0)
    r = _size(loss, _SIZING)
    assert (r.qty, r.capped_by) == (D(0), "daily loss limit")


@settings(max_examples=150, deadline=None)
@given(
    held=st.floats(min_value=-1.5, max_value=1.5),
    pending=st.floats(min_value=0.0, max_value=0.5),
    heat=st.floats(min_value=0.0, max_value=12_000.0),
    stop=st.sampled_from(["49000", "47500", "45000", "52000", "55000"]),
)
def test_a_suggested_size_passes_the_pre_trade_checks(
    held: float, pending: float, heat: float, stop: str
) -> None:
    """Whatever the book, the size `risk size` suggests is one `risk check` approves."""
    book = make_book(available=1e9)
    if abs(held) > 1e-6:
        hold(book, PERP.key, round(held, 3))
    if pending:
        book.add_pending("w", ACCT, PERP.key, "net", round(pending, 3))
    book.heat = heat
    r = _size(book, _SIZING, stop=stop)
    if r.qty == 0:
        return
    side = "buy" if D(stop) < 50_000 else "sell"
    approved(run(PreTradeEngine(_SIZING), intent(r.qty, side, protective_stop=stop), book))


# ----------------------------------------------------------------------------- flatten


def _grid(values: list[float]) -> np.ndarray:
    return np.asarray(values, dtype=float)


def test_flatten_order_is_by_contribution_to_the_worst_scenario_not_by_exposure() -> None:
    """A long perp, a short straddle and a short perp hedge; the book's worst cell is the −30 %
    shock: the straddle loses most there (20,000) though its exposure is nil, the perp 15,000,
    and the hedge gains (closed last)."""
    perp = replace(linear(), scenario_per_unit=_grid([-15_000, -5_000, 0, 5_000, 15_000]))
    straddle = replace(
        option(delta=0.0), key="straddle", scenario_per_unit=_grid([2_000, 200, 0, 200, 2_000])
    )
    positions = [(1.0, perp), (-10.0, straddle), (-0.5, perp)]
    contributions = risk_contributions(positions, 0.30)
    assert contributions == pytest.approx([15_000.0, 20_000.0, -7_500.0])
    exposures = [
        OpenExposure(ACCT, VENUE, s, PositionSide.NET, D(q), c, abs(q * i.exposure_per_unit))
        for s, (q, i), c in zip(
            ("perp", "straddle", "hedge"), positions, contributions, strict=True
        )
    ]
    plan = flatten_orders(exposures, NOW, "r1")
    assert [o.symbol for o in plan] == ["straddle", "perp", "hedge"]
    assert next(o.symbol for o in sorted(exposures, key=lambda e: -e.exposure)) == "perp"


def test_a_position_without_a_grid_falls_back_to_exposure_times_the_largest_shock() -> None:
    flat = replace(linear(), scenario_per_unit=None)
    assert risk_contributions([(0.5, flat)], 0.30) == pytest.approx([7_500.0])


def test_equity_constant_is_the_kit_one() -> None:
    assert EQUITY == 100_000.0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["add", "fill", "drop"]),
            st.integers(min_value=0, max_value=3),
            st.integers(min_value=-5, max_value=5),
        ),
        max_size=30,
    )
)
def test_working_orders_kept_incrementally_equal_a_rebuild(
    steps: list[tuple[str, int, int]],
) -> None:
    """Whatever the order of approvals, fills and cancels, the live exposure aggregates equal a
    book rebuilt from the positions held and the orders still working; the margin of a filled
    part stays held (the position holds it) until the next rebuild reads the ledger."""
    live = make_book(available=1e6)
    held: dict[str, float] = {}
    consumed = 0.0
    for action, order, size in steps:
        oid = f"o{order}"
        if action == "add" and size:
            live.add_pending(oid, ACCT, PERP.key, "net", size / 10, margin=abs(size) * 100.0)
        elif action == "fill" and oid in live.pending:
            take = min(abs(size) / 10, abs(live.pending[oid].qty))
            signed = take if live.pending[oid].qty > 0 else -take
            consumed += take * live.pending[oid].margin_per_unit
            live.fill_pending(oid, take)
            held[PERP.key] = held.get(PERP.key, 0.0) + signed
        elif action == "drop":
            live.drop_pending(oid)
    rebuilt = make_book(available=1e6)
    if abs(held.get(PERP.key, 0.0)) > 1e-9:
        rebuilt.apply_fill(ACCT, PERP.key, "net", held[PERP.key])
    for oid, p in live.pending.items():
        rebuilt.add_pending(
            oid, ACCT, PERP.key, "net", p.qty, margin=abs(p.qty) * p.margin_per_unit
        )
    assert live.gross == pytest.approx(rebuilt.gross, abs=1e-6)
    assert live.symbol_exposure.get(PERP.key, 0.0) == pytest.approx(
        rebuilt.symbol_exposure.get(PERP.key, 0.0), abs=1e-6
    )
    assert live.available[(ACCT, "USDT")] == pytest.approx(
        rebuilt.available[(ACCT, "USDT")] - consumed
    )
    assert live.count == rebuilt.count
    assert live.position_qty(ACCT, PERP.key) == pytest.approx(
        rebuilt.position_qty(ACCT, PERP.key), abs=1e-9
    )
