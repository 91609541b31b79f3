"""``riskdesk governance …`` and ``riskdesk manage``: governed positions, their stops and ladders,
management plans (dry run or stored), stored plans and governance events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.table import Table

from riskdesk.application.demo_governance import PaperReport
from riskdesk.application.fill_rows import parse_timestamp
from riskdesk.application.governance_service import CheckedPlan, GovernanceView, TickResult
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import Runtime, build
from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.values import positive
from riskdesk.interfaces.cli import render
from riskdesk.interfaces.cli.common import DbOption, JsonOption, console, guard

governance_app = typer.Typer(
    help="Position governance: stops, trailing and lock-profit ladders, take-profit ladders, "
    "add-ons and exits.",
    no_args_is_help=True,
)

AtOption = Annotated[
    str | None, typer.Option("--at", help="tick time (ISO 8601 with offset); default now")
]


def _runtime(db: str | None) -> Runtime:
    return build(Settings(), db)


def register(app: typer.Typer) -> None:
    """Add ``riskdesk governance`` and ``riskdesk manage`` to the root app."""
    app.add_typer(governance_app, name="governance")
    app.command("manage")(manage)


def _value(value: Decimal | None) -> str:
    return "—" if value is None else render.price(value)


def _size(value: Decimal | None) -> str:
    return "—" if value is None else render.qty(value)


def _action_cells(kind: str, old: Decimal | None, new: Decimal | None) -> tuple[str, str]:
    """``(stop price old → new, size old → new)``: a stop action moves a price, a REDUCE / ADD /
    CLOSE changes the position size; the other column is blank."""
    if kind in ("PLACE_STOP", "MOVE_STOP"):
        return f"{_value(old)} → {_value(new)}", ""
    if kind in ("REDUCE", "ADD", "CLOSE"):
        return "", f"{_size(old)} → {_size(new)}"
    return "", ""


def plans_table(plans: Sequence[CheckedPlan], title: str) -> Table:
    """One row per action: when, position, action, stop price old → new (stop actions), size
    old → new (REDUCE / ADD / CLOSE), order size, risk decision, reason."""
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in (
        "Time",
        "Position",
        "Action",
        "Stop price old → new",
        "Size old → new",
        "Order qty",
        "Risk",
        "Reason",
    ):
        table.add_column(column, overflow="fold")
    for checked in plans:
        plan = checked.plan
        for action in plan.actions:
            check = checked.check_of(action.intent_id)
            if check is None:
                risk = "—"
            elif check.approved:
                risk = "[green]approved[/]"
            else:
                risk = f"[red]denied[/] [{check.code}] {check.reason}"
            stop, size = _action_cells(action.kind.value, action.old_value, action.new_value)
            table.add_row(
                render.when(plan.created_at),
                f"{checked.symbol} {checked.side}\n{plan.account_id}",
                action.kind.value,
                stop,
                size,
                "—" if action.qty is None else render.qty(action.qty),
                risk,
                action.reason,
            )
    return table


def paper_table(report: PaperReport, title: str) -> Table:
    """The demo's governed paper trading, one row per executed action or order-path event:
    stop prices and position sizes in separate columns, what the order path did, and why."""
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in (
        "Time",
        "Position",
        "Action / event",
        "Stop price old → new",
        "Size old → new",
        "Order qty",
        "Executed",
        "Reason",
    ):
        table.add_column(column, overflow="fold")
    for e in report.events:
        if e.kind in ("PLACE_STOP", "MOVE_STOP"):
            stop = f"{_value(e.stop_from)} → {_value(e.stop_to)}"
        else:
            stop = ""
        size = f"{_size(e.size_from)} → {_size(e.size_to)}" if e.size_to is not None else ""
        table.add_row(
            render.when(e.ts),
            f"{e.symbol} {e.side}\n{e.account_id}".strip(),
            e.kind,
            stop,
            size,
            "" if e.qty is None else render.qty(e.qty),
            e.result,
            e.reason,
        )
    return table


def _steps(view: GovernanceView) -> str:
    parts = []
    for step in view.steps:
        mark = "✓" if step.done else "·"
        parts.append(f"{mark} {step.label} {step.trigger} ({step.fraction * 100:g} %)")
    return "\n".join(parts) or "—"


def _venue_stop(view: GovernanceView) -> str:
    """The stop working at the venue for a governed position, in words (``none`` when nothing
    protects it there: the plan has not been executed, or the stop was refused)."""
    w = view.venue_stop
    if w is None:
        return "none"
    text = f"{render.price(w.level)} × {render.qty(w.qty)} ({w.mode.value})"
    if w.pending is not None:
        verb = "deferred move" if w.pending.deferred else "moving"
        text += f", {verb} to {render.price(w.pending.level)}"
    return text


def _venue_json(view: GovernanceView) -> dict[str, object] | None:
    w = view.venue_stop
    if w is None:
        return None
    return {
        "level": w.level,
        "qty": w.qty,
        "mode": w.mode.value,
        "order_id": w.order_id,
        "pending": None if w.pending is None else w.pending.level,
    }


def _show_table(views: Sequence[GovernanceView]) -> Table:
    table = Table(
        title="Governed positions: stops and ladders", title_justify="left", show_lines=True
    )
    for column in (
        "Position",
        "Qty",
        "Entry",
        "Mark",
        "ROE",
        "Profile / state",
        "Stop",
        "R",
        "Next lock tier",
        "Take-profit ladder",
        "Add-ons",
    ):
        table.add_column(column, overflow="fold")
    for v in views:
        s = v.state
        if s.stop_price is None:
            stop = "none yet" if not s.lifecycle.terminal else "—"
        elif s.lifecycle.terminal:
            # The position is flat: its last stop is history, not a working order.
            stop = f"none (last {render.price(s.stop_price)} × {render.qty(s.stop_qty)})"
        else:
            stop = f"{render.price(s.stop_price)} × {render.qty(s.stop_qty)}\n({s.stop_rule})"
            if v.stop_differs:
                # What actually protects the position until the venue holds the governed stop.
                stop += f"\nat the venue: {_venue_stop(v)}"
        risk = "—" if s.risk_per_unit is None else render.price(s.risk_per_unit)
        table.add_row(
            f"{v.symbol} {v.side}\n{s.account_id}",
            "—" if v.qty is None else render.qty(abs(v.qty)),
            _value(v.entry),
            _value(v.mark),
            render.pct(v.roe),
            f"{s.profile.name}\n{s.lifecycle.value}",
            stop,
            risk,
            v.next_lock,
            _steps(v),
            v.add_ons,
        )
    return table


@governance_app.command("show")
def governance_show(
    include_closed: Annotated[
        bool, typer.Option("--all", help="closed and failed positions too")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Governed positions with their active stop, lock tier, take-profit ladder and add-ons; the
    stop working at the venue is shown next to the governed one when they differ."""

    def run() -> list[GovernanceView]:
        return _runtime(db).app.governance.overview(include_closed=include_closed)

    views = guard(as_json, run)
    if as_json:
        render.dump_json(
            console,
            [
                {
                    **v.state.to_dict(),
                    "symbol": v.symbol,
                    "side": v.side,
                    "qty": v.qty,
                    "entry": v.entry,
                    "mark": v.mark,
                    "roe": v.roe,
                    "steps": [render.to_jsonable(step) for step in v.steps],
                    "next_lock": v.next_lock,
                    "add_ons": v.add_ons,
                    "venue_stop": _venue_json(v),
                    "venue_stop_differs": v.stop_differs,
                }
                for v in views
            ],
        )
        return
    if not views:
        console.print(
            "no open governed positions: run `riskdesk manage` (a tick adopts them); "
            "--all lists closed ones"
        )
        return
    console.print(_show_table(views))


