"""Recorded option chain snapshots behind the ``OptionsData`` port.

Formats:

* **CBOE delayed quotes** flattened to CSV (``contract, root, expiration, option_type, strike,
  bid, bid_size, ask, ask_size, iv, open_interest, volume, delta, gamma, vega, theta, rho,
  theo, last_trade_price, last_trade_time, …``; vega per vol point, theta per day, iv a
  decimal) plus the underlying quote JSON (``current_price``, ``bid``, ``ask``,
  ``last_trade_time`` and ``response_timestamp``, both New York time like every CBOE time
  stamp). The snapshot time is the **response time**: the instant the recording shows. The
  quotes of a response taken after the close are the closing quotes, which stand until the
  next open, so at that instant the market is closed and same-day expiries have expired.
  Without a response time the underlying's last trade time is used.
* **Deribit tickers** flattened to CSV (``instrument_name, timestamp_ms, underlying_price,
  index_price, …, mark_iv (%), best_bid_price, best_ask_price, …, greeks``); one snapshot per
  underlying currency, timed at the tickers' own timestamp.
* **Deribit book summaries** (``public/get_book_summary_by_currency``, kind option) as CSV
  (``instrument_name, creation_timestamp, estimated_delivery_price, underlying_price,
  mark_price, bid_price, ask_price, last, open_interest, volume``): bid/ask and mark in coin,
  the expiry's forward (or Deribit's synthetic forward) in ``underlying_price``, no IV or
  Greeks (riskdesk implies its own). Timed at the newest ``creation_timestamp``.

The bundled files are the full CBOE AAPL chain of 2026-07-24, 12 Deribit tickers of
2026-09-20 (BTC, XRP) and the full Deribit ETH option book of 2024-01-08 11:19 UTC (684
contracts, 11 expiries; sources and licences in ``riskdesk/data/metadata.json``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from riskdesk.adapters.market_data.bundled import data_text
from riskdesk.domain.calendar import MarketStatus
from riskdesk.domain.errors import MarketDataError, NotFound
from riskdesk.domain.instruments import (
    ExerciseStyle,
    deribit_expiry,
    equity_option_expiry,
    us_eastern_utc_offset_hours,
)
from riskdesk.domain.rebalance.chain import (
    ChainSnapshot,
    ContractTerms,
    OptionQuote,
    UnderlyingQuote,
    VenueGreeks,
    plain,
)
from riskdesk.domain.symbols import parse_symbol

AAPL_CHAIN = "options/AAPL_chain_2026-07-24.csv"
AAPL_UNDERLYING = "options/AAPL_underlying_2026-07-24.json"
DERIBIT_TICKERS = "options/deribit_option_tickers_2026-09-20.csv"
DERIBIT_ETH_BOOK = "options/deribit_ETH_book_summary_2024-01-08.csv"
#: Smallest order of Deribit inverse options, in coins (BTC 0.1, ETH 1).
DERIBIT_MIN_AMOUNT = {"BTC": Decimal("0.1"), "ETH": Decimal(1)}


def us_equity_terms() -> ContractTerms:
    """US equity options: 100 shares, USD, American, Cboe penny-interval ticks (0.01 below
    3.00, 0.05 at or above; complex orders 0.01), whole contracts."""
    return ContractTerms(
        multiplier=Decimal(100),
        premium_currency="USD",
        exercise=ExerciseStyle.AMERICAN,
        coin_settled=False,
        tick_size=Decimal("0.01"),
        tick_size_above=Decimal("0.05"),
        tick_threshold=Decimal(3),
        combo_tick=Decimal("0.01"),
        lot_size=Decimal(1),
        venue="us",
    )


def deribit_terms(
    settle: str, contract_size: Decimal, linear: bool, lot_size: Decimal | None = None
) -> ContractTerms:
    """Deribit options: European; inverse BTC/ETH options in coin (tick 0.0001 below 0.005,
    0.0005 above; lots of 0.1 BTC or 1 ETH, ``lot_size`` when given), USDC-linear ones in
    USDC."""
    if lot_size is None:
        lot_size = Decimal(1) if linear else DERIBIT_MIN_AMOUNT.get(settle, Decimal("0.1"))
    return ContractTerms(
        multiplier=contract_size,
        premium_currency=settle,
        exercise=ExerciseStyle.EUROPEAN,
        coin_settled=not linear,
        tick_size=Decimal("0.0001"),
        tick_size_above=Decimal("0.0005"),
        tick_threshold=Decimal("0.005") if not linear else Decimal("1000000"),
        combo_tick=Decimal("0.0001"),
        lot_size=lot_size,
        venue="deribit",
        linear_settle=linear,
    )


def _dec(text: str | None) -> Decimal | None:
    if text is None or str(text).strip() in ("", "None", "null", "nan"):
        return None
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _float(text: str | None) -> float | None:
    value = _dec(text)
    return float(value) if value is not None else None


def _new_york(text: str) -> datetime:
    """ISO local New York time (no offset) as UTC."""
    local = datetime.fromisoformat(text)
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    offset = us_eastern_utc_offset_hours(local.date())
    return (local - timedelta(hours=offset)).replace(tzinfo=UTC)


def parse_cboe_chain(chain_csv: str, underlying_json: str, source: str) -> ChainSnapshot:
    """A CBOE chain CSV and its underlying JSON as a snapshot (module doc)."""
    try:
        under = json.loads(underlying_json)
        symbol = str(under["symbol"]).upper()
        last_trade = _new_york(str(under["last_trade_time"]))
        responded = under.get("response_timestamp")
        as_of = _new_york(str(responded).replace(" ", "T")) if responded else last_trade
        price = Decimal(str(under["current_price"]))
    except (KeyError, ValueError, TypeError, InvalidOperation) as exc:
        raise MarketDataError(f"unreadable underlying quote: {exc}", field="underlying") from None
    if as_of < last_trade:
        raise MarketDataError(
            f"response time {as_of:%Y-%m-%d %H:%M:%S} UTC precedes the last trade "
            f"{last_trade:%Y-%m-%d %H:%M:%S} UTC",
            field="response_timestamp",
        )
    if as_of != last_trade:
        source = (
            f"{source}; response {as_of:%Y-%m-%d %H:%M:%S} UTC, underlying last trade "
            f"{last_trade:%Y-%m-%d %H:%M:%S} UTC"
        )
    underlying = UnderlyingQuote(
        symbol, price, _dec(under.get("bid")), _dec(under.get("ask")), last_trade
    )
    contracts: list[OptionQuote] = []
    for line, row in enumerate(csv.DictReader(chain_csv.splitlines()), start=2):
        try:
            spec = parse_symbol(row["contract"])
            assert spec.expiry is not None and spec.strike is not None and spec.right  # noqa: S101
            iv = _float(row.get("iv"))
            greeks = VenueGreeks(
                delta=_float(row.get("delta")),
                gamma=_float(row.get("gamma")),
                theta_per_day=_float(row.get("theta")),
                vega_per_pct=_float(row.get("vega")),
                rho_per_pct=_float(row.get("rho")),
                iv=iv if iv else None,
            )
            contracts.append(
                OptionQuote(
                    symbol=row["contract"].strip().upper(),
                    underlying=symbol,
                    expiry=equity_option_expiry(spec.expiry),
                    strike=plain(spec.strike),
                    right=spec.right,
                    bid=_dec(row.get("bid")),
                    ask=_dec(row.get("ask")),
                    bid_size=_dec(row.get("bid_size")),
                    ask_size=_dec(row.get("ask_size")),
                    last=_dec(row.get("last_trade_price")),
                    volume=_dec(row.get("volume")),
                    open_interest=_dec(row.get("open_interest")),
                    venue_greeks=greeks,
                )
            )
        except (KeyError, AssertionError) as exc:
            raise MarketDataError(f"line {line}: missing column {exc}", field="chain") from None
    return ChainSnapshot(underlying, tuple(contracts), as_of, source, us_equity_terms())


def parse_deribit_tickers(tickers_csv: str, source: str) -> dict[str, ChainSnapshot]:
    """Flattened Deribit tickers as one snapshot per underlying currency (``BTC``, ``XRP``)."""
    groups: dict[str, list[dict[str, str]]] = {}
    for row in csv.DictReader(tickers_csv.splitlines()):
        spec = parse_symbol(row["instrument_name"])
        groups.setdefault(spec.base, []).append(row)
    out: dict[str, ChainSnapshot] = {}
    for base, rows in groups.items():
        contracts: list[OptionQuote] = []
        times: list[datetime] = []
        settle = rows[0]["settlement_currency"].upper()
        linear = settle != base
        # Deribit amounts are in units of the underlying (coins); premiums are per unit.
        size = Decimal(1)
        index_price = _dec(rows[0].get("index_price")) or Decimal(0)
        for row in rows:
            spec = parse_symbol(row["instrument_name"])
            assert spec.strike is not None and spec.right is not None  # noqa: S101
            ts = datetime.fromtimestamp(int(row["timestamp_ms"]) / 1000, UTC)
            times.append(ts)
            mark_iv = _float(row.get("mark_iv"))
            contracts.append(
                OptionQuote(
                    symbol=row["instrument_name"].strip(),
                    underlying=base,
                    expiry=datetime.fromtimestamp(int(row["expiration_timestamp_ms"]) / 1000, UTC),
                    strike=plain(spec.strike),
                    right=spec.right,
                    bid=_dec(row.get("best_bid_price")),
                    ask=_dec(row.get("best_ask_price")),
                    bid_size=_dec(row.get("best_bid_amount")),
                    ask_size=_dec(row.get("best_ask_amount")),
                    last=_dec(row.get("last_price")),
                    mark=_dec(row.get("mark_price")),
                    volume=_dec(row.get("volume")),
                    open_interest=_dec(row.get("open_interest")),
                    venue_greeks=VenueGreeks(
                        delta=_float(row.get("delta")),
                        gamma=_float(row.get("gamma")),
                        theta_per_day=_float(row.get("theta")),
                        vega_per_pct=_float(row.get("vega")),
                        rho_per_pct=_float(row.get("rho")),
                        iv=mark_iv / 100.0 if mark_iv else None,
                    ),
                    forward=_dec(row.get("underlying_price")),
                    ts=ts,
                )
            )
        as_of = max(times)
        out[base] = ChainSnapshot(
            UnderlyingQuote(base, index_price, ts=as_of),
            tuple(contracts),
            as_of,
            source,
            deribit_terms(settle, size, linear),
        )
    return out


def parse_deribit_book_summary(summary_csv: str, source: str) -> ChainSnapshot:
    """A Deribit option book summary of one currency as a snapshot (module doc). Expiries at
    08:00 UTC of the date in each instrument name; the underlying is the index
    (``estimated_delivery_price``)."""
    contracts: list[OptionQuote] = []
    times: list[datetime] = []
    base = ""
    index_price = Decimal(0)
    for line, row in enumerate(csv.DictReader(summary_csv.splitlines()), start=2):
        try:
            name = row["instrument_name"].strip()
            spec = parse_symbol(name)
            assert spec.expiry is not None and spec.strike is not None and spec.right  # noqa: S101
            ts = datetime.fromtimestamp(int(row["creation_timestamp"]) / 1000, UTC)
        except (KeyError, AssertionError, ValueError) as exc:
            raise MarketDataError(f"line {line}: unreadable row ({exc})", field="chain") from None
        base = spec.base
        times.append(ts)
        index_price = _dec(row.get("estimated_delivery_price")) or index_price
        contracts.append(
            OptionQuote(
                symbol=name,
                underlying=base,
                expiry=deribit_expiry(spec.expiry),
                strike=plain(spec.strike),
                right=spec.right,
                bid=_dec(row.get("bid_price")),
                ask=_dec(row.get("ask_price")),
                last=_dec(row.get("last")),
                mark=_dec(row.get("mark_price")),
                volume=_dec(row.get("volume")),
                open_interest=_dec(row.get("open_interest")),
                forward=_dec(row.get("underlying_price")),
                ts=ts,
            )
        )
    if not contracts:
        raise MarketDataError("empty book summary", field="chain")
    as_of = max(times)
    return ChainSnapshot(
        UnderlyingQuote(base, index_price, ts=as_of),
        tuple(contracts),
        as_of,
        source,
        deribit_terms(base, Decimal(1), linear=False),
    )


class SnapshotOptionsData:
    """``OptionsData`` over recorded snapshots, loaded lazily once per underlying."""

    def __init__(
        self, loaders: Mapping[str, Callable[[], ChainSnapshot]], name: str = "snapshot"
    ) -> None:
        self._loaders = {k.upper(): v for k, v in loaders.items()}
        self._loaded: dict[str, ChainSnapshot] = {}
        self._name = name

    @property
    def name(self) -> str:
        """Source name."""
        return self._name

    @property
    def is_snapshot(self) -> bool:
        """Recorded data."""
        return True

    def underlyings(self) -> list[str]:
        """Underlyings with a snapshot."""
        return sorted(self._loaders)

    def _get(self, underlying: str) -> ChainSnapshot:
        key = underlying.strip().upper()
        if key not in self._loaders:
            raise NotFound(
                f"no chain snapshot for {underlying!r}; available: {', '.join(self.underlyings())}",
                field="underlying",
            )
        if key not in self._loaded:
            self._loaded[key] = self._loaders[key]()
        return self._loaded[key]

    def expirations(self, underlying: str) -> list[date]:
        """Expirations in the snapshot."""
        return self._get(underlying).expirations()

    def chain(self, underlying: str, expirations: Sequence[date] | None = None) -> ChainSnapshot:
        """The whole recorded chain (a snapshot is complete; ``expirations`` only filters)."""
        snap = self._get(underlying)
        if expirations is None:
            return snap
        wanted = set(expirations)
        return ChainSnapshot(
            snap.underlying,
            tuple(c for c in snap.contracts if c.expiry_date in wanted),
            snap.as_of,
            snap.source,
            snap.terms,
        )

    def quotes(self, symbols: Sequence[str]) -> list[OptionQuote]:
        """Contracts by symbol, from the snapshot of each symbol's underlying."""
        out: list[OptionQuote] = []
        for symbol in symbols:
            spec = parse_symbol(symbol)
            snap = self._get(spec.base)
            key = symbol.strip().upper()
            match = [c for c in snap.contracts if c.symbol == key]
            if not match:
                raise NotFound(f"{symbol} is not in the {spec.base} snapshot", field="symbol")
            out.append(match[0])
        return out

    def underlying_quote(self, underlying: str) -> UnderlyingQuote:
        """The recorded underlying quote."""
        return self._get(underlying).underlying

    def market_clock(self) -> MarketStatus | None:
        """Recordings have no venue clock: the calendar at the snapshot time applies."""
        return None


