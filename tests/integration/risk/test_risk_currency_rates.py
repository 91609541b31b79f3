"""The risk service values every currency at the rates the portfolio summary uses
(``PortfolioReport.rates``: stored asset prices, fixed rates, then the book's own marks), and a
currency nothing prices is reported — a monitor alert naming it, entries refused with code
``no_rate``, no equity mark recorded on a figure that leaves it out — never valued at 0."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from risk_service_kit import DAY, INVERSE, T0, VENUE, Desk, order

from riskdesk.domain.accounting.book import Account
from riskdesk.domain.fills import Fill
from riskdesk.domain.risk.books import PAPER
from riskdesk.domain.risk.decisions import Denied, RiskCode
from riskdesk.domain.risk.monitors import AlertLevel
from riskdesk.domain.risk.trading_state import TradingState

COIN = "coin"


def _coin_account(desk: Desk, currency: str = "BTC", amount: str = "2") -> None:
    """A coin-margined account on the paper venue holding ``amount`` ``currency``."""
    book = desk.rt.app.book
    book.register_account(Account(COIN, VENUE))
    book.move_cash(COIN, currency, Decimal(amount), DAY - timedelta(days=1), "deposit", "c-1")


def _short_inverse(desk: Desk, contracts: str = "1000", price: str = "50000") -> None:
    desk.rt.app.book.apply_fills(
        [
            Fill.create(
                venue=VENUE,
                fill_id="c-f1",
                account_id=COIN,
                symbol=INVERSE.symbol,
                side="sell",
                qty=contracts,
                price=price,
                ts=T0 - timedelta(hours=1),
            )
        ]
    )


def test_btc_cash_is_valued_at_the_summary_rate_from_the_inverse_mark(desk: Desk) -> None:
    _coin_account(desk)
    _short_inverse(desk)
    desk.marks(inverse="50000")  # the inverse perpetual's mark only: no BTC asset price stored
    report = desk.rt.app.book.report()
    assert report.rates["BTC"].price == Decimal(50_000)  # derived from the mark
    assert report.summary.unpriced == ()
    valuation = desk.risk.revalue(scope=PAPER)
    # 100,000 USDT (acct) + 2 BTC at 50,000: the summary's own total, BTC not counted at 0.
    assert valuation.equity == float(report.summary.total_equity) == 200_000.0
    assert valuation.unpriced == ()
    assert desk.risk.equity_marks()["*paper"].equity == Decimal(200_000)
    book = desk.risk.risk_book(scope=PAPER)
    assert INVERSE.key in book.instruments  # its settlement currency has a rate
    assert book.instruments[INVERSE.key].settle_rate == 50_000.0
    assert book.available[(COIN, "BTC")] > 1.0
    check = desk.risk.check(
        order("100", "sell", symbol=INVERSE.symbol, account_id=COIN), what_if=True
    )
    assert check.decision.approved, check.decision


def test_a_currency_without_a_rate_is_reported_and_blocks_entries(desk: Desk) -> None:
    _coin_account(desk, "ETH", "3")  # nothing prices ETH: no asset price, no ETH mark
    desk.fill("buy", "0.1", "50000", at=T0 - timedelta(hours=1))
    desk.marks(perp="50000")
    update = desk.risk.on_mark_update()
    paper = update.of(PAPER)
    assert paper.valuation.unpriced == ("ETH",)
    assert paper.book.unpriced == ("ETH",)
    found = [a for a in update.alerts if a.kind == "unpriced_currency"]
    assert [(a.key, a.level) for a in found] == [("paper:unpriced", AlertLevel.CRITICAL)]
    assert "ETH" in found[0].message
    # No equity mark is recorded on a figure that counts 3 ETH at 0 (nor for the desk).
    marks = desk.risk.equity_marks()
    assert "*paper" not in marks and "*" not in marks and COIN not in marks
    assert "acct" in marks  # the USDT account is complete
    # Drawdown is not measured on the incomplete equity (no false kill switch).
    assert update.monitor.state.state is TradingState.ACTIVE
    refused = desk.risk.check(order("0.01")).decision
    assert isinstance(refused, Denied) and refused.code is RiskCode.NO_RATE
    assert "ETH" in refused.reason
    assert desk.risk.check(order("0.05", "sell")).decision.approved  # reducing is allowed
    # Once ETH has a price the book is whole again.
    desk.rt.app.book.record_prices({}, {"ETH": Decimal(2_000)}, T0, "test")
    again = desk.risk.on_mark_update()
    assert again.of(PAPER).valuation.unpriced == ()
    assert again.of(PAPER).valuation.equity == 100_000.0 + 6_000.0
    cleared = [a for a in again.alerts if a.key == "paper:unpriced"]
    assert [a.level for a in cleared] == [AlertLevel.INFO]
    assert desk.risk.check(order("0.01"), what_if=True).decision.approved


def test_the_report_values_btc_flows_at_the_mark_rate(desk: Desk) -> None:
    _coin_account(desk)
    _short_inverse(desk)
    desk.marks(inverse="50000")
    desk.risk.revalue()  # the paper book's equity at T0
    desk.rt.app.book.move_cash(COIN, "BTC", Decimal("0.5"), T0, "deposit", "c-2")
    desk.risk.revalue(T0 + timedelta(minutes=1))
    report = desk.risk.report("day", date(2025, 3, 3), PAPER)
    assert report.unpriced == ()
    assert report.net_cash_flow == Decimal(25_000)  # 0.5 BTC at the mark's 50,000, not at 0
    assert report.pnl == Decimal(0)


def test_the_report_names_a_currency_without_a_rate(desk: Desk) -> None:
    _coin_account(desk, "ETH", "3")
    desk.rt.app.book.move_cash(COIN, "ETH", Decimal(1), T0, "deposit", "c-2")
    report = desk.risk.report("day", date(2025, 3, 3), PAPER)
    assert report.unpriced == ("ETH",)
