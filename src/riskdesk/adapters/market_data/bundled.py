"""Read the real market data bundled in ``riskdesk/data`` and the demo book built on it.

OHLCV CSVs are ``timestamp_ms,open,high,low,close,volume`` with the candle's *open* time; a
candle's close becomes known at open + bar length, and a replay never uses it earlier (no
look-ahead). See ``riskdesk/data/metadata.json`` for sources and licences.
"""

from __future__ import annotations

import bisect
import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

from riskdesk.application.margin_tiers import tiers_from_csv
from riskdesk.domain.accounting.book import Account, PositionMode
from riskdesk.domain.fills import MarginMode, normalize_symbol
from riskdesk.domain.instruments import (
    Instrument,
    MarginTier,
    crypto_option,
    equity_option,
    perpetual_or_future,
    spot,
)
from riskdesk.domain.values import to_decimal
from riskdesk.ports.market_data import (
    CashMovement,
    PaperEntry,
    PaperTwins,
    PriceUpdate,
    Scenario,
)

DATA_PACKAGE = "riskdesk.data"
_BARS = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
}


def data_text(relative: str) -> str:
    """Text of a bundled data file (path relative to ``riskdesk/data``)."""
    return resources.files(DATA_PACKAGE).joinpath(relative).read_text(encoding="utf-8")