def bundled_equity_snapshots() -> SnapshotOptionsData:
    """The bundled CBOE AAPL chain of 2026-07-24."""

    def aapl() -> ChainSnapshot:
        return parse_cboe_chain(
            data_text(AAPL_CHAIN),
            data_text(AAPL_UNDERLYING),
            "CBOE delayed quotes, bundled AAPL chain of 2026-07-24",
        )

    return SnapshotOptionsData({"AAPL": aapl}, name="cboe-snapshot")


def bundled_crypto_snapshots() -> SnapshotOptionsData:
    """The bundled Deribit tickers of 2026-09-20 (BTC inverse and XRP_USDC linear options) and
    the Deribit ETH option book of 2024-01-08 (every listed ETH option, inverse)."""
    cache: dict[str, ChainSnapshot] = {}

    def eth() -> ChainSnapshot:
        return parse_deribit_book_summary(
            data_text(DERIBIT_ETH_BOOK), "Deribit ETH option book summary, bundled 2024-01-08"
        )

    def loader(base: str) -> Callable[[], ChainSnapshot]:
        def load() -> ChainSnapshot:
            if not cache:
                cache.update(
                    parse_deribit_tickers(
                        data_text(DERIBIT_TICKERS), "Deribit tickers, bundled 2026-09-20"
                    )
                )
            return cache[base]

        return load

    return SnapshotOptionsData(
        {"BTC": loader("BTC"), "ETH": eth, "XRP": loader("XRP")}, name="deribit-snapshot"
    )


def cboe_files(chain_csv: Path, underlying_json: Path) -> SnapshotOptionsData:
    """A snapshot source over a user's own CBOE-format chain and underlying files."""
    try:
        under = json.loads(underlying_json.read_text(encoding="utf-8"))
        symbol = str(under["symbol"]).upper()
    except (OSError, ValueError, KeyError) as exc:
        raise MarketDataError(f"cannot read {underlying_json}: {exc}", field="underlying") from None

    def load() -> ChainSnapshot:
        return parse_cboe_chain(
            chain_csv.read_text(encoding="utf-8"),
            underlying_json.read_text(encoding="utf-8"),
            f"CBOE-format snapshot {chain_csv.name}",
        )

    return SnapshotOptionsData({symbol: load}, name="cboe-files")


__all__ = [
    "SnapshotOptionsData",
    "bundled_crypto_snapshots",
    "bundled_equity_snapshots",
    "cboe_files",
    "deribit_terms",
    "parse_cboe_chain",
    "parse_deribit_book_summary",
    "parse_deribit_tickers",
    "us_equity_terms",
]
