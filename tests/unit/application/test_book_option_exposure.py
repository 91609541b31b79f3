"""An option's exposure in the book is its delta (vol implied from the stored mark), equal to
the dollar delta ``riskdesk greeks`` reports for European and coin options and close to it for
American ones (BSM delta); without a mark or an underlying price it falls back to premium value
and says so."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from riskdesk.adapters.clock import ManualClock
from riskdesk.application.book_service import BookService
from riskdesk.application.fill_rows import parse_rows
from riskdesk.application.pricing_service import PricingConfig, PricingService, option_deltas
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import book_config, build
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.instruments import crypto_option, equity_option

AS_OF = datetime(2026, 9, 20, 8, 0, tzinfo=UTC)
BTC_OPT = crypto_option("BTC-25DEC26-100000-C", "deribit")
SPX_PUT = equity_option("SPX261218P04800000", "cboe")
AAPL_CALL = equity_option("AAPL261218C00350000", "cboe")
AAPL_PUT = equity_option("AAPL261218P00300000", "cboe")
TSLA_PUT = equity_option("TSLA261218P00300000", "cboe")  # no TSLA price stored
CONFIG = PricingConfig(risk_free_rate=0.04, dividend_yields={"SPX": 0.013})


def _fill(n: str, account: str, venue: str, symbol: str, side: str, qty: str, price: str) -> dict[str, object]:  # fmt: skip
    return {
        "account_id": account, "venue": venue, "fill_id": n, "symbol": symbol, "side": side,
        "qty": qty, "price": price, "ts": "2026-09-01T12:00:00Z", "fee": "0",
    }  # fmt: skip


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> tuple[BookService, PricingService]:
    path: Path = tmp_path_factory.mktemp("exposure") / "book.db"
    settings = Settings()
    rt = build(settings, str(path), create=True)
    book = BookService(
        rt.store, ManualClock(AS_OF), book_config(settings), partial(option_deltas, config=CONFIG)
    )
    book.register_instruments([BTC_OPT, SPX_PUT, AAPL_CALL, AAPL_PUT, TSLA_PUT])
    book.register_account(Account("deribit-btc", "deribit"))
    book.register_account(Account("us", "cboe"))
    start = datetime(2026, 9, 1, tzinfo=UTC)
    book.move_cash("deribit-btc", "BTC", Decimal(10), start, "deposit", "d1")
    book.move_cash("us", "USD", Decimal(1_000_000), start, "deposit", "d2")
    rows = [
        _fill("1", "deribit-btc", "deribit", BTC_OPT.symbol, "buy", "2", "0.05"),
        _fill("2", "us", "cboe", SPX_PUT.symbol, "sell", "3", "95"),
        _fill("3", "us", "cboe", AAPL_CALL.symbol, "buy", "4", "12"),
        _fill("4", "us", "cboe", AAPL_PUT.symbol, "sell", "5", "9"),
        _fill("5", "us", "cboe", TSLA_PUT.symbol, "buy", "1", "20"),
    ]
    book.apply(parse_rows(enumerate(rows, start=1)))
    marks = {
        BTC_OPT.key: Decimal("0.06"), SPX_PUT.key: Decimal("80.5"),
        AAPL_CALL.key: Decimal("12.5"), AAPL_PUT.key: Decimal("8.75"), TSLA_PUT.key: Decimal(21),
    }  # fmt: skip
    assets = {"BTC": Decimal(90_000), "SPX": Decimal(5_050), "AAPL": Decimal(320)}
    book.record_prices(marks, assets, AS_OF, "test")
    return book, PricingService(book, CONFIG)


def _exposures(book: BookService) -> dict[str, tuple[float, str]]:
    return {
        f"{v.venue}:{v.symbol}": (float(v.exposure), v.exposure_basis)
        for v in book.report(now=AS_OF).positions
    }


def test_european_and_coin_option_exposure_is_the_greeks_dollar_delta(
    services: tuple[BookService, PricingService],
) -> None:
    book, pricing = services
    exposure = _exposures(book)
    greeks = {g.instrument_key: g for g in pricing.greeks().positions}
    for key in (BTC_OPT.key, SPX_PUT.key):
        assert exposure[key][1] == "delta"
        assert exposure[key][0] == pytest.approx(greeks[key].dollar_delta, rel=1e-9)
    # A short put has positive delta exposure; the premium would have been negative.
    assert exposure[SPX_PUT.key][0] > 0


def test_american_options_use_the_bsm_delta_close_to_the_american_one(
    services: tuple[BookService, PricingService],
) -> None:
    book, pricing = services
    exposure = _exposures(book)
    greeks = {g.instrument_key: g for g in pricing.greeks().positions}
    # No dividend yield: an American call is a European call, the deltas agree closely.
    assert exposure[AAPL_CALL.key][0] == pytest.approx(greeks[AAPL_CALL.key].dollar_delta, rel=2e-3)
    # A put's early-exercise premium moves its delta a little; the BSM one stays close.
    assert exposure[AAPL_PUT.key][0] == pytest.approx(greeks[AAPL_PUT.key].dollar_delta, rel=0.05)
    assert exposure[AAPL_PUT.key][0] > 0  # short put: long delta


def test_without_an_underlying_price_the_exposure_is_the_premium_value(
    services: tuple[BookService, PricingService],
) -> None:
    book, _ = services
    value, basis = _exposures(book)[TSLA_PUT.key]
    assert basis == "premium" and value == pytest.approx(21 * 100)
    # TSLA has no price: the position is incomplete in USD, never an error.
    view = next(v for v in book.report(now=AS_OF).positions if v.symbol == TSLA_PUT.symbol)
    assert view.unpriced == ("TSLA",)


def test_without_a_delta_source_options_count_at_premium(
    services: tuple[BookService, PricingService],
) -> None:
    book, _ = services
    plain = BookService(book._uow, ManualClock(AS_OF), book.config)  # the same store
    exposure = _exposures(plain)
    assert exposure[SPX_PUT.key] == (pytest.approx(-3 * 100 * 80.5), "premium")
