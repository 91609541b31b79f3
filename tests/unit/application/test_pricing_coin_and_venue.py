"""Coin-settled position figures (gamma in coin), the coin P&L grid and venue Greeks taken
from the options data port (bundled chain snapshots), on a temporary SQLite book."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from riskdesk.application.fill_rows import parse_rows
from riskdesk.application.pricing_service import PricingConfig, PricingService
from riskdesk.bootstrap.pricing_settings import venue_greeks_sources
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import Runtime, build
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.instruments import crypto_option, equity_option
from riskdesk.domain.pricing import black76_price, implied_vol_black76, inverse_option_greeks

AS_OF = datetime(2026, 9, 20, 8, 0, tzinfo=UTC)
BTC_OPT = crypto_option("BTC-25DEC26-100000-C", "deribit")
AAPL_PUT = equity_option("AAPL260821P00320000", "broker")
CONFIG = PricingConfig(
    risk_free_rate=0.04,
    spot_shocks=(-0.2, 0.0, 0.2),
    vol_shocks=(-0.5, 0.0, 0.5),
    time_steps_days=(0.0, 7.0),
)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    path: Path = tmp_path_factory.mktemp("coin") / "book.db"
    rt = build(Settings(), str(path), create=True)
    book = rt.app.book
    book.register_instruments([BTC_OPT])
    book.register_account(Account("deribit-btc", "deribit"))
    book.move_cash("deribit-btc", "BTC", Decimal(10), datetime(2026, 9, 1, tzinfo=UTC), "deposit",
                   "d1")  # fmt: skip
    row = {
        "account_id": "deribit-btc", "venue": "deribit", "fill_id": "1",
        "symbol": BTC_OPT.symbol, "side": "buy", "qty": "2", "price": "0.05",
        "ts": "2026-09-01T12:00:00Z", "fee": "0", "fee_currency": "BTC",
    }  # fmt: skip
    book.apply(parse_rows(enumerate([row], start=1)))
    book.record_prices({BTC_OPT.key: Decimal("0.06")}, {"BTC": Decimal(90_000)}, AS_OF, "test")
    return rt


def test_coin_position_figures_include_gamma(runtime: Runtime) -> None:
    (row,) = PricingService(runtime.app.book, CONFIG).greeks().positions
    t = (BTC_OPT.expiry - AS_OF).total_seconds() / (365 * 86400)  # type: ignore[operator]
    fwd = 90_000 * math.exp(0.04 * t)
    iv = float(implied_vol_black76(0.06 * fwd, fwd, 100_000, t, 0.0, True).vol)
    inv = inverse_option_greeks(fwd, 100_000, t, iv, True)
    assert row.coin is not None
    assert row.coin.gamma == pytest.approx(2 * float(inv.gamma_coin), rel=1e-10)
    assert row.coin.theta_per_day == pytest.approx(2 * float(inv.theta_coin) / 365, rel=1e-10)
    assert row.coin.vega_per_pct == pytest.approx(2 * float(inv.vega_coin) / 100, rel=1e-10)


def test_coin_pnl_grid_is_the_change_of_the_coin_value(runtime: Runtime) -> None:
    svc = PricingService(runtime.app.book, CONFIG)
    grid = svc.scenario_grid()
    coin = grid.pnl_coin_by_underlying["BTC"]
    assert coin.shape == grid.pnl.shape
    t = (BTC_OPT.expiry - AS_OF).total_seconds() / (365 * 86400)  # type: ignore[operator]
    fwd = 90_000 * math.exp(0.04 * t)
    iv = float(implied_vol_black76(0.06 * fwd, fwd, 100_000, t, 0.0, True).vol)
    base = float(black76_price(fwd, 100_000, t, 0.0, iv, True)) / fwd
    up = float(black76_price(1.2 * fwd, 100_000, t, 0.0, 1.5 * iv, True)) / (1.2 * fwd)
    assert coin[2, 2, 0] == pytest.approx(2 * (up - base), rel=1e-9)
    assert coin[1, 1, 0] == pytest.approx(0.0, abs=1e-12)
    # USD P&L is the coin value change times the (shocked) forward, not the same number.
    usd = grid.pnl_by_underlying["BTC"]
    assert usd[2, 2, 0] == pytest.approx(2 * (up * 1.2 * fwd - base * fwd), rel=1e-9)
    assert np.all(np.isfinite(coin))


def test_venue_greeks_from_the_bundled_chain_snapshot(tmp_path: Path) -> None:
    rt = build(Settings(), str(tmp_path / "aapl.db"), create=True)
    book = rt.app.book
    book.register_instruments([AAPL_PUT])
    book.register_account(Account("us", "broker"))
    book.move_cash("us", "USD", Decimal(100_000), datetime(2026, 7, 1, tzinfo=UTC), "deposit",
                   "d")  # fmt: skip
    row = {
        "account_id": "us", "venue": "broker", "fill_id": "1", "symbol": AAPL_PUT.symbol,
        "side": "sell", "qty": "5", "price": "5.5", "ts": "2026-07-20T15:00:00Z", "fee": "0",
        "fee_currency": "USD",
    }  # fmt: skip
    book.apply(parse_rows(enumerate([row], start=1)))
    book.record_prices({AAPL_PUT.key: Decimal("5.475")}, {"AAPL": Decimal("333.8")},
                       datetime(2026, 7, 24, 20, tzinfo=UTC), "test")  # fmt: skip
    svc = PricingService(book, CONFIG)
    venue = svc.venue_greeks_from(venue_greeks_sources("snapshot"))
    # The CBOE snapshot's own Greeks of AAPL 2026-08-21 320 P (per unit).
    assert venue[AAPL_PUT.key].delta == pytest.approx(-0.2965)
    assert venue[AAPL_PUT.key].iv == pytest.approx(0.3064)
    (pos,) = svc.greeks(venue_greeks=venue).positions
    assert pos.venue is not None and pos.venue_per_unit is not None
    # Short 5 × 100: the venue's per-unit delta scaled like ours, same sign and size.
    assert pos.venue.delta == pytest.approx(-500 * -0.2965)
    assert pos.venue.theta_per_day == pytest.approx(-500 * -0.176)
    assert pos.delta == pytest.approx(pos.venue.delta, rel=0.1)
    assert venue_greeks_sources("none") == []
