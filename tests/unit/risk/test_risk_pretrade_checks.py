"""Every pre-trade check: pass, deny (exact code, a reason stating value and limit) and the
reduce-only exemption where it applies. Books are built by hand; each test switches on only the
check it is about (``only(...)``), so a denial can only come from that check."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from risk_unit_kit import (
    ACCT,
    BTC_SPOT,
    ETH_PERP,
    INVERSE,
    MARK,
    NOW,
    OPTION,
    PERP,
    approved,
    codes,
    denied,
    depth,
    engine,
    hold,
    intent,
    inverse,
    later,
    linear,
    make_book,
    option,
    run,
    suggested_qty,
)

from riskdesk.domain.orders import OrderType
from riskdesk.domain.risk.decisions import Denied, RiskCode, Severity
from riskdesk.domain.risk.trading_state import TradingState

# ----------------------------------------------------------------------------- invalid_order


def test_valid_order_passes_validation() -> None:
    approved(run(engine(), intent("0.1"), make_book()))


@pytest.mark.parametrize(
    ("order", "words"),
    [
        (lambda: intent("0.0005"), ["qty", "0.0005", "lot size 0.001"]),
        (lambda: intent("0"), ["qty", "greater than 0"]),
        (lambda: intent("0.1", order_type=OrderType.LIMIT), ["price", "needs a limit price"]),
        (lambda: intent("0.1", price="50000.05"), ["price", "50000.05", "tick size 0.1"]),
        (
            lambda: intent("0.1", order_type=OrderType.STOP_MARKET),
            ["stop_price", "trigger price"],
        ),
        (lambda: intent("0.1", post_only=True), ["post_only"]),
    ],
)
def test_invalid_order_is_denied_naming_the_field(order: object, words: list[str]) -> None:
    decision = denied(run(engine(), order(), make_book()), RiskCode.INVALID_ORDER)  # type: ignore[operator]
    assert decision.denial.severity is Severity.CRITICAL
    assert len(decision.all) == 1
    for word in words:
        assert word in decision.reason


def test_invalid_order_has_no_reduce_only_exemption() -> None:
    book = hold(make_book(), PERP.key, 1.0)
    order = intent("0.0005", "sell", reduce_only=True)
    denied(run(engine(), order, book), RiskCode.INVALID_ORDER)


# ----------------------------------------------------------------------------- no_mark


def test_no_mark_denies_an_instrument_the_risk_book_does_not_know() -> None:
    book = make_book(linear(ETH_PERP, 2000.0))
    decision = denied(run(engine(), intent("0.1"), book), RiskCode.NO_MARK)
    assert PERP.key in decision.reason
    assert decision.denial.severity is Severity.CRITICAL


def test_no_mark_applies_to_reducing_orders_too() -> None:
    book = make_book(linear(ETH_PERP, 2000.0))
    book.positions[(ACCT, PERP.key, "net")] = 1.0
    denied(run(engine(), intent("0.5", "sell", reduce_only=True), book), RiskCode.NO_MARK)


# ----------------------------------------------------------------------------- reduce_only


def test_reduce_only_that_reduces_or_closes_passes() -> None:
    book = hold(make_book(), PERP.key, 0.5)
    approved(run(engine(), intent("0.2", "sell", reduce_only=True), book))
    approved(run(engine(), intent("0.5", "sell", reduce_only=True), book))


def test_reduce_only_without_a_position_is_denied() -> None:
    decision = denied(
        run(engine(), intent("0.2", "sell", reduce_only=True), make_book()), RiskCode.REDUCE_ONLY
    )
    assert "0.2" in decision.reason and "position of 0" in decision.reason
    assert decision.suggestion == "there is no position to reduce"
    assert (decision.value, decision.limit) == (0.2, 0.0)


def test_reduce_only_that_would_flip_or_add_is_denied_with_the_closing_size() -> None:
    book = hold(make_book(), PERP.key, 0.5)
    flip = denied(
        run(engine(), intent("0.8", "sell", reduce_only=True), book), RiskCode.REDUCE_ONLY
    )
    assert "-0.8" in flip.reason and "0.5" in flip.reason
    assert flip.suggestion == "at most 0.5 on the closing side"
    assert (flip.value, flip.limit) == (0.8, 0.5)
    denied(run(engine(), intent("0.1", "buy", reduce_only=True), book), RiskCode.REDUCE_ONLY)


def test_reduce_only_in_hedge_mode_looks_at_its_own_slot() -> None:
    book = hold(make_book(), PERP.key, 0.5, slot="long")
    approved(run(engine(), intent("0.5", "sell", reduce_only=True, position_side="long"), book))
    denied(
        run(engine(), intent("0.5", "buy", reduce_only=True, position_side="short"), book),
        RiskCode.REDUCE_ONLY,
    )


# ----------------------------------------------------------------------------- trading_state


@pytest.mark.parametrize(
    "state", [TradingState.REDUCING, TradingState.HALTED, TradingState.FLATTEN]
)
def test_trading_state_blocks_entries_naming_the_state_and_what_it_accepts(
    state: TradingState,
) -> None:
    book = hold(make_book(state=state), PERP.key, 0.5)
    entry = denied(run(engine(), intent("0.1"), book), RiskCode.TRADING_STATE)
    assert f"trading is {state.label} (level {int(state)}): it accepts {state.accepts}" in (
        entry.reason
    )
    assert "an entry needs trading to be active (level 0) or lower" in entry.reason
    assert (entry.value, entry.limit) == (float(state), 0.0)
    assert entry.denial.severity is Severity.CRITICAL
    # A flip is not a reduction.
    denied(run(engine(), intent("0.8", "sell"), book), RiskCode.TRADING_STATE)
    # The supervisor's protective stop passes every state (a position is never left naked).
    approved(
        run(
            engine(),
            intent(
                "0.5",
                "sell",
                reduce_only=True,
                order_type=OrderType.STOP_MARKET,
                stop_price="45000",
                source="protection",
            ),
            book,
        )
    )


def test_reducing_accepts_exits_flagged_reduce_only_or_not() -> None:
    book = hold(make_book(state=TradingState.REDUCING), PERP.key, 0.5)
    approved(run(engine(), intent("0.2", "sell", reduce_only=True), book))
    approved(run(engine(), intent("0.5", "sell"), book))


@pytest.mark.parametrize("state", [TradingState.HALTED, TradingState.FLATTEN])
def test_halted_and_flatten_refuse_manual_exits(state: TradingState) -> None:
    """No new orders: a manual reduce-only exit is refused too (FLATTEN closes through the kill
    switch); the reason names the state, what it accepts and the state the order needs."""
    book = hold(make_book(state=state), PERP.key, 0.5)
    for order in (intent("0.2", "sell", reduce_only=True), intent("0.5", "sell")):
        decision = denied(run(engine(), order, book), RiskCode.TRADING_STATE)
        assert "an order that reduces a position (source manual)" in decision.reason
        assert "needs trading to be reducing (level 1) or lower" in decision.reason
        assert (decision.value, decision.limit) == (float(state), 1.0)
        assert "riskdesk risk flatten" in decision.suggestion
    close = intent("0.5", "sell", reduce_only=True, source="kill_switch")
    assert run(engine(), close, book).approved is (state is TradingState.FLATTEN)


def test_trading_state_active_allows_entries() -> None:
    approved(run(engine(), intent("0.1"), make_book(state=TradingState.ACTIVE)))


# ----------------------------------------------------------------------------- stale_data


def test_stale_mark_denies_entries_with_age_and_limit() -> None:
    book = make_book(linear(mark_ts=NOW - timedelta(seconds=301)))
    decision = denied(
        run(engine(max_mark_age_seconds=300.0), intent("0.1"), book), RiskCode.STALE_DATA
    )
    assert "301 s old, limit 300 s" in decision.reason
    assert (decision.value, decision.limit) == (301.0, 300.0)


def test_mark_at_the_age_limit_or_without_a_time_passes() -> None:
    eng = engine(max_mark_age_seconds=300.0)
    approved(run(eng, intent("0.1"), make_book(linear(mark_ts=NOW - timedelta(seconds=300)))))
    approved(run(eng, intent("0.1"), make_book(linear(mark_ts=None))))


def test_stale_mark_does_not_block_an_exit() -> None:
    book = hold(make_book(linear(mark_ts=NOW - timedelta(hours=2))), PERP.key, 0.5)
    approved(run(engine(max_mark_age_seconds=300.0), intent("0.5", "sell"), book))


# ----------------------------------------------------------------------------- insufficient_margin


def test_spot_buy_needs_its_full_value() -> None:
    book = make_book(linear(BTC_SPOT), available=40_000.0)
    decision = denied(run(engine(), intent("1", inst=BTC_SPOT), book), RiskCode.INSUFFICIENT_MARGIN)
    assert "needs 50,000 USDT" in decision.reason and "40,000 is available" in decision.reason
    assert (decision.value, decision.limit) == (50_000.0, 40_000.0)
    most = suggested_qty(decision.suggestion, BTC_SPOT.lot_size)
    assert most == Decimal("0.8")
    approved(run(engine(), intent(most, inst=BTC_SPOT), book))


def test_margin_divides_by_account_or_order_leverage() -> None:
    book = make_book(available=20_000.0, leverage=5.0)
    approved(run(engine(), intent("1"), book))  # 50,000 / 5 = 10,000
    approved(run(engine(), intent("1", leverage="3"), book))  # 16,667
    denied(run(engine(), intent("1", leverage="2"), book), RiskCode.INSUFFICIENT_MARGIN)


def test_margin_includes_the_taker_fee() -> None:
    book = make_book(linear(fee_rate=0.001), available=50_000.0)
    decision = denied(run(engine(), intent("1"), book), RiskCode.INSUFFICIENT_MARGIN)
    assert decision.value == pytest.approx(50_050.0)


def test_inverse_margin_is_in_coin() -> None:
    book = make_book(inverse(), available=0.1)
    decision = denied(
        run(engine(), intent("1000", inst=INVERSE), book), RiskCode.INSUFFICIENT_MARGIN
    )
    assert "0.2 BTC" in decision.reason and "0.1 is available" in decision.reason
    most = suggested_qty(decision.suggestion, INVERSE.lot_size)
    assert most == 500
    approved(run(engine(), intent(most, inst=INVERSE), book))


def test_short_option_uses_the_short_margin() -> None:
    book = make_book(option(), available=7_999.0)
    approved(run(engine(), intent("1", "buy", inst=OPTION), book))  # premium 2,000
    decision = denied(
        run(engine(), intent("1", "sell", inst=OPTION), book), RiskCode.INSUFFICIENT_MARGIN
    )
    assert decision.value == pytest.approx(8_000.0)  # 20 % of 400 x 100


def test_exit_needs_no_margin() -> None:
    book = hold(make_book(available=0.0), PERP.key, 0.5)
    approved(run(engine(), intent("0.5", "sell"), book))


def test_no_equity_blocks_every_entry() -> None:
    decision = denied(run(engine(), intent("0.1"), make_book(equity=0.0)), RiskCode.TOTAL_EXPOSURE)
    assert "equity is 0.00" in decision.reason


def test_per_contract_fee_is_converted_the_same_way_in_margin_and_cost() -> None:
    # A coin-settled contract (settle_rate 50,000 USD per BTC) charging 0.001 BTC per contract.
    inst = replace(inverse(), fee_per_contract=0.001)
    book = make_book(inst, available=1.0)
    # Margin: 1000 contracts need 0.2 BTC + 1 BTC of fees = 1.2 BTC > 1 BTC available.
    denied(run(engine(), intent("1000", inst=INVERSE), book), RiskCode.INSUFFICIENT_MARGIN)


# ----------------------------------------------------------------------------- daily_loss


def test_daily_loss_at_or_beyond_the_limit_blocks_entries() -> None:
    eng = engine(daily_loss_limit=0.05)
    decision = denied(
        run(eng, intent("0.1"), make_book(equity=94_000.0, day_start=100_000.0)),
        RiskCode.DAILY_LOSS,
    )
    assert "6.00 % of the day-start equity, limit 5.00 %" in decision.reason
    assert decision.value == pytest.approx(0.06) and decision.limit == 0.05
    denied(
        run(eng, intent("0.1"), make_book(equity=95_000.0, day_start=100_000.0)),
        RiskCode.DAILY_LOSS,
    )


def test_daily_loss_below_the_limit_or_unknown_passes() -> None:
    eng = engine(daily_loss_limit=0.05)
    approved(run(eng, intent("0.1"), make_book(equity=95_100.0, day_start=100_000.0)))
    approved(run(eng, intent("0.1"), make_book(equity=120_000.0, day_start=100_000.0)))
    approved(run(eng, intent("0.1"), make_book(equity=50_000.0, day_start=None)))


def test_daily_loss_lets_exits_through() -> None:
    book = hold(make_book(equity=80_000.0, day_start=100_000.0), PERP.key, 0.2)
    approved(run(engine(daily_loss_limit=0.05), intent("0.2", "sell"), book))


# ----------------------------------------------------------------------------- symbol_exposure


def test_symbol_exposure_over_the_limit_is_denied_with_a_working_suggestion() -> None:
    eng = engine(max_symbol_exposure=0.20)
    book = make_book()
    decision = denied(run(eng, intent("0.5"), book), RiskCode.SYMBOL_EXPOSURE)
    assert decision.reason == (
        "paper:BTC/USDT:USDT: exposure 25,000.00 would be 25.00 % of equity 100,000.00, "
        "limit 20.00 %"
    )
    assert (decision.value, decision.limit) == (0.25, 0.20)
    assert decision.denial.severity is Severity.CRITICAL
    most = suggested_qty(decision.suggestion, PERP.lot_size)
    assert most == Decimal("0.4")
    approved(run(eng, intent(most), book))


def test_symbol_exposure_counts_the_existing_position() -> None:
    eng = engine(max_symbol_exposure=0.20)
    book = hold(make_book(), PERP.key, 0.3)
    decision = denied(run(eng, intent("0.2"), book), RiskCode.SYMBOL_EXPOSURE)
    most = suggested_qty(decision.suggestion, PERP.lot_size)
    assert most == Decimal("0.1")
    approved(run(eng, intent(most), book))


def test_symbol_exposure_suggestion_on_a_flip_passes() -> None:
    eng = engine(max_symbol_exposure=0.20)
    book = hold(make_book(), PERP.key, 0.3)
    decision = denied(run(eng, intent("0.8", "sell"), book), RiskCode.SYMBOL_EXPOSURE)
    approved(run(eng, intent(suggested_qty(decision.suggestion, PERP.lot_size), "sell"), book))


def test_symbol_exposure_exit_passes_even_when_over_the_limit() -> None:
    eng = engine(max_symbol_exposure=0.20)
    book = hold(make_book(), PERP.key, 0.5)  # 25 % after a rally
    approved(run(eng, intent("0.1", "sell"), book))
    decision = denied(run(eng, intent("0.001"), book), RiskCode.SYMBOL_EXPOSURE)
    assert decision.suggestion == (
        "no room: the position already uses 25.00 % of equity against the 20.00 % limit; "
        "reduce the position first or raise risk.limits.max_symbol_exposure"
    )


# ----------------------------------------------------------------------------- total_exposure


def _two_positions(**kw: float) -> object:
    book = make_book(linear(), linear(ETH_PERP, 2000.0), **kw)
    hold(book, PERP.key, 0.5)  # 25,000
    hold(book, ETH_PERP.key, 15.0)  # 30,000
    return book


def test_total_exposure_over_the_limit_is_denied() -> None:
    eng = engine(max_total_exposure=0.60)
    decision = denied(run(eng, intent("0.2"), _two_positions()), RiskCode.TOTAL_EXPOSURE)  # type: ignore[arg-type]
    assert "65.00 % of equity, limit 60.00 %" in decision.reason
    assert decision.value == pytest.approx(0.65) and decision.limit == 0.60
    assert decision.denial.severity is Severity.HIGH


def test_total_exposure_at_the_limit_passes() -> None:
    approved(run(engine(max_total_exposure=0.60), intent("0.1"), _two_positions()))  # type: ignore[arg-type]


def test_total_exposure_exit_and_gross_lowering_flip_pass() -> None:
    eng = engine(max_total_exposure=0.40)
    book = _two_positions()  # 55 % > 40 %
    approved(run(eng, intent("0.1", "sell"), book))  # type: ignore[arg-type]
    # Long 0.5 -> short 0.3: not a reduction, but gross falls from 55 % to 45 %.
    approved(run(eng, intent("0.8", "sell"), book))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- max_positions


def test_max_positions_blocks_a_new_position_only() -> None:
    eng = engine(max_positions=2)
    book = _two_positions()
    book.instruments[BTC_SPOT.key] = linear(BTC_SPOT)  # type: ignore[attr-defined]
    decision = denied(run(eng, intent("0.01", inst=BTC_SPOT), book), RiskCode.MAX_POSITIONS)  # type: ignore[arg-type]
    assert "open position 3, limit 2" in decision.reason
    assert (decision.value, decision.limit) == (3.0, 2.0)
    approved(run(eng, intent("0.01"), book))  # type: ignore[arg-type]
    approved(run(eng, intent("0.5", "sell"), book))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- risk_per_trade


def test_risk_per_trade_over_the_limit_is_denied_with_a_working_suggestion() -> None:
    eng = engine(risk_per_trade=0.02)
    book = make_book()
    decision = denied(run(eng, intent("1", protective_stop="47000"), book), RiskCode.RISK_PER_TRADE)
    assert (
        "risk to the stop is 3,000.00 = 3.00 % of equity 100,000.00, limit 2.00 %"
        in decision.reason
    )
    assert (decision.value, decision.limit) == (pytest.approx(0.03), 0.02)
    most = suggested_qty(decision.suggestion, PERP.lot_size)
    assert most == Decimal("0.666")
    approved(run(eng, intent(most, protective_stop="47000"), book))


def test_risk_per_trade_at_the_limit_passes_and_uses_the_limit_price() -> None:
    eng = engine(risk_per_trade=0.02)
    approved(run(eng, intent("1", protective_stop="48000"), make_book()))
    # From a limit of 49,000 the stop at 47,000 risks 2,000 only.
    approved(run(eng, intent("1", price="49000", protective_stop="47000"), make_book()))


def test_risk_per_trade_on_an_inverse_contract_is_in_coin_times_the_coin_price() -> None:
    eng = engine(risk_per_trade=0.02)
    book = make_book(inverse())
    # 1000 × 10 USD × (1/40000 − 1/50000) = 0.05 BTC = 2,500 USD = 2.5 %
    decision = denied(
        run(eng, intent("1000", inst=INVERSE, protective_stop="40000"), book),
        RiskCode.RISK_PER_TRADE,
    )
    assert decision.value == pytest.approx(0.025)
    most = suggested_qty(decision.suggestion, INVERSE.lot_size)
    assert most == 800
    approved(run(eng, intent(most, inst=INVERSE, protective_stop="40000"), book))


def test_risk_per_trade_exit_passes() -> None:
    book = hold(make_book(), PERP.key, 2.0)
    approved(run(engine(risk_per_trade=0.02), intent("1", "sell", protective_stop="60000"), book))


# ----------------------------------------------------------------------------- no_protective_stop


def test_protective_stop_required() -> None:
    eng = engine(require_protective_stop=True)
    decision = denied(run(eng, intent("0.1"), make_book()), RiskCode.NO_PROTECTIVE_STOP)
    assert decision.denial.severity is Severity.HIGH
    approved(run(eng, intent("0.1", protective_stop="49000"), make_book()))
    approved(run(eng, intent("0.1", "sell"), hold(make_book(), PERP.key, 0.1)))


def test_missing_stop_is_a_warning_when_not_required() -> None:
    result = approved(run(engine(risk_per_trade=0.02), intent("0.1"), make_book()))
    assert any("no protective stop" in w for w in result.warnings)


# ----------------------------------------------------------------------------- leverage


def test_effective_leverage_over_the_limit_is_denied() -> None:
    eng = engine(max_leverage=5.0)
    book = hold(make_book(equity=10_000.0), PERP.key, 0.8)  # 4x
    decision = denied(run(eng, intent("0.3"), book), RiskCode.LEVERAGE)
    assert "effective leverage would be 5.50x, limit 5x" in decision.reason
    assert (decision.value, decision.limit) == (pytest.approx(5.5), 5.0)
    approved(run(eng, intent("0.2"), book))
    book.equity = 5_000.0  # 8x after a loss: an exit still passes
    approved(run(eng, intent("0.3", "sell"), book))


# ----------------------------------------------------------------------------- order_notional


def test_order_notional_over_the_limit_is_denied() -> None:
    eng = engine(max_order_notional=100_000.0)
    decision = denied(run(eng, intent("2.1"), make_book()), RiskCode.ORDER_NOTIONAL)
    assert "order notional 105,000.00 exceeds 100,000.00" in decision.reason
    assert (decision.value, decision.limit) == (pytest.approx(105_000.0), 100_000.0)
    approved(run(eng, intent("1.9"), make_book()))
    # Valued at the limit price, not the mark.
    denied(run(eng, intent("1.9", price="55000"), make_book()), RiskCode.ORDER_NOTIONAL)


def test_order_notional_applies_to_exits_too() -> None:
    # An oversized exit is still an oversized order: split it.
    book = hold(make_book(), PERP.key, 3.0)
    denied(
        run(engine(max_order_notional=100_000.0), intent("3", "sell"), book),
        RiskCode.ORDER_NOTIONAL,
    )
    approved(run(engine(max_order_notional=100_000.0), intent("1.5", "sell"), book))


# ----------------------------------------------------------------------------- price_band


def test_price_band_denies_a_marketable_limit_far_from_the_mark() -> None:
    eng = engine(price_band=0.05)
    buy = denied(run(eng, intent("0.1", price="52600"), make_book()), RiskCode.PRICE_BAND)
    assert "limit 52600 is 5.20 % above the mark 50000, band 5.00 %" in buy.reason
    assert (buy.value, buy.limit) == (pytest.approx(0.052), 0.05)
    sell = denied(run(eng, intent("0.1", "sell", price="47000"), make_book()), RiskCode.PRICE_BAND)
    assert "6.00 % below" in sell.reason


def test_price_band_passes_inside_the_band_and_passive_prices() -> None:
    eng = engine(price_band=0.05)
    approved(run(eng, intent("0.1", price="52400"), make_book()))
    approved(run(eng, intent("0.1", price="40000"), make_book()))  # a resting bid
    approved(run(eng, intent("0.1", "sell", price="60000"), make_book()))  # a resting offer


def test_options_use_the_wider_option_band() -> None:
    eng = engine(price_band=0.05, option_price_band=0.50)
    book = make_book(option(mark=20.0))
    denied(run(eng, intent("1", inst=OPTION, price="31"), book), RiskCode.PRICE_BAND)
    approved(run(eng, intent("1", inst=OPTION, price="29"), book))


def test_price_band_applies_to_exits() -> None:
    book = hold(make_book(), PERP.key, 1.0)
    denied(
        run(engine(price_band=0.05), intent("1", "sell", price="25000"), book), RiskCode.PRICE_BAND
    )


# ----------------------------------------------------------------------------- liquidity


def _ten_levels(size: float = 4.0) -> object:
    return depth([(MARK + i, size) for i in range(12)], [(MARK - 1 - i, size) for i in range(12)])


def test_liquidity_denies_more_than_a_tenth_of_the_top_levels() -> None:
    eng = engine(liquidity_book_fraction=0.10)
    book = make_book(linear(book=_ten_levels()))  # type: ignore[arg-type]
    decision = denied(run(eng, intent("5"), book), RiskCode.LIQUIDITY)
    assert "order of 5 is 12.5 % of the top 10 levels (40), limit 10.00 %" in decision.reason
    assert (decision.value, decision.limit) == (0.125, 0.10)
    assert decision.suggestion == "at most 4 per order"
    approved(run(eng, intent(suggested_qty(decision.suggestion, PERP.lot_size)), book))
    denied(run(eng, intent("5", "sell"), book), RiskCode.LIQUIDITY)  # bids


def test_liquidity_applies_to_exits_too() -> None:
    book = hold(make_book(linear(book=_ten_levels())), PERP.key, 10.0)  # type: ignore[arg-type]
    denied(
        run(engine(liquidity_book_fraction=0.10), intent("10", "sell"), book), RiskCode.LIQUIDITY
    )
    approved(run(engine(liquidity_book_fraction=0.10), intent("4", "sell"), book))


def test_missing_order_book_denies_marketable_orders_only_when_required() -> None:
    required = engine(liquidity_book_fraction=0.10, require_order_book=True)
    decision = denied(run(required, intent("0.1"), make_book()), RiskCode.LIQUIDITY)
    assert "no order book" in decision.reason
    approved(run(required, intent("0.1", price="49000"), make_book()))
    result = approved(run(engine(liquidity_book_fraction=0.10), intent("0.1"), make_book()))
    assert any("no order book" in w for w in result.warnings)


# ----------------------------------------------------------------------------- slippage


def _thin_book() -> object:
    return depth([(100.0, 1.0), (101.0, 1.0), (102.0, 100.0)])


def test_slippage_of_a_marketable_order_walking_the_book_is_denied() -> None:
    eng = engine(max_slippage_bps=50.0)
    book = make_book(linear(ETH_PERP, 100.0, book=_thin_book()))  # type: ignore[arg-type]
    decision = denied(run(eng, intent("3", inst=ETH_PERP), book), RiskCode.SLIPPAGE)
    assert "estimated slippage 100.0 bps, limit 50 bps" in decision.reason
    assert decision.value == pytest.approx(100.0)
    approved(run(eng, intent("1", inst=ETH_PERP), book))
    approved(run(eng, intent("3", inst=ETH_PERP, price="99"), book))  # resting bid
    denied(run(eng, intent("3", inst=ETH_PERP, price="101"), book), RiskCode.SLIPPAGE)


def test_slippage_applies_to_exits_too() -> None:
    book = hold(make_book(linear(ETH_PERP, 100.0, book=_thin_book())), ETH_PERP.key, -3.0)  # type: ignore[arg-type]
    denied(run(engine(max_slippage_bps=50.0), intent("3", inst=ETH_PERP), book), RiskCode.SLIPPAGE)
    approved(run(engine(max_slippage_bps=50.0), intent("1", inst=ETH_PERP), book))


# ----------------------------------------------------------------------------- rate_limit


def test_rate_limit_per_venue() -> None:
    eng = engine(orders_per_second=1.0, order_burst=2)
    book = make_book()
    approved(run(eng, intent("0.1"), book))
    approved(run(eng, intent("0.1"), book))
    decision = denied(run(eng, intent("0.1"), book), RiskCode.RATE_LIMIT)
    assert decision.reason == (
        "order rate limit for paper reached: 0.00 of 2 order tokens left "
        "(refilled at 1 per second), an order needs 1"
    )
    assert decision.suggestion == "retry in 1.00 s"
    assert (decision.value, decision.limit) == (0.0, 1.0)
    half = denied(run(eng, intent("0.1"), book, later(0.5)), RiskCode.RATE_LIMIT)
    assert half.value == pytest.approx(0.5) and "0.50 of 2 order tokens" in half.reason
    approved(run(eng, intent("0.1"), book, later(1.0)))
    assert eng.rates is not None and "other" not in eng.rates.buckets


def test_rate_limit_has_no_exit_exemption_and_denials_spend_no_token() -> None:
    eng = engine(orders_per_second=1.0, order_burst=1, max_order_notional=10_000.0)
    book = hold(make_book(), PERP.key, 1.0)
    denied(run(eng, intent("1"), book), RiskCode.ORDER_NOTIONAL)  # spends nothing
    approved(run(eng, intent("0.1", "sell"), book))
    denied(run(eng, intent("0.1", "sell"), book), RiskCode.RATE_LIMIT)


# ----------------------------------------------------------------------------- adjustments


@pytest.mark.parametrize("source", ["rebalance", "hedge", "delta", "rebalance:plan-7"])
def test_adjustments_per_day_limit_automated_sources(source: str) -> None:
    eng = engine(max_adjustments_per_day=3)
    book = make_book()
    book.adjustments_today = 3
    decision = denied(run(eng, intent("0.1", source=source), book), RiskCode.ADJUSTMENTS_PER_DAY)
    assert decision.reason == "3 adjustments today, limit 3"
    assert (decision.value, decision.limit) == (3.0, 3.0)
    approved(run(eng, intent("0.1", source="manual"), book))
    book.adjustments_today = 2
    approved(run(eng, intent("0.1", source=source), book))


def test_adjustments_per_day_exit_passes() -> None:
    book = hold(make_book(), PERP.key, 1.0)
    book.adjustments_today = 99
    approved(run(engine(max_adjustments_per_day=3), intent("0.1", "sell", source="hedge"), book))


def test_adjustment_interval_per_underlying() -> None:
    eng = engine(min_seconds_between_adjustments=60.0)
    book = make_book(linear(), linear(ETH_PERP, 2000.0))
    book.last_adjustment["BTC"] = NOW - timedelta(seconds=30)
    decision = denied(run(eng, intent("0.1", source="hedge"), book), RiskCode.ADJUSTMENT_INTERVAL)
    assert decision.reason == "last BTC adjustment 30 s ago, minimum 60 s"
    assert decision.suggestion == "retry in 30 s"
    assert (decision.value, decision.limit) == (30.0, 60.0)
    approved(run(eng, intent("1", inst=ETH_PERP, source="hedge"), book))
    approved(run(eng, intent("0.1", source="manual"), book))
    approved(run(eng, intent("0.1", source="hedge"), book, later(30.0)))


def test_adjustment_interval_exit_passes() -> None:
    book = hold(make_book(), PERP.key, 1.0)
    book.last_adjustment["BTC"] = NOW
    approved(
        run(
            engine(min_seconds_between_adjustments=60.0),
            intent("0.1", "sell", source="hedge"),
            book,
        )
    )


# ----------------------------------------------------------------------------- delta_change


def test_delta_change_per_adjustment_in_units_of_the_underlying() -> None:
    """Seed 001: 5.0 of delta (BTC here) per adjustment; only adjustments are limited."""
    eng = engine(max_delta_change_per_trade=5.0)
    decision = denied(run(eng, intent("6", source="hedge"), make_book()), RiskCode.DELTA_CHANGE)
    assert (
        decision.reason == "the adjustment changes BTC delta by 6 BTC, limit 5 BTC per adjustment"
    )
    assert decision.suggestion == "split the adjustment: at most 5 contracts each"
    assert (decision.value, decision.limit) == (pytest.approx(6.0), 5.0)
    approved(run(eng, intent("5", source="hedge"), make_book()))
    approved(run(eng, intent("6"), make_book()))  # a manual order is not an adjustment
    approved(run(eng, intent("6", "sell", source="hedge"), hold(make_book(), PERP.key, 6.0)))


def test_delta_change_of_an_option_counts_its_delta_in_shares() -> None:
    eng = engine(max_delta_change_per_trade=5.0)
    book = make_book(option(delta=-0.4))  # 40 shares of delta per contract
    decision = denied(
        run(eng, intent("1", source="rebalance", inst=OPTION), book), RiskCode.DELTA_CHANGE
    )
    assert decision.value == pytest.approx(40.0)
    assert "changes TSLA delta by 40 TSLA" in decision.reason


def test_inverse_delta_change_is_in_coins() -> None:
    eng = engine(max_delta_change_per_trade=5.0)
    book = make_book(inverse(50_000.0))  # 10 USD a contract = 0.0002 BTC
    approved(run(eng, intent("25000", inst=INVERSE, source="delta"), book))  # 5 BTC
    decision = denied(
        run(eng, intent("25010", inst=INVERSE, source="delta"), book), RiskCode.DELTA_CHANGE
    )
    assert decision.value == pytest.approx(5.002)


# ----------------------------------------------------------------------------- cost_per_day


def test_cost_per_day_of_adjustments_in_the_reporting_currency() -> None:
    """Seed 001: 1,000 of adjustment costs a day (fees so far + this order's)."""
    eng = engine(max_cost_per_day=1000.0)
    book = make_book(linear(fee_rate=0.001))
    book.cost_today = 960.0
    decision = denied(run(eng, intent("1", source="hedge"), book), RiskCode.COST_PER_DAY)
    assert decision.reason == (
        "adjustment costs today would be 1,010.00 (960.00 so far + 50.00 for this order), "
        "limit 1,000.00 a day"
    )
    assert (decision.value, decision.limit) == (pytest.approx(1010.0), 1000.0)
    approved(run(eng, intent("1"), book))  # not an adjustment
    book.cost_today = 950.0
    approved(run(eng, intent("1", source="hedge"), book))


def test_cost_per_day_counts_per_contract_commissions() -> None:
    eng = engine(max_cost_per_day=500.0)
    book = make_book(option(fee_per_contract=0.65))
    book.cost_today = 495.0
    denied(run(eng, intent("10", inst=OPTION, source="rebalance"), book), RiskCode.COST_PER_DAY)
    approved(run(eng, intent("7", inst=OPTION, source="rebalance"), book))  # +4.55


def test_cost_per_day_exit_passes() -> None:
    book = hold(make_book(linear(fee_rate=0.001)), PERP.key, 1.0)
    book.cost_today = 10_000.0
    approved(run(engine(max_cost_per_day=1000.0), intent("1", "sell", source="hedge"), book))


# ----------------------------------------------------------------------------- concentration


def _btc_twice() -> object:
    book = make_book(linear(), linear(BTC_SPOT), linear(ETH_PERP, 2000.0))
    hold(book, BTC_SPOT.key, 0.4)  # 20,000
    hold(book, PERP.key, 0.3)  # 15,000
    return book


def test_concentration_per_asset_over_the_limit_is_denied() -> None:
    eng = engine(max_concentration=0.40)
    decision = denied(run(eng, intent("0.2"), _btc_twice()), RiskCode.CONCENTRATION)  # type: ignore[arg-type]
    assert (
        "BTC: gross exposure 45,000.00 would be 45.00 % of equity 100,000.00, limit 40.00 %"
        in decision.reason
    )
    assert decision.suggestion == "diversify away from BTC"
    approved(run(eng, intent("0.1"), _btc_twice()))  # type: ignore[arg-type]
    approved(run(eng, intent("10", inst=ETH_PERP), _btc_twice()))  # type: ignore[arg-type]
    approved(run(eng, intent("0.3", "sell"), _btc_twice()))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- portfolio_heat


def test_portfolio_heat_with_the_new_stop() -> None:
    eng = engine(max_portfolio_heat=0.10)
    book = make_book()
    book.heat = 8_000.0
    decision = denied(run(eng, intent("1", protective_stop="47000"), book), RiskCode.PORTFOLIO_HEAT)
    assert decision.reason == "portfolio heat would be 11.00 %, limit 10.00 %"
    assert (decision.value, decision.limit) == (pytest.approx(0.11), 0.10)
    approved(run(eng, intent("1", protective_stop="48000"), book))
    approved(run(eng, intent("1"), book))  # no stop: heat not measured (a warning)
    hold(book, PERP.key, 1.0)
    approved(run(eng, intent("1", "sell", protective_stop="53000"), book))


# ----------------------------------------------------------------------------- Greeks


def test_net_delta_per_underlying() -> None:
    eng = engine(max_net_delta_per_underlying=0.50)
    book = hold(make_book(linear(), linear(BTC_SPOT)), BTC_SPOT.key, 0.8)
    decision = denied(run(eng, intent("0.3"), book), RiskCode.NET_DELTA)
    assert (
        "BTC net dollar delta would be 55,000.00 = 55.00 % of equity, limit 50.00 %"
        in decision.reason
    )
    assert (decision.value, decision.limit) == (pytest.approx(0.55), 0.5)
    approved(run(eng, intent("0.2"), book))
    # A hedge passes even while the book stays above the limit.
    hold(book, BTC_SPOT.key, 0.6)  # 70 %
    approved(run(eng, intent("0.2", "sell"), book))


def test_net_delta_of_the_whole_book() -> None:
    eng = engine(max_net_delta_total=1.0)
    book = make_book(linear(), linear(ETH_PERP, 2000.0))
    hold(book, PERP.key, 1.2)  # 60,000
    hold(book, ETH_PERP.key, 15.0)  # 30,000
    decision = denied(run(eng, intent("6", inst=ETH_PERP), book), RiskCode.NET_DELTA)
    assert (
        "book net dollar delta would be 102,000.00 = 102.00 % of equity, limit 100.00 %"
        in decision.reason
    )
    approved(run(eng, intent("5", inst=ETH_PERP), book))
    approved(run(eng, intent("30", "sell", inst=ETH_PERP), book))


def test_gamma_per_underlying() -> None:
    eng = engine(max_gamma_per_underlying=0.05)
    book = make_book(option())  # 0.01 x 400² x 100 / 100 = 1,600 dollar gamma per contract
    decision = denied(run(eng, intent("4", inst=OPTION), book), RiskCode.GAMMA)
    assert (
        "TSLA dollar gamma (1 % move) would be 6,400.00 = 6.40 % of equity, limit 5.00 %"
        in decision.reason
    )
    approved(run(eng, intent("3", inst=OPTION), book))
    denied(run(eng, intent("4", "sell", inst=OPTION), book), RiskCode.GAMMA)
    hold(book, OPTION.key, 40.0)
    approved(run(eng, intent("5", "sell", inst=OPTION), book))


def test_vega_per_underlying() -> None:
    eng = engine(max_vega_per_underlying=0.01)
    book = make_book(option())  # 50 vega per contract
    decision = denied(run(eng, intent("21", inst=OPTION), book), RiskCode.VEGA)
    assert (
        "TSLA vega (1 vol point) would be 1,050.00 = 1.05 % of equity, limit 1.00 %"
        in decision.reason
    )
    assert decision.limit == 0.01
    approved(run(eng, intent("20", inst=OPTION), book))
    hold(book, OPTION.key, 30.0)
    approved(run(eng, intent("10", "sell", inst=OPTION), book))


def test_scenario_loss_on_the_book_after_the_order() -> None:
    eng = engine(max_scenario_loss=0.30)
    book = make_book(linear(grid=True), linear(BTC_SPOT, grid=True))
    decision = denied(run(eng, intent("2.1"), book), RiskCode.SCENARIO_LOSS)
    assert (
        "worst scenario loss would be 31,500.00 = 31.50 % of equity, limit 30.00 %"
        in decision.reason
    )
    approved(run(eng, intent("2"), book))
    # Hedging a book already beyond the limit passes.
    hold(book, BTC_SPOT.key, 3.0)
    approved(run(eng, intent("0.5", "sell"), book))
    denied(run(eng, intent("0.1"), book), RiskCode.SCENARIO_LOSS)


def test_scenario_loss_exit_passes() -> None:
    book = hold(make_book(linear(grid=True)), PERP.key, 3.0)
    approved(run(engine(max_scenario_loss=0.30), intent("1", "sell"), book))


def test_options_without_a_grid_skip_the_scenario_check() -> None:
    approved(run(engine(max_scenario_loss=0.30), intent("500", inst=OPTION), make_book(option())))
    book = make_book(option(grid=np.array([-100.0, 0.0, 50.0])))
    denied(
        run(engine(max_scenario_loss=0.30), intent("500", inst=OPTION), book),
        RiskCode.SCENARIO_LOSS,
    )


# ----------------------------------------------------------------------------- the pipeline


def test_critical_checks_short_circuit_with_one_denial() -> None:
    lim = {
        "daily_loss_limit": 0.05,
        "max_symbol_exposure": 0.20,
        "max_order_notional": 1000.0,
        "max_total_exposure": 0.1,
    }
    decision = denied(
        run(engine(**lim), intent("1"), make_book(equity=90_000.0, day_start=100_000.0)),
        RiskCode.DAILY_LOSS,
    )
    assert len(decision.all) == 1
    decision = denied(run(engine(**lim), intent("1"), make_book()), RiskCode.SYMBOL_EXPOSURE)
    assert decision.all == (decision.denial,)


def test_non_critical_denials_are_all_reported_most_severe_first() -> None:
    eng = engine(
        max_total_exposure=0.10,
        max_positions=0,
        max_order_notional=1000.0,
        max_delta_change_per_trade=0.05,
        max_concentration=0.10,
        max_net_delta_per_underlying=0.10,
    )
    decision = run(eng, intent("1", source="hedge"), make_book())
    assert isinstance(decision, Denied)
    assert codes(decision) == [
        RiskCode.TOTAL_EXPOSURE,
        RiskCode.MAX_POSITIONS,
        RiskCode.ORDER_NOTIONAL,
        RiskCode.DELTA_CHANGE,
        RiskCode.CONCENTRATION,
        RiskCode.NET_DELTA,
    ]
    order = [Severity.HIGH, Severity.MEDIUM]
    ranks = [order.index(d.severity) for d in decision.all]
    assert ranks == sorted(ranks)
    assert decision.denial is decision.all[0]
    assert decision.code is RiskCode.TOTAL_EXPOSURE


def test_a_medium_denial_found_first_is_still_reported_after_a_high_one() -> None:
    eng = engine(max_delta_change_per_trade=0.05, max_order_notional=1000.0)
    decision = run(eng, intent("1", source="hedge"), make_book())
    assert codes(decision) == [RiskCode.ORDER_NOTIONAL, RiskCode.DELTA_CHANGE]


def test_exits_pass_every_loss_and_exposure_check_that_blocks_entries() -> None:
    eng = engine(
        daily_loss_limit=0.05,
        max_symbol_exposure=0.20,
        max_total_exposure=0.60,
        max_positions=1,
        max_leverage=1.0,
        max_concentration=0.40,
        max_net_delta_per_underlying=0.50,
        max_portfolio_heat=0.10,
        max_scenario_loss=0.30,
        risk_per_trade=0.02,
    )
    book = make_book(linear(grid=True), equity=50_000.0, day_start=100_000.0)
    hold(book, PERP.key, 2.0)  # 200 % of equity
    book.heat = 40_000.0
    entry = run(eng, intent("0.1", protective_stop="40000"), book)
    assert isinstance(entry, Denied)
    result = approved(run(eng, intent("1.5", "sell", protective_stop="60000"), book))
    # Only what applies to an exit ran: the four common checks (none of the ten limits above).
    assert result.checks == 4


def test_approval_reports_checks_and_warnings_with_the_balanced_defaults() -> None:
    from riskdesk.domain.risk.limits import RiskLimits
    from riskdesk.domain.risk.pretrade import PreTradeEngine

    eng = PreTradeEngine(RiskLimits())
    result = approved(run(eng, intent("0.1", protective_stop="49000"), make_book()))
    assert result.approved and result.intent_id.startswith("i")
    assert result.warnings == ("no order book: liquidity and slippage not checked",)


def test_denied_accessors_mirror_the_primary_denial() -> None:
    decision = denied(
        run(engine(max_order_notional=10.0), intent("1"), make_book()), RiskCode.ORDER_NOTIONAL
    )
    assert not decision.approved
    d = decision.denial
    assert (decision.reason, decision.suggestion, decision.value, decision.limit) == (
        d.reason,
        d.suggestion,
        d.value,
        d.limit,
    )
    assert d.to_dict() == {
        "code": "order_notional",
        "reason": d.reason,
        "suggestion": "split the order",
        "value": 50_000.0,
        "limit": 10.0,
        "unit": "reporting currency",
        "severity": "high",
    }


# ----------------------------------------------------------------------------- no_rate


def test_no_rate_denies_entries_naming_the_currency() -> None:
    book = replace(make_book(), unpriced=("ETH",))
    decision = denied(run(engine(), intent("0.1"), book), RiskCode.NO_RATE)
    assert "ETH" in decision.reason


def test_no_rate_passes_when_every_currency_has_a_rate() -> None:
    approved(run(engine(), intent("0.1"), replace(make_book(), unpriced=())))


def test_no_rate_lets_exits_through() -> None:
    book = replace(hold(make_book(), PERP.key, 0.5), unpriced=("ETH",))
    approved(run(engine(), intent("0.5", "sell", reduce_only=True), book))
    approved(run(engine(), intent("0.2", "sell"), book))
