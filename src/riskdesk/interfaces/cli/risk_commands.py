"""``riskdesk risk …``: what-if checks, limits, trading state, monitors, sizing, flatten and
reports. Every command that changes the trading state or runs the monitors also carries the
state out on the paper venue (``bootstrap.risk_runtime``)."""

from __future__ import annotations

import math
import uuid
from dataclasses import asdict, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import typer
from pydantic import ValidationError as SettingsValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from riskdesk.application.kill_switch import Enforcement
from riskdesk.application.risk_service import decision_dict
from riskdesk.bootstrap.risk_runtime import RiskUpdate, enforce_state, mark_update
from riskdesk.bootstrap.risk_settings import settings_error
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import Runtime, build
from riskdesk.domain.errors import InvalidValue, StateError
from riskdesk.domain.fills import normalize_symbol
from riskdesk.domain.orders import OrderIntent, OrderType, TimeInForce
from riskdesk.domain.risk.books import book_label
from riskdesk.domain.risk.decisions import Denied
from riskdesk.domain.risk.monitors import Alert, Reading
from riskdesk.domain.risk.trading_state import StateChange, TradingState, TradingStatus
from riskdesk.domain.values import PositionSide, Side, positive, to_decimal, trim
from riskdesk.interfaces.cli import render
from riskdesk.interfaces.cli.common import DbOption, JsonOption, console, guard

risk_app = typer.Typer(
    help="Pre-trade checks, limits, kill switch, monitors and reports.", no_args_is_help=True
)


def _console() -> Console:
    return console


def _settings() -> Settings:
    """The settings; a bad value is a clear error naming the setting (exit status 2)."""
    try:
        return Settings()
    except SettingsValidationError as exc:
        raise settings_error(exc) from None


def _runtime(db: str | None, settings: Settings | None = None) -> Runtime:
    return build(settings or _settings(), db)


def _venue(settings: Settings) -> str:
    return settings.oms.paper.venue


def _close(rt: Runtime) -> None:
    rt.app.oms.close()
    rt.store.dispose()


def register(app: typer.Typer) -> None:
    """Add ``riskdesk risk`` to the root app."""
    app.add_typer(risk_app, name="risk")


_guard = guard


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f} %"


#: Limits that are money (reporting currency): exact decimal strings in JSON.
_MONEY_LIMITS = frozenset({"max_order_notional", "max_cost_per_day"})


def _analytics(value: Any) -> Any:
    """A float analytic as JSON: rounded to 8 decimals (ratios are fractions); other values,
    and containers of them, as they are."""
    if isinstance(value, float):
        return round(value, 8) if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_analytics(v) for v in value]
    if isinstance(value, dict):
        return {k: _analytics(v) for k, v in value.items()}
    return value


