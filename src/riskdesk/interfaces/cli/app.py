"""The ``riskdesk`` command line (Typer + Rich).

Every command is a thin translator: parse options, call the application facade, render a table
(or ``--json``). Errors carry a stable code, the field and the reason, and exit with status 2.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from riskdesk.application.book_service import ImportResult, PortfolioReport
from riskdesk.application.calculator import CalcRequest, calculate
from riskdesk.application.fill_rows import parse_rows, parse_timestamp
from riskdesk.bootstrap.margin_tables import load_margin_tiers
from riskdesk.bootstrap.oms_runtime import paper_mark
from riskdesk.bootstrap.risk_runtime import mark_update
from riskdesk.bootstrap.settings import Settings, describe, shown
from riskdesk.bootstrap.wiring import Runtime, build, bundled_demo, demo_settings
from riskdesk.domain.accounting.book import Account, PositionMode
from riskdesk.domain.accounting.margin import MaintenanceBasis
from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.fills import MarginMode
from riskdesk.domain.instruments import MarginTier, Settlement, instrument_from_spec
from riskdesk.domain.risk.decisions import Denied
from riskdesk.domain.symbols import SymbolKind, parse_symbol
from riskdesk.domain.values import Side, leverage_value, positive, price_value, to_decimal
from riskdesk.interfaces.cli import (
    governance_commands,
    oms_commands,
    pricing_commands,
    render,
    risk_commands,
)
from riskdesk.interfaces.cli.common import (
    AccountOption,
    DbOption,
    GuardedGroup,
    JsonOption,
    console,
    guard,
)

app = typer.Typer(
    help="riskdesk: position & risk engine for crypto and options traders.",
    cls=GuardedGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
fills_app = typer.Typer(help="Import and list fills.", no_args_is_help=True)
accounts_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
instruments_app = typer.Typer(help="Manage the instrument catalog.", no_args_is_help=True)
cash_app = typer.Typer(help="Deposits and withdrawals.", no_args_is_help=True)
prices_app = typer.Typer(help="Record marks and asset prices by hand.", no_args_is_help=True)
app.add_typer(fills_app, name="fills")
app.add_typer(accounts_app, name="accounts")
app.add_typer(instruments_app, name="instruments")
app.add_typer(cash_app, name="cash")
app.add_typer(prices_app, name="prices")

T = TypeVar("T")
_guard = guard


def _runtime(db: str | None) -> Runtime:
    """The application over an existing database (a missing SQLite file is an error)."""
    return build(Settings(), db)


# ------------------------------------------------------------------------------------ setup


@app.command()
def init(db: DbOption = None) -> None:
    """Create or migrate the database (the only command, with the demo and the replay, that
    creates one; every other command refuses a database that does not exist)."""
    rt = _guard(False, lambda: build(Settings(), db, create=True))
    console.print(f"database ready: {rt.url}")


@app.command("config")
def show_config(as_json: JsonOption = False) -> None:
    """Show every setting with its value and description."""
    rows = describe(Settings())
    if as_json:
        render.dump_json(console, {name: value for name, value, _ in rows})
        return
    table = Table(title="Settings (env RISKDESK_<NAME>, nested with __)", title_justify="left")
    for column in ("setting", "value", "description"):
        table.add_column(column)
    for name, value, description in rows:
        table.add_row(name, shown(value), description)
    console.print(table)


UpdateOption = Annotated[
    bool,
    typer.Option(
        "--update",
        help="change an existing entry (options not given keep their values); changes that "
        "would corrupt open positions are still refused",
    ),
]


def _added(what: str, outcome: str, diff: Mapping[str, tuple[object, object]]) -> str:
    if outcome == "unchanged":
        return f"{what} already exists with these settings; nothing changed"
    if outcome == "updated":
        changes = ", ".join(f"{k} {_plain(a)} -> {_plain(b)}" for k, (a, b) in diff.items())
        return f"{what} updated: {changes}"
    return f"{what} added"


def _plain(value: object) -> str:
    if value == "" or value is None:
        return "—"
    if isinstance(value, Decimal):
        return render.qty(value)
    if isinstance(value, tuple):
        return f"{len(value)} bracket(s)"
    return str(getattr(value, "value", value))


@accounts_app.command("add")
def accounts_add(
    account_id: Annotated[str, typer.Argument(help="account id, e.g. binance-usdm")],
    venue: Annotated[str | None, typer.Option(help="venue the account trades on")] = None,
    mode: Annotated[
        str | None, typer.Option(help="netting (one-way, the default) or hedge")
    ] = None,
    margin_mode: Annotated[
        str | None, typer.Option(help="default margin mode: cross (the default) or isolated")
    ] = None,
    leverage: Annotated[
        str | None, typer.Option(help="default leverage of new margined positions (default 1)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    update: UpdateOption = False,
    db: DbOption = None,
) -> None:
    """Create an account. Adding it again with the same settings changes nothing; with other
    settings it is refused unless --update (venue and position mode stay fixed while the account
    holds positions or cash)."""

    def run() -> None:
        book = _runtime(db).app.book
        existing = book.account(account_id) if update else None
        if existing is None and not venue:
            raise InvalidValue("give the venue the account trades on (--venue)", field="venue")
        if mode is not None and mode not in ("netting", "hedge"):
            raise InvalidValue(f"expected netting or hedge, got {mode!r}", field="mode")
        base = existing or Account(account_id=account_id, venue=venue or "")
        account = replace(
            base,
            venue=venue or base.venue,
            position_mode=PositionMode(mode) if mode else base.position_mode,
            default_margin_mode=MarginMode.parse(margin_mode)
            if margin_mode
            else base.default_margin_mode,
            default_leverage=leverage_value(leverage, "leverage")
            if leverage
            else base.default_leverage,
            name=base.name if name is None else name,
        )
        outcome, diff = book.add_account(account, update)
        console.print(
            _added(
                f"account {account_id} on {account.venue} ({account.position_mode.value}, "
                f"{account.default_margin_mode.value}, {_plain(account.default_leverage)}x)",
                outcome,
                diff,
            )
        )

    _guard(False, run)


@accounts_app.command("list")
def accounts_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List accounts."""
    accounts = _runtime(db).app.book.accounts()
    if as_json:
        render.dump_json(console, accounts)
        return
    for a in accounts:
        console.print(
            f"{a.account_id}  venue={a.venue}  mode={a.position_mode.value}  "
            f"margin={a.default_margin_mode.value}  leverage={a.default_leverage}x  {a.name}"
        )


