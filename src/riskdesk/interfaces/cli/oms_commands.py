"""``riskdesk orders …``, ``conditional …``, ``paper …``, ``run``, ``reconcile`` and
``transfer …``: the order manager, emulated conditional orders, the paper venue, the engine
loop on a replay, reconciliation with the venue and SPOT → FUT transfers."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from types import FrameType
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from riskdesk.application.engine import StepReport
from riskdesk.application.transfer_service import TransferService
from riskdesk.bootstrap.oms_runtime import OmsRuntime, open_oms, replay_run
from riskdesk.bootstrap.oms_wiring import open_paper_account, paper_twins
from riskdesk.bootstrap.risk_runtime import RiskUpdate, mark_update
from riskdesk.bootstrap.settings import Settings
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.conditional import ConditionalOrder, ConditionKind
from riskdesk.domain.errors import InvalidValue, RiskdeskError, UnknownInstrument
from riskdesk.domain.fills import MarginMode, normalize_symbol
from riskdesk.domain.governance import GovernanceState
from riskdesk.domain.matching import Quote
from riskdesk.domain.order_lifecycle import Order, OrderRole, OrderStatus, order_to_dict
from riskdesk.domain.orders import OrderIntent, OrderType, TimeInForce, TriggerPrice
from riskdesk.domain.protection import Protection, crossed
from riskdesk.domain.transfers import TransferRequest, TransferStatus
from riskdesk.domain.values import PositionSide, Side, positive, to_decimal
from riskdesk.interfaces.cli import render, risk_commands
from riskdesk.interfaces.cli.common import DbOption, JsonOption, console, err_console, guard

T = TypeVar("T")

orders_app = typer.Typer(
    help="Orders: submit, cancel, amend, bulk, protective stops.", no_args_is_help=True
)
conditional_app = typer.Typer(help="Emulated conditional and linked orders.", no_args_is_help=True)
paper_app = typer.Typer(help="The paper venue: accounts and prices.", no_args_is_help=True)
transfer_app = typer.Typer(help="SPOT -> FUT margin transfers.", no_args_is_help=True)

AccountOpt = Annotated[str | None, typer.Option("--account", "-a", help="limit to one account")]
CloseIfThroughOpt = Annotated[
    bool,
    typer.Option(
        "--close-if-through",
        help="allow a stop at or through the mark: the position is closed at market at once",
    ),
]
VenueOpt = Annotated[str | None, typer.Option(help="limit to one venue")]
SymbolOpt = Annotated[str | None, typer.Option(help="limit to one symbol")]


def register(app: typer.Typer) -> None:
    """Add the order-management commands to the root app."""
    app.add_typer(orders_app, name="orders")
    app.add_typer(conditional_app, name="conditional")
    app.add_typer(paper_app, name="paper")
    app.add_typer(transfer_app, name="transfer")
    app.command("run")(run)
    app.command("reconcile")(reconcile)


def _with_oms(db: str | None, as_json: bool, action: Callable[[OmsRuntime], T]) -> T:
    def call() -> T:
        runtime = open_oms(Settings(), db)
        try:
            return action(runtime)
        finally:
            runtime.close()

    return guard(as_json, call)


def _dec(value: str | None, field: str) -> Decimal | None:
    return None if value is None else to_decimal(value, field)


def _symbol(value: str | None) -> str | None:
    return None if value is None else normalize_symbol(value)


# ---------------------------------------------------------------------------------- views


def order_row(o: Order) -> dict[str, object]:
    """JSON-safe order with its client id."""
    return {**order_to_dict(o), "client_order_id": o.client_order_id}


def _orders_table(orders: list[Order], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in (
        "created",
        "intent",
        "role",
        "symbol",
        "side",
        "type",
        "qty",
        "price",
        "stop",
        "filled",
        "avg",
        "status",
        "reason",
    ):
        table.add_column(column)
    for o in orders:
        i = o.intent
        table.add_row(
            render.when(o.created_at),
            i.intent_id,
            o.role.value,
            i.symbol,
            i.side.value,
            i.order_type.value + (" RO" if i.reduce_only else ""),
            str(i.qty),
            "" if i.price is None else str(i.price),
            "" if i.stop_price is None else str(i.stop_price),
            str(o.filled_qty),
            "" if o.avg_price is None else f"{o.avg_price:.8g}",
            o.status.value,
            o.reason,
        )
    return table


def protection_row(p: Protection) -> dict[str, object]:
    """JSON-safe protection."""
    return {
        "key": p.key,
        "account_id": p.account_id,
        "instrument_key": p.instrument_key,
        "slot": p.slot.value,
        "side": "long" if p.direction > 0 else "short",
        "level": str(p.level),
        "qty": str(p.qty),
        "trigger": p.trigger.value,
        "mode": p.mode.value,
        "order_id": p.order_id,
        "cond_id": p.cond_id,
        "generation": p.generation,
        "updated_at": p.updated_at.isoformat(),
        "reason": p.reason,
        "pending": None if p.pending is None else p.pending.to_dict(),
    }


def cond_row(c: ConditionalOrder) -> dict[str, object]:
    """JSON-safe conditional order."""
    return {
        "cond_id": c.cond_id,
        "status": c.status.value,
        "kind": c.kind.value,
        "watch": c.watch,
        "source": c.source.value,
        "level": None if c.level is None else str(c.level),
        "activation": None if c.activation is None else str(c.activation),
        "callback": None if c.callback is None else str(c.callback),
        "extreme": None if c.extreme is None else str(c.extreme),
        "link": c.link.value,
        "group": c.group,
        "parent": c.parent,
        "role": c.role,
        "reason": c.reason,
        "order": {
            "intent_id": c.intent.intent_id,
            "symbol": c.intent.symbol,
            "side": c.intent.side.value,
            "qty": str(c.intent.qty),
            "type": c.intent.order_type.value,
            "reduce_only": c.intent.reduce_only,
        },
    }


def transfer_row(t: TransferRequest) -> dict[str, object]:
    """JSON-safe transfer request."""
    return {
        "transfer_id": t.transfer_id,
        "status": t.status.value,
        "from": t.from_account,
        "to": t.to_account,
        "currency": t.currency,
        "amount": str(t.amount),
        "created_at": t.created_at.isoformat(),
        "updated_at": t.updated_at.isoformat(),
        "reason": t.reason,
        "free_fut": str(t.free_fut),
        "free_spot": str(t.free_spot),
        "approved_by": t.approved_by,
        "error": t.error,
    }


def _print_order(o: Order) -> None:
    i = o.intent
    console.print(
        f"{i.intent_id} [{o.client_order_id}] {i.side.value} {i.qty} {i.symbol} {i.order_type.value}"
        f"{' reduce-only' if i.reduce_only else ''}: {o.status.value.upper()}"
        f"{f' filled {o.filled_qty} @ {o.avg_price:.8g}' if o.avg_price is not None else ''}"
        f"{f' — {o.reason}' if o.reason else ''}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


# ---------------------------------------------------------------------------------- orders


@orders_app.command("list")
def orders_list(
    show_all: Annotated[bool, typer.Option("--all", help="include finished orders")] = False,
    account: AccountOpt = None,
    symbol: SymbolOpt = None,
    limit: Annotated[int, typer.Option(help="newest N")] = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Working orders (or every order with --all)."""

    def act(r: OmsRuntime) -> list[Order]:
        statuses = (
            None
            if show_all
            else [
                OrderStatus.CREATED,
                OrderStatus.PENDING_SUBMIT,
                OrderStatus.OPEN,
                OrderStatus.PARTIALLY_FILLED,
                OrderStatus.CANCEL_PENDING,
            ]
        )
        return r.oms.orders.orders(statuses, account, _symbol(symbol), limit)

    found = _with_oms(db, as_json, act)
    if as_json:
        render.dump_json(console, [order_row(o) for o in found])
        return
    console.print(_orders_table(found, "Orders" if show_all else "Working orders"))