def _limit_json(name: str, value: Any) -> Any:
    """A limit in JSON: money as an exact decimal string, analytics rounded (README rule)."""
    if name in _MONEY_LIMITS and isinstance(value, int | float) and not isinstance(value, bool):
        return render.plain(trim(Decimal(repr(value))))
    return _analytics(value)


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
    """What-if: run every pre-trade check on an order without sending or storing it, against
    the book of its account (paper or real). Exit status 0: approved; 1: DENIED (a valid order
    that breaks a limit); 2: an input error (quantity or price not valid for the instrument,
    unknown account or symbol), naming the field."""
    console = _console()

    def run() -> Any:
        rt = _runtime(db)
        intent = OrderIntent(
            intent_id=f"what-if:{uuid.uuid4().hex[:12]}",
            account_id=account,
            venue=venue,
            symbol=normalize_symbol(symbol),
            side=Side.parse(side),
            qty=positive(qty, "qty"),
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
        rt.app.risk.validate(intent)  # input errors are errors (exit 2), not denials
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
        console.print(f"[bold green]APPROVED[/] ({decision.checks} checks ran)")
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
    """The active limits (preset plus overrides), monitor thresholds and the kill-switch
    policy (which state each trigger moves trading to)."""
    console = _console()
    settings = _guard(as_json, _settings)
    limits = settings.risk.to_limits()
    thresholds = settings.risk.to_thresholds()
    policy = settings.risk.to_policy()
    if as_json:
        render.dump_json(
            console,
            {
                "preset": settings.risk.preset,
                "limits": {k: _limit_json(k, v) for k, v in asdict(limits).items()},
                "thresholds": {k: _analytics(v) for k, v in asdict(thresholds).items()},
                "kill_switch": {k: _analytics(v) for k, v in asdict(policy).items()},
                "manual_mark_sources": list(settings.risk.manual_mark_sources),
                "paper_venue": settings.oms.paper.venue,
            },
        )
        return
    table = Table(
        title=f"Risk limits (preset {settings.risk.preset}; ratios are of total equity; an order "
        "may reach a limit, not exceed it)",
        title_justify="left",
    )
    table.add_column("limit")
    table.add_column("value", justify="right")
    for f in fields(limits):
        value = getattr(limits, f.name)
        table.add_row(f.name, "off" if value is None else str(value))
    console.print(table)
    monitor = Table(
        title="Monitor thresholds (a level is reached at its threshold)", title_justify="left"
    )
    monitor.add_column("threshold")
    monitor.add_column("value", justify="right")
    for f in fields(thresholds):
        monitor.add_row(f.name, str(getattr(thresholds, f.name)))
    console.print(monitor)
    kill = Table(
        title="Kill switch (a trigger fires when its value reaches the limit)",
        title_justify="left",
    )
    kill.add_column("trigger")
    kill.add_column("at", justify="right")
    kill.add_column("moves trading to")
    kill.add_row(
        "daily loss",
        "off" if limits.daily_loss_limit is None else _pct(limits.daily_loss_limit),
        policy.on_daily_loss,
    )
    kill.add_row("drawdown from peak equity", _pct(policy.drawdown_limit), policy.on_drawdown)
    kill.add_row(
        "liquidation emergency",
        f"{_pct(thresholds.liq_emergency)} from liquidation",
        policy.on_liquidation_emergency,
    )
    kill.add_row(
        "stale market data (feed marks)",
        f"{thresholds.stale_critical_seconds:g} s old",
        policy.on_stale_data,
    )
    kill.add_row(
        "mark set by hand (manual_marks_trip_stale_data)",
        f"{thresholds.manual_mark_max_age_seconds:g} s old"
        if policy.manual_marks_trip_stale_data
        else f"warning at {thresholds.manual_mark_max_age_seconds:g} s",
        policy.on_stale_data if policy.manual_marks_trip_stale_data else "(unchanged)",
    )
    kill.add_row(
        "position never marked (unmarked_trips_stale_data)",
        "as stale data" if policy.unmarked_trips_stale_data else "alert only, entries denied",
        policy.on_stale_data if policy.unmarked_trips_stale_data else "(unchanged)",
    )
    kill.add_row(
        "margin usage", f"{_pct(thresholds.margin_block)} of equity", policy.on_margin_block
    )
    kill.add_row("flatten: close attempts per position", str(policy.flatten_attempts), "")
    console.print(kill)
    console.print(
        f"Each book has its own checks, monitors and kill switch: the paper book (accounts on "
        f"venue {settings.oms.paper.venue}) and the real book (every other account). Marks "
        f"from {', '.join(settings.risk.manual_mark_sources)} count as set by hand.",
        highlight=False,
        markup=False,
    )


BookOption = Annotated[
    str | None,
    typer.Option(
        "--book",
        help="real (accounts not on the paper venue), paper (accounts on it) or all "
        "(default: the books that have accounts)",
    ),
]


def _books(rt: Runtime, book: str | None) -> list[str]:
    """The books a command acts on: ``--book`` (``all``: every book), else every book that has
    an account (every book when none has)."""
    split = rt.app.risk.split
    if book is not None and book.strip().lower() == "all":
        return list(split.books)
    if book is not None:
        return [split.parse(book, "book")]
    used = {split.book_of(a.venue) for a in rt.app.book.accounts()}
    return [name for name in split.books if name in used] or list(split.books)


def _since(status: TradingStatus) -> str:
    return "(never changed)" if status.since is None else f"since {render.when(status.since)}"


@risk_app.command("state")
def risk_state(book: BookOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """The trading state (kill switch) of each book (both unless --book) and its history."""
    console = _console()

    def run() -> list[tuple[str, TradingStatus, list[StateChange]]]:
        rt = _runtime(db)
        risk = rt.app.risk
        names = _books(rt, book if book is not None else "all")
        return [(name, risk.status(name), risk.history(name)) for name in names]

    states = _guard(as_json, run)
    if as_json:
        render.dump_json(
            console,
            {
                name: {
                    "state": status.state.label,
                    "since": status.since,
                    "trigger": status.trigger,
                    "reason": status.reason,
                    "by": status.by,
                    "history": [
                        {**asdict(h), "old": h.old.label, "new": h.new.label} for h in history
                    ],
                }
                for name, status, history in states
            },
        )
        return
    for name, status, history in states:
        console.print(
            f"{book_label(name)}: trading [bold]{status.state.label.upper()}[/] {_since(status)}"
            + (
                ""
                if status.since is None
                else f" ({escape(status.trigger)}: {escape(status.reason)}; by {escape(status.by)})"
            ),
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
    book: BookOption = None,
    db: DbOption = None,
) -> None:
    """Leave a kill-switch state; needs a reason, recorded in the history. Without --book,
    every book above the target state is reset."""
    console = _console()

    def run() -> list[tuple[str, TradingStatus]]:
        rt = _runtime(db)
        risk = rt.app.risk
        target = TradingState.parse(to, "to")
        names = _books(rt, book)
        if book is None:
            if not reason.strip():
                raise InvalidValue("a reset needs a reason", field="reason")
            names = [n for n in names if risk.status(n).state > target]
            if not names:
                raise StateError(f"no book is above {target.label}: nothing to reset", field="to")
        return [(n, risk.reset(reason, by, target, scope=n)[0]) for n in names]

    for name, status in _guard(False, run):
        console.print(
            f"{book_label(name)}: trading state is now {status.state.label} (reason recorded: "
            f"{status.reason})",
            highlight=False,
            markup=False,
        )


@risk_app.command("halt")
def risk_halt(
    reason: Annotated[str, typer.Option(help="why (required)")],
    state: Annotated[str, typer.Option(help="reducing, halted or flatten")] = "halted",
    by: Annotated[str, typer.Option(help="who")] = "cli",
    book: BookOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Trip the kill switch by hand (every book unless --book), and carry the state out on the
    paper venue (HALTED: working entries cancelled; FLATTEN: every position closed as well;
    positions of the real book are reported, to be closed where they are)."""
    console = _console()

    def run() -> list[tuple[str, TradingStatus, bool, Enforcement | None]]:
        settings = _settings()
        rt = _runtime(db, settings)
        done = []
        try:
            target = TradingState.parse(state)
            for name in _books(rt, book):
                status, change = rt.app.risk.escalate(target, "manual", reason, by, scope=name)
                enforced = enforce_state(rt.app, rt.store, _venue(settings), scope=name)
                done.append((name, status, change is not None, enforced))
        finally:
            _close(rt)
        return done

    done = _guard(as_json, run)
    if as_json:
        render.dump_json(
            console,
            {
                name: {"state": status.state.label, "changed": changed, **_enforced(enforced)}
                for name, status, changed, enforced in done
            },
        )
        return
    for name, status, changed, enforced in done:
        if not changed:
            console.print(
                f"{book_label(name)}: already {status.state.label}; nothing changed",
                highlight=False,
            )
        else:
            console.print(
                f"{book_label(name)}: trading state is now {status.state.label}", highlight=False
            )
        _print_enforcement(console, enforced)


def _enforced(done: Enforcement | None) -> dict[str, object]:
    if done is None:
        return {"cancelled": [], "closes": [], "skipped": [], "disarmed": []}
    return {
        "cancelled": [
            {"intent_id": o.intent.intent_id, "status": o.status.value} for o in done.cancelled
        ],
        "closes": [
            {
                "intent_id": o.intent.intent_id,
                "side": o.intent.side.value,
                "qty": o.intent.qty,
                "symbol": o.intent.symbol,
                "status": o.status.value,
            }
            for o in done.closes
        ],
        "skipped": list(done.skipped),
        "disarmed": [
            {"cond_id": c.cond_id, "kind": c.kind.value, "reason": c.reason} for c in done.disarmed
        ],
    }


def _print_enforcement(console: Console, done: Enforcement | None) -> None:
    if done is None:
        return
    for o in done.cancelled:
        console.print(
            f"  cancelled {o.intent.intent_id} ({o.intent.side.value} {o.intent.qty} "
            f"{o.intent.symbol}): {o.status.value}",
            highlight=False,
            markup=False,
        )
    for c in done.disarmed:
        console.print(
            f"  disarmed condition {c.cond_id} ({c.kind.value}: {c.intent.side.value} "
            f"{c.intent.qty} {c.intent.symbol})",
            highlight=False,
            markup=False,
        )
    for o in done.closes:
        console.print(
            f"  close {o.intent.side.value.upper()} {o.intent.qty} {o.intent.venue}:{o.intent.symbol} "
            f"({o.intent.account_id}): {o.status.value}",
            highlight=False,
            markup=False,
        )
    for note in done.skipped:
        console.print(f"  not done: {note}", highlight=False, markup=False)


@risk_app.command("monitor")
def risk_monitor(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Run every intraday monitor of every book once now (alerts are de-duplicated and
    stored); a trigger moves that book's kill switch and the paper book's state is carried out
    on the paper venue."""
    console = _console()

    def run() -> Any:
        settings = _settings()
        rt = _runtime(db, settings)
        try:
            return mark_update(rt.app, rt.store, _venue(settings), detail=True)
        finally:
            _close(rt)

    done = _guard(as_json, run)
    update = done.update
    if as_json:
        render.dump_json(
            console,
            {
                "as_of": update.monitor.as_of,
                "books": {
                    name: {
                        "state": part.monitor.state.state.label,
                        "changed": None
                        if part.monitor.change is None
                        else {
                            "from": part.monitor.change.old.label,
                            "to": part.monitor.change.new.label,
                            "trigger": part.monitor.change.trigger,
                            "reason": part.monitor.change.reason,
                        },
                        "readings": [_reading_json(r) for r in part.monitor.readings],
                        "alerts": [_reading_json(a) for a in part.monitor.alerts],
                    }
                    for name, part in update.books.items()
                },
                **_enforced(done.enforcement),
            },
        )
        return
    console.print(
        alerts_table(update.alerts, f"Alerts raised at {render.when(update.monitor.as_of)}")
    )
    for name, part in update.books.items():
        change = part.monitor.change
        if change is not None:
            console.print(
                f"kill switch ({book_label(name)}): {change.old.label} -> {change.new.label} "
                f"[{change.trigger}] {change.reason}",
                highlight=False,
                markup=False,
            )
        console.print(
            f"{book_label(name)}: trading {part.monitor.state.state.label}", highlight=False
        )
    _print_enforcement(console, done.enforcement)


def _reading_json(r: Reading | Alert) -> dict[str, object]:
    """A reading or an alert: its value and threshold are analytics, rounded to 8 decimals."""
    data = {**asdict(r), "level": r.level.label}
    data["value"] = _analytics(r.value)
    data["threshold"] = _analytics(r.threshold)
    return data


def print_mark_update(console: Console, done: RiskUpdate) -> None:
    """What a mark update's risk work did, in a few lines: alerts raised, a kill-switch move
    (naming the book), and what the state's enforcement did (nothing when all is quiet)."""
    update = done.update
    for a in update.alerts:
        console.print(
            f"alert {a.level.label}: {a.message}", highlight=False, markup=False, soft_wrap=True
        )
    for name, part in update.books.items():
        change = part.monitor.change
        if change is not None:
            console.print(
                f"kill switch ({book_label(name)}): trading {change.old.label} -> "
                f"{change.new.label} [{change.trigger}] {change.reason}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
    _print_enforcement(console, done.enforcement)


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
    leverage: Annotated[
        str | None, typer.Option(help="leverage (default: the account's, or --confidence)")
    ] = None,
    confidence: Annotated[
        float | None,
        typer.Option(help="signal confidence 0..1: the leverage comes from the configured tiers"),
    ] = None,
    win_rate: Annotated[
        float | None, typer.Option(help="win rate 0..1 (with --payoff: fractional Kelly cap)")
    ] = None,
    payoff: Annotated[
        float | None, typer.Option(help="average win / average loss (with --win-rate)")
    ] = None,
    risk: Annotated[
        str | None, typer.Option(help="risk fraction of equity (default: the limit)")
    ] = None,
    position_side: Annotated[
        str | None, typer.Option(help="long/short on hedge-mode accounts")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Position size from entry, stop and risk per trade (seed 002), within every limit given
    the position already held and the working orders; leverage by confidence; Kelly cap."""
    console = _console()

    def run() -> Any:
        rt = _runtime(db)
        try:
            return rt.app.risk.size(
                f"{venue}:{normalize_symbol(symbol)}",
                entry=positive(entry, "entry"),
                stop=positive(stop, "stop"),
                account_id=account,
                leverage=None if leverage is None else positive(leverage, "leverage"),
                risk_fraction=None if risk is None else to_decimal(risk, "risk"),
                confidence=confidence,
                win_rate=win_rate,
                payoff_ratio=payoff,
                position_side=PositionSide.parse(position_side),
            )
        finally:
            _close(rt)

    result = _guard(as_json, run)
    if as_json:
        render.dump_json(console, result)
        return
    console.print(
        f"quantity {render.qty(result.qty)} (notional {render.money(result.notional)}, risk "
        f"{render.money(result.risk_amount)} = {_pct(float(result.risk_fraction))}, leverage "
        f"{result.leverage:g}x); capped by {result.capped_by}",
        highlight=False,
    )
    console.print(result.explanation, highlight=False, markup=False)


@risk_app.command("flatten")
def risk_flatten(
    reason: Annotated[
        str | None, typer.Option(help="why (required unless --dry-run); recorded")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="only print the plan; change nothing")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    by: Annotated[str, typer.Option(help="who")] = "cli",
    book: BookOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """FLATTEN (every book unless --book): move trading to FLATTEN, cancel working entries and
    close every position on the paper venue with market orders (reduce-only where the venue
    takes it), largest risk contribution first; the protective stops stay until the closes
    fill. Positions elsewhere are reported, to be closed where they are. --dry-run prints the
    plan only."""
    console = _console()
    settings = _guard(as_json, _settings)
    if not dry_run and not (reason and reason.strip()):
        _guard(as_json, _needs_reason)
    if not dry_run and as_json and not yes:
        _guard(as_json, _needs_yes)
    rt = _guard(as_json, lambda: _runtime(db, settings))
    try:
        names = _guard(as_json, lambda: _books(rt, book))
        lines = _guard(
            as_json, lambda: [ln for n in names for ln in rt.app.risk.flatten_plan(scope=n)]
        )
        if dry_run or not as_json:
            _print_plan(console, lines, as_json, dry_run)
        if dry_run:
            return
        if not lines and not as_json:
            console.print("no open position: FLATTEN only cancels working entries", highlight=False)
        if not yes and not typer.confirm(
            "Move trading to FLATTEN and send these orders?", default=False
        ):
            console.print("nothing changed", highlight=False)
            raise typer.Exit(1)

        def act() -> list[tuple[str, TradingStatus, Enforcement | None]]:
            done = []
            for name in names:
                status, _ = rt.app.risk.escalate(
                    TradingState.FLATTEN, "manual", reason or "", by, scope=name
                )
                done.append(
                    (name, status, enforce_state(rt.app, rt.store, _venue(settings), scope=name))
                )
            return done

        done = _guard(as_json, act)
    finally:
        _close(rt)
    if as_json:
        render.dump_json(
            console,
            {
                name: {"state": status.state.label, **_enforced(enforced)}
                for name, status, enforced in done
            },
        )
        return
    for name, status, enforced in done:
        console.print(
            f"{book_label(name)}: trading state is now {status.state.label}", highlight=False
        )
        _print_enforcement(console, enforced)


def _needs_yes() -> None:
    raise InvalidValue("--json cannot ask for confirmation: add --yes", field="yes")


def _needs_reason() -> None:
    raise InvalidValue("a flatten needs a reason (--reason), or use --dry-run", field="reason")


def _print_plan(console: Console, lines: list[Any], as_json: bool, dry_run: bool) -> None:
    if as_json:
        render.dump_json(
            console,
            [
                {
                    "intent_id": ln.intent.intent_id,
                    "account_id": ln.intent.account_id,
                    "venue": ln.intent.venue,
                    "symbol": ln.intent.symbol,
                    "side": ln.intent.side.value,
                    "qty": ln.intent.qty,
                    "reduce_only": ln.intent.reduce_only,
                    "risk_contribution": ln.contribution,
                    "exposure": ln.exposure,
                }
                for ln in lines
            ],
        )
        return
    title = "FLATTEN plan" + (" (dry run: nothing is sent)" if dry_run else "")
    table = Table(
        title=f"{title}; largest contribution to the worst scenario loss first",
        title_justify="left",
    )
    for column in ("#", "Order", "Account", "Risk contribution", "Exposure"):
        table.add_column(column, justify="right" if column != "Order" else "left")
    for i, ln in enumerate(lines, start=1):
        o = ln.intent
        table.add_row(
            str(i),
            f"{o.side.value.upper()} {render.qty(o.qty)} {o.venue}:{o.symbol} MARKET"
            + (" reduce-only" if o.reduce_only else ""),
            o.account_id,
            f"{ln.contribution:,.2f}",
            f"{ln.exposure:,.2f}",
        )
    console.print(table)


@risk_app.command("report")
def risk_report(
    day: Annotated[bool, typer.Option("--day", help="daily report")] = False,
    week: Annotated[bool, typer.Option("--week", help="weekly report (ISO week)")] = False,
    month: Annotated[bool, typer.Option("--month", help="monthly report")] = False,
    on: Annotated[
        str | None, typer.Option(help="a date in the period (YYYY-MM-DD); default today")
    ] = None,
    book: Annotated[
        str | None,
        typer.Option(
            "--book",
            help="real or paper (default: real, or paper when every account is on the paper venue)",
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Daily / weekly / monthly risk report of one book (seed 004 §3.3): start equity at the
    period start, end equity, net cash flow (deposits and withdrawals, not P&L), P&L = end −
    start − net cash flow. Trades are realized reductions (every partial or full close); the
    period's last point is the latest revaluation."""
    console = _console()
    chosen = [name for name, flag in (("day", day), ("week", week), ("month", month)) if flag]
    if len(chosen) > 1:
        _guard(as_json, lambda: _one_period(chosen))
    period = chosen[0] if chosen else "day"

    def run() -> Any:
        rt = _runtime(db)
        try:
            anchor = _date(on) if on else rt.app.clock.now().date()
            return rt.app.risk.report(period, anchor, _report_book(rt, book))
        finally:
            _close(rt)

    report = _guard(as_json, run)
    if as_json:
        render.dump_json(console, report)
        return
    last_day = report.end - timedelta(days=1)  # the period's end is exclusive
    span = (
        f"{report.start:%Y-%m-%d}"
        if period == "day"
        else f"{report.start:%Y-%m-%d} .. {last_day:%Y-%m-%d}"
    )
    table = Table(
        title=f"Risk report, {book_label(report.book)}, {period} {span}",
        show_header=False,
        title_justify="left",
    )
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    rows = [
        (
            "Start / end equity",
            f"{render.money(report.start_equity)} / {render.money(report.end_equity)}",
        ),
        ("Net cash flow (deposits − withdrawals)", render.money(report.net_cash_flow)),
        ("P&L (end − start − net cash flow)", render.money(report.pnl)),
        ("Return", render.pct(report.return_pct)),
        ("Max drawdown", render.pct(report.max_drawdown)),
        ("Trades (realized reductions) / won", f"{report.trades} / {report.wins}"),
        ("Win rate", render.pct(report.win_rate)),
        (
            "Largest win / loss",
            f"{render.money(report.largest_win)} / {render.money(report.largest_loss)}",
        ),
        ("Peak leverage", "—" if report.peak_leverage is None else f"{report.peak_leverage:.2f}x"),
        ("Peak exposure-limit usage", render.pct(report.peak_exposure_usage)),
        ("Denied orders", f"{report.violations} {dict(report.violations_by_code) or ''}"),
    ]
    if report.start_equity_at is not None and report.start_equity_at != report.start:
        rows.insert(1, ("Start equity known from", render.when(report.start_equity_at)))
    if report.skipped_points:
        rows.append(("Points without positive equity (skipped)", str(report.skipped_points)))
    if report.unpriced:
        # Their flows and trades are left out: say so rather than print a quietly short total.
        rows.append(("Without a rate (left out of flows and P&L)", ", ".join(report.unpriced)))
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


def _report_book(rt: Runtime, book: str | None) -> str | None:
    """``--book``, else the real book unless every account is on the paper venue."""
    split = rt.app.risk.split
    if book is not None:
        return split.parse(book, "book")
    books = {split.book_of(a.venue) for a in rt.app.book.accounts()}
    return books.pop() if len(books) == 1 else split.books[0]


def _one_period(chosen: list[str]) -> None:
    raise InvalidValue(
        f"choose one period: --{' and --'.join(chosen)} were given together", field="period"
    )


def _date(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).date()
    except ValueError:
        raise InvalidValue(f"{text!r} is not a date (YYYY-MM-DD)", field="on") from None