@instruments_app.command("add")
def instruments_add(
    symbol: Annotated[str, typer.Argument(help="OCC, Deribit or CCXT symbol")],
    venue: Annotated[str, typer.Option(help="venue")],
    tick_size: Annotated[
        str | None, typer.Option(help="price tick (default: the venue's, see README)")
    ] = None,
    lot_size: Annotated[str | None, typer.Option(help="quantity step")] = None,
    contract_size: Annotated[
        str | None,
        typer.Option(
            help="contract size (USD for inverse — default per venue: Deribit BTC 10/ETH 1, "
            "Bybit 1, Binance COIN-M BTC 100/others 10; multiplier for options)"
        ),
    ] = None,
    tiers: Annotated[
        str | None,
        typer.Option(
            help="maintenance brackets: 'binance-usdm' (bundled, BTC and ETH USDT perpetuals) "
            "or a CSV file (symbol,min_notional,max_notional,maint_margin_rate,max_leverage"
            "[,maint_amount_cum])"
        ),
    ] = None,
    update: UpdateOption = False,
    db: DbOption = None,
) -> None:
    """Add an instrument with its grid (defaults suit the major venues). Adding it again with
    the same grid changes nothing; with another it is refused unless --update (contract size,
    settlement currency and contract type stay fixed while positions are open)."""

    def run() -> None:
        grid = {
            k: v
            for k, v in (
                ("tick_size", tick_size),
                ("lot_size", lot_size),
                ("contract_size", contract_size),
            )
            if v
        }
        spec = parse_symbol(symbol)
        instrument = instrument_from_spec(spec, venue, **grid)  # the symbol and grid first
        book = _runtime(db).app.book
        existing = book.instrument(instrument.key) if update else None
        if existing is not None:
            # An update changes what was given and keeps the rest of the stored entry.
            instrument = replace(
                existing,
                tick_size=positive(tick_size, "tick_size") if tick_size else existing.tick_size,
                lot_size=positive(lot_size, "lot_size") if lot_size else existing.lot_size,
                contract_size=positive(contract_size, "contract_size")
                if contract_size
                else existing.contract_size,
            )
        brackets: tuple[MarginTier, ...] = instrument.margin_tiers
        if tiers:
            if instrument.settlement is not Settlement.MARGIN:
                raise InvalidValue(
                    f"maintenance tiers apply to perpetuals and futures, not to {instrument.symbol}",
                    field="tiers",
                )
            brackets = load_margin_tiers(tiers, instrument.symbol)
            instrument = replace(instrument, margin_tiers=brackets)
        outcome, diff = book.add_instrument(instrument, update)
        margin = (
            f"{len(brackets)} maintenance brackets" + (f" from {tiers}" if tiers else "")
            if brackets
            else f"maintenance rate {instrument.maint_margin_rate}"
        )
        console.print(
            _added(
                f"instrument {instrument.key} (tick {instrument.tick_size}, lot "
                f"{instrument.lot_size}, contract size {instrument.contract_size}, settles in "
                f"{instrument.settle}"
                + (f", {margin}" if instrument.settlement is Settlement.MARGIN else "")
                + ")",
                outcome,
                diff,
            )
        )

    _guard(False, run)


