"""PricingService over a real (temporary SQLite) book: coin-settled and European options,
beta weighting against a stored benchmark price, scenario grids; PricingSettings."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from riskdesk.application.fill_rows import parse_rows
from riskdesk.application.pricing_service import PricingConfig, PricingService, VenueGreeks
from riskdesk.bootstrap.pricing_settings import PricingSettings
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import Runtime, build
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.instruments import crypto_option, equity_option, spot
from riskdesk.domain.pricing import (
    black76_greeks,
    bsm_greeks,
    implied_vol_black76,
    implied_vol_bsm,
    inverse_option_greeks,
)

AS_OF = datetime(2026, 9, 20, 8, 0, tzinfo=UTC)
BTC_OPT = crypto_option("BTC-25DEC26-100000-C", "deribit")
SPX_OPT = equity_option("SPX261218P04800000", "cboe")
SPY = spot("SPY/USD", "cboe", tick_size="0.01", lot_size="1")
CONFIG = PricingConfig(
    risk_free_rate=0.04,
    dividend_yields={"SPX": 0.013},
    betas={"BTC": 1.8},
    benchmark="SPY",
    spot_shocks=(-0.2, 0.0, 0.2),
    vol_shocks=(-0.5, 0.0, 0.5),
    time_steps_days=(0.0, 7.0),
)


def _fill(fill_id: str, account: str, venue: str, symbol: str, side: str, qty: str, price: str,
          ccy: str) -> dict[str, object]:  # fmt: skip
    return {
        "account_id": account, "venue": venue, "fill_id": fill_id, "symbol": symbol,
        "side": side, "qty": qty, "price": price, "ts": "2026-09-01T12:00:00Z", "fee": "0",
        "fee_currency": ccy,
    }  # fmt: skip


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    path: Path = tmp_path_factory.mktemp("pricing") / "book.db"
    rt = build(Settings(), str(path), create=True)
    book = rt.app.book
    book.register_instruments([BTC_OPT, SPX_OPT, SPY])
    book.register_account(Account("deribit-btc", "deribit"))
    book.register_account(Account("us", "cboe"))
    start = datetime(2026, 9, 1, tzinfo=UTC)
    book.move_cash("deribit-btc", "BTC", Decimal(10), start, "deposit", "d1")
    book.move_cash("us", "USD", Decimal(1_000_000), start, "deposit", "d2")
    rows = [
        _fill("1", "deribit-btc", "deribit", BTC_OPT.symbol, "buy", "2", "0.05", "BTC"),
        _fill("2", "us", "cboe", SPX_OPT.symbol, "sell", "3", "95", "USD"),
        _fill("3", "us", "cboe", "SPY/USD", "buy", "100", "500", "USD"),
    ]
    book.apply(parse_rows(enumerate(rows, start=1)))
    book.record_prices(
        {BTC_OPT.key: Decimal("0.06"), SPX_OPT.key: Decimal("80.5"), SPY.key: Decimal("505")},
        {"BTC": Decimal(90_000), "SPX": Decimal(5_050), "SPY": Decimal(505)},
        AS_OF,
        "test",
    )
    return rt


def _service(rt: Runtime) -> PricingService:
    return PricingService(rt.app.book, CONFIG)


def test_coin_settled_option_greeks_in_usd_and_coin(runtime: Runtime) -> None:
    report = _service(runtime).greeks("deribit-btc")
    (row,) = report.positions
    t = (BTC_OPT.expiry - AS_OF).total_seconds() / (365 * 86400)  # type: ignore[operator]
    fwd = 90_000 * math.exp(0.04 * t)  # F = index·e^{(r-q)T}, q(BTC) = 0
    iv = float(implied_vol_black76(0.06 * fwd, fwd, 100_000, t, 0.0, True).vol)
    usd = black76_greeks(fwd, 100_000, t, 0.0, iv, True)
    inv = inverse_option_greeks(fwd, 100_000, t, iv, True)
    assert row.model == "black76-inverse" and row.iv_status == "OK"
    assert row.iv == pytest.approx(iv, rel=1e-12)
    assert row.underlying_price == pytest.approx(fwd, rel=1e-12)
    assert row.delta == pytest.approx(2 * float(usd.delta), rel=1e-10)
    assert row.dollar_delta == pytest.approx(2 * float(usd.delta) * fwd, rel=1e-10)
    assert row.vega_per_pct == pytest.approx(2 * float(usd.vega) / 100, rel=1e-10)
    assert row.coin is not None
    # Coin delta = USD delta - premium in coin (the mark, since the vol reprices it).
    assert row.coin.delta == pytest.approx(2 * (float(usd.delta) - 0.06), rel=1e-9)
    assert row.coin.value == pytest.approx(2 * float(inv.price_coin), rel=1e-10)
    assert row.coin.value == pytest.approx(0.12, rel=1e-9)
    # Beta-weighted: β·$delta, and in SPY shares with SPY's stored price.
    assert report.benchmark_price == 505.0
    (btc,) = report.by_underlying
    assert btc.beta == 1.8
    assert btc.beta_weighted_delta == pytest.approx(1.8 * row.dollar_delta / 505.0)


def test_european_index_option_and_linear_position(runtime: Runtime) -> None:
    venue = {SPX_OPT.key: VenueGreeks(delta=-0.31, iv=0.17)}
    report = _service(runtime).greeks("us", venue_greeks=venue)
    rows = {r.instrument_key: r for r in report.positions}
    opt, stock = rows[SPX_OPT.key], rows[SPY.key]
    t = (SPX_OPT.expiry - AS_OF).total_seconds() / (365 * 86400)  # type: ignore[operator]
    iv = float(implied_vol_bsm(80.5, 5050, 4800, t, 0.04, 0.013, False).vol)
    g = bsm_greeks(5050, 4800, t, 0.04, 0.013, iv, False)
    scale = -3 * 100  # short 3 contracts × multiplier 100
    assert opt.model == "bsm"
    assert opt.delta == pytest.approx(scale * float(g.delta), rel=1e-10)
    assert opt.gamma == pytest.approx(scale * float(g.gamma), rel=1e-10)
    assert opt.theta_per_day == pytest.approx(scale * float(g.theta) / 365, rel=1e-10)
    assert opt.rho_per_pct == pytest.approx(scale * float(g.rho) / 100, rel=1e-10)
    assert opt.vanna_per_pct is not None and opt.volga_per_pct is not None
    # Venue Greeks arrive per unit and are scaled to the position like ours.
    assert opt.venue_per_unit == venue[SPX_OPT.key]
    assert opt.venue is not None and opt.venue.delta == pytest.approx(scale * -0.31)
    assert opt.venue.iv == 0.17 and opt.venue.gamma is None
    assert stock.model == "linear" and stock.delta == pytest.approx(100.0)
    assert stock.dollar_delta == pytest.approx(100 * 505.0)
    by = {t.key: t for t in report.by_underlying}
    assert by["SPX"].delta == pytest.approx(opt.delta)
    assert report.total.delta is None  # units of different underlyings do not add up
    assert report.total.dollar_delta == pytest.approx(opt.dollar_delta + stock.dollar_delta)
    assert report.skipped == []


def test_scenario_grid_full_revaluation(runtime: Runtime) -> None:
    svc = _service(runtime)
    grid = svc.scenario_grid()
    assert grid.pnl.shape == (3, 3, 2)
    assert grid.pnl[1, 1, 0] == pytest.approx(0.0, abs=1e-6)
    report = svc.greeks()
    rows = {r.instrument_key: r for r in report.positions}
    # Linear: exactly dollar delta × shock at every vol and time.
    spy = grid.pnl_by_underlying["SPY"]
    np.testing.assert_allclose(spy[:, 1, 1], rows[SPY.key].dollar_delta * np.array([-0.2, 0, 0.2]))
    # Short SPX put: loses when spot falls and vol rises; gains theta over a week.
    spx = grid.pnl_by_underlying["SPX"]
    assert spx[0, 1, 0] < 0 and spx[2, 1, 0] > 0
    assert spx[1, 2, 0] < 0 < spx[1, 0, 0]
    assert spx[1, 1, 1] > 0
    # Small shocks agree with the Greeks (delta-gamma for spot, vega for vol).
    small = svc.scenario_grid("us", spot_shocks=[0.001], vol_shocks=[0.0], time_steps_days=[0])
    opt = rows[SPX_OPT.key]
    ds = 0.001 * 5050
    expect = opt.delta * ds + 0.5 * opt.gamma * ds * ds + rows[SPY.key].dollar_delta * 0.001
    assert float(small.pnl[0, 0, 0]) == pytest.approx(expect, rel=1e-4)
    total = sum(grid.pnl_by_underlying.values())
    np.testing.assert_allclose(grid.pnl, total)


def test_pricing_settings_defaults_validation_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings()
    assert s.pricing.risk_free_rate == 0.04 and s.pricing.american_method == "bs2002"
    cfg = PricingSettings(dividend_yields={"aapl": 0.005}, betas={"tsla": 2.0}).to_config()
    assert cfg.yield_of("AAPL") == 0.005 and cfg.beta_of("TSLA") == 2.0
    assert cfg.beta_of("MSFT") == 1.0
    with pytest.raises(ValueError, match="decimal rate"):
        PricingSettings(risk_free_rate=4.0)
    with pytest.raises(ValueError, match="above -1"):
        PricingSettings(spot_shocks=(-1.5,))
    monkeypatch.setenv("RISKDESK_PRICING__RISK_FREE_RATE", "0.05")
    assert Settings().pricing.risk_free_rate == 0.05