@orders_app.command("show")
def orders_show(
    ref: Annotated[str, typer.Argument(help="intent id or client order id")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One order and every transition it went through."""

    def act(r: OmsRuntime) -> tuple[Order, list[dict[str, object]]]:
        order = r.oms.orders.require(ref)
        return order, r.oms.orders.events(ref)

    order, events = _with_oms(db, as_json, act)
    if as_json:
        render.dump_json(console, {"order": order_row(order), "events": events})
        return
    _print_order(order)
    for e in events:
        console.print(
            f"  {e.get('ts')}  {e.get('kind')}  {_event_change(e)}  {e.get('reason') or ''}",
            highlight=False,
            markup=False,
        )


def _event_change(e: dict[str, object]) -> str:
    """``old -> new`` of a transition; the terms an amendment changed (``price 7000 -> 7100``)."""
    if e.get("kind") != "order_amended":
        return f"{e.get('old') or '·'} -> {e.get('new') or '·'}"
    changes = [
        f"{name} {e.get(f'old_{field}') or '·'} -> {e.get(f'new_{field}') or '·'}"
        for name, field in (("qty", "qty"), ("price", "price"), ("trigger", "stop_price"))
        if e.get(f"old_{field}") != e.get(f"new_{field}")
    ]
    return ", ".join(changes) or "no change"


@orders_app.command("submit")
def orders_submit(
    symbol: Annotated[str, typer.Argument(help="instrument symbol (any form)")],
    venue: Annotated[str, typer.Option(help="venue (paper)")],
    account: Annotated[str, typer.Option("--account", "-a", help="account")],
    side: Annotated[str, typer.Option(help="buy or sell")],
    qty: Annotated[str, typer.Option(help="quantity in contracts")],
    order_type: Annotated[
        str,
        typer.Option(
            "--type", help="market, limit, stop_market, stop_limit, take_profit, take_profit_limit"
        ),
    ] = "market",
    price: Annotated[str | None, typer.Option(help="limit price")] = None,
    stop_price: Annotated[str | None, typer.Option(help="trigger price")] = None,
    reduce_only: Annotated[bool, typer.Option("--reduce-only", help="may only reduce")] = False,
    post_only: Annotated[bool, typer.Option("--post-only", help="maker only")] = False,
    tif: Annotated[str, typer.Option(help="gtc, ioc, fok, day")] = "gtc",
    trigger: Annotated[str, typer.Option(help="trigger price: mark, last, index")] = "mark",
    leverage: Annotated[str | None, typer.Option(help="leverage of a margined entry")] = None,
    protective_stop: Annotated[
        str | None, typer.Option("--stop", help="protective stop level")
    ] = None,
    position_side: Annotated[
        str | None, typer.Option(help="long/short on hedge-mode accounts")
    ] = None,
    intent_id: Annotated[
        str | None, typer.Option(help="idempotency key (default: a new one)")
    ] = None,
    close_if_through: CloseIfThroughOpt = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit an order through pre-trade risk; the protective stop follows at once. A --stop
    at or through the mark (a buy's stop must be below it, a sell's above) is refused unless
    --close-if-through."""

    def act(
        r: OmsRuntime,
    ) -> tuple[Order, Protection | None, GovernanceState | None, Decimal | None]:
        try:
            kind = OrderType(order_type.strip().lower())
        except ValueError:
            raise InvalidValue(f"unknown order type {order_type!r}", field="type") from None
        try:
            force = TimeInForce(tif.strip().lower())
        except ValueError:
            raise InvalidValue(f"expected gtc, ioc, fok or day, got {tif!r}", field="tif") from None
        try:
            watch = TriggerPrice(trigger.strip().lower())
        except ValueError:
            raise InvalidValue(
                f"expected mark, last or index, got {trigger!r}", field="trigger"
            ) from None
        intent = OrderIntent(
            intent_id=intent_id or f"cli:{uuid.uuid4().hex[:16]}",
            account_id=account,
            venue=venue,
            symbol=normalize_symbol(symbol),
            side=Side.parse(side),
            qty=to_decimal(qty, "qty"),
            order_type=kind,
            price=_dec(price, "price"),
            stop_price=_dec(stop_price, "stop_price"),
            reduce_only=reduce_only,
            post_only=post_only,
            tif=force,
            position_side=PositionSide.parse(position_side),
            trigger=watch,
            leverage=None if leverage is None else positive(leverage, "leverage"),
            protective_stop=None if protective_stop is None else positive(protective_stop, "stop"),
            source="manual",
            created_at=r.rt.app.clock.now(),
        )
        _paper_instrument(r, intent.venue, intent.symbol)
        # The stop as the venue and governance place it: on the tick grid, rounded the safe way.
        named = (
            None
            if intent.protective_stop is None
            else r.oms.orders.instrument(intent.instrument_key).make_stop_price(
                intent.protective_stop, intent.side is Side.BUY
            )
        )
        if intent.protective_stop is not None and not intent.reduce_only and not close_if_through:
            _check_entry_stop(r, intent, intent.protective_stop, "stop")
        order, governed = r.oms.submit_manual(intent, r.rt.app.governance)
        return order, _slot_protection(r, intent), governed, named

    order, protection, governed, named = _with_oms(db, as_json, act)
    if as_json:
        render.dump_json(console, order_row(order))
    else:
        _print_order(order)
        if protection is not None and order.filled_qty > 0:
            _print_protection(protection)
            if named is not None and protection.pending is None and named != protection.level:
                console.print(
                    f"  the position already had its stop: it stays at {protection.level} "
                    f"(riskdesk orders move-stops {order.intent.protective_stop} "
                    f"-a {protection.account_id} "
                    f"--symbol {protection.symbol} moves it)",
                    highlight=False,
                    markup=False,
                )
        if governed is not None:
            console.print(
                f"  governed ({governed.profile.name}): the stop {named} is its initial stop "
                "and sets R = |entry − stop| for the take-profit ladder (the next management "
                "tick takes it over)",
                highlight=False,
                markup=False,
            )
    if order.status in (OrderStatus.REJECTED, OrderStatus.FAILED):
        raise typer.Exit(1)


def _paper_instrument(r: OmsRuntime, venue: str, symbol: str) -> None:
    """A clear error for an instrument the connected (paper) venue does not list, naming the
    real venues that do and how to create its paper twin."""
    key = f"{venue}:{symbol}"
    try:
        r.oms.orders.instrument(key)
    except RiskdeskError:
        if venue != r.oms.broker.venue:
            raise
        real = sorted(i.venue for i in r.rt.app.book.instruments() if i.symbol == symbol)
        hint = (
            f"{', '.join(real)} list{'s' if len(real) == 1 else ''} {symbol}: create its paper "
            f"twin with `riskdesk paper open ACCOUNT --like {real[0]}`"
            if real
            else f"add it with `riskdesk instruments add {symbol} --venue {venue} …`"
        )
        raise UnknownInstrument(
            f"no instrument {key!r} on the paper venue; {hint}", field="symbol"
        ) from None


def _check_entry_stop(r: OmsRuntime, intent: OrderIntent, stop: Decimal, field: str) -> None:
    """An entry's stop must lie below the mark (and a limit price) for a buy, above for a sell:
    a stop already through would close the new position at market at once."""
    direction = 1 if intent.side is Side.BUY else -1
    r.oms.supervisor.check_level(intent.instrument_key, direction, stop, field)
    limit = intent.price
    if limit is not None and crossed(direction, stop, limit):
        raise InvalidValue(
            f"stop {stop} is {'at or above' if direction > 0 else 'at or below'} the limit price "
            f"{limit} of a {intent.side.value}: it would close the position as soon as it "
            "fills (confirm with --close-if-through to allow it)",
            field=field,
        )


def _slot_protection(r: OmsRuntime, intent: OrderIntent) -> Protection | None:
    slot = intent.position_side
    for p in r.oms.supervisor.protections():
        if (
            p.account_id == intent.account_id
            and p.instrument_key == intent.instrument_key
            and p.slot is slot
        ):
            return p
    return None


def _print_protection(p: Protection) -> None:
    covered = "" if p.pending is None else f", moving to {p.pending.level}"
    carrier = p.order_id or p.cond_id or "closed at market"
    console.print(
        f"  protective stop {p.level} for {p.qty} ({p.mode.value}, {carrier}{covered})",
        highlight=False,
        markup=False,
    )


@orders_app.command("cancel")
def orders_cancel(
    ref: Annotated[str, typer.Argument(help="intent id or client order id")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cancel an order (it may have filled first: the final state is printed)."""

    def act(r: OmsRuntime) -> Order:
        order = r.oms.orders.cancel(ref, "canceled by hand")
        r.oms.settle()
        return order

    order = _with_oms(db, as_json, act)
    render.dump_json(console, order_row(order)) if as_json else _print_order(order)


@orders_app.command("amend")
def orders_amend(
    ref: Annotated[str, typer.Argument(help="intent id or client order id")],
    qty: Annotated[str | None, typer.Option(help="new total quantity")] = None,
    price: Annotated[str | None, typer.Option(help="new limit price")] = None,
    stop_price: Annotated[str | None, typer.Option(help="new trigger price")] = None,
    close_if_through: CloseIfThroughOpt = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Amend a working order (native amend, else atomic cancel-replace). A protective stop's
    new trigger at or through the mark is refused unless --close-if-through (which closes the
    position at market)."""

    def act(r: OmsRuntime) -> tuple[Order, Order, str]:
        before = r.oms.orders.require(ref)
        level = _dec(stop_price, "stop_price")
        if level is not None and before.role is OrderRole.PROTECTIVE_STOP:
            i = before.intent
            direction = 1 if i.side is Side.SELL else -1  # a sell stop protects a long
            if not close_if_through:
                r.oms.supervisor.check_level(i.instrument_key, direction, level, "stop_price")
            elif qty is None and price is None:
                # Confirmed: the supervisor moves the stop, or closes the position at market when
                # the level is through the mark.
                done = r.oms.supervisor.set_stop(
                    i.account_id, i.instrument_key, i.position_side, level, reason="amended by hand"
                )
                r.oms.settle()
                after = r.oms.orders.get(done.order_id or before.client_order_id) or before
                note = "" if done.order_id or done.cond_id else done.reason
                return before, after, note
        after = r.oms.orders.amend(
            ref,
            qty=_dec(qty, "qty"),
            price=_dec(price, "price"),
            stop_price=level,
        )
        return before, after, ""

    before, order, note = _with_oms(db, as_json, act)
    if as_json:
        render.dump_json(console, order_row(order))
        return
    _print_order(order)
    if note:
        console.print(f"  {note}", highlight=False, markup=False)
    for name, old, new in (
        ("qty", before.intent.qty, order.intent.qty),
        ("price", before.intent.price, order.intent.price),
        ("trigger", before.intent.stop_price, order.intent.stop_price),
    ):
        if old != new:
            console.print(f"  {name} {old or '·'} → {new or '·'}", highlight=False, markup=False)
    if order.client_order_id != before.client_order_id:
        console.print(
            f"  replaced by {order.intent.intent_id} (cancel-replace)",
            highlight=False,
            markup=False,
        )


@orders_app.command("cancel-all")
def orders_cancel_all(
    account: AccountOpt = None,
    venue: VenueOpt = None,
    symbol: SymbolOpt = None,
    include_stops: Annotated[
        bool, typer.Option("--include-stops", help="protective stops too")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cancel every working order in scope (protective stops stay unless --include-stops)."""
    done = _with_oms(
        db,
        as_json,
        lambda r: r.oms.orders.cancel_all(account, venue, _symbol(symbol), include_stops),
    )
    if as_json:
        render.dump_json(console, [order_row(o) for o in done])
        return
    console.print(f"{len(done)} order(s) cancelled", highlight=False)
    for o in done:
        _print_order(o)


@orders_app.command("close-all")
def orders_close_all(
    account: AccountOpt = None,
    venue: VenueOpt = None,
    symbol: SymbolOpt = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close every position in scope at market (reduce-only) and cancel orders that could
    re-open them; protective stops are released once flat."""

    def act(r: OmsRuntime) -> list[Order]:
        done = r.oms.orders.close_all(account, venue, _symbol(symbol))
        r.oms.settle()
        return done

    done = _with_oms(db, as_json, act)
    if as_json:
        render.dump_json(console, [order_row(o) for o in done])
        return
    for o in done:
        _print_order(o)


@orders_app.command("stops")
def orders_stops(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Protective stops: one per open position (native at the venue, or a guard). A stop whose
    position has closed is listed apart (the next protection pass releases it)."""

    def act(r: OmsRuntime) -> tuple[list[Protection], dict[str, bool], list[Protection]]:
        closed = r.oms.supervisor.closed()
        gone = {p.key for p in closed}
        found = [p for p in r.oms.supervisor.protections() if p.key not in gone]
        return found, r.oms.supervisor.covered(), closed

    found, covered, closed = _with_oms(db, as_json, act)
    if as_json:
        render.dump_json(
            console,
            {
                "protections": [protection_row(p) for p in found],
                "covered": covered,
                "closed": [protection_row(p) for p in closed],
            },
        )
        return
    table = Table(title="Protective stops", title_justify="left")
    for column in (
        "position",
        "side",
        "level",
        "qty",
        "trigger",
        "mode",
        "order / guard",
        "covered",
        "pending",
        "reason",
    ):
        table.add_column(column)
    for p in found:
        table.add_row(
            p.key,
            "long" if p.direction > 0 else "short",
            str(p.level),
            str(p.qty),
            p.trigger.value,
            p.mode.value,
            p.order_id or p.cond_id or "",
            "yes" if covered.get(p.key) else "NO",
            ""
            if p.pending is None
            else f"{'deferred ' if p.pending.deferred else ''}→ {p.pending.level} for {p.pending.qty}",
            p.reason,
        )
    console.print(table)
    missing = [k for k, ok in covered.items() if not ok and k not in {p.key for p in found}]
    for key in missing:
        console.print(f"[bold red]unprotected[/] {key}", highlight=False)
    for p in closed:
        console.print(
            f"closed position {p.key}: its stop at {p.level} is no longer needed (released by "
            "the next protection pass: riskdesk orders protect)",
            highlight=False,
            markup=False,
        )


@orders_app.command("move-stops")
def orders_move_stops(
    level: Annotated[str, typer.Argument(help="new stop level")],
    account: AccountOpt = None,
    symbol: SymbolOpt = None,
    close_if_through: CloseIfThroughOpt = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Batch stop modify: every protective stop in scope to LEVEL (new stop first). A level at
    or through the mark of any position in scope (a long's stop must be below the mark, a
    short's above) refuses the whole batch unless --close-if-through."""

    def act(r: OmsRuntime) -> list[Protection]:
        done = r.oms.supervisor.modify_stops(
            positive(level, "level"),
            account,
            _symbol(symbol),
            close_if_through=close_if_through,
        )
        r.oms.settle()  # a stop-out fills at once: its position's protection is released
        return done

    done = _with_oms(db, as_json, act)
    if as_json:
        render.dump_json(console, [protection_row(p) for p in done])
        return
    if not done:
        console.print("no open position with a protective stop in scope", highlight=False)
    for p in done:
        what = (
            "closed at market (the level is through the mark)"
            if p.order_id is None and p.cond_id is None
            else f"stop {p.level} for {p.qty} ({p.mode.value})"
        )
        console.print(f"{p.key}: {what}", highlight=False, markup=False)


@orders_app.command("protect")
def orders_protect(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Run the protection pass now (sync fills, then place / re-arm / resize stops)."""
    reports = _with_oms(db, as_json, lambda r: r.oms.settle())
    if as_json:
        render.dump_json(console, [p.to_dict() for p in reports])
        return
    if not reports:
        console.print("every open position is protected")
    for p in reports:
        console.print(f"{p.key}: {p.action} {p.detail}", highlight=False, markup=False)


# ---------------------------------------------------------------------------------- conditional


@conditional_app.command("list")
def conditional_list(
    show_all: Annotated[
        bool, typer.Option("--all", help="include triggered and cancelled")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Armed and waiting conditions (or all with --all)."""
    found = _with_oms(
        db,
        as_json,
        lambda r: r.oms.conditionals.all() if show_all else r.oms.conditionals.live(),
    )
    if as_json:
        render.dump_json(console, [cond_row(c) for c in found])
        return
    table = Table(title="Conditional orders", title_justify="left")
    for column in ("id", "status", "kind", "watch", "level", "link", "group", "order", "reason"):
        table.add_column(column)
    for c in found:
        table.add_row(
            c.cond_id,
            c.status.value,
            c.kind.value,
            f"{c.watch} ({c.source.value})",
            str(c.level if c.level is not None else f"trail {c.callback}"),
            c.link.value,
            c.group or "",
            f"{c.intent.side.value} {c.intent.qty} {c.intent.symbol} {c.intent.order_type.value}",
            c.reason,
        )
    console.print(table)


def _cond_intent(
    cond_id: str,
    account: str,
    venue: str,
    symbol: str,
    side: str,
    qty: str,
    reduce_only: bool,
    price: str | None,
) -> OrderIntent:
    return OrderIntent(
        intent_id=cond_id,
        account_id=account,
        venue=venue,
        symbol=normalize_symbol(symbol),
        side=Side.parse(side),
        qty=to_decimal(qty, "qty"),
        order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
        price=_dec(price, "price"),
        reduce_only=reduce_only,
        source="conditional",
    )


@conditional_app.command("add")
def conditional_add(
    symbol: Annotated[str, typer.Argument(help="instrument the released order trades")],
    venue: Annotated[str, typer.Option(help="venue")],
    account: Annotated[str, typer.Option("--account", "-a", help="account")],
    side: Annotated[str, typer.Option(help="buy or sell")],
    qty: Annotated[str, typer.Option(help="quantity of the released order")],
    kind: Annotated[
        str, typer.Option(help="stop_loss, take_profit, price_above, price_below, trailing_stop")
    ],
    level: Annotated[str | None, typer.Option(help="trigger level")] = None,
    watch: Annotated[
        str | None,
        typer.Option(
            help="instrument whose price is watched (venue:symbol; default: the traded one)"
        ),
    ] = None,
    source: Annotated[str, typer.Option(help="mark, last or index")] = "mark",
    callback: Annotated[str | None, typer.Option(help="trailing callback (0.01 = 1 %)")] = None,
    activation: Annotated[str | None, typer.Option(help="trailing activation price")] = None,
    price: Annotated[
        str | None, typer.Option(help="limit price of the released order (default: market)")
    ] = None,
    reduce_only: Annotated[bool, typer.Option("--reduce-only")] = False,
    cond_id: Annotated[str | None, typer.Option(help="id (default: a new one)")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Arm a conditional order ("if BTC > 100k, buy ETH": --watch paper:BTC/USDT:USDT)."""

    def act(r: OmsRuntime) -> ConditionalOrder:
        cid = cond_id or f"cond:{uuid.uuid4().hex[:12]}"
        intent = _cond_intent(cid, account, venue, symbol, side, qty, reduce_only, price)
        try:
            condition = ConditionKind(kind.strip().lower())
        except ValueError:
            raise InvalidValue(f"unknown kind {kind!r}", field="kind") from None
        try:
            src = TriggerPrice(source.strip().lower())
        except ValueError:
            raise InvalidValue(
                f"expected mark, last or index, got {source!r}", field="source"
            ) from None
        cond = ConditionalOrder(
            cond_id=cid,
            intent=intent,
            watch=watch or intent.instrument_key,
            kind=condition,
            level=_dec(level, "level"),
            source=src,
            callback=_dec(callback, "callback"),
            activation=_dec(activation, "activation"),
            role="manual",
        )
        return r.oms.conditionals.arm([cond])[0]

    cond = _with_oms(db, as_json, act)
    if as_json:
        render.dump_json(console, cond_row(cond))
    else:
        console.print(f"armed {cond.cond_id}: {cond.kind.value} on {cond.watch}", highlight=False)


@conditional_app.command("oco")
def conditional_oco(
    symbol: Annotated[str, typer.Argument(help="instrument")],
    venue: Annotated[str, typer.Option(help="venue")],
    account: Annotated[str, typer.Option("--account", "-a", help="account")],
    side: Annotated[str, typer.Option(help="side of both exits (sell for a long)")],
    qty: Annotated[str, typer.Option(help="quantity")],
    stop: Annotated[str, typer.Option(help="stop-loss level")],
    take_profit: Annotated[str, typer.Option(help="take-profit level")],
    group: Annotated[str | None, typer.Option(help="group id (default: a new one)")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Arm an OCO pair (stop-loss + take-profit): the first to trigger cancels the other."""

    def act(r: OmsRuntime) -> list[ConditionalOrder]:
        gid = group or f"oco:{uuid.uuid4().hex[:12]}"
        legs = [
            ConditionalOrder(
                cond_id=f"{gid}:{suffix}",
                intent=_cond_intent(
                    f"{gid}:{suffix}", account, venue, symbol, side, qty, True, None
                ),
                watch=f"{venue}:{normalize_symbol(symbol)}",
                kind=kind,
                level=positive(level, name),
                role="oco",
            )
            for suffix, kind, level, name in (
                ("sl", ConditionKind.STOP_LOSS, stop, "stop"),
                ("tp", ConditionKind.TAKE_PROFIT, take_profit, "take_profit"),
            )
        ]
        return r.oms.conditionals.oco(gid, legs)

    legs = _with_oms(db, as_json, act)
    if as_json:
        render.dump_json(console, [cond_row(c) for c in legs])
    else:
        console.print(
            f"OCO group {legs[0].group}: {', '.join(c.cond_id for c in legs)}", highlight=False
        )


@conditional_app.command("bracket")
def conditional_bracket(
    symbol: Annotated[str, typer.Argument(help="instrument")],
    venue: Annotated[str, typer.Option(help="venue")],
    account: Annotated[str, typer.Option("--account", "-a", help="account")],
    side: Annotated[str, typer.Option(help="side of the entry")],
    qty: Annotated[str, typer.Option(help="entry quantity")],
    stop: Annotated[str, typer.Option(help="stop-loss level")],
    take_profit: Annotated[str, typer.Option(help="take-profit level")],
    leverage: Annotated[str | None, typer.Option(help="leverage")] = None,
    close_if_through: CloseIfThroughOpt = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send a market entry with an OCO stop-loss / take-profit that arms when it fills. The stop
    must lie beyond the mark on the losing side (below it for a buy) unless --close-if-through,
    the take-profit on the winning side."""

    def act(r: OmsRuntime) -> tuple[Order, list[ConditionalOrder]]:
        entry = OrderIntent(
            intent_id=f"bracket:{uuid.uuid4().hex[:12]}",
            account_id=account,
            venue=venue,
            symbol=normalize_symbol(symbol),
            side=Side.parse(side),
            qty=to_decimal(qty, "qty"),
            leverage=None if leverage is None else positive(leverage, "leverage"),
            protective_stop=positive(stop, "stop"),
            source="bracket",
        )
        _paper_instrument(r, entry.venue, entry.symbol)
        tp = positive(take_profit, "take_profit")
        if not close_if_through:
            _check_entry_stop(r, entry, positive(stop, "stop"), "stop")
        mark = r.oms.supervisor.mark(entry.instrument_key)
        buy = entry.side is Side.BUY
        if mark is not None and (tp <= mark if buy else tp >= mark):
            raise InvalidValue(
                f"take-profit {tp} is {'at or below' if buy else 'at or above'} the mark {mark} "
                f"of a {entry.side.value} entry: it would close the position as soon as it fills",
                field="take_profit",
            )
        done = r.oms.conditionals.bracket(entry, positive(stop, "stop"), tp)
        r.oms.settle()
        return done

    order, legs = _with_oms(db, as_json, act)
    if as_json:
        render.dump_json(console, {"entry": order_row(order), "exits": [cond_row(c) for c in legs]})
        return
    _print_order(order)
    for c in legs:
        console.print(
            f"  exit {c.cond_id}: {c.kind.value} at {c.level} ({c.status.value})", highlight=False
        )


@conditional_app.command("oto")
def conditional_oto(
    symbol: Annotated[str, typer.Argument(help="instrument of the first order")],
    venue: Annotated[str, typer.Option(help="venue")],
    account: Annotated[str, typer.Option("--account", "-a", help="account")],
    side: Annotated[str, typer.Option(help="side of the first order")],
    qty: Annotated[str, typer.Option(help="quantity of the first order")],
    then: Annotated[
        str,
        typer.Option(
            help="what the second order waits for once armed: stop_loss, take_profit, "
            "price_above, price_below, trailing_stop"
        ),
    ],
    price: Annotated[
        str | None, typer.Option(help="limit price of the first order (default: market)")
    ] = None,
    leverage: Annotated[str | None, typer.Option(help="leverage of the first order")] = None,
    level: Annotated[str | None, typer.Option(help="trigger level of the second order")] = None,
    callback: Annotated[str | None, typer.Option(help="trailing callback (0.01 = 1 %)")] = None,
    activation: Annotated[str | None, typer.Option(help="trailing activation price")] = None,
    then_symbol: Annotated[
        str | None, typer.Option(help="instrument of the second order (default: the same)")
    ] = None,
    then_side: Annotated[
        str | None, typer.Option(help="its side (default: the opposite, an exit)")
    ] = None,
    then_qty: Annotated[
        str | None,
        typer.Option(help="its quantity on another instrument (an exit is sized to the fill)"),
    ] = None,
    then_price: Annotated[
        str | None, typer.Option(help="its limit price (default: market)")
    ] = None,
    oto_id: Annotated[str | None, typer.Option("--id", help="id (default: a new one)")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One-triggers-the-other: send an order; a second, conditional one waits until it fills
    and is then armed (an exit on the same instrument is sized to what filled)."""

    def act(r: OmsRuntime) -> tuple[Order, ConditionalOrder]:
        base = oto_id or f"oto:{uuid.uuid4().hex[:12]}"
        first = OrderIntent(
            intent_id=base,
            account_id=account,
            venue=venue,
            symbol=normalize_symbol(symbol),
            side=Side.parse(side),
            qty=to_decimal(qty, "qty"),
            order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
            price=_dec(price, "price"),
            leverage=None if leverage is None else positive(leverage, "leverage"),
            source="oto",
            created_at=r.rt.app.clock.now(),
        )
        try:
            kind = ConditionKind(then.strip().lower())
        except ValueError:
            raise InvalidValue(f"unknown kind {then!r}", field="then") from None
        child_symbol = first.symbol if then_symbol is None else normalize_symbol(then_symbol)
        exit_ = child_symbol == first.symbol and then_side is None
        child_side = (
            first.side.opposite if then_side is None else Side.parse(then_side, "then_side")
        )
        child_id = f"{base}:then"
        inst = r.oms.orders.instrument(f"{venue}:{child_symbol}")
        child = ConditionalOrder(
            cond_id=child_id,
            intent=_cond_intent(
                child_id,
                account,
                venue,
                child_symbol,
                child_side.value,
                then_qty or qty,
                exit_ and inst.is_derivative,
                then_price,
            ),
            watch=f"{venue}:{child_symbol}",
            kind=kind,
            level=_dec(level, "level"),
            callback=_dec(callback, "callback"),
            activation=_dec(activation, "activation"),
        )
        done = r.oms.conditionals.oto(first, child)
        r.oms.settle()
        return done

    order, child = _with_oms(db, as_json, act)
    if as_json:
        render.dump_json(console, {"first": order_row(order), "then": cond_row(child)})
        return
    _print_order(order)
    console.print(
        f"  then {child.cond_id}: {child.kind.value} at {child.level} ({child.status.value})",
        highlight=False,
    )


@conditional_app.command("cancel")
def conditional_cancel(
    cond_id: Annotated[str, typer.Argument(help="condition id")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cancel a live condition."""
    cond = _with_oms(db, as_json, lambda r: r.oms.conditionals.cancel(cond_id, "canceled by hand"))
    render.dump_json(console, cond_row(cond)) if as_json else console.print(
        f"{cond.cond_id}: {cond.status.value}"
    )


# ---------------------------------------------------------------------------------- paper


@paper_app.command("open")
def paper_open(
    account: Annotated[str, typer.Argument(help="account id")],
    deposit: Annotated[str, typer.Option(help="initial deposit")] = "10000",
    currency: Annotated[str, typer.Option(help="currency of the deposit")] = "USDT",
    leverage: Annotated[str, typer.Option(help="default leverage")] = "10",
    margin_mode: Annotated[str, typer.Option(help="isolated or cross")] = "isolated",
    reference: Annotated[str | None, typer.Option(help="idempotency key of the deposit")] = None,
    like: Annotated[
        str | None,
        typer.Option(
            help="also list on the paper venue a twin of every instrument of this real venue "
            "(e.g. binance): same symbol, grid, fees and margin brackets"
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Open (and fund) a paper account, in the book and at the paper venue alike; with --like
    VENUE the paper venue also lists the instruments of that venue (their paper twins)."""
    twins: list[str] = []

    def act(r: OmsRuntime) -> bool:
        venue = r.oms.broker.venue
        acct = Account(
            account_id=account,
            venue=venue,
            default_margin_mode=MarginMode.parse(margin_mode),
            default_leverage=positive(leverage, "leverage"),
            name=f"paper ({account})",
        )
        amount = to_decimal(deposit, "deposit")
        ref = reference or f"paper:open:{account}"
        if like is not None:
            twins.extend(i.key for i in paper_twins(r.rt.app.book, like, venue))
        return open_paper_account(
            r.rt.app.book, r.oms, acct, amount, currency.upper(), ref, r.rt.app.clock.now()
        )

    new = _with_oms(db, False, act)
    console.print(f"paper account {account} ready{' (funded)' if new else ''}", highlight=False)
    if like is not None:
        console.print(
            f"paper twins of {like}: {', '.join(twins) if twins else 'already listed'}",
            highlight=False,
            markup=False,
        )


@paper_app.command("quote")
def paper_quote(
    symbol: Annotated[str, typer.Argument(help="instrument symbol")],
    bid: Annotated[str, typer.Option(help="best bid")],
    ask: Annotated[str, typer.Option(help="best ask")],
    mark: Annotated[str | None, typer.Option(help="mark price (default: mid)")] = None,
    db: DbOption = None,
) -> None:
    """Feed the paper venue a quote (orders match against it; the mark is recorded)."""

    def act(r: OmsRuntime) -> int:
        venue = r.oms.venue
        if venue is None:
            raise InvalidValue("the configured venue is not simulated", field="venue")
        key = f"{r.oms.broker.venue}:{normalize_symbol(symbol)}"
        now = r.rt.app.clock.now()
        b, a = positive(bid, "bid"), positive(ask, "ask")
        if b > a:
            raise InvalidValue(f"bid {b} is above ask {a}", field="bid")
        m = positive(mark, "mark") if mark is not None else (b + a) / 2
        _paper_instrument(r, r.oms.broker.venue, normalize_symbol(symbol))
        r.rt.app.book.record_prices({key: m}, {}, now, "paper quote")
        quote = Quote(now, b, a, last=m, mark=m, index=m)
        made = venue.on_quote(key, quote)
        fired = r.oms.conditionals.on_quote(key, quote)
        r.oms.settle(now)
        # A mark update: equity marks, monitors and the kill switch (carried out at once).
        updates.append(mark_update(r.rt.app, r.rt.store, r.oms.broker.venue, r.oms, now))
        return made + len(fired)

    updates: list[RiskUpdate] = []
    made = _with_oms(db, False, act)
    console.print(f"quote recorded; {made} execution(s) or trigger(s)", highlight=False)
    for update in updates:
        risk_commands.print_mark_update(console, update)


# ---------------------------------------------------------------------------------- run


#: How a close is named by who sent it (the order's ``source``).
_CLOSE_LABELS = {
    "guard_stop": "GUARD STOP",  # the emulated stop released its market order
    "protection": "STOP-OUT",  # the stop level was already through the price: closed at market
    "close_all": "CLOSE-ALL",
    "manual": "MANUAL CLOSE",
}


def fill_label(order: Order) -> str:
    """What a fill was for, from its order's purpose (role, and who sent it)."""
    role, source = order.role, order.intent.source
    if role is OrderRole.PROTECTIVE_STOP:
        return "STOP FILLED"
    if role is OrderRole.TAKE_PROFIT:
        return "TAKE-PROFIT"
    if role is OrderRole.CLOSE:
        return _CLOSE_LABELS.get(source, "CLOSE")
    if role is OrderRole.ENTRY:
        return "ADD-ON" if source.startswith("governance") else "ENTRY"
    if role is OrderRole.REDUCE:
        return "MANUAL CLOSE" if source == "manual" else "REDUCE"
    return "FILL"


def _condition_words(cond: ConditionalOrder) -> str:
    """A condition in one phrase: id, what it watched and the order it would have released."""
    if cond.kind is ConditionKind.TRAILING_STOP:
        trigger = f"callback {cond.callback}"
    else:
        trigger = f"at {cond.level}"
    i = cond.intent
    return (
        f"condition {cond.cond_id} ({cond.kind.value} {trigger} {cond.source.value}, "
        f"{i.side.value} {i.qty} {i.symbol})"
    )


def _step_lines(report: StepReport) -> list[str]:
    when = report.bar.strftime("%Y-%m-%d %H:%M")
    lines = []
    for order, fill in report.fills:
        what = fill_label(order)
        lines.append(
            f"{when}  {what:<12} {fill.side.value} {fill.qty} {fill.symbol} @ {fill.price}  [{order.intent.intent_id}]"
        )
    for line in report.stops:
        lines.append(f"{when}  STOP         {line}")
    for p in report.protection:
        lines.append(f"{when}  PROTECTION   {p.key}: {p.action} {p.detail}")
    for order in report.released:
        lines.append(f"{when}  TRIGGERED    {order.intent.intent_id}: {order.status.value}")
    for cond in report.disarmed:
        lines.append(f"{when}  DISARMED     {_condition_words(cond)}: {cond.reason}")
    for order in report.venue_ended:
        i = order.intent
        lines.append(
            f"{when}  DISARMED     order {i.intent_id} ({order.role.value}, {i.side.value} "
            f"{i.qty} {i.symbol}): {order.status.value} by the venue: {order.reason}"
        )
    if report.transfer is not None and report.transfer.request is not None:
        t = report.transfer.request
        lines.append(
            f"{when}  TRANSFER     {t.transfer_id} {t.amount} {t.currency}: {t.status.value}"
        )
    for a in report.alerts:
        lines.append(f"{when}  ALERT        {a.level.label}: {a.message}")
    if report.state_change is not None:
        c = report.state_change
        lines.append(
            f"{when}  KILL SWITCH  {c.old.label} -> {c.new.label} [{c.trigger}] {c.reason}"
        )
    if report.enforcement is not None:
        for o in report.enforcement.cancelled:
            lines.append(
                f"{when}  CANCELLED    {o.intent.intent_id}: {o.status.value} (kill switch)"
            )
        for o in report.enforcement.closes:
            lines.append(
                f"{when}  FLATTEN      {o.intent.side.value} {o.intent.qty} {o.intent.symbol}: "
                f"{o.status.value}"
            )
    for e in report.errors:
        lines.append(f"{when}  ERROR        {e}")
    return lines


class _StopNow(BaseException):
    """A second Ctrl-C: raised at the next crash point (right after a journal commit)."""


class Interrupts:
    """Ctrl-C while ``riskdesk run`` works: the first stops the replay after the current bar
    (a Ctrl-C during start-up ends the run before its first bar); the second stops at the next
    atomic step of the order path (the state is what a crash there leaves, which the next run
    recovers); a third one aborts at once."""

    def __init__(self) -> None:
        self.count = 0

    def handler(self, signum: int, frame: FrameType | None) -> None:
        """The SIGINT handler (writes straight to stderr: it may interrupt a print)."""
        self.count += 1
        if self.count == 1:
            _say("Ctrl-C: stopping after the current bar (Ctrl-C again to stop sooner)")
        elif self.count == 2:
            _say("Ctrl-C again: stopping after the current order step; the next run recovers")
        else:
            raise KeyboardInterrupt

    @property
    def stop(self) -> bool:
        """A first Ctrl-C was pressed."""
        return self.count >= 1

    def checkpoint(self, inner: Callable[[str], None]) -> Callable[[str], None]:
        """``inner`` followed by the hard stop of a second Ctrl-C."""

        def checkpoint(name: str) -> None:
            inner(name)
            if self.count >= 2:
                raise _StopNow(name)

        return checkpoint


def _say(message: str) -> None:
    # Straight to the file descriptor: a signal handler may interrupt a buffered write, and
    # re-entering that buffer would fail.
    os.write(2, f"{message}\n".encode())


def run(
    replay: Annotated[
        bool, typer.Option("--replay", help="replay bundled real bars on the paper venue")
    ] = False,
    speed: Annotated[
        float | None,
        typer.Option(
            help="time multiplier (3600: an hourly bar per second; 0: as fast as possible; "
            "default oms.replay.speed)"
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="stop after the bar opening at this UTC time (ISO 8601)")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="only the summary")] = False,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh", help="start the replay over (deletes the replay's own database first)"
        ),
    ] = False,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="database to replay on (default: the replay's own <data_dir>/replay.db, "
            "never the default book)",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The engine loop: management tick → plans → risk → orders → venue → fills → book.

    With --replay it trades the paper venue on bundled real bars replayed as a live feed
    (``oms.replay`` settings), persisting everything in its own database (<data_dir>/replay.db
    unless --db): the next run resumes it where it was — after a kill, a Ctrl-C or --until —
    and --fresh starts it over. Ctrl-C stops after the current bar (exit 0); a second Ctrl-C
    stops after the current order step (exit 130; the next run recovers)."""
    if not replay:
        guard(as_json, _no_live)
    interrupts = Interrupts()
    # Installed before anything is built: a Ctrl-C during start-up ends the run cleanly.
    previous = signal.signal(signal.SIGINT, interrupts.handler)
    try:
        summary = guard(
            as_json, lambda: _run_replay(interrupts, speed, until, quiet, db, as_json, fresh)
        )
    except _StopNow as stopped:
        err_console.print(
            f"stopped after the order step '{stopped.args[0]}'; run again to recover and resume",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(130) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    if as_json:
        render.dump_json(console, summary)
        return
    if summary["started"] is False:
        console.print("interrupted during start-up: no bar was replayed", highlight=False)
        return
    console.print(f"replay database {summary['database']}", highlight=False, markup=False)
    console.print(
        f"{summary['steps']} bar(s) replayed{' (stopped by Ctrl-C)' if summary['interrupted'] else ''}; "
        f"last bar {summary['last_bar']}; orders {summary['orders']}; fills {summary['fills']}",
        highlight=False,
    )
    if summary["complete"] and summary["steps"] == 0:
        console.print(
            "the replay had already run to its end: `riskdesk run --replay --fresh` starts it over",
            highlight=False,
            markup=False,
        )
    for p in summary["positions"]:
        console.print(f"position {p['key']}: {p['qty']} (venue {p['venue_qty']})", highlight=False)
    for key, value in summary["balances"].items():
        console.print(f"balance {key}: {value}", highlight=False)
    console.print(
        f"ledger equals the venue: {'yes' if summary['ledger_equals_venue'] else 'NO'}",
        highlight=False,
    )


def _run_replay(
    interrupts: Interrupts,
    speed: float | None,
    until: str | None,
    quiet: bool,
    db: str | None,
    as_json: bool,
    fresh: bool = False,
) -> dict[str, Any]:
    settings = Settings()
    limit = None
    if until is not None:
        try:
            limit = datetime.fromisoformat(until.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidValue(f"not an ISO 8601 time: {until!r}", field="until") from None
        if limit.tzinfo is None:
            limit = limit.replace(tzinfo=UTC)
    run_ = replay_run(settings, db, fresh)
    try:
        if interrupts.stop:  # Ctrl-C while starting: nothing is run, nothing half-done
            return {**_summary(run_, 0, {}, True), "started": False}
        orders = run_.oms.orders
        orders.checkpoint = interrupts.checkpoint(orders.checkpoint)
        run_.sleeper.interrupted = lambda: interrupts.stop
        recovery = run_.engine.recover()
        if not quiet and not as_json and not recovery.clean:
            for d in recovery.drifts:
                console.print(
                    f"recovery: {d.kind.value} {d.key}: {d.resolution}",
                    highlight=False,
                    markup=False,
                )

        def show(report: StepReport) -> None:
            if quiet or as_json:
                return
            for line in _step_lines(report):
                console.print(line, highlight=False, markup=False, soft_wrap=True)

        steps = run_.engine.run(
            run_.feed,
            until=limit,
            speed=settings.oms.replay.speed if speed is None else speed,
            sleeper=run_.sleeper,
            stop=lambda: interrupts.stop,
            on_step=show,
        )
        return {**_summary(run_, steps, recovery.to_dict(), interrupts.stop), "started": True}
    finally:
        run_.close()


def _no_live() -> None:
    raise InvalidValue(
        "live venues come with a later issue: use --replay (bundled data on the paper venue)",
        field="replay",
    )


def _summary(
    run_: Any, steps: int, recovery: dict[str, object], interrupted: bool
) -> dict[str, Any]:
    oms = run_.oms
    # The ledger is compared with the venue for the accounts on the venue only: the database
    # may also hold accounts of other venues (real accounts), which the paper venue never saw.
    ledger = {
        f"{p.account_id}|{p.instrument_key}|{p.slot.value}": p.qty
        for p in oms.orders.ledger.open_positions()
    }
    venue = {
        f"{v.account_id}|{v.instrument_key}|{v.slot.value}": v.qty
        for v in oms.broker.positions(None)
    }
    on_venue = {a.account_id for a in run_.rt.app.book.accounts() if a.venue == oms.broker.venue}
    balances: dict[str, str] = {}
    equal = ledger == venue
    for account_id, cash in run_.rt.app.book.report().balances.items():
        if account_id not in on_venue:
            continue
        try:
            at_venue = {b.currency: b.total for b in oms.broker.balances(account_id)}
        except RiskdeskError:
            at_venue = None
        if at_venue is None:
            equal = equal and all(amount == 0 for amount in cash.values())
            continue
        for currency in sorted(set(cash) | set(at_venue)):
            amount = cash.get(currency, Decimal(0))
            if currency in cash:
                balances[f"{account_id}:{currency}"] = format(amount.normalize(), "f")
            if at_venue.get(currency, Decimal(0)) != amount:
                equal = False
    cursor = run_.engine.cursor()
    ends = [c.ts for c in run_.feed.candles if run_.feed.start <= c.ts <= run_.feed.end]
    orders = oms.orders.orders()
    return {
        "steps": steps,
        "interrupted": interrupted,
        "last_bar": None if cursor is None else cursor.isoformat(),
        "orders": len(orders),
        "fills": sum(1 for _ in oms.broker.fills_since(None).fills),
        "positions": [
            {"key": k, "qty": str(q), "venue_qty": str(venue.get(k, 0))}
            for k, q in sorted(ledger.items())
        ],
        "protections": [protection_row(p) for p in oms.supervisor.protections()],
        "covered": oms.supervisor.covered(),
        "balances": balances,
        "ledger_equals_venue": equal,
        "database": run_.rt.url,
        "complete": cursor is not None and bool(ends) and cursor >= max(ends),
        "recovery": recovery,
        "governance_plans": len(run_.governance.plans()),
    }


def reconcile(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Reconcile with the venue: book missing fills, adopt the venue's order states and unknown
    orders, compare positions, re-arm missing stops."""
    report = _with_oms(db, as_json, lambda r: r.oms.recovery.run())
    if as_json:
        render.dump_json(console, report.to_dict())
        return
    console.print(
        f"reconciled at {render.when(report.as_of)}: {report.fills_booked} fill(s) read, "
        f"{len(report.drifts)} difference(s), {report.conditions} condition(s) armed",
        highlight=False,
    )
    for d in report.drifts:
        console.print(
            f"  {d.kind.value} {d.key}: ours {d.ours}; venue {d.venue} → {d.resolution}",
            highlight=False,
            markup=False,
        )
    for p in report.protection:
        console.print(f"  protection {p.key}: {p.action} {p.detail}", highlight=False, markup=False)


# ---------------------------------------------------------------------------------- transfers


@transfer_app.command("list")
def transfer_list(
    status: Annotated[
        str | None, typer.Option(help="pending, approved, executed, failed, rejected")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Transfer requests."""

    def act(r: OmsRuntime) -> list[TransferRequest]:
        service = _transfers(r)
        wanted = None
        if status is not None:
            try:
                wanted = TransferStatus(status.strip().lower())
            except ValueError:
                raise InvalidValue(f"unknown status {status!r}", field="status") from None
        return service.requests(wanted)

    found = _with_oms(db, as_json, act)
    if as_json:
        render.dump_json(console, [transfer_row(t) for t in found])
        return
    for t in found:
        console.print(
            f"{t.transfer_id} {t.status.value.upper()} {t.amount} {t.currency} {t.from_account} → {t.to_account} "
            f"({render.when(t.created_at)}){f' — {t.error}' if t.error else ''}",
            highlight=False,
        )


def _transfers(r: OmsRuntime) -> TransferService:
    service = r.oms.transfers
    if service is None:
        raise InvalidValue("transfers are disabled (oms.transfers.enabled)", field="transfers")
    return service


@transfer_app.command("check")
def transfer_check(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Evaluate the SPOT → FUT rule now (need = max(0, min_free_fut − free_fut))."""
    decision = _with_oms(db, as_json, lambda r: _transfers(r).check())
    if as_json:
        render.dump_json(
            console,
            {
                "need": str(decision.need),
                "reason": decision.reason,
                "request": None if decision.request is None else transfer_row(decision.request),
            },
        )
        return
    console.print(decision.reason, highlight=False)
    if decision.request is not None:
        t = decision.request
        console.print(
            f"request {t.transfer_id}: {t.amount} {t.currency} ({t.status.value})", highlight=False
        )


@transfer_app.command("approve")
def transfer_approve(
    transfer_id: Annotated[str, typer.Argument(help="transfer id")],
    by: Annotated[str, typer.Option(help="who approves")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a pending transfer and execute it."""
    t = _with_oms(db, as_json, lambda r: _transfers(r).approve(transfer_id, by))
    render.dump_json(console, transfer_row(t)) if as_json else console.print(
        f"{t.transfer_id}: {t.status.value}{f' — {t.error}' if t.error else ''}", highlight=False
    )


@transfer_app.command("reject")
def transfer_reject(
    transfer_id: Annotated[str, typer.Argument(help="transfer id")],
    by: Annotated[str, typer.Option(help="who rejects")],
    reason: Annotated[str, typer.Option(help="why")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Decline a pending transfer."""
    t = _with_oms(db, as_json, lambda r: _transfers(r).reject(transfer_id, by, reason))
    render.dump_json(console, transfer_row(t)) if as_json else console.print(
        f"{t.transfer_id}: {t.status.value}", highlight=False
    )


__all__ = ["register"]
