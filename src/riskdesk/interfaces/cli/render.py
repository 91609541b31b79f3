"""Rich tables and number formatting for the CLI; JSON output with decimal strings.

The JSON rule (the README states it): money and quantities are decimal strings, never floats.
Ledger facts (fills, cash, balances, quantities, entry and mark prices, booked fees and P&L of
closed positions) are exact. Figures a view computes (equity, unrealized P&L, margin, exposure,
notional, totals and ratios) are rounded half-even to 8 decimals (:data:`VIEW_QUANTUM`), which
removes the 1e-28 residues of exact division without hiding a cent or a satoshi. A figure that
an unpriced currency makes unknown is ``null`` (the object lists the currency in ``unpriced``).
Analytics (Greeks, implied vols, model prices, scenario grids) are JSON numbers (float64).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, fields, is_dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from riskdesk.application.book_service import Balances, PortfolioReport
from riskdesk.application.calculator import CalcResult
from riskdesk.domain.accounting.portfolio import (
    SUMMARY_TOTALS,
    VIEW_REPORTING_FIELDS,
    Exposure,
    ExposureRow,
    PortfolioSummary,
    PositionView,
)
from riskdesk.domain.accounting.rates import CurrencyRate, RateSource
from riskdesk.domain.events import json_safe
from riskdesk.domain.fills import Fill
from riskdesk.domain.values import ACCOUNTING_CONTEXT

FIAT_LIKE = {"USD", "USDT", "USDC", "EUR", "BUSD", "DAI"}


def plain(value: Decimal) -> str:
    """A decimal as an exact string in plain notation, never with an exponent (``0E-8`` →
    ``0.00000000``, ``1E+3`` → ``1000``)."""
    return format(value, "f")


#: Rounding of computed figures in JSON (amounts and ratios alike: 1e-8, a satoshi).
VIEW_QUANTUM = Decimal("1e-8")

#: Fields of a position view that are ledger facts or prices, printed exactly.
_VIEW_EXACT = frozenset(
    {
        "qty",
        "entry_price",
        "mark_price",
        "liquidation_price",
        "bankruptcy_price",
        "stop_price",
        "leverage",
        "tick_size",
        "lot_size",
        "realized_pnl_ccy",
        "fees_ccy",
        "funding_ccy",
    }
)
_CALC_EXACT = frozenset(
    {
        "liquidation_price",
        "bankruptcy_price",
        "exit",
        "entry",
        "tick_size",
        "maint_margin_rate",
        "maint_amount",
        "close_fee_rate",
    }
)
_ROW_AMOUNTS = ("long", "short", "gross", "net", "of_equity", "unrealized_pnl")


def rounded(value: Decimal) -> str:
    """A computed figure for JSON: half-even to :data:`VIEW_QUANTUM`, plain notation, no
    negative zero."""
    q = value.quantize(VIEW_QUANTUM, rounding=ROUND_HALF_EVEN, context=ACCOUNTING_CONTEXT)
    return plain(q if q else abs(q))


def _fields_json(
    obj: object, exact: frozenset[str] = frozenset(), unknown: Iterable[str] = ()
) -> dict[str, Any]:
    """A flat dataclass as JSON: its decimals rounded (except ``exact`` ones), the ``unknown``
    fields null."""
    out: dict[str, Any] = {}
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if isinstance(value, Decimal) and f.name not in exact:
            out[f.name] = rounded(value)
        else:
            out[f.name] = _jsonable(value)
    for name in unknown:
        out[name] = None
    return out


def _exposure_json(exp: Exposure) -> dict[str, Any]:
    def rows(items: Sequence[ExposureRow]) -> list[dict[str, Any]]:
        return [
            _fields_json(
                r,
                unknown=(_ROW_AMOUNTS if r.unpriced else ("of_equity",) if exp.unpriced else ()),
            )
            for r in items
        ]

    return {
        "by_symbol": rows(exp.by_symbol),
        "by_asset": rows(exp.by_asset),
        "by_venue": rows(exp.by_venue),
        "largest_asset": None if exp.unpriced else exp.largest_asset,
        "largest_asset_share": None if exp.unpriced else rounded(exp.largest_asset_share),
        "unpriced": list(exp.unpriced),
    }


def _jsonable(value: object) -> Any:
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return json_safe(value)


def to_jsonable(obj: object) -> Any:
    """Dataclasses and containers to JSON-safe data (see the module docstring for the rule):
    decimals as strings in plain notation (no exponent), times in ISO 8601, enums as their
    values. Position views are printed with their liquidation price on the tick grid toward the
    mark (see :meth:`PositionView.on_tick`); views, summaries, exposure and calculator results
    have their computed figures rounded to :data:`VIEW_QUANTUM`."""
    if isinstance(obj, PositionView):
        view = obj.on_tick()
        return _fields_json(view, _VIEW_EXACT, VIEW_REPORTING_FIELDS if view.unpriced else ())
    if isinstance(obj, PortfolioSummary):
        return _fields_json(obj, unknown=SUMMARY_TOTALS if obj.unpriced else ())
    if isinstance(obj, Exposure):
        return _exposure_json(obj)
    if isinstance(obj, ExposureRow):
        return _fields_json(obj, unknown=_ROW_AMOUNTS if obj.unpriced else ())
    if isinstance(obj, CalcResult):
        return _fields_json(obj, _CALC_EXACT)
    if is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(asdict(obj))
    if isinstance(obj, list | tuple):
        return [to_jsonable(o) for o in obj]
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    return _jsonable(obj)


def dump_json(console: Console, obj: object) -> None:
    """Print ``obj`` as indented JSON (anything JSON cannot hold, like a path, as its text)."""
    console.print_json(json.dumps(to_jsonable(obj), default=str))


def money(value: Decimal | None, currency: str = "USD") -> str:
    """Thousands-separated amount: 2 decimals for fiat-like currencies, 8 for coins."""
    if value is None:
        return "—"
    places = Decimal("0.01") if currency in FIAT_LIKE else Decimal("0.00000001")
    return f"{value.quantize(places, rounding=ROUND_HALF_EVEN):,f}"


def price(value: Decimal | None) -> str:
    """A price with up to 8 significant decimals, no exponent."""
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN):,}"
    text = format(value.quantize(Decimal("1e-8"), rounding=ROUND_HALF_EVEN).normalize(), "f")
    return text


def qty(value: Decimal, lot: Decimal | None = None) -> str:
    """A quantity: at the instrument's lot precision when ``lot`` is given (``1.500`` for a
    0.001 lot, ``4000`` for a lot of 1, as venues print it; an off-grid quantity exactly),
    else without trailing zeros."""
    if lot is not None and lot > 0:
        places = max(0, -int(lot.normalize().as_tuple().exponent))
        step = Decimal(1).scaleb(-places)
        if value % step == 0:
            return format(value.quantize(step, context=ACCOUNTING_CONTEXT), "f")
    return format(value.normalize(), "f")


def fills_table(fills: Sequence[Fill], lots: Mapping[str, Decimal], title: str = "Fills") -> Table:
    """Fills, oldest first; quantities at their instrument's lot precision."""
    table = Table(title=title, title_justify="left")
    for column in ("Time", "Account", "Venue", "Symbol", "Side", "Qty", "Price", "Fee", "Fill id"):
        table.add_column(column, justify="right" if column in ("Qty", "Price", "Fee") else "left")
    for f in fills:
        table.add_row(
            when(f.ts),
            f.account_id,
            f.venue,
            f.symbol,
            f.side.value,
            qty(f.qty, lots.get(f.instrument_key)),
            price(f.price),
            f"{qty(f.fee)} {f.fee_currency or ''}".strip(),
            f.fill_id,
        )
    return table


