"""Which price the analytics vol comes from, marks of one-sided books, the last hour before
expiry, and the probability of profit measured against the entry."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from riskdesk.adapters.market_data.chain_snapshot import (
    bundled_equity_snapshots,
    us_equity_terms,
)
from riskdesk.domain.rebalance import (
    ChainIndex,
    ChainSnapshot,
    EngineConfig,
    OptionQuote,
    RateInputs,
    RebalanceParams,
    UnderlyingQuote,
    analyse,
    analyse_chain,
    make_position,
    rebalance,
)
from riskdesk.domain.rebalance.chain import (
    VOL_MARK_IV,
    VOL_OWN_OTM,
    VOL_PARTNER,
    VOL_SOURCES,
    VOL_VENUE,
    prob_beyond,
)
from riskdesk.domain.symbols import OptionRight


def test_no_vol_is_implied_from_a_one_sided_or_wide_quote(
    aapl: ChainIndex, btc: ChainIndex
) -> None:
    for index in (aapl, btc):
        one_sided = (index.bid <= 0) | ~np.isfinite(index.ask)
        assert not np.isfinite(index.iv[one_sided]).any()
        assert not np.isfinite(index.iv[index.spread_pct > 0.5]).any()
        assert (index.usable == (~one_sided & (index.spread_pct <= 0.5))).all()


def test_deribit_call_uses_the_venue_mark_when_its_otm_put_is_one_sided(
    btc: ChainIndex, config: EngineConfig
) -> None:
    # The audit case: the 70000 put is quoted 0 / 0.0001, so its "mid" implied 152 % and gave
    # the call a theta of -45 USD/day; Deribit's mark IV is 61.57 % and its theta 0.
    i = btc.find("BTC-21SEP26-70000-C")
    assert btc.vol[i] == pytest.approx(0.6157)
    assert btc.vol_source[i] == VOL_MARK_IV
    a, _ = analyse(make_position("BTC-21SEP26-70000-C", "-1", "0.12"), btc, config)
    assert a.greeks.vol == pytest.approx(0.6157)
    assert a.greeks.vol_source == VOL_SOURCES[VOL_MARK_IV]
    assert abs(a.greeks.theta_per_day) < 0.01  # USD/day, deep in the money with 11 hours
    assert a.venue_greeks is not None and a.venue_greeks.theta_per_day == 0.0
    # The one-sided put itself is marked at Deribit's mark, not at half its ask.
    put, _ = analyse(make_position("BTC-21SEP26-70000-P", "-2", "0.001"), btc, config)
    assert put.mark == Decimal("0.0") and put.mark_source.startswith("venue mark")
    assert put.notes[0].startswith("one-sided book: marked at the venue mark")


def test_itm_american_put_takes_the_vol_of_its_otm_call(aapl: ChainIndex) -> None:
    put, call = aapl.find("AAPL260821P00350000"), aapl.find("AAPL260821C00350000")
    assert aapl.vol_source[call] == VOL_OWN_OTM and aapl.vol_source[put] == VOL_PARTNER
    assert aapl.vol[put] == aapl.iv[call]
    # A deep out-of-the-money put with a 0.01 / 0.02 book: no mid vol, the venue's IV.
    wide = aapl.find("AAPL260727P00307500")
    assert aapl.spread_pct[wide] > 0.5 and not np.isfinite(aapl.iv[wide])
    assert aapl.vol_source[wide] == VOL_VENUE


@pytest.fixture(scope="module")
def last_second() -> ChainIndex:
    """The bundled chain valued one second before the 24 Jul 16:00 expiry (its last trade)."""
    snap = bundled_equity_snapshots().chain("AAPL")
    return analyse_chain(
        replace(snap, as_of=datetime(2026, 7, 24, 19, 59, 59, tzinfo=UTC)), RateInputs(0.04, 0.0)
    )


def test_one_second_before_expiry_the_outcome_is_decided(
    last_second: ChainIndex, config: EngineConfig
) -> None:
    # The audit case: ITM put (strike 335 > 333.80) with one second left lost its probability.
    report = rebalance(
        make_position("AAPL260724P00335000", -1, "1"), last_second, RebalanceParams(), config
    )
    a = report.analysis
    assert a.assignment_probability == 1.0 and a.prob_touch == 1.0
    assert a.greeks.vol is None and a.greeks.delta == -1.0
    fired = {f.name for f in report.decision.factors if f.triggered}
    assert "assignment_risk" in fired
    # Profit against the 1.00 entry needs S above 334: decided at 333.80, a loss.
    assert a.prob_profit == 0.0
    otm, _ = analyse(make_position("AAPL260724P00330000", -1, "0.05"), last_second, config)
    assert otm.assignment_probability == 0.0 and otm.prob_profit == 1.0


def test_exactly_at_the_money_without_time_is_even() -> None:
    expiry = datetime(2026, 7, 24, 20, tzinfo=UTC)
    contract = OptionQuote(
        "AAPL260724P00330000", "AAPL", expiry, Decimal(330), OptionRight.PUT,
        Decimal("0.01"), Decimal("0.05"),
    )  # fmt: skip
    snap = ChainSnapshot(
        UnderlyingQuote("AAPL", Decimal(330)),
        (contract,),
        expiry - timedelta(seconds=30),
        "test",
        us_equity_terms(),
    )
    index = analyse_chain(snap, RateInputs(0.04, 0.0))
    assert index.prob_itm[0] == 0.5


def test_probability_of_profit_is_measured_against_the_entry(
    aapl: ChainIndex, config: EngineConfig
) -> None:
    # The audit case: deep-ITM short 390 put sold at 20. It profits only above 390 - 20 = 370
    # at expiry (AAPL 333.80): not 54 %. Holding vs closing now is a separate measure.
    a, i = analyse(make_position("AAPL260821P00390000", -1, "20"), aapl, config)
    assert a.breakeven == Decimal(370)
    expected = prob_beyond(
        aapl.spot[i], 370.0, aapl.years[i], aapl.drift[i], aapl.vol[i], above=True
    )
    assert a.prob_profit == pytest.approx(float(expected))
    assert a.prob_profit is not None and 0.05 < a.prob_profit < 0.15
    assert a.prob_hold_beats_close is not None and a.prob_hold_beats_close > a.prob_profit
