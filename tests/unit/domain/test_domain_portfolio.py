"""Portfolio summary, position detail and exposure on a small book computed by hand.

Book (reporting currency USD; BTC 40000, ETH 3100, TSLA 400):

=====  =====================================  ==========  ========  =========  ========
 #     position                               mark        exposure  upnl USD   margin
=====  =====================================  ==========  ========  =========  ========
 a     spot BTC/USDT  +0.1 @ 42000 (fee 4.2)  40000       +4000     -200       -
 b     linear BTC     -0.2 @ 41000 cross 10x  40000       -8000     +200       820
 c     linear ETH     +2   @ 3000  isol. 5x   3100        +6200     +200       1200
 d     inverse BTC    -100 x 10 USD @ 50000   40000       -1000     +200       0.01 BTC
 e     TSLA 390 put   +1   @ 10               12          +1200     +200       -
=====  =====================================  ==========  ========  =========  ========

Cash: USDT 20000 - 4200 - 4.2 = 15795.8; BTC 0.5; USD 5000 - 1000 = 4000.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from decimal import Decimal

import pytest
from domain_testkit import (
    ACCOUNT,
    EQUITY_OPTION,
    ETH_LINEAR,
    INVERSE,
    LINEAR,
    SPOT,
    T0,
    VENUE,
    make_fill,
    new_book,
)

from riskdesk.domain.accounting.book import Book
from riskdesk.domain.accounting.margin import liquidation_price
from riskdesk.domain.accounting.portfolio import (
    MarketSnapshot,
    PortfolioInputs,
    exposure,
    max_drawdown,
    position_views,
    snapshot_of,
    summarize,
)
from riskdesk.domain.fills import MarginMode
from riskdesk.domain.values import ACCOUNTING_CONTEXT, PositionSide, ratio

D = Decimal
div = ACCOUNTING_CONTEXT.divide
INSTRUMENTS = {i.key: i for i in (SPOT, LINEAR, ETH_LINEAR, INVERSE, EQUITY_OPTION)}
MARKET = MarketSnapshot(
    {
        SPOT.key: D(40000),
        LINEAR.key: D(40000),
        ETH_LINEAR.key: D(3100),
        INVERSE.key: D(40000),
        EQUITY_OPTION.key: D(12),
    },
    {"USDT": D(1), "USD": D(1), "BTC": D(40000), "ETH": D(3100), "TSLA": D(400)},
    T0 + timedelta(hours=6),
)
EQUITY = D("45595.8")  # 39795.8 wallet + 5200 premium value + 600 margined upnl


def hand_book() -> Book:
    book = new_book({"USDT": 20_000, "BTC": D("0.5"), "USD": 5000})
    book.apply_fill(make_fill(SPOT, "buy", "0.1", "42000", fee="4.2"), SPOT)
    book.apply_fill(make_fill(LINEAR, "sell", "0.2", "41000", leverage=10), LINEAR)
    book.apply_fill(
        make_fill(ETH_LINEAR, "buy", "2", "3000", leverage=5, margin_mode=MarginMode.ISOLATED),
        ETH_LINEAR,
    )
    book.apply_fill(make_fill(INVERSE, "sell", "100", "50000", leverage=2), INVERSE)
    book.apply_fill(make_fill(EQUITY_OPTION, "buy", "1", "10"), EQUITY_OPTION)
    return book


@pytest.fixture
def book() -> Book:
    return hand_book()


def test_cash_after_the_fills(book: Book) -> None:
    assert book.balances == {"USDT": D("15795.8"), "BTC": D("0.5"), "USD": D(4000)}


def test_position_detail(book: Book) -> None:
    views = {v.symbol: v for v in position_views([book], INSTRUMENTS, MARKET)}
    spot_v = views[SPOT.symbol]
    assert (spot_v.side, spot_v.margined, spot_v.margin_mode) == ("long", False, "-")
    assert (spot_v.market_value, spot_v.unrealized_pnl, spot_v.exposure) == (
        D(4000),
        D(-200),
        D(4000),
    )
    assert spot_v.pnl_ratio == ratio(div(D(-200), D(4200)))  # return on cost
    assert spot_v.fees_ccy == D("4.2")
    assert spot_v.hold_seconds == 6 * 3600

    short = views[LINEAR.symbol]
    assert (short.side, short.unrealized_pnl, short.exposure, short.margin_ccy) == (
        "short",
        D(200),
        D(-8000),
        D(820),
    )
    assert short.maintenance_ccy == D(40)
    assert short.pnl_ratio == ratio(div(D(200), D(820)))
    # Cross USDT pool: 15795.8 - 1200 isolated (ETH); no other cross position in USDT.
    assert short.liquidation_price == liquidation_price(LINEAR, D("-0.2"), D(41000), D("14595.8"))
    assert short.liquidation_price == div(D("-8200") - D("14595.8"), D("-0.201"))

    eth = views[ETH_LINEAR.symbol]
    assert (eth.margin_mode, eth.margin_ccy, eth.unrealized_pnl, eth.exposure) == (
        "isolated",
        D(1200),
        D(200),
        D(6200),
    )
    assert eth.liquidation_price == div(D(4800), D("1.99"))
    assert eth.margin_ratio == ratio(div(D(31), D(1400)))

    inv = views[INVERSE.symbol]
    assert inv.kind == "perpetual/inverse"
    assert (inv.unrealized_pnl_ccy, inv.unrealized_pnl) == (D("0.005"), D(200))
    assert (inv.exposure, inv.notional, inv.margin_ccy) == (D(-1000), D(1000), D("0.01"))
    assert inv.liquidation_price is None  # 0.5 BTC backs a 0.02 BTC short

    opt = views[EQUITY_OPTION.symbol]
    assert (opt.market_value, opt.unrealized_pnl, opt.exposure) == (D(1200), D(200), D(1200))
    assert opt.notional == D(40000)  # 1 x 100 x 400 underlying


def test_summary_arithmetic(book: Book) -> None:
    book.set_stop(SPOT.key, PositionSide.NET, D(38000))  # risk 0.1 x 4000 = 400
    book.set_stop(LINEAR.key, PositionSide.NET, D(42000))  # risk 0.2 x 1000 = 200
    inputs = PortfolioInputs(
        realized_closed=D(123),
        day_start_equity=D(45000),
        equity_history=[D(40000), D(50000), D(45000)],
    )
    s = summarize([book], INSTRUMENTS, MARKET, inputs)
    assert s.reporting_currency == "USD"
    assert s.wallet_balance == D("39795.8")
    assert s.total_equity == EQUITY
    assert s.unrealized_pnl == D(600)
    assert s.realized_pnl == D(123)
    assert s.fees == D("4.2")
    assert s.funding == 0
    assert s.margin_used == D(2420)  # 820 + 1200 + 0.01 BTC x 40000
    assert s.maintenance_margin == D(76)  # 40 + 31 + 0.000125 BTC x 40000
    assert s.available_balance == EQUITY - D(2420) - D(5200)
    assert (s.long_exposure, s.short_exposure) == (D(11400), D(9000))
    assert (s.gross_exposure, s.net_exposure) == (D(20400), D(2400))
    assert s.effective_leverage == ratio(div(D(20400), EQUITY))
    assert s.long_short_ratio == ratio(div(D(11400), D(9000)))
    assert s.position_count == 5
    assert s.portfolio_heat == ratio(div(D(600), EQUITY))
    assert s.unprotected_positions == 3
    assert s.margin_usage == ratio(div(D(2420), EQUITY))
    assert s.daily_pnl == D("595.8")
    assert s.daily_return == ratio(div(D("595.8"), D(45000)))
    assert s.max_drawdown == D("0.1")
    assert (s.largest_asset, s.largest_asset_share) == ("BTC", ratio(div(D(13000), EQUITY)))


def test_stop_on_the_profitable_side_is_no_risk(book: Book) -> None:
    book.set_stop(LINEAR.key, PositionSide.NET, D(39000))  # a short's stop below its entry
    view = next(v for v in position_views([book], INSTRUMENTS, MARKET) if v.symbol == LINEAR.symbol)
    assert view.risk_to_stop == 0


def test_exposure_tables(book: Book) -> None:
    views = position_views([book], INSTRUMENTS, MARKET)
    exp = exposure(views, EQUITY)
    by_asset = {r.key: r for r in exp.by_asset}
    btc = by_asset["BTC"]
    assert (btc.long, btc.short, btc.gross, btc.net, btc.count) == (
        D(4000),
        D(9000),
        D(13000),
        D(-5000),
        3,
    )
    assert btc.unrealized_pnl == D(200)  # -200 + 200 + 200
    assert btc.of_equity == ratio(div(D(13000), EQUITY))
    assert [r.key for r in exp.by_asset] == ["BTC", "ETH", "TSLA"]  # by gross
    assert (by_asset["ETH"].gross, by_asset["TSLA"].gross) == (D(6200), D(1200))
    by_symbol = {r.key: r for r in exp.by_symbol}
    assert set(by_symbol) == {f"{VENUE}:{i.symbol}" for i in INSTRUMENTS.values()}
    assert by_symbol[f"{VENUE}:{LINEAR.symbol}"].net == D(-8000)
    (venue,) = exp.by_venue
    assert (venue.key, venue.gross, venue.net, venue.count) == (
        f"{VENUE}/{ACCOUNT}",
        D(20400),
        D(2400),
        5,
    )


def test_option_delta_turns_premium_into_underlying_exposure(book: Book) -> None:
    inputs = PortfolioInputs(option_deltas={EQUITY_OPTION.key: D("-0.4")})
    s = summarize([book], INSTRUMENTS, MARKET, inputs)
    # -0.4 x 1 x 100 x 400 = -16000 replaces +1200.
    assert (s.long_exposure, s.short_exposure) == (D(10200), D(25000))
    assert s.total_equity == EQUITY  # exposure is not value


def test_summary_over_two_books_and_empty() -> None:
    one, two = hand_book(), hand_book()
    instruments = INSTRUMENTS
    s = summarize([one, two], instruments, MARKET)
    assert s.total_equity == 2 * EQUITY
    assert s.position_count == 10
    empty = summarize([], instruments, MARKET)
    assert (empty.total_equity, empty.effective_leverage, empty.largest_asset) == (0, 0, None)
    assert empty.long_short_ratio is None


def test_snapshot_is_json_safe(book: Book) -> None:
    s = summarize([book], INSTRUMENTS, MARKET)
    snap = snapshot_of("*", s)
    assert snap.total_equity == EQUITY
    assert Decimal(str(snap.summary["total_equity"])) == EQUITY
    assert snap.summary["ts"] == MARKET.ts.isoformat()
    assert set(snap.summary) == set(asdict(s))


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        ([], None),
        ([D(100)], D(0)),
        ([D(100), D(120), D(90), D(130), D(117)], D("0.25")),
        ([D(100), D(90), D(80)], D("0.2")),
    ],
)
def test_max_drawdown(series: list[Decimal], expected: Decimal | None) -> None:
    assert max_drawdown(series) == expected