@instruments_app.command("list")
def instruments_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the instrument catalog."""
    instruments = _runtime(db).app.book.instruments()
    if as_json:
        render.dump_json(console, instruments)
        return
    for i in instruments:
        console.print(
            f"{i.key}  {i.kind.value}{'/inverse' if i.inverse else ''}  tick={i.tick_size}  "
            f"lot={i.lot_size}  cs={i.contract_size}  settle={i.settle}"
        )


# ------------------------------------------------------------------------------------ fills


def _read_rows(path: Path) -> Iterator[tuple[int, Mapping[str, object]]]:
    if not path.exists():
        raise InvalidValue(f"no such file: {path}", field="file")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in (".json", ".jsonl"):
        try:
            data = (
                json.loads(text, parse_float=Decimal)
                if path.suffix.lower() == ".json"
                else [
                    json.loads(line, parse_float=Decimal)
                    for line in text.splitlines()
                    if line.strip()
                ]
            )
        except json.JSONDecodeError as exc:
            raise InvalidValue(
                f"not valid JSON (line {exc.lineno}: {exc.msg})", field="file"
            ) from None
        if isinstance(data, dict):
            data = data.get("fills", [])
        if not isinstance(data, list):
            raise InvalidValue(
                "expected a list of fill objects (or {'fills': [...]})", field="file"
            )
        for i, row in enumerate(data, start=1):
            if not isinstance(row, dict):
                raise InvalidValue(f"item {i} is not an object", field="file")
            yield i, {k: str(v) if isinstance(v, Decimal) else v for k, v in row.items()}
        return
    reader = csv.DictReader(text.splitlines())
    for row in reader:
        yield reader.line_num, row


@fills_app.command("import")
def fills_import(
    file: Annotated[Path, typer.Argument(help="CSV or JSON file of fills (and funding rows)")],
    account: Annotated[
        str | None, typer.Option("--account", "-a", help="account for rows without one")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import fills atomically: every row is checked first; one bad row imports nothing."""

    def run() -> None:
        rows = parse_rows(_read_rows(file), account)
        rt = _runtime(db)
        start = time.perf_counter()

        def revalue(done: ImportResult) -> None:
            if done.applied or done.funding:
                rt.app.risk.revalue()  # the book changed: equity marks (day start, peak)

        # Booking and revaluation are one transaction: a failure in either changes nothing.
        if len(rows) >= 200 and not as_json:
            with Progress(
                TextColumn("importing"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                task = progress.add_task("import", total=len(rows))
                result = rt.app.book.import_fills(
                    rows, lambda done, total: progress.update(task, completed=done), revalue
                )
        else:
            result = rt.app.book.import_fills(rows, then=revalue)
        elapsed = time.perf_counter() - start
        if as_json:
            render.dump_json(console, result)
            return
        console.print(
            f"imported {result.applied} fill(s), {result.funding} funding payment(s); "
            f"skipped {result.duplicates} already imported; {result.positions_closed} position(s) "
            f"closed; accounts: {', '.join(result.accounts) or '—'} ({elapsed:.2f}s)"
        )

    _guard(as_json, run)


# A negative amount (a withdrawal) is an argument, not an unknown option: "-100".
@cash_app.command("move", context_settings={"ignore_unknown_options": True})
def cash_move(
    account_id: Annotated[str, typer.Argument(help="account")],
    amount: Annotated[
        str, typer.Argument(help="amount: positive deposits, negative (e.g. -100) withdraws")
    ],
    currency: Annotated[str, typer.Argument(help="currency, e.g. USDT")],
    reference: Annotated[
        str,
        typer.Option(
            help="idempotency reference: repeating the same movement changes nothing; reusing "
            "it for a different one is refused"
        ),
    ],
    at: Annotated[str | None, typer.Option(help="time (ISO 8601 with offset); default now")] = None,
    new_asset: Annotated[
        bool,
        typer.Option(
            "--new-asset",
            help="accept a currency no instrument, balance or price uses yet (without it such "
            "a currency is refused as a likely typo)",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Deposit (positive amount) or withdraw (negative amount) cash."""

    def run() -> None:
        if amount.startswith("-") and not amount[1:2].isdigit() and amount[1:2] != ".":
            raise InvalidValue(f"unknown option {amount!r}", field="amount")
        rt = _runtime(db)
        ts = parse_timestamp(at, "at") if at else rt.app.clock.now()
        value = to_decimal(amount, "amount")
        booked = rt.app.book.move_cash(
            account_id,
            currency,
            value,
            ts,
            "deposit" if value > 0 else "withdrawal",
            reference,
            new_currency=new_asset,
        )
        console.print(
            f"booked {'deposit' if value > 0 else 'withdrawal'} of {render.qty(abs(value))} "
            f"{currency.upper()} on {account_id}"
            if booked
            else f"reference {reference!r} was already booked with the same amount; nothing changed"
        )

    _guard(False, run)


@prices_app.command("set")
def prices_set(
    key: Annotated[
        str, typer.Argument(help="instrument key venue:symbol, or an asset code with --asset")
    ],
    value: Annotated[str, typer.Argument(help="price")],
    asset: Annotated[
        bool,
        typer.Option(
            "--asset", help="KEY is an asset (BTC, AAPL) priced in the reporting currency"
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Record a mark (or asset price) now."""

    def run() -> None:
        settings = Settings()
        rt = build(settings, db)
        number = price_value(value, "price")
        now = rt.app.clock.now()
        if asset:
            name = rt.app.book.record_asset_price(key, number, now, "manual")
        else:
            name = rt.app.book.record_mark(key, number, now, "manual")
        console.print(f"{name} = {number}")
        try:
            if not asset:  # on the paper venue a mark is a market update (orders, conditions)
                made = paper_mark(rt, settings.oms.paper.venue, name, number, now)
                if made is not None:
                    console.print(f"paper venue: {made} execution(s) or trigger(s)")
            # A mark update: equity marks, monitors and the kill switch, carried out at once.
            done = mark_update(rt.app, rt.store, settings.oms.paper.venue, now=now)
        finally:
            rt.app.oms.close()
        risk_commands.print_mark_update(console, done)

    _guard(False, run)


# ------------------------------------------------------------------------------------ views


def _report(db: str | None, account: str | None, as_json: bool) -> PortfolioReport:
    return _guard(as_json, lambda: _runtime(db).app.book.report(account))


def _notes(report: PortfolioReport, rates: bool = False) -> None:
    """Warnings under a view: positions without a mark, currencies without a rate (and, with
    ``rates``, where each rate derived from a mark comes from)."""
    if report.missing_marks:
        console.print(
            f"[yellow]no mark for {', '.join(report.missing_marks)}: valued at entry price[/]"
        )
    ccy = report.summary.reporting_currency
    note = render.unpriced_note(report.summary.unpriced, ccy)
    if note:
        console.print(f"[yellow]{escape(note)}[/]", highlight=False)
    premium = sorted(
        {f"{v.venue}:{v.symbol}" for v in report.positions if v.exposure_basis == "premium"}
    )
    if premium:
        console.print(
            f"[yellow]exposure of {', '.join(premium)} counted at premium value: no delta "
            "without a mark and an underlying price[/]",
            highlight=False,
        )
    if rates:
        for line in render.derived_rates(report.rates, ccy):
            console.print(line, highlight=False)


@app.command()
def positions(
    account: AccountOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Open positions with entry, mark, liquidation distance, leverage and P&L."""
    report = _report(db, account, as_json)
    if as_json:
        render.dump_json(console, report.positions)
        return
    console.print(render.positions_table(report.positions))
    _notes(report)


@app.command()
def summary(
    account: AccountOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Portfolio summary: equity, margin, P&L, exposure, leverage, heat."""
    report = _report(db, account, as_json)
    if as_json:
        render.dump_json(
            console,
            {
                **render.to_jsonable(report.summary),
                "currency_rates": render.rates_json(report.rates),
            },
        )
        return
    console.print(render.summary_table(report.summary))
    _notes(report, rates=True)


@app.command()
def exposure(
    account: AccountOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Exposure by asset, symbol and venue/account."""
    report = _report(db, account, as_json)
    if as_json:
        render.dump_json(console, report.exposure)
        return
    ccy = report.summary.reporting_currency
    exp = report.exposure
    for rows, title in (
        (exp.by_asset, "Exposure by asset"),
        (exp.by_symbol, "Exposure by symbol"),
        (exp.by_venue, "Exposure by venue/account"),
    ):
        console.print(render.exposure_table(rows, title, ccy, exp.unpriced))
    _notes(report)


@app.command()
def history(
    account: AccountOption = None,
    since: Annotated[str | None, typer.Option(help="from (ISO 8601)")] = None,
    until: Annotated[str | None, typer.Option(help="until (ISO 8601)")] = None,
    limit: Annotated[int | None, typer.Option(help="at most this many fills")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fills and closed positions."""

    def run() -> None:
        start = parse_timestamp(since, "since") if since else None
        end = parse_timestamp(until, "until") if until else None
        fills, closed, _ = _runtime(db).app.book.history(account, start, end, limit)
        if as_json:
            render.dump_json(console, {"fills": fills, "closed_positions": closed})
            return
        console.print(render.fills_table(fills, _lots(db)))
        closed_table = Table(title="Closed positions", title_justify="left")
        for column in (
            "Closed",
            "Account",
            "Instrument",
            "Dir.",
            "Qty",
            "Entry",
            "Exit",
            "Realized",
            "Fees",
            "Net",
            "Return",
            "Held",
        ):
            closed_table.add_column(column)
        lots = _lots(db)
        for c in closed:
            closed_table.add_row(
                render.when(c.closed_at),
                c.account_id,
                c.instrument_key,
                c.direction,
                render.qty(c.entry_qty, lots.get(c.instrument_key)),
                render.price(c.entry_price),
                render.price(c.exit_price),
                render.qty(c.realized_pnl.quantize(Decimal("1e-8"))),
                render.qty(c.fees.quantize(Decimal("1e-8"))),
                render.qty(c.net_pnl.quantize(Decimal("1e-8"))),
                render.pct(c.return_pct / 100),
                render.duration(int(c.holding_seconds)),
            )
        console.print(closed_table)

    _guard(as_json, run)


def _lots(db: str | None) -> dict[str, Decimal]:
    """Lot size per instrument key (quantities print at their lot's precision)."""
    return {i.key: i.lot_size for i in _runtime(db).app.book.instruments()}


@fills_app.command("list")
def fills_list(
    account: AccountOption = None,
    since: Annotated[str | None, typer.Option(help="from (ISO 8601)")] = None,
    until: Annotated[str | None, typer.Option(help="until (ISO 8601)")] = None,
    limit: Annotated[int | None, typer.Option(help="at most this many (the oldest)")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Imported fills in time order (exact values in --json)."""

    def run() -> None:
        start = parse_timestamp(since, "since") if since else None
        end = parse_timestamp(until, "until") if until else None
        if limit is not None and limit < 1:
            raise InvalidValue(f"must be at least 1, got {limit}", field="limit")
        fills, _, _ = _runtime(db).app.book.history(account, start, end, limit)
        if as_json:
            render.dump_json(console, fills)
            return
        console.print(render.fills_table(fills, _lots(db)))

    _guard(as_json, run)


@app.command()
def balances(
    account: AccountOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Wallet balances per account and currency (cash before unrealized P&L), valued in the
    reporting currency, with where each rate comes from."""

    def run() -> None:
        result = _runtime(db).app.book.balances(account)
        if as_json:
            render.dump_json(
                console,
                {
                    "reporting_currency": result.reporting_currency,
                    "balances": [
                        {
                            "account_id": r.account_id,
                            "venue": r.venue,
                            "currency": r.currency,
                            "amount": render.plain(r.amount),
                            "value": None if r.value is None else render.rounded(r.value),
                            "rate": None if r.rate is None else render.plain(r.rate.price),
                            "rate_source": None if r.rate is None else r.rate.source.value,
                            "rate_instrument": None if r.rate is None else r.rate.instrument,
                        }
                        for r in result.rows
                    ],
                    "total": None if result.total is None else render.rounded(result.total),
                    "unpriced": list(result.unpriced),
                },
            )
            return
        console.print(render.balances_table(result))
        note = render.unpriced_note(result.unpriced, result.reporting_currency)
        if note:
            console.print(f"[yellow]{escape(note)}[/]", highlight=False)

    _guard(as_json, run)


# ------------------------------------------------------------------------------------ calc


@app.command()
def calc(
    symbol: Annotated[
        str, typer.Argument(help="contract, e.g. BTC/USDT:USDT (linear) or BTC-PERPETUAL (inverse)")
    ],
    side: Annotated[str, typer.Option(help="buy (long) or sell (short)")],
    size: Annotated[
        str, typer.Option(help="contracts (coins for USDT-margined; USD contracts for inverse)")
    ],
    entry: Annotated[str, typer.Option(help="entry price")],
    leverage: Annotated[str, typer.Option(help="leverage")] = "10",
    margin_mode: Annotated[str, typer.Option(help="isolated or cross")] = "isolated",
    wallet: Annotated[
        str | None, typer.Option(help="cross: wallet balance backing the position")
    ] = None,
    extra_margin: Annotated[str, typer.Option(help="isolated: margin added on top")] = "0",
    exit_price: Annotated[
        str | None, typer.Option("--exit", help="exit price for P&L and ROE")
    ] = None,
    mmr: Annotated[
        str | None,
        typer.Option(
            help="maintenance margin rate, in [0, 1) (default: the --tiers brackets, else 0.005)"
        ),
    ] = None,
    maint_amount: Annotated[
        str, typer.Option(help="maintenance amount (tier cum) with --mmr")
    ] = "0",
    basis: Annotated[
        str | None,
        typer.Option(
            help="maintenance on 'mark' (Binance, Deribit) or 'entry' (Bybit) notional "
            "(default: the --venue's margin_conventions setting, else mark)"
        ),
    ] = None,
    close_fee_rate: Annotated[
        str | None,
        typer.Option(
            help="fee to close at bankruptcy counted in maintenance (default: the --venue's "
            "margin_conventions setting, e.g. Bybit 0.00055; else 0)"
        ),
    ] = None,
    fee_rate: Annotated[str, typer.Option(help="trading fee rate for P&L")] = "0",
    contract_size: Annotated[
        str | None,
        typer.Option(
            help="contract size (default: 1 linear; inverse USD size by --venue: Deribit BTC "
            "10/ETH 1, Bybit 1, Binance COIN-M BTC 100/others 10)"
        ),
    ] = None,
    venue: Annotated[
        str | None,
        typer.Option(
            help="venue: its margin convention (margin_conventions setting), default grid and "
            "inverse contract size"
        ),
    ] = None,
    tick_size: Annotated[
        str | None,
        typer.Option(help="price tick the liquidation price is shown on (default 0.01 / 0.1)"),
    ] = None,
    tiers: Annotated[
        str | None,
        typer.Option(help="maintenance brackets instead of --mmr: 'binance-usdm' or a CSV file"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """What-if calculator for a perpetual or future: margin, liquidation and bankruptcy price,
    P&L, ROE. Isolated margin is the position's own (plus --extra-margin); cross margin is the
    --wallet backing it (--wallet is refused with isolated)."""

    def run() -> None:
        grid = {k: v for k, v in (("contract_size", contract_size), ("tick_size", tick_size)) if v}
        spec = parse_symbol(symbol)
        margined = spec.kind in (SymbolKind.PERPETUAL, SymbolKind.FUTURE)
        if margined and spec.is_inverse and not contract_size and not venue:
            raise InvalidValue(
                "inverse contract sizes differ by venue: give --venue (deribit, bybit, binance) "
                "or --contract-size in USD",
                field="contract_size",
            )
        instrument = instrument_from_spec(spec, venue or "calc", **grid)
        if tiers:
            if mmr is not None:
                raise InvalidValue("give either --mmr or --tiers", field="tiers")
            if instrument.settlement is Settlement.MARGIN:
                instrument = replace(
                    instrument, margin_tiers=load_margin_tiers(tiers, instrument.symbol)
                )
        convention = Settings().margin_conventions.get((venue or "").strip().lower())
        chosen_basis = basis or (convention.basis if convention else "mark")
        if chosen_basis not in ("mark", "entry"):
            raise InvalidValue(f"expected mark or entry, got {chosen_basis!r}", field="basis")
        fee_to_close = (
            to_decimal(close_fee_rate, "close_fee_rate")
            if close_fee_rate is not None
            else (convention.close_fee_rate if convention else Decimal(0))
        )
        origin = (
            "--basis/--close-fee-rate"
            if basis is not None and close_fee_rate is not None
            else f"setting margin_conventions.{(venue or '').strip().lower()}"
            if convention
            else "default (Binance) convention"
        )
        result = calculate(
            CalcRequest(
                instrument=instrument,
                side=Side.parse(side),
                size=to_decimal(size, "size"),
                entry=to_decimal(entry, "entry"),
                leverage=to_decimal(leverage, "leverage"),
                margin_mode=MarginMode.parse(margin_mode),
                wallet=None if wallet is None else to_decimal(wallet, "wallet"),
                extra_margin=to_decimal(extra_margin, "extra_margin"),
                exit=None if exit_price is None else to_decimal(exit_price, "exit"),
                maint_margin_rate=None if mmr is None else to_decimal(mmr, "mmr"),
                maint_amount=to_decimal(maint_amount, "maint_amount"),
                basis=MaintenanceBasis(chosen_basis),
                close_fee_rate=fee_to_close,
                fee_rate=to_decimal(fee_rate, "fee_rate"),
            )
        )
        result = result.on_tick()
        if as_json:
            render.dump_json(console, {**render.to_jsonable(result), "convention": origin})
            return
        ccy = result.settle
        table = Table(
            title=f"{instrument.symbol} {side} {size} @ {entry}, {leverage}x {margin_mode}",
            show_header=False,
            title_justify="left",
        )
        table.add_column("metric", style="bold")
        table.add_column("value", justify="right")
        for name, value in [
            ("Notional", f"{render.money(result.notional, ccy)} {ccy}"),
            ("Initial margin", f"{render.money(result.initial_margin, ccy)} {ccy}"),
            ("Margin backing the position", f"{render.money(result.margin_backing, ccy)} {ccy}"),
            (
                "Maintenance margin",
                f"{render.money(result.maintenance_margin, ccy)} {ccy} (rate {result.maint_margin_rate})",
            ),
            (
                "Maintenance convention",
                f"{chosen_basis} notional"
                + (f" + {render.qty(fee_to_close * 100)} % fee to close" if fee_to_close else "")
                + f" ({origin})",
            ),
            ("Liquidation price", render.price(result.liquidation_price)),
            ("Bankruptcy price", render.price(result.bankruptcy_price)),
            (
                "P&L at exit",
                "—" if result.pnl is None else f"{render.money(result.pnl, ccy)} {ccy}",
            ),
            (
                "Fees (open + close)",
                "—" if result.fees is None else f"{render.money(result.fees, ccy)} {ccy}",
            ),
            (
                "Net P&L",
                "—" if result.net_pnl is None else f"{render.money(result.net_pnl, ccy)} {ccy}",
            ),
            ("ROE", render.pct(result.roe)),
        ]:
            table.add_row(name, value)
        console.print(table)

    _guard(as_json, run)


# ------------------------------------------------------------------------------------ demo


@app.command()
def demo(
    db: Annotated[
        str | None,
        typer.Option("--db", help="database for the demo (default: <data_dir>/demo.db, recreated)"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Load the bundled sample book, replay real bundled prices, print summary, positions and exposure."""
    settings = Settings()
    target = db or str(settings.data_dir / "demo.db")
    if "://" not in target:
        path = Path(target).expanduser()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    scenario = bundled_demo()
    rt = build(demo_settings(settings, scenario), target, create=True)

    def run() -> Any:
        if as_json:
            return rt.app.demo.run(scenario)
        with Progress(
            TextColumn("[bold]replaying bundled prices[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("replay", total=None)
            return rt.app.demo.run(
                scenario, lambda _, done, total: progress.update(task, completed=done, total=total)
            )

    result = _guard(as_json, run)
    elapsed = time.perf_counter() - started
    report = result.report
    if as_json:
        render.dump_json(
            console,
            {
                "database": rt.url,
                "elapsed_seconds": round(elapsed, 3),
                **render.report_json(report),
                "governed_paper_trading": None
                if result.paper is None
                else {
                    "description": result.paper.description,
                    "events": [e.to_dict() for e in result.paper.events],
                    "plans": [p.to_dict() for p in result.paper.plans],
                    "errors": result.paper.errors,
                    "results": result.paper.results,
                },
            },
        )
        return
    console.print(f"[bold]riskdesk demo[/] — {result.description}")
    console.print(
        f"{result.accounts} accounts, {result.instruments} instruments, {result.fills} fills, "
        f"{result.price_updates} price updates from {render.when(result.first)} to {render.when(result.last)}, "
        f"{result.snapshots} snapshots\n"
    )
    console.print(render.summary_table(report.summary))
    console.print(
        render.positions_table(
            report.positions, "Positions (liquidation distance: yellow < 10 %, red < 5 %)"
        )
    )
    ccy = report.summary.reporting_currency
    console.print(render.exposure_table(report.exposure.by_asset, "Exposure by asset", ccy))
    console.print(render.exposure_table(report.exposure.by_venue, "Exposure by venue/account", ccy))
    if result.alerts:
        console.print(
            risk_commands.alerts_table(
                result.alerts, "Risk alerts raised during the replay (monitors run daily)"
            )
        )
    for ts, intent, why, decision in result.checks:
        head = f"Pre-trade check at {render.when(ts)}: {intent.side.value} {render.qty(intent.qty)} {intent.symbol} ({why})"
        if isinstance(decision, Denied):
            console.print(
                f"{escape(head)} -> [bold red]DENIED[/] {escape(f'[{decision.code.value}] {decision.reason}')}; "
                f"suggestion: {escape(decision.suggestion)}",
                highlight=False,
            )
        else:
            console.print(
                f"{escape(head)} -> [bold green]APPROVED[/] ({decision.checks} checks)",
                highlight=False,
            )
    if result.paper is not None and result.paper.events:
        title = (
            f"Position governance, executed: {result.paper.description} "
            f"({result.paper.steps} hourly engine steps)"
        )
        console.print(governance_commands.paper_table(result.paper, title))
        for line in (*result.paper.results, *result.paper.errors):
            console.print(f"Paper twins: {line}", highlight=False)
    for note in result.notes:
        console.print(f"Note: {note}", highlight=False)
    marks = sorted({(render.when(t), k.split(":")[0]) for k, t in report.mark_times.items()})
    console.print("Marks as of: " + "; ".join(f"{venue} {t}" for t, venue in marks))
    console.print(
        f"Data: riskdesk/data/metadata.json lists every source and licence. Database: {rt.url}"
    )
    console.print(f"Explore it: riskdesk positions --db {rt.url}   (finished in {elapsed:.1f}s)")


pricing_commands.register(app)
risk_commands.register(app)
governance_commands.register(app)
oms_commands.register(app)

from riskdesk.interfaces.cli import options_commands  # noqa: E402 - registered after the core commands

options_commands.register(app)
