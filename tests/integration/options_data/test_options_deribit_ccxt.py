"""Deribit through CCXT against recorded JSON (a ccxt.deribit whose HTTP layer replays files)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import ccxt
import pytest

from riskdesk.adapters.market_data.deribit_ccxt import DeribitOptionsData
from riskdesk.domain.errors import NotFound
from riskdesk.domain.rebalance import (
    EngineConfig,
    MarketDataError,
    RateInputs,
    analyse,
    analyse_chain,
    make_position,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "deribit"


class RecordedDeribit(ccxt.deribit):  # type: ignore[misc]
    """CCXT's Deribit with its HTTP layer (``fetch``) answering from recorded responses."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__()
        self.paths: list[str] = []
        self.failures = failures

    def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        parsed = urlparse(url)
        self.paths.append(parsed.path)
        if self.failures:
            self.failures -= 1
            raise ccxt.RequestTimeout("recorded timeout")
        query = parse_qs(parsed.query)
        if parsed.path.endswith("/public/get_currencies"):
            return {"jsonrpc": "2.0", "result": []}  # not needed for options
        if parsed.path.endswith("/public/get_instruments"):
            return {"jsonrpc": "2.0", "result": load("instruments_option.json")}
        if parsed.path.endswith("/public/ticker"):
            return {
                "jsonrpc": "2.0",
                "result": load("option_tickers.json")[query["instrument_name"][0]],
            }
        if parsed.path.endswith("/public/get_index_price"):
            assert query["index_name"] == ["btc_usd"]
            return {"jsonrpc": "2.0", "result": load("index_price.json")}
        raise ccxt.BadRequest(f"no recording for {url}")


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def no_sleep(_: float) -> None:
    return None


def test_btc_chain_from_instruments_and_tickers() -> None:
    exchange = RecordedDeribit()
    data = DeribitOptionsData(exchange, sleep=no_sleep)
    snap = data.chain("BTC")
    assert len(snap.contracts) == 6
    assert snap.underlying.price == Decimal("80814.47")
    assert snap.as_of == datetime(2026, 9, 20, 21, 25, 18, 462000, tzinfo=UTC)
    assert snap.terms.coin_settled and snap.terms.premium_currency == "BTC"
    call = next(c for c in snap.contracts if c.symbol == "BTC-21SEP26-68000-C")
    assert (call.bid, call.ask, call.mark) == (
        Decimal("0.1565"),
        Decimal("0.161"),
        Decimal("0.1585"),
    )
    assert call.forward == Decimal("80809.22")
    assert call.expiry == datetime(2026, 9, 21, 8, 0, tzinfo=UTC)
    assert call.venue_greeks is not None and call.venue_greeks.iv == pytest.approx(0.6159)
    assert exchange.paths.count("/api/v2/public/ticker") == 6
    # The chain feeds the engine: a short deep-ITM call on the coin-settled chain.
    index = analyse_chain(snap, RateInputs(0.04, 0.0, 0.0))
    analysis, _ = analyse(
        make_position("BTC-21SEP26-68000-C", "-0.5", "0.15"), index, EngineConfig()
    )
    assert analysis.assignment_probability is not None and analysis.assignment_probability > 0.9


def test_expirations_and_quotes() -> None:
    data = DeribitOptionsData(RecordedDeribit(), sleep=no_sleep)
    assert data.expirations("XRP") == [date(2026, 9, 21), date(2026, 9, 22)]
    [quote] = data.quotes(["XRP_USDC-21SEP26-1d25-C"])
    assert quote.strike == Decimal("1.25") and quote.right.value == "C"
    assert "BTC" in data.underlyings() and "XRP" in data.underlyings()
    with pytest.raises(NotFound):
        data.quotes(["BTC-21SEP26-99000-C"])
    with pytest.raises(NotFound):
        data.chain("SOL")
    assert data.market_clock() is None


def test_network_errors_are_retried() -> None:
    exchange = RecordedDeribit(failures=2)
    data = DeribitOptionsData(exchange, sleep=no_sleep)
    assert data.expirations("BTC") == [date(2026, 9, 21)]
    assert exchange.paths.count("/api/v2/public/get_currencies") == 3


def test_persistent_network_errors_become_market_data_errors() -> None:
    data = DeribitOptionsData(RecordedDeribit(failures=10), max_attempts=3, sleep=no_sleep)
    with pytest.raises(MarketDataError) as info:
        data.expirations("BTC")
    assert "after 3 attempts" in info.value.reason
