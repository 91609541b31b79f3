"""Tradier adapter against recorded responses (httpx.MockTransport; no network)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from riskdesk.adapters.clock import ManualClock
from riskdesk.adapters.market_data.tradier import TradierConfig, TradierOptionsData
from riskdesk.domain.calendar import MarketSession
from riskdesk.domain.errors import NotFound
from riskdesk.domain.rebalance import MarketDataError, RateInputs, analyse_chain

FIXTURES = Path(__file__).parents[2] / "fixtures" / "tradier"
Handler = Callable[[httpx.Request], httpx.Response]


def recorded(name: str) -> httpx.Response:
    return httpx.Response(200, text=(FIXTURES / name).read_text(encoding="utf-8"))


def replay(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/v1/markets/quotes":
        symbols = request.url.params["symbols"]
        if symbols == "PLTR":
            return recorded("tradier_quote_PLTR_2024-06-28.json")
        if symbols in {"SPY,SPY251219P00450000", "SPY251219P00450000"}:
            return recorded("tradier_quotes_SPY_and_SPY251219P450_greeks_2024-06-28.json")
        return httpx.Response(200, json={"quotes": {"unmatched_symbols": {"symbol": symbols}}})
    if path == "/v1/markets/options/expirations":
        return recorded("tradier_expirations_PLTR_2024-06-28.json")
    if path == "/v1/markets/options/chains":
        assert request.url.params["greeks"] == "true"
        return recorded("tradier_chain_PLTR_2026-06-18_greeks_partial_2024-06-28.json")
    if path == "/v1/markets/clock":
        return recorded("tradier_clock_documented_example.json")
    return httpx.Response(404, text="unknown endpoint")


def adapter(handler: Handler, attempts: int = 3) -> tuple[TradierOptionsData, list[float]]:
    slept: list[float] = []
    data = TradierOptionsData(
        TradierConfig("test-token-123", "https://api.tradier.com/v1", max_attempts=attempts, backoff_seconds=0.5),
        clock=ManualClock(datetime(2024, 6, 28, 16, tzinfo=UTC)),
        client=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=slept.append,
    )  # fmt: skip
    return data, slept


def test_chain_from_recorded_responses() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return replay(request)

    data, _ = adapter(handler)
    snap = data.chain("PLTR", [date(2026, 6, 18)])
    assert len(snap.contracts) == 14
    assert snap.underlying.symbol == "PLTR" and snap.underlying.price == Decimal("25.5")
    # The valuation time is the data's own (newest quote time), not the clock's.
    assert snap.as_of == datetime(2024, 6, 28, 15, 51, 1, 696000, tzinfo=UTC)
    put13 = next(c for c in snap.contracts if c.symbol == "PLTR260618P00013000")
    assert (put13.bid, put13.ask, put13.strike) == (Decimal("0.0"), Decimal("1.41"), Decimal(13))
    assert put13.open_interest == Decimal(10)
    assert put13.venue_greeks is not None and put13.venue_greeks.iv == pytest.approx(0.590685)
    assert put13.expiry == datetime(2026, 6, 18, 20, 0, tzinfo=UTC)  # 16:00 New York
    assert all(r.headers["authorization"] == "Bearer test-token-123" for r in seen)
    assert all(r.headers["accept"] == "application/json" for r in seen)
    # The chain analyses; the in-the-money 15 call takes the vol of the OTM 15 put, whose own
    # IV is near Tradier's (0.5007 mid IV).
    index = analyse_chain(snap, RateInputs(0.04, 0.0))
    call15, put15 = index.find("PLTR260618C00015000"), index.find("PLTR260618P00015000")
    assert index.vol[call15] == index.iv[put15]
    assert index.iv[put15] == pytest.approx(0.5007, abs=0.05)


def test_quotes_expirations_and_clock() -> None:
    data, _ = adapter(replay)
    [put] = data.quotes(["SPY251219P00450000"])
    assert put.symbol == "SPY251219P00450000" and put.bid == Decimal("10.2")
    assert put.venue_greeks is not None and put.venue_greeks.delta == pytest.approx(-0.1366928)
    assert data.expirations("PLTR")[0] == date(2024, 6, 28) and len(data.expirations("PLTR")) == 19
    clock = data.market_clock()
    assert clock is not None and clock.session is MarketSession.OPEN
    assert clock.as_of == datetime.fromtimestamp(1557156988, UTC)


def test_unknown_symbol_is_not_found() -> None:
    data, _ = adapter(replay)
    with pytest.raises(NotFound) as info:
        data.underlying_quote("NOPE")
    assert "NOPE" in info.value.reason


def test_retryable_errors_are_retried_with_backoff() -> None:
    answers = iter([httpx.Response(503), httpx.Response(429)])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or replay(request)

    data, slept = adapter(handler)
    assert data.underlying_quote("PLTR").price == Decimal("25.5")
    assert slept == [0.5, 1.0]  # exponential backoff between the three attempts


def test_transport_errors_give_up_after_max_attempts() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectTimeout("timed out", request=request)

    data, _ = adapter(handler, attempts=2)
    with pytest.raises(MarketDataError) as info:
        data.expirations("PLTR")
    assert len(calls) == 2 and "after 2 attempts" in info.value.reason


def test_client_errors_are_not_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(401, text="Invalid Access Token")

    data, slept = adapter(handler)
    with pytest.raises(MarketDataError) as info:
        data.market_clock()
    assert len(calls) == 1 and slept == []
    assert "401" in info.value.reason and info.value.code == "market_data"


def test_non_json_body_is_a_market_data_error() -> None:
    data, _ = adapter(lambda request: httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(MarketDataError):
        data.expirations("PLTR")


def test_recorded_body_shapes_are_what_tradier_documents() -> None:
    # One option is an object, several a list: both shapes parse.
    body = json.loads((FIXTURES / "tradier_quote_PLTR_2024-06-28.json").read_text())
    assert isinstance(body["quotes"]["quote"], dict)
