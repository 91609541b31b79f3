"""Bundled chain snapshots and the rebalance service over them (and over a book)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from riskdesk.adapters.market_data.chain_snapshot import (
    bundled_crypto_snapshots,
    bundled_equity_snapshots,
    cboe_files,
)
from riskdesk.application.rebalance_service import RebalanceRequest
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import build
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.errors import InvalidValue, NotFound
from riskdesk.domain.fills import Fill
from riskdesk.domain.instruments import equity_option

# The CBOE response time, 2026-07-25 03:44:38 New York (the underlying's last trade is 15:59:59
# the day before: the closing quotes still stand at the response).
SNAPSHOT_TIME = datetime(2026, 7, 25, 7, 44, 38, tzinfo=UTC)
LAST_TRADE = datetime(2026, 7, 24, 19, 59, 59, tzinfo=UTC)
DATA = Path(__file__).parents[3] / "src" / "riskdesk" / "data" / "options"


def test_bundled_aapl_chain() -> None:
    source = bundled_equity_snapshots()
    snap = source.chain("AAPL")
    assert len(snap.contracts) == 3576
    assert snap.as_of == SNAPSHOT_TIME
    assert snap.underlying.price == Decimal("333.8") and snap.underlying.ts == LAST_TRADE
    assert "response 2026-07-25 07:44:38 UTC" in snap.source
    assert len(snap.expirations()) == 24
    assert source.is_snapshot and source.market_clock() is None
    assert source.chain("aapl") is snap  # loaded once
    only = source.chain("AAPL", [snap.expirations()[8]])
    assert {c.expiry_date for c in only.contracts} == {snap.expirations()[8]}
    [quote] = source.quotes(["AAPL260821P00330000"])
    assert (quote.bid, quote.ask) == (Decimal("8.95"), Decimal("9.25"))
    with pytest.raises(NotFound):
        source.chain("TSLA")


def test_bundled_deribit_snapshots() -> None:
    source = bundled_crypto_snapshots()
    assert source.underlyings() == ["BTC", "ETH", "XRP"]
    btc = source.chain("BTC")
    assert len(btc.contracts) == 6 and btc.terms.coin_settled
    assert btc.terms.lot_size == Decimal("0.1")
    xrp = source.chain("XRP")
    assert xrp.terms.linear_settle and xrp.terms.premium_currency == "USDC"


def test_bundled_deribit_eth_book() -> None:
    # The full ETH option book of 2024-01-08 11:19 UTC (MIT-licensed recording): 684
    # contracts over 11 expiries, bid/ask and mark in ETH, forwards per expiry, no IV.
    eth = bundled_crypto_snapshots().chain("ETH")
    assert len(eth.contracts) == 684 and len(eth.expirations()) == 11
    assert eth.as_of == datetime(2024, 1, 8, 11, 19, 41, 429000, tzinfo=UTC)
    assert eth.underlying.price == Decimal("2222.19")
    assert eth.terms.coin_settled and eth.terms.premium_currency == "ETH"
    assert eth.terms.lot_size == Decimal(1)
    [put] = [c for c in eth.contracts if c.symbol == "ETH-26JAN24-2100-P"]
    assert put.expiry == datetime(2024, 1, 26, 8, tzinfo=UTC)
    assert put.forward is not None and put.mark is not None and put.venue_greeks is None


def test_user_files_in_cboe_format() -> None:
    source = cboe_files(
        DATA / "AAPL_chain_2026-07-24.csv", DATA / "AAPL_underlying_2026-07-24.json"
    )
    assert source.underlyings() == ["AAPL"]
    assert len(source.chain("AAPL").contracts) == 3576


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    runtime = build(Settings(), str(tmp_path_factory.mktemp("opts") / "book.db"), create=True)
    app = runtime.app
    app.book.register_account(Account("broker-us", "broker", name="US options"))
    app.book.register_instruments(
        [
            equity_option("AAPL260807P00300000", "broker"),
            equity_option("AAPL260821P00300000", "broker"),
            equity_option("AAPL231215C00200000", "broker"),
        ]
    )
    ts = datetime(2026, 7, 20, 15, tzinfo=UTC)
    fills = [
        Fill.create(venue="broker", fill_id=f"f{i}", account_id="broker-us", symbol=sym,
                    side="sell", qty=qty, price=price, ts=ts)
        for i, (sym, qty, price) in enumerate(
            [("AAPL260807P00300000", 3, "1.00"), ("AAPL260821P00300000", 3, "5.00"),
             ("AAPL231215C00200000", 1, "2.00")]
        )
    ]  # fmt: skip
    app.book.apply_fills(fills)
    app.book.record_prices(
        {f"broker:{sym}": Decimal("1") for sym in ("AAPL260807P00300000", "AAPL260821P00300000")},
        {"AAPL": Decimal("333.8")},
        datetime(2026, 7, 24, 20, tzinfo=UTC),
        "test",
    )
    return app.options


def test_book_rebalances_every_option_position(service) -> None:  # type: ignore[no-untyped-def]
    result = service.book()
    rows = {r.symbol: r for r in result.positions}
    assert rows["AAPL260807P00300000"].action == "ROLL"
    assert rows["AAPL260821P00300000"].action == "CLOSE"
    expired = rows["AAPL231215C00200000"]
    assert expired.report is None and expired.error is not None
    assert expired.error["code"] == "expired_option"
    assert result.counts == {"ROLL": 1, "CLOSE": 1, "error": 1}


def test_service_records_plans_only_when_asked(service) -> None:  # type: ignore[no-untyped-def]
    request = RebalanceRequest("AAPL260807P00300000", -3, "1.00")
    before = len(service.latest_plans())
    dry = service.rebalance(request)
    assert len(service.latest_plans()) == before and dry.plan_id is None
    record = service.rebalance(request, record=True)
    assert service.latest_plans()[0] is record and service.plan(record.plan_id) is record
    # Dry runs do not use up plan ids: recorded plans are numbered 1, 2, ...
    assert record.plan_id is not None and record.plan_id.endswith(f"-{before + 1:04d}")
    with pytest.raises(InvalidValue):
        service.plan("plan-unknown")


def test_service_lookups(service) -> None:  # type: ignore[no-untyped-def]
    info = service.parse_symbol("AAPL260821P00330000")
    assert info.occ == "AAPL260821P00330000" and info.exercise == "american"
    assert info.expiry_time == datetime(2026, 8, 21, 20, 0, tzinfo=UTC)
    quote = service.quote("AAPL260821P00330000")
    assert quote.as_of == SNAPSHOT_TIME and quote.own.iv is not None
    assert quote.own.vol_source.startswith("two-sided mid of this contract")
    btc = service.quote("BTC-21SEP26-70000-C")
    assert btc.own.vol_source.startswith("venue mark IV") and btc.own.vol == 0.6157
    chain = service.chain("AAPL", right="put", min_strike=320, max_strike=330, limit=5)
    assert len(chain.rows) == 5 and chain.total > 5
    assert all(r.right == "put" and 320 <= r.strike <= 330 for r in chain.rows)
    with pytest.raises(InvalidValue):
        service.chain("AAPL", right="straddle")


def test_chains_are_found_by_underlying(service) -> None:  # type: ignore[no-untyped-def]
    btc = service.chain("BTC")
    assert btc.total == 6 and {r.symbol for r in btc.rows} >= {"BTC-21SEP26-70000-C"}
    eth = service.chain("eth", expiry=date(2024, 1, 26), right="put", limit=5)
    assert eth.total > 5 and all(r.symbol.startswith("ETH-26JAN24-") for r in eth.rows)
    with pytest.raises(NotFound) as info:
        service.chain("TSLA")
    reason = info.value.reason
    assert "AAPL (cboe-snapshot: 24 expiries 2026-07-24..2028-12-15)" in reason
    assert "BTC (deribit-snapshot: 2026-09-21)" in reason
    assert "ETH (deribit-snapshot: 11 expiries 2024-01-09..2024-12-27)" in reason


def test_parse_option_symbol(service) -> None:  # type: ignore[no-untyped-def]
    info = service.parse_option_symbol("AAPL260821P00330000")
    assert str(info.strike) == "330"  # a plain decimal, not 3.3E+2
    assert str(service.parse_option_symbol("XRP_USDC-21SEP26-1d25-C").strike) == "1.25"
    for bad in ("garbage", "AAPL", "BTC/USDT:USDT"):
        with pytest.raises(InvalidValue) as refused:
            service.parse_option_symbol(bad)
        assert refused.value.field == "symbol" and "not an option symbol" in refused.value.reason


def test_bundled_option_files_are_documented() -> None:
    from importlib import resources

    from riskdesk.adapters.market_data.bundled import metadata

    listed = set(metadata()["files"])
    folder = resources.files("riskdesk.data").joinpath("options")
    for entry in folder.iterdir():
        if entry.name.endswith((".csv", ".json")):
            assert f"options/{entry.name}" in listed, entry.name
    eth = metadata()["files"]["options/deribit_ETH_book_summary_2024-01-08.csv"]
    assert eth["licence"].startswith("MIT")
    assert folder.joinpath("LICENSE-deribit_ETH_book_summary.txt").is_file()