def rates_json(rates: Mapping[str, CurrencyRate]) -> dict[str, Any]:
    """Currency rates with their sources, for JSON (prices exact)."""
    return {
        c: {
            "price": plain(r.price),
            "source": r.source.value,
            "instrument": r.instrument,
            "ts": None if r.ts is None else r.ts.isoformat(),
        }
        for c, r in sorted(rates.items())
    }


def balances_table(balances: Balances) -> Table:
    """Wallet balances per account and currency, valued in the reporting currency."""
    ccy = balances.reporting_currency
    table = Table(title=f"Balances (wallet, {ccy})", title_justify="left")
    for name in ("Account", "Venue", "Currency", "Amount", f"Value ({ccy})", "Rate", "Rate from"):
        table.add_column(
            name,
            justify="left" if name in ("Account", "Venue", "Currency", "Rate from") else "right",
        )
    for r in balances.rows:
        table.add_row(
            r.account_id,
            r.venue,
            r.currency,
            money(r.amount, r.currency),
            money(r.value, ccy),
            "—" if r.rate is None else price(r.rate.price),
            "no price" if r.rate is None else r.rate.describe(),
        )
    table.add_row("Total", "", "", "", money(balances.total, ccy), "", "", style="bold")
    return table


def pct(value: Decimal | None) -> str:
    """A fraction as a percentage with 2 decimals."""
    if value is None:
        return "—"
    return f"{(value * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN)}%"


