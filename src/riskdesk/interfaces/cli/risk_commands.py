"""``riskdesk risk …``: what-if checks, limits, trading state, monitors, sizing and reports."""

from __future__ import annotations

import uuid
from dataclasses import asdict, fields
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from riskdesk.application.risk_service import decision_dict
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import Runtime, build
from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.fills import normalize_symbol
from riskdesk.domain.orders import OrderIntent, OrderType, TimeInForce
from riskdesk.domain.risk.decisions import Denied
from riskdesk.domain.risk.trading_state import TradingState
from riskdesk.domain.values import PositionSide, Side, positive, to_decimal
from riskdesk.interfaces.cli import render
from riskdesk.interfaces.cli.common import DbOption, JsonOption, console, guard

risk_app = typer.Typer(
    help="Pre-trade checks, limits, kill switch, monitors and reports.", no_args_is_help=True
)


def _console() -> Console:
    return console


def _runtime(db: str | None) -> Runtime:
    return build(Settings(), db)


def register(app: typer.Typer) -> None:
    """Add ``riskdesk risk`` to the root app."""
    app.add_typer(risk_app, name="risk")


_guard = guard


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f} %"


@risk_app.command("check")
def risk_check(
    symbol: Annotated[str, typer.Argument(help="instrument symbol (any form)")],
    venue: Annotated[str, typer.Option(help="venue of the instrument")],
    account: Annotated[str, typer.Option("--account", "-a", help="account that would trade")],
    side: Annotated[str, typer.Option(help="buy or sell")],
    qty: Annotated[str, typer.Option(help="quantity in contracts")],
    order_type: Annotated[
        str, typer.Option("--type", help="market, limit, stop_market, stop_limit, take_profit")
    ] = "market",
    price: Annotated[str | None, typer.Option(help="limit price")] = None,
    stop_price: Annotated[
        str | None, typer.Option(help="trigger price of a conditional order")
    ] = None,
    protective_stop: Annotated[
        str | None, typer.Option("--stop", help="the stop that will protect this entry")
    ] = None,
    reduce_only: Annotated[
        bool, typer.Option("--reduce-only", help="may only reduce a position")
    ] = False,
    leverage: Annotated[str | None, typer.Option(help="leverage for a margined entry")] = None,
    position_side: Annotated[
        str | None, typer.Option(help="long/short on hedge-mode accounts")
    ] = None,
    source: Annotated[
        str, typer.Option(help="who asks (manual, rebalance, hedge, ...)")
    ] = "manual",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """What-if: run every pre-trade check on an order without sending or storing it."""
    console = _console()

    def run() -> Any:
        rt = _runtime(db)
        intent = OrderIntent(
            intent_id=f"what-if:{uuid.uuid4().hex[:12]}",
            account_id=account,
            venue=venue,
            symbol=normalize_symbol(symbol),
            side=Side.parse(side),
            qty=to_decimal(qty, "qty"),
            order_type=_order_type(order_type),
            price=None if price is None else to_decimal(price, "price"),
            stop_price=None if stop_price is None else to_decimal(stop_price, "stop_price"),
            reduce_only=reduce_only,
            tif=TimeInForce.GTC,
            position_side=PositionSide.parse(position_side),
            leverage=None if leverage is None else positive(leverage, "leverage"),
            protective_stop=None if protective_stop is None else positive(protective_stop, "stop"),
            source=source,
        )
        return rt.app.risk.check(intent, what_if=True).decision

    decision = _guard(as_json, run)
    if as_json:
        render.dump_json(console, decision_dict(decision))
    elif isinstance(decision, Denied):
        console.print(
            f"[bold red]DENIED[/] {escape(f'[{decision.code.value}] {decision.reason}')}",
            soft_wrap=True,
            markup=True,
            highlight=False,
        )
        console.print(f"  suggestion: {decision.suggestion}", highlight=False)
        for other in decision.all[1:]:
            console.print(
                f"  also [{other.code.value}] {other.reason}", highlight=False, markup=False
            )
    else:
        console.print(f"[bold green]APPROVED[/] ({decision.checks} checks)")
        for warning in decision.warnings:
            console.print(f"  note: {warning}", highlight=False)
    if isinstance(decision, Denied):
        raise typer.Exit(1)


def _order_type(text: str) -> OrderType:
    try:
        return OrderType(text.strip().lower())
    except ValueError:
        raise InvalidValue(
            f"unknown order type {text!r} ({', '.join(t.value for t in OrderType)})", field="type"
        ) from None


@risk_app.command("limits")
def risk_limits(db: DbOption = None, as_json: JsonOption = False) -> None:
    """The active limits (preset plus overrides) and monitor thresholds."""
    console = _console()
    settings = Settings()
    limits = settings.risk.to_limits()
    thresholds = settings.risk.to_thresholds()
    if as_json:
        render.dump_json(
            console,
            {
                "preset": settings.risk.preset,
                "limits": asdict(limits),
                "thresholds": asdict(thresholds),
                "kill_switch": asdict(settings.risk.to_policy()),
            },
        )
        return
    table = Table(
        title=f"Risk limits (preset {settings.risk.preset}; ratios are of total equity)",
        title_justify="left",
    )
    table.add_column("limit")
    table.add_column("value", justify="right")
    for f in fields(limits):
        value = getattr(limits, f.name)
        table.add_row(f.name, "off" if value is None else str(value))
    console.print(table)
    monitor = Table(title="Monitor thresholds", title_justify="left")
    monitor.add_column("threshold")
    monitor.add_column("value", justify="right")
    for f in fields(thresholds):
        monitor.add_row(f.name, str(getattr(thresholds, f.name)))
    console.print(monitor)


@risk_app.command("state")
def risk_state(db: DbOption = None, as_json: JsonOption = False) -> None:
    """The trading state (kill switch) and its history."""
    console = _console()
    rt = _runtime(db)
    status = rt.app.risk.status()
    history = rt.app.risk.history()
    if as_json:
        render.dump_json(
            console,
            {
                "state": status.state.label,
                "since": status.since,
                "trigger": status.trigger,
                "reason": status.reason,
                "by": status.by,
                "history": [{**asdict(h), "old": h.old.label, "new": h.new.label} for h in history],
            },
        )
        return
    console.print(
        f"trading state: [bold]{status.state.label.upper()}[/] since {render.when(status.since)} "
        f"({status.trigger}: {status.reason}; by {status.by})",
        highlight=False,
    )
    for h in history:
        console.print(
            f"  {render.when(h.ts)}  {h.old.label} -> {h.new.label}  [{h.trigger}] {h.reason} (by {h.by})",
            highlight=False,
            markup=False,
        )


@risk_app.command("reset")
def risk_reset(
    reason: Annotated[str, typer.Option(help="why trading may resume (required)")],
    by: Annotated[str, typer.Option(help="who resets")] = "cli",
    to: Annotated[str, typer.Option(help="state to reset to")] = "active",
    db: DbOption = None,
) -> None:
    """Leave a kill-switch state; needs a reason, recorded in the history."""
    console = _console()
    status, _ = _guard(
        False, lambda: _runtime(db).app.risk.reset(reason, by, TradingState.parse(to, "to"))
    )
    console.print(
        f"trading state is now {status.state.label} (reason recorded: {status.reason})",
        highlight=False,
    )


@risk_app.command("halt")
def risk_halt(
    reason: Annotated[str, typer.Option(help="why (required)")],
    state: Annotated[str, typer.Option(help="reducing, halted or flatten")] = "halted",
    by: Annotated[str, typer.Option(help="who")] = "cli",
    db: DbOption = None,
) -> None:
    """Trip the kill switch by hand."""
    console = _console()
    status, change = _guard(
        False,
        lambda: _runtime(db).app.risk.escalate(TradingState.parse(state), "manual", reason, by),
    )
    if change is None:
        console.print(f"already {status.state.label}; nothing changed")
    else:
        console.print(f"trading state is now {status.state.label}")


@risk_app.command("monitor")
def risk_monitor(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Run every intraday monitor once now (alerts are de-duplicated and stored)."""
    console = _console()
    result = _guard(as_json, lambda: _runtime(db).app.risk.monitor(detail=True))
    if as_json:
        render.dump_json(
            console,
            {
                "as_of": result.as_of,
                "state": result.state.state.label,
                "readings": [{**asdict(r), "level": r.level.label} for r in result.readings],
                "alerts": [{**asdict(a), "level": a.level.label} for a in result.alerts],
            },
        )
        return
    console.print(alerts_table(result.alerts, f"Alerts raised at {render.when(result.as_of)}"))
    console.print(f"trading state: {result.state.state.label}", highlight=False)


def alerts_table(alerts: list[Any], title: str) -> Table:
    """Alerts as a table."""
    table = Table(title=title, title_justify="left")
    for column in ("Time", "Level", "Kind", "Message"):
        table.add_column(column)
    styles = {"emergency": "bold red", "critical": "red", "warning": "yellow", "info": "cyan"}
    for a in alerts:
        style = styles.get(a.level.label, "")
        table.add_row(
            render.when(a.ts),
            f"[{style}]{a.level.label}[/]" if style else a.level.label,
            a.kind,
            a.message,
        )
    return table


@risk_app.command("alerts")
def risk_alerts(
    limit: Annotated[int, typer.Option(help="newest N")] = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stored alerts, newest last."""
    console = _console()
    alerts = _runtime(db).app.risk.alerts(limit=limit)
    if as_json:
        render.dump_json(console, [{**asdict(a), "level": a.level.label} for a in alerts])
        return
    console.print(alerts_table(alerts, "Alerts"))


@risk_app.command("size")
def risk_size(
    symbol: Annotated[str, typer.Argument(help="instrument symbol")],
    venue: Annotated[str, typer.Option(help="venue")],
    account: Annotated[
        str, typer.Option("--account", "-a", help="account whose cash funds the entry")
    ],
    entry: Annotated[str, typer.Option(help="entry price")],
    stop: Annotated[str, typer.Option(help="protective stop price")],
    leverage: Annotated[str, typer.Option(help="leverage")] = "1",
    risk: Annotated[
        str | None, typer.Option(help="risk fraction of equity (default: the limit)")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Position size from entry, stop and risk per trade (seed 002)."""
    console = _console()
    result = _guard(
        as_json,
        lambda: _runtime(db).app.risk.size(
            f"{venue}:{normalize_symbol(symbol)}",
            entry=positive(entry, "entry"),
            stop=positive(stop, "stop"),
            account_id=account,
            leverage=positive(leverage, "leverage"),
            risk_fraction=None if risk is None else to_decimal(risk, "risk"),
        ),
    )
    if as_json:
        render.dump_json(console, result)
        return
    console.print(
        f"quantity {render.qty(result.qty)} (notional {render.money(result.notional)}, risk "
        f"{render.money(result.risk_amount)} = {_pct(float(result.risk_fraction))}); capped by {result.capped_by}",
        highlight=False,
    )
    console.print(result.explanation, highlight=False)


@risk_app.command("flatten")
def risk_flatten(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Show the FLATTEN plan: reduce-only market orders closing every position, largest first."""
    console = _console()
    orders = _runtime(db).app.risk.flatten_plan()
    if as_json:
        render.dump_json(console, orders)
        return
    for o in orders:
        console.print(
            f"{o.side.value.upper()} {render.qty(o.qty)} {o.venue}:{o.symbol} MARKET reduce-only "
            f"(account {o.account_id})",
            highlight=False,
        )


@risk_app.command("report")
def risk_report(
    day: Annotated[bool, typer.Option("--day", help="daily report")] = False,
    week: Annotated[bool, typer.Option("--week", help="weekly report (ISO week)")] = False,
    month: Annotated[bool, typer.Option("--month", help="monthly report")] = False,
    on: Annotated[
        str | None, typer.Option(help="a date in the period (YYYY-MM-DD); default today")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Daily / weekly / monthly risk report (seed 004 §3.3)."""
    console = _console()
    period = "week" if week else "month" if month else "day"

    def run() -> Any:
        rt = _runtime(db)
        anchor = _date(on) if on else rt.app.clock.now().date()
        return rt.app.risk.report(period, anchor)

    report = _guard(as_json, run)
    if as_json:
        render.dump_json(console, report)
        return
    table = Table(
        title=f"Risk report, {period} {report.start:%Y-%m-%d} .. {report.end:%Y-%m-%d}",
        show_header=False,
        title_justify="left",
    )
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for name, value in [
        (
            "Start / end equity",
            f"{render.money(report.start_equity)} / {render.money(report.end_equity)}",
        ),
        ("P&L (net of deposits)", render.money(report.pnl)),
        ("Return", render.pct(report.return_pct)),
        ("Max drawdown", render.pct(report.max_drawdown)),
        ("Trades closed / won", f"{report.trades} / {report.wins}"),
        ("Win rate", render.pct(report.win_rate)),
        (
            "Largest win / loss",
            f"{render.money(report.largest_win)} / {render.money(report.largest_loss)}",
        ),
        ("Peak leverage", "—" if report.peak_leverage is None else f"{report.peak_leverage:.2f}x"),
        ("Peak exposure-limit usage", render.pct(report.peak_exposure_usage)),
        ("Denied orders", f"{report.violations} {dict(report.violations_by_code) or ''}"),
    ]:
        table.add_row(name, value)
    console.print(table)


def _date(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).date()
    except ValueError:
        raise InvalidValue(f"{text!r} is not a date (YYYY-MM-DD)", field="on") from None
