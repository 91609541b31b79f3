"""Currency rates: stored asset price, then the fixed rates, then the book's own marks
(perpetual or spot, newest first; dated futures last; never an option premium)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from domain_testkit import CRYPTO_OPTION, ETH_SPOT, INVERSE, LINEAR, SPOT, T0, VENUE

from riskdesk.domain.accounting.rates import RateSource, currency_rates
from riskdesk.domain.instruments import perpetual_or_future

D = Decimal
FIXED = {"USD": D(1), "USDT": D(1), "USDC": D(1)}
CATALOG = (SPOT, ETH_SPOT, LINEAR, INVERSE, CRYPTO_OPTION)
FUTURE = perpetual_or_future(
    "BTC/USD:BTC-241227", VENUE, tick_size="0.5", lot_size="1", contract_size="10"
)
LATER = T0 + timedelta(hours=1)


def _rates(stored=None, marks=None, catalog=CATALOG, needed=("BTC",)):  # type: ignore[no-untyped-def]
    return currency_rates(needed, "USD", stored or {}, FIXED, marks or {}, catalog)


def test_a_stored_asset_price_wins_over_any_mark() -> None:
    rates = _rates({"BTC": (D(63000), T0)}, {INVERSE.key: (D(64000), LATER)})
    assert rates["BTC"].price == 63000 and rates["BTC"].source is RateSource.ASSET_PRICE


def test_fixed_rates_price_stable_coins_and_the_reporting_currency_is_one() -> None:
    rates = _rates(needed=("USDT", "USD"))
    assert rates["USDT"].source is RateSource.FIXED_RATE and rates["USDT"].price == 1
    assert rates["USD"].source is RateSource.REPORTING
    # A stored price of a stable coin (a feed) replaces the fixed rate.
    assert _rates({"USDT": (D("0.9995"), T0)}, needed=("USDT",))["USDT"].price == D("0.9995")


def test_a_coin_is_priced_from_the_newest_perpetual_or_spot_mark() -> None:
    marks = {INVERSE.key: (D(64000), T0), LINEAR.key: (D("64100.5"), LATER)}
    btc = _rates(marks=marks)["BTC"]
    assert (btc.price, btc.source, btc.instrument, btc.ts) == (
        D("64100.5"), RateSource.MARK, LINEAR.key, LATER,
    )  # fmt: skip
    assert btc.describe() == f"mark {LINEAR.key}"


def test_equal_times_prefer_the_perpetual_then_spot() -> None:
    marks = {SPOT.key: (D(64200), T0), LINEAR.key: (D(64100), T0)}
    assert _rates(marks=marks)["BTC"].instrument == LINEAR.key


def test_the_quote_rate_converts_the_mark() -> None:
    rates = _rates({"USDT": (D("0.999"), T0)}, {LINEAR.key: (D(64000), T0)})
    assert rates["BTC"].price == D("63936")


def test_a_dated_future_is_the_last_resort_and_an_option_premium_never_counts() -> None:
    marks = {FUTURE.key: (D(65000), LATER), CRYPTO_OPTION.key: (D("0.05"), LATER)}
    assert _rates(marks=marks, catalog=(*CATALOG, FUTURE))["BTC"].instrument == FUTURE.key
    marks[INVERSE.key] = (D(64000), T0)  # older, but a perpetual: preferred to the future
    assert _rates(marks=marks, catalog=(*CATALOG, FUTURE))["BTC"].instrument == INVERSE.key
    assert "BTC" not in _rates(marks={CRYPTO_OPTION.key: (D("0.05"), T0)})


def test_a_currency_nothing_prices_is_left_out() -> None:
    rates = _rates(marks={LINEAR.key: (D(64000), T0)}, needed=("BTC", "ETH", "XYZ"))
    assert "BTC" in rates and "ETH" not in rates and "XYZ" not in rates