def duration(seconds: int) -> str:
    """``5h 23m`` / ``3d 4h`` / ``12m``."""
    if seconds < 3600:
        return f"{max(seconds, 0) // 60}m"
    hours = seconds // 3600
    if hours < 24:
        return f"{hours}h {(seconds % 3600) // 60}m"
    return f"{hours // 24}d {hours % 24}h"


def when(ts: datetime) -> str:
    """``2019-10-24 16:00 UTC``."""
    return ts.strftime("%Y-%m-%d %H:%M UTC")


def _signed_style(value: Decimal) -> str:
    return "green" if value > 0 else "red" if value < 0 else ""


def summary_table(summary: PortfolioSummary, title: str = "Portfolio summary") -> Table:
    """The account-level numbers, two columns. With an unpriced currency every total is
    incomplete and shows ``—`` (see :func:`unpriced_note`)."""
    if summary.unpriced:
        return _incomplete_summary_table(summary, title)
    ccy = summary.reporting_currency
    table = Table(
        title=f"{title} ({ccy}, as of {when(summary.ts)})", show_header=False, title_justify="left"
    )
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    rows: list[tuple[str, str]] = [
        ("Total equity", money(summary.total_equity, ccy)),
        ("Wallet balance", money(summary.wallet_balance, ccy)),
        ("Available balance", money(summary.available_balance, ccy)),
        (
            "Margin used",
            f"{money(summary.margin_used, ccy)}  ({pct(summary.margin_usage)} of equity)",
        ),
        ("Maintenance margin", money(summary.maintenance_margin, ccy)),
        ("Unrealized P&L", money(summary.unrealized_pnl, ccy)),
        ("Realized P&L (gross)", money(summary.realized_pnl, ccy)),
        ("Fees (open positions)", money(summary.fees, ccy)),
        (
            "Daily P&L",
            "—"
            if summary.daily_pnl is None
            else f"{money(summary.daily_pnl, ccy)}  ({pct(summary.daily_return)})",
        ),
        (
            "Long / short exposure",
            f"{money(summary.long_exposure, ccy)} / {money(summary.short_exposure, ccy)}",
        ),
        (
            "Gross / net exposure",
            f"{money(summary.gross_exposure, ccy)} / {money(summary.net_exposure, ccy)}",
        ),
        ("Effective leverage", f"{summary.effective_leverage.quantize(Decimal('0.01'))}x"),
        (
            "Long/short ratio",
            "—"
            if summary.long_short_ratio is None
            else str(summary.long_short_ratio.quantize(Decimal("0.01"))),
        ),
        ("Open positions", str(summary.position_count)),
        (
            "Portfolio heat (risk to stops)",
            f"{pct(summary.portfolio_heat)}  ({summary.unprotected_positions} without a stop)",
        ),
        (
            "Largest asset concentration",
            f"{summary.largest_asset or '—'} {pct(summary.largest_asset_share)}",
        ),
        ("Max drawdown", pct(summary.max_drawdown)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _incomplete_summary_table(summary: PortfolioSummary, title: str) -> Table:
    table = Table(
        title=f"{title} ({summary.reporting_currency}, as of {when(summary.ts)}; incomplete: no "
        f"price for {', '.join(summary.unpriced)})",
        show_header=False,
        title_justify="left",
    )
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for name in (
        "Total equity",
        "Wallet balance",
        "Available balance",
        "Margin used",
        "Maintenance margin",
        "Unrealized P&L",
        "Realized P&L (gross)",
        "Fees (open positions)",
        "Daily P&L",
        "Long / short exposure",
        "Gross / net exposure",
        "Effective leverage",
    ):
        table.add_row(name, "—")
    table.add_row("Open positions", str(summary.position_count))
    table.add_row("Positions without a stop", str(summary.unprotected_positions))
    return table


def unpriced_note(currencies: Sequence[str], reporting: str = "USD") -> str | None:
    """The warning for currencies without a rate, with the command that fixes it."""
    if not currencies:
        return None
    first = currencies[0]
    return (
        f"no {reporting} price for {', '.join(currencies)}: totals in {reporting} leave "
        f"{'it' if len(currencies) == 1 else 'them'} out and show —; amounts stay in their own "
        f"currency. Fix: riskdesk prices set {first} <price> --asset (or record a mark of a "
        f"{first} perpetual or spot pair)"
    )


def derived_rates(rates: Mapping[str, CurrencyRate], reporting: str = "USD") -> list[str]:
    """One line per currency valued from a mark rather than a stored price."""
    return [
        f"{c} valued at {price(r.price)} {reporting}: {r.describe()}"
        + (f" at {when(r.ts)}" if r.ts else "")
        + f" (no asset price stored; riskdesk prices set {c} <price> --asset overrides it)"
        for c, r in sorted(rates.items())
        if r.source is RateSource.MARK
    ]


def positions_table(views: Sequence[PositionView], title: str = "Positions") -> Table:
    """Position detail with liquidation distance."""
    table = Table(title=title, title_justify="left")
    for name, justify in [
        ("Account", "left"),
        ("Symbol", "left"),  # never cut: min_width below
        ("Side", "left"),
        ("Qty", "right"),
        ("Entry", "right"),
        ("Mark", "right"),
        ("Liq.", "right"),
        ("To liq.", "right"),
        ("Lev.", "right"),
        ("uPnL", "right"),
        ("P&L %", "right"),
        ("Margin", "right"),
        ("Held", "right"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.columns[1].min_width = max((len(v.symbol) for v in views), default=6)
    for v in views:
        v = v.on_tick()  # noqa: PLW2901 - liquidation price as printed: on the tick grid
        upnl_style = _signed_style(v.unrealized_pnl_ccy)
        distance = pct(v.liq_distance_ratio)
        if v.liq_distance_ratio is not None and v.liq_distance_ratio < Decimal("0.05"):
            distance = f"[bold red]{distance}[/]"
        elif v.liq_distance_ratio is not None and v.liq_distance_ratio < Decimal("0.10"):
            distance = f"[yellow]{distance}[/]"
        table.add_row(
            v.account_id,
            v.symbol,
            v.side,
            qty(abs(v.qty), v.lot_size),
            price(v.entry_price),
            price(v.mark_price),
            price(v.liquidation_price),
            distance,
            f"{qty(v.leverage)}x" if v.margined else "—",
            f"[{upnl_style}]{money(v.unrealized_pnl_ccy, v.settle)} {v.settle}[/]"
            if upnl_style
            else f"{money(v.unrealized_pnl_ccy, v.settle)} {v.settle}",
            pct(v.pnl_ratio),
            f"{money(v.margin_ccy, v.settle)} {v.settle}" if v.margin_ccy else "—",
            duration(v.hold_seconds),
        )
    return table


def exposure_table(
    rows: Iterable[ExposureRow],
    title: str,
    currency: str = "USD",
    equity_unpriced: Sequence[str] = (),
) -> Table:
    """Exposure of groups (symbols, assets or venues). A group holding an unpriced currency
    shows ``—`` for its amounts; an incomplete equity (``equity_unpriced``) shows ``—`` for
    every share of it."""
    table = Table(title=f"{title} ({currency})", title_justify="left")
    for name in ("Group", "Long", "Short", "Gross", "Net", "% equity", "uPnL", "Pos."):
        table.add_column(name, justify="left" if name == "Group" else "right")
    for r in rows:
        known = not r.unpriced
        table.add_row(
            r.key,
            money(r.long if known else None, currency),
            money(r.short if known else None, currency),
            money(r.gross if known else None, currency),
            money(r.net if known else None, currency),
            pct(r.of_equity if known and not equity_unpriced else None),
            money(r.unrealized_pnl if known else None, currency),
            str(r.count),
        )
    return table


def report_json(report: PortfolioReport) -> dict[str, Any]:
    """The whole report as JSON-safe data."""
    return {
        "scope": report.scope,
        "as_of": report.as_of.isoformat(),
        "summary": to_jsonable(report.summary),
        "positions": to_jsonable(report.positions),
        "exposure": to_jsonable(report.exposure),
        "missing_marks": report.missing_marks,
        "mark_times": {k: v.isoformat() for k, v in report.mark_times.items()},
    }