@governance_app.command("plans")
def governance_plans(
    since: Annotated[str | None, typer.Option(help="from (ISO 8601)")] = None,
    limit: Annotated[int | None, typer.Option(help="the newest N plans")] = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stored management plans with when, why and the pre-trade decisions."""

    def run() -> Any:
        start = parse_timestamp(since, "since") if since else None
        return _runtime(db).app.governance.plans(start, None, limit)

    plans = guard(as_json, run)
    if as_json:
        render.dump_json(console, plans)
        return
    table = Table(title="Stored management plans", title_justify="left")
    for column in ("Time", "Plan", "Position", "Profile", "Status", "Why"):
        table.add_column(column, overflow="fold")
    for p in plans:
        table.add_row(render.when(p.ts), p.plan_id, p.instrument_key, p.profile, p.status, p.why)
    console.print(table)


@governance_app.command("events")
def governance_events(
    kind: Annotated[
        str | None, typer.Option(help="STAGNATED, LIFECYCLE, STOP_CROSSED, ORDER_DENIED")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="the newest N events")] = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Governance events (stagnation, lifecycle changes, crossed stops, refused orders)."""
    events = guard(as_json, lambda: _runtime(db).app.governance.events(None, kind, limit))
    if as_json:
        render.dump_json(console, [e.to_dict() for e in events])
        return
    table = Table(title="Governance events", title_justify="left")
    for column in ("Time", "Kind", "Position", "Message"):
        table.add_column(column, overflow="fold")
    for e in events:
        table.add_row(render.when(e.ts), e.kind, e.position_id or e.intent_id, e.message)
    console.print(table)


@governance_app.command("attach")
def governance_attach(
    position_id: Annotated[str, typer.Argument(help="position id (riskdesk positions --json)")],
    profile: Annotated[str, typer.Option(help="profile name (riskdesk config lists them)")],
    stop: Annotated[str | None, typer.Option(help="a given protective stop level")] = None,
    activation: Annotated[
        str | None, typer.Option(help="trailing activation price (exchange style)")
    ] = None,
    invalidation: Annotated[
        str | None,
        typer.Option(
            help='JSON list of conditions, e.g. \'[{"timeframe": "1h", "close_below": 41500}]\''
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Attach a profile (and per-position stop, activation, invalidation) to a position."""

    def run() -> None:
        conditions = None
        if invalidation is not None:
            try:
                parsed = json.loads(invalidation)
            except json.JSONDecodeError as exc:
                raise InvalidValue(f"not valid JSON ({exc.msg})", field="invalidation") from None
            if not isinstance(parsed, list) or not all(isinstance(c, dict) for c in parsed):
                raise InvalidValue("expected a JSON list of objects", field="invalidation")
            conditions = parsed
        gov = _runtime(db).app.governance
        before = next((s for s in gov.states() if s.position_id == position_id), None)
        state = gov.attach(
            position_id,
            profile,
            stop=None if stop is None else positive(stop, "stop"),
            activation_price=None if activation is None else positive(activation, "activation"),
            invalidation=conditions,
        )
        console.print(
            f"{position_id}: profile {state.profile.name} ({state.lifecycle.value}); "
            "takes effect at the next tick",
            highlight=False,
        )
        level = state.stop_override
        if stop is None or level is None:
            return
        placed = None if before is None else before.stop_price
        if placed is None:
            what = "the initial stop (R = |entry − stop|)"
        elif level == placed:
            what = "already the governed stop: nothing to move"
        else:
            what = f"replaces the governed stop {render.price(placed)} (R unchanged)"
        console.print(f"stop {render.price(level)}: {what}", highlight=False)

    guard(False, run)


def manage(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="plan and check without storing anything")
    ] = False,
    at: AtOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run one management tick over the book and print the plans (stored unless --dry-run)."""

    def run() -> TickResult:
        rt = _runtime(db)
        now = parse_timestamp(at, "at") if at else None
        return rt.app.governance.tick(now, dry_run=dry_run)

    result = guard(as_json, run)
    if as_json:
        render.dump_json(
            console,
            {
                "as_of": result.as_of,
                "dry_run": result.dry_run,
                "positions": result.positions,
                "screened": result.screened,
                "plans": [p.to_dict() for p in result.plans],
                "events": [e.to_dict() for e in result.events],
            },
        )
        return
    mode = "dry run: nothing stored" if dry_run else "plans stored"
    console.print(
        f"management tick at {render.when(result.as_of)} ({mode}): {result.positions} governed "
        f"position(s), {result.screened} screened, {len(result.plans)} plan(s) "
        f"in {result.elapsed_seconds * 1000:.0f} ms"
    )
    if result.plans:
        console.print(plans_table(result.plans, "Management plans"))
    for event in result.events:
        if event.kind != "LIFECYCLE":
            console.print(f"{event.kind}: {event.message}", highlight=False)
