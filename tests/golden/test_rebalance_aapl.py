"""Golden: a near-the-money short put on the bundled CBOE AAPL chain of 2026-07-24.

Short 10 AAPL 21 Aug 2026 330 puts sold at 8.50, AAPL 333.80, valued at the snapshot's own time
(the CBOE response of 2026-07-25 03:44:38 New York; the quotes are the closing quotes of the
24th, last trade 15:59:59). Every roll candidate must be a contract of the chain, and its net
credits must equal the chain's own bid/ask (read here straight from the CSV, independently of the
adapter) to the cent: natural = new bid x new qty - old ask x old qty, mid likewise with mids.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources

import pytest

from riskdesk.adapters.market_data.chain_snapshot import bundled_equity_snapshots
from riskdesk.domain.rebalance import (
    EngineConfig,
    RateInputs,
    RebalanceParams,
    RollType,
    analyse_chain,
    make_position,
    rebalance,
)

CENT = Decimal("0.01")
SYMBOL = "AAPL260821P00330000"


@pytest.fixture(scope="module")
def chain_rows() -> dict[str, dict[str, str]]:
    text = (
        resources.files("riskdesk.data")
        .joinpath("options/AAPL_chain_2026-07-24.csv")
        .read_text(encoding="utf-8")
    )
    return {row["contract"]: row for row in csv.DictReader(text.splitlines())}


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    index = analyse_chain(bundled_equity_snapshots().chain("AAPL"), RateInputs(0.04, 0.0))
    params = RebalanceParams(max_additional_capital=Decimal(1_000_000))
    return rebalance(
        make_position(SYMBOL, -10, "8.50"), index, params, EngineConfig(max_candidates=50)
    )


def test_valuation_time_and_position(report) -> None:  # type: ignore[no-untyped-def]
    a = report.analysis
    assert report.as_of == datetime(2026, 7, 25, 7, 44, 38, tzinfo=UTC)
    assert a.underlying_price == Decimal("333.8")
    assert (a.quote.bid, a.quote.ask, a.mark) == (Decimal("8.95"), Decimal("9.25"), Decimal("9.10"))
    assert a.unrealized_pnl == Decimal("-600.00")
    assert a.breakeven == Decimal("321.5") and a.max_profit == Decimal("8500.0")
    assert a.dte_days == 27 and 0.40 < (a.assignment_probability or 0) < 0.50


def test_candidates_and_net_credits_equal_the_chain(report, chain_rows) -> None:  # type: ignore[no-untyped-def]
    rolls = report.rolls
    assert rolls.evaluated >= 20 and len(rolls.candidates) >= 10
    old = chain_rows[SYMBOL]
    old_bid, old_ask = Decimal(old["bid"]), Decimal(old["ask"])
    old_mid = (old_bid + old_ask) / 2
    listed_expiries = {date.fromisoformat(r["expiration"]) for r in chain_rows.values()}
    for c in rolls.candidates:
        row = chain_rows[c.open.symbol]  # a real contract of the chain
        assert row["option_type"] == "put"
        assert Decimal(row["strike"]) == c.open.strike
        assert c.open.expiry.date() in listed_expiries
        assert c.open.expiry.date() > date(2026, 8, 21)
        bid, ask = Decimal(row["bid"]), Decimal(row["ask"])
        assert (c.open.bid, c.open.ask) == (bid, ask)
        n_old, n_new = Decimal(10), c.open.quantity
        natural = (bid * n_new - old_ask * n_old) * 100
        mid = ((bid + ask) / 2 * n_new - old_mid * n_old) * 100
        assert abs(c.net_credit_natural - natural) < CENT
        assert abs(c.net_credit_mid - mid) < CENT
        # Per combo unit too: the ticket's net prices.
        per_unit = natural / (c.combo_quantity * 100)
        assert abs(c.net_price_natural - per_unit) < CENT
    calendars = [c for c in rolls.candidates if c.roll_type is RollType.CALENDAR]
    assert {c.open.strike for c in calendars} == {Decimal(330)}


def test_known_calendar_roll(report, chain_rows) -> None:  # type: ignore[no-untyped-def]
    # 21 Aug 330P (ask 9.25) -> 28 Aug 330P (bid 9.75): +0.50 x 10 x 100 at the natural price.
    aug28 = next(c for c in report.rolls.candidates if c.open.symbol == "AAPL260828P00330000")
    assert aug28.net_credit_natural == Decimal("500.00")
    assert aug28.net_credit_mid == Decimal("850.00")  # mids 9.95 - 9.10
    assert aug28.new_dte == 34
    # Whole-trade breakeven: 330 - (8.50 - 9.25 + 9.75) = 321.00.
    assert aug28.new_breakeven == Decimal("321.00")
    assert aug28.leg_breakeven == Decimal("320.25")
