"""``riskdesk price`` and ``riskdesk greeks``: thin translators over the pricing use cases.

``price`` needs no database: it validates the rows (command-line options or a CSV/JSON
file) and prices them with :func:`riskdesk.application.pricing_service.price_options`.
``greeks`` reads the book through the application facade's ``pricing`` service.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from riskdesk.application.pricing_service import (
    KNOWN_OPTION_COLUMNS,
    GreeksReport,
    GreeksTotals,
    OptionQuote,
    OptionRowsRejected,
    parse_option_rows,
    price_options,
)
from riskdesk.bootstrap.pricing_settings import venue_greeks_sources
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import build
from riskdesk.domain.errors import InvalidValue, RiskdeskError
from riskdesk.interfaces.cli import render

T = TypeVar("T")

_console = Console()
if not _console.is_terminal:
    # Captured or piped output: keep the wide tables unwrapped.
    _console = Console(width=220)
_err = Console(stderr=True)


def _fail(exc: RiskdeskError, as_json: bool) -> None:
    if as_json:
        error: dict[str, object] = dict(exc.to_dict())
        if isinstance(exc, OptionRowsRejected):
            # One object per bad field, for programs: {line, field, reason}.
            error["errors"] = [
                {"line": e.line, "field": e.field, "reason": e.reason} for e in exc.errors
            ]
        print(json.dumps({"error": error}), file=sys.stderr)
    else:
        field = f" {exc.field}:" if exc.field else ""
        # escape(): "[code]" and reasons with brackets must not be read as Rich markup.
        _err.print(
            f"[bold red]error[/] {escape(f'[{exc.code}]{field} {exc.reason}')}",
            highlight=False,
            soft_wrap=True,
        )
    raise typer.Exit(2)


def _guard(as_json: bool, action: Callable[[], T]) -> T:
    try:
        return action()
    except RiskdeskError as exc:
        _fail(exc, as_json)
        raise  # unreachable: _fail exits


def _file_rows(path: Path) -> Iterator[tuple[int, Mapping[str, object]]]:
    """Rows of a CSV (line numbers as in the file, header = line 1) or a JSON list."""
    if not path.exists():
        raise InvalidValue(f"no such file: {path}", field="file")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidValue(
                f"not valid JSON (line {exc.lineno}: {exc.msg})", field="file"
            ) from None
        if isinstance(data, dict):
            data = data.get("options", [])
        if not isinstance(data, list):
            raise InvalidValue("expected a list of option objects", field="file")
        for i, row in enumerate(data, start=1):
            if not isinstance(row, dict):
                raise InvalidValue(f"item {i} is not an object", field="file")
            yield i, row
        return
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise InvalidValue(f"{path} is empty: expected a header and one option per row",
                           field="file")  # fmt: skip
    try:
        # Excel in many locales writes ";" (and some tools tabs or "|"): detect it.
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(lines, dialect=dialect)
    header = [h for h in (reader.fieldnames or []) if h is not None]
    known = {h.strip().lower() for h in header} & set(KNOWN_OPTION_COLUMNS)
    if not known:
        found = ", ".join(repr(h) for h in header) or "none"
        raise InvalidValue(
            f"no option columns in the header (found {found}); expected type, S or F, K, "
            "T or expiry, sigma or price, separated by commas",
            field="file",
        )
    for row in reader:
        yield reader.line_num, row


def _valuation_time(as_of: str | None) -> datetime:
    """``--as-of`` as an aware datetime (UTC when no zone is given); now when absent."""
    if not as_of:
        return datetime.now(UTC)
    try:
        now = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValue(
            f"not an ISO 8601 date/time: {as_of!r} (e.g. 2026-01-02 or 2026-01-02T15:30:00Z)",
            field="--as-of",
        ) from None
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _num(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _quotes_table(quotes: list[OptionQuote]) -> Table:
    table = Table(
        title="Options (per unit of underlying; theta per day, vega/rho per 1 %)",
        title_justify="left",
    )
    for column in (
        "Line", "Type", "Model", "S/F", "K", "T (y)", "r", "q", "Vol", "Price",
        "Delta", "Gamma", "Theta/d", "Vega/1%", "Rho/1%", "Vanna/1%", "Charm/d", "Volga/1%",
    ):  # fmt: skip
        table.add_column(column, justify="left" if column in ("Type", "Model") else "right")
    for q in quotes:
        vol = _num(q.sigma, 6) + (" (implied)" if q.implied else "")
        if q.iv_status not in (None, "OK"):
            vol = f"{q.iv_status.lower()}"
        table.add_row(
            str(q.line), q.option_type, q.model, _num(q.underlying, 2), _num(q.strike, 2),
            _num(q.years, 6), _num(q.rate, 4), _num(q.carry_yield, 4), vol,
            _num(q.price, 6), _num(q.delta, 6), _num(q.gamma, 6), _num(q.theta_per_day),
            _num(q.vega_per_pct), _num(q.rho_per_pct), _num(q.vanna_per_pct, 6),
            _num(q.charm_per_day, 6), _num(q.volga_per_pct, 6),
        )  # fmt: skip
    return table


def _totals_row(table: Table, t: GreeksTotals) -> None:
    table.add_row(
        t.key, str(t.positions), _num(t.underlying_price, 2), _num(t.beta, 2), _num(t.delta, 2),
        _num(t.dollar_delta, 0), _num(t.beta_dollar_delta, 0), _num(t.beta_weighted_delta, 2),
        _num(t.gamma, 4), _num(t.dollar_gamma, 0), _num(t.theta_per_day, 2),
        _num(t.vega_per_pct, 2), _num(t.rho_per_pct, 2),
    )  # fmt: skip


def _greeks_tables(report: GreeksReport) -> list[Table]:
    ccy = report.reporting_currency
    pos = Table(
        title=(
            f"Greeks per position at {render.when(report.as_of)} (r = {report.risk_free_rate:.2%}; "
            f"delta in underlying units, $ in {ccy}, theta per day, vega per vol point, "
            "rho per 1 %; venue Greeks scaled to the position like ours)"
        ),
        title_justify="left",
    )
    for column in (
        "Instrument", "Model", "Qty", "Mark", "Underlying", "IV", "Delta", "$ Delta",
        "Gamma", "$ Gamma 1%", "Theta/d", "Vega/1%", "Rho/1%", "Coin delta", "Venue IV",
        "Venue delta", "Venue theta/d",
    ):  # fmt: skip
        left = column in ("Instrument", "Model")
        pos.add_column(column, justify="left" if left else "right", no_wrap=left)
    for p in report.positions:
        iv = "—" if p.iv is None else f"{p.iv:.2%}"
        if p.iv_status not in (None, "OK"):
            iv = p.iv_status.lower()
        pos.add_row(
            p.instrument_key, p.model, _num(p.quantity, 4), _num(p.mark, 4),
            _num(p.underlying_price, 2), iv, _num(p.delta, 3), _num(p.dollar_delta, 0),
            _num(p.gamma, 4), _num(p.dollar_gamma, 0), _num(p.theta_per_day, 2),
            _num(p.vega_per_pct, 2), _num(p.rho_per_pct, 2),
            "—" if p.coin is None else _num(p.coin.delta, 4),
            "—" if p.venue is None or p.venue.iv is None else f"{p.venue.iv:.2%}",
            "—" if p.venue is None else _num(p.venue.delta, 3),
            "—" if p.venue is None else _num(p.venue.theta_per_day, 2),
        )  # fmt: skip
    bench = (
        f"benchmark {report.benchmark} at {report.benchmark_price:,.2f}"
        if report.benchmark_price
        else f"benchmark {report.benchmark}: no stored price, beta-weighted delta in {ccy} only"
    )
    groups = Table(title=f"Per underlying and total ({bench})", title_justify="left")
    for column in (
        "Underlying", "Pos.", "Price", "Beta", "Delta", "$ Delta", "β·$ Delta",
        f"β-delta ({report.benchmark})", "Gamma", "$ Gamma 1%", "Theta/d", "Vega/1%", "Rho/1%",
    ):  # fmt: skip
        groups.add_column(column, justify="left" if column == "Underlying" else "right")
    for t in report.by_underlying:
        _totals_row(groups, t)
    groups.add_section()
    _totals_row(groups, report.total)
    return [pos, groups]


def register(app: typer.Typer) -> None:
    """Add ``price`` and ``greeks`` to the ``riskdesk`` command line."""

    @app.command("price")
    def price(
        file: Annotated[
            Path | None,
            typer.Option("--file", "-f", help="CSV or JSON file of options (one per row)"),
        ] = None,
        option_type: Annotated[
            str | None, typer.Option("--type", help="call or put (command-line option)")
        ] = None,
        model: Annotated[str, typer.Option(help="bsm, black76 or american")] = "bsm",
        spot: Annotated[float | None, typer.Option("--spot", "-S", help="spot price S")] = None,
        forward: Annotated[
            float | None, typer.Option("--forward", "-F", help="forward F (black76)")
        ] = None,
        strike: Annotated[float | None, typer.Option("--strike", "-K", help="strike K")] = None,
        years: Annotated[
            float | None, typer.Option("--years", "-T", help="time to expiry in years")
        ] = None,
        expiry: Annotated[
            str | None, typer.Option(help="expiry date/time ISO 8601 (instead of -T)")
        ] = None,
        rate: Annotated[
            float | None, typer.Option("--rate", "-r", help="risk-free rate (0.04 = 4 %)")
        ] = None,
        carry_yield: Annotated[
            float | None, typer.Option("--yield", "-q", help="dividend/carry yield")
        ] = None,
        sigma: Annotated[float | None, typer.Option(help="volatility (0.2 = 20 %)")] = None,
        market_price: Annotated[
            float | None, typer.Option("--price", help="option price to imply the vol from")
        ] = None,
        as_of: Annotated[
            str | None, typer.Option(help="valuation time for --expiry (default now, UTC)")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    ) -> None:
        """Price options (or imply their vol) from the command line or a CSV/JSON file.

        Columns: type, model (bsm|black76|american), S or F, K, T or expiry, r, q, sigma or
        price. Bad rows are reported with their line and field; nothing is priced then.
        """

        def run() -> list[OptionQuote]:
            now = _valuation_time(as_of)
            default_rate = Settings().pricing.risk_free_rate
            if file is not None:
                rows = list(_file_rows(file))
                return price_options(parse_option_rows(rows, now, default_rate))
            if option_type is None:
                raise InvalidValue("give --type call|put (or --file)", field="--type")
            # Keys are the options as typed, so messages name "-K/--strike", not "K".
            given = {
                "--type": option_type,
                "--model": model,
                "-S/--spot": spot,
                "-F/--forward": forward,
                "-K/--strike": strike,
                "-T/--years": years,
                "--expiry": expiry,
                "-r/--rate": rate,
                "-q/--yield": carry_yield,
                "--sigma": sigma,
                "--price": market_price,
            }
            rows = [(1, {k: v for k, v in given.items() if v is not None})]
            return price_options(parse_option_rows(rows, now, default_rate, labels="cli"))

        quotes = _guard(as_json, run)
        if as_json:
            render.dump_json(_console, quotes)
            return
        _console.print(_quotes_table(quotes))
        for q in quotes:
            if q.iv_reason:
                _console.print(f"[yellow]line {q.line}: {escape(q.iv_reason)}[/]", highlight=False)

    @app.command("greeks")
    def greeks(
        account: Annotated[
            str | None, typer.Option("--account", "-a", help="limit to one account")
        ] = None,
        db: Annotated[
            str | None,
            typer.Option("--db", help="database URL or SQLite file path (default: configured)"),
        ] = None,
        venue_greeks: Annotated[
            str,
            typer.Option(
                "--venue-greeks",
                help="show venue Greeks beside ours: none, or snapshot (bundled chain snapshots)",
            ),
        ] = "none",
        as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    ) -> None:
        """The book's Greeks per position, per underlying and total (own Greeks at the
        mark-implied vol; the venue's beside them, scaled to the position, with
        --venue-greeks snapshot)."""

        def run() -> GreeksReport:
            if venue_greeks not in ("none", "snapshot"):
                raise InvalidValue(
                    f"expected none or snapshot, got {venue_greeks!r}", field="--venue-greeks"
                )
            pricing = build(Settings(), db).app.pricing
            sources = venue_greeks_sources(venue_greeks)  # type: ignore[arg-type]
            venue = pricing.venue_greeks_from(sources, account) if sources else None
            return pricing.greeks(account, venue_greeks=venue)

        report = _guard(as_json, run)
        if as_json:
            render.dump_json(_console, report)
            return
        for table in _greeks_tables(report):
            _console.print(table)
        for key, reason in report.skipped:
            _console.print(f"[yellow]skipped {key}: {reason}[/]")