def metadata() -> dict[str, Any]:
    """The bundled data's ``metadata.json`` (source and licence of every file)."""
    data: dict[str, Any] = json.loads(data_text("metadata.json"))
    return data


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV candle; ``ts`` is its open time (UTC)."""

    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


def read_bars(relative: str) -> list[Bar]:
    """Bars of a bundled OHLCV CSV in time order."""
    rows = csv.DictReader(data_text(relative).splitlines())
    bars = [
        Bar(
            datetime.fromtimestamp(int(r["timestamp_ms"]) / 1000, UTC),
            Decimal(r["open"]),
            Decimal(r["high"]),
            Decimal(r["low"]),
            Decimal(r["close"]),
            Decimal(r["volume"]),
        )
        for r in rows
    ]
    bars.sort(key=lambda b: b.ts)
    return bars


class BarSeries:
    """A bar series that answers "last close known at time t" without look-ahead."""

    def __init__(self, bars: list[Bar], bar: timedelta) -> None:
        self.bars = bars
        self.bar = bar
        self._known = [b.ts + bar for b in bars]

    def close_at(self, ts: datetime) -> Decimal | None:
        """Close of the latest candle that had closed by ``ts``."""
        i = bisect.bisect_right(self._known, ts) - 1
        return self.bars[i].close if i >= 0 else None


def read_tiers(relative: str, symbol: str) -> tuple[MarginTier, ...]:
    """Maintenance brackets of ``symbol`` from a bundled tier table (see
    :mod:`riskdesk.application.margin_tiers` for the layout)."""
    return tiers_from_csv(data_text(relative), symbol)


def _instrument(spec: Mapping[str, str]) -> Instrument:
    kind = spec["type"]
    grid = {k: spec[k] for k in ("tick_size", "lot_size") if k in spec}
    fees = {k: spec[k] for k in ("maker_fee_rate", "taker_fee_rate") if k in spec}
    if kind == "spot":
        return spot(
            spec["symbol"],
            spec["venue"],
            min_notional=spec.get("min_notional", "0"),
            **grid,
            **fees,
        )
    if kind == "perpetual":
        tiers = read_tiers(spec["margin_tiers"], spec["symbol"]) if "margin_tiers" in spec else ()
        return perpetual_or_future(
            spec["symbol"],
            spec["venue"],
            contract_size=spec.get("contract_size", "1"),
            min_notional=spec.get("min_notional", "0"),
            maint_margin_rate=spec.get("maint_margin_rate", "0.005"),
            margin_tiers=tiers,
            **grid,
            **fees,
        )
    if kind == "equity_option":
        return equity_option(spec["symbol"], spec["venue"])
    if kind == "crypto_option":
        return crypto_option(spec["symbol"], spec["venue"], **grid, **fees)
    raise ValueError(f"unknown instrument type {kind!r} in the demo book")


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _replay(plan: Mapping[str, Any], stable: Mapping[str, Decimal]) -> list[PriceUpdate]:
    series = {
        name: BarSeries(read_bars(s["file"]), _BARS[s["bar"]]) for name, s in plan["series"].items()
    }
    step = _BARS[plan["step"]]
    ts, end = _ts(plan["start"]), _ts(plan["end"])
    updates = []
    while ts <= end:
        marks = {
            key: c
            for key, name in plan["marks"].items()
            if (c := series[name].close_at(ts)) is not None
        }
        assets = {
            a: c
            for a, name in plan["asset_prices"].items()
            if (c := series[name].close_at(ts)) is not None
        }
        updates.append(PriceUpdate(ts, marks, {**stable, **assets}, "bundled bars"))
        ts += step
    return updates


def option_chain_marks(chain_file: str, symbols: set[str]) -> dict[str, tuple[Decimal, Decimal]]:
    """``symbol -> (bid, ask)`` for the wanted OCC symbols of a bundled CBOE chain CSV."""
    found: dict[str, tuple[Decimal, Decimal]] = {}
    for row in csv.DictReader(data_text(chain_file).splitlines()):
        if row["contract"] in symbols:
            found[row["contract"]] = (Decimal(row["bid"]), Decimal(row["ask"]))
    return found


def _option_snapshot(
    snap: Mapping[str, Any], instruments: list[Instrument], stable: Mapping[str, Decimal]
) -> PriceUpdate:
    underlying = json.loads(data_text(snap["underlying"]))
    last = Decimal(str(underlying["current_price"]))
    options = {i.symbol: i.key for i in instruments if i.equity and i.strike is not None}
    quotes = option_chain_marks(snap["chain"], set(options))
    marks = {options[sym]: (bid + ask) / 2 for sym, (bid, ask) in quotes.items()}
    marks[snap["stock_key"]] = last
    return PriceUpdate(
        _ts(snap["ts"]), marks, {**stable, snap["asset"]: last}, "CBOE delayed quotes (bundled)"
    )


def demo_scenario() -> Scenario:
    """The bundled demo book (``riskdesk/data/demo/book.json``) with its price replay."""
    book = json.loads(data_text("demo/book.json"))
    stable = {k: Decimal(v) for k, v in book["stable"].items()}
    accounts = [
        Account(
            account_id=a["account_id"],
            venue=a["venue"],
            name=a.get("name", ""),
            position_mode=PositionMode(a.get("position_mode", "netting")),
            default_margin_mode=MarginMode(a.get("default_margin_mode", "cross")),
            default_leverage=to_decimal(a.get("default_leverage", "1"), "default_leverage"),
        )
        for a in book["accounts"]
    ]
    instruments = [_instrument(s) for s in book["instruments"]]
    cash = [
        CashMovement(
            c["account_id"],
            c["currency"],
            Decimal(c["amount"]),
            _ts(c["ts"]),
            f"demo:{c['account_id']}:{c['currency']}:{c['ts']}",
        )
        for c in book["cash"]
    ]
    updates = _replay(book["replay"], stable)
    updates.append(_option_snapshot(book["option_snapshot"], instruments, stable))
    sources = {name: info.get("source", "") for name, info in metadata()["files"].items()}
    risk = book.get("risk", {})
    monitor_times: list[datetime] = []
    if risk:
        ts, until = _ts(risk["monitor_from"]), _ts(risk["monitor_until"])
        step = timedelta(hours=float(risk["monitor_every_hours"]))
        while ts <= until:
            monitor_times.append(ts)
            ts += step
    overrides = {
        k: float(risk[k])
        for k in (
            "stale_warning_seconds",
            "stale_critical_seconds",
            "max_mark_age_seconds",
            # The paper twins add two BTC positions to the desk.
            "max_positions",
            "max_concentration",
        )
        if k in risk
    }
    return Scenario(
        book["description"],
        accounts,
        instruments,
        cash,
        book["fills"],
        updates,
        sources,
        monitor_times=monitor_times,
        order_checks=risk.get("orders", []),
        risk_overrides=overrides,
        notes=[risk["note"]] if "note" in risk else [],
        paper=_paper(book["paper"]) if "paper" in book else None,
    )


def _paper(spec: Mapping[str, Any]) -> PaperTwins:
    """The demo's paper twins (``paper`` section of the demo book)."""
    start = _ts(spec["start"])
    accounts = [
        Account(
            account_id=a["account_id"],
            venue=a["venue"],
            name=a.get("name", ""),
            default_margin_mode=MarginMode(a.get("default_margin_mode", "isolated")),
            default_leverage=to_decimal(a.get("default_leverage", "1"), "default_leverage"),
        )
        for a in spec["accounts"]
    ]
    deposits = [
        CashMovement(
            a["account_id"],
            a["currency"],
            Decimal(a["deposit"]),
            start,
            f"demo:paper:{a['account_id']}:{a['currency']}",
            "paper deposit",
        )
        for a in spec["accounts"]
    ]
    instruments = [_instrument(i) for i in spec["instruments"]]
    entries = [
        PaperEntry(
            at=_ts(e["at"]),
            account_id=e["account_id"],
            instrument_key=f"{e['venue']}:{normalize_symbol(e['symbol'])}",
            side=e["side"],
            qty=Decimal(e["qty"]),
            leverage=Decimal(e["leverage"]),
            profile=e.get("profile"),
            twin_of=e.get("twin_of", ""),
        )
        for e in spec["entries"]
    ]
    return PaperTwins(
        spec["description"],
        instruments,
        accounts,
        deposits,
        entries,
        spec["bars"],
        spec.get("timeframe", "1h"),
        start,
        _ts(spec["end"]),
    )


class ReplayFeed:
    """A :class:`~riskdesk.ports.market_data.PriceFeed` over precomputed updates."""

    def __init__(self, updates: list[PriceUpdate]) -> None:
        self._updates = updates

    def updates(self) -> Iterator[PriceUpdate]:
        """The updates in time order."""
        return iter(sorted(self._updates, key=lambda u: u.ts))
