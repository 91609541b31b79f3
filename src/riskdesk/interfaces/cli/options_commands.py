"""``riskdesk options …``: the option rebalancer on the command line (Typer + Rich).

``analyze`` runs the whole use case for one position (analysis, roll search, decision, ticket);
``book`` does it for every option position in the book; ``quote`` and ``chain`` show the market
data the analysis uses. Thin translators over ``Application.options`` (``RebalanceService``);
``--json`` prints the full result (decimals as exact strings).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import pydantic_core
import typer
from rich.markup import escape
from rich.table import Table

from riskdesk.application.rebalance_service import (
    BookRebalance,
    ChainReport,
    PlanRecord,
    QuoteReport,
    RebalanceRequest,
    RebalanceService,
)
from riskdesk.bootstrap.options_settings import build_options_service
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import build
from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.rebalance.decision import theta_text
from riskdesk.domain.rebalance.engine import RebalanceReport
from riskdesk.interfaces.cli.common import AccountOption, DbOption, JsonOption, console, guard

options_app = typer.Typer(
    help="Option positions: analyse, roll from the real chain, HOLD/CLOSE/ROLL with tickets.",
    no_args_is_help=True,
)


def _service() -> RebalanceService:
    """The rebalancer without a database (analysis needs only market data)."""
    return build_options_service(Settings())


def _dump(obj: object) -> None:
    console.print_json(pydantic_core.to_json(obj).decode())


def _n(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _p(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _d(x: Decimal | None) -> str:
    return "—" if x is None else f"{x:,}"


def _money(x: Decimal | None, ccy: str, unbounded: str = "unlimited") -> str:
    """Money in ``ccy``: cents for fiat-like currencies (more digits only when the exact
    value has them), the exact plain decimal for coins; None is ``unbounded``."""
    if x is None:
        return unbounded
    if ccy in ("USD", "USDC", "USDT"):
        cents = x.quantize(Decimal("0.01"))
        return f"{cents:,.2f}" if cents == x else f"{x.normalize():,f}"
    return format(x.normalize(), "f")


def _cell(value: float | str | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else f"{value:.4g}"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    return table


def print_report(report: RebalanceReport) -> None:
    """The Rich report of one rebalance (position, Greeks, factors, candidates, ticket)."""
    a, d, plan, rolls = report.analysis, report.decision, report.plan, report.rolls
    ccy = a.premium_currency
    console.print(
        f"[bold]{a.symbol}[/] {a.position_type.value} x{a.quantity} @ {a.entry_price} "
        f"— {escape(report.valuation_note)}"
    )
    console.print(
        f"Market: {a.market.session.value} ({escape(a.market.reason)}; {a.market.local_time})"
    )
    pos = _table("Position", "Field", "Value")
    rows: Sequence[tuple[str, str]] = (
        ("underlying", f"{a.underlying} {a.underlying_price}"),
        ("strike / expiry", f"{a.strike} {a.right.word} {a.expiry:%Y-%m-%d %H:%M} UTC"),
        ("DTE", f"{_days(a.dte_days)} ({a.dte:.2f})"),
        ("moneyness", f"S/K {a.moneyness:.4f}; {_p(a.otm_pct)} out of the money"),
        (
            "bid / ask / mid",
            f"{_d(a.quote.bid)} / {_d(a.quote.ask)} / {_d(a.quote.mid)} "
            f"(spread {_p(a.quote.spread_pct)})",
        ),
        (
            "volume / open interest",
            f"{_d(a.quote.volume)} / {_d(a.quote.open_interest)}"
            + (
                ""
                if a.quote.liquid
                else f"  [yellow]{escape('; '.join(a.quote.liquidity_notes))}[/]"
            ),
        ),
        ("mark", f"{a.mark} {ccy} ({a.mark_source})"),
        (
            "P&L (at mark)",
            f"{_money(a.unrealized_pnl, ccy)} {ccy} ({_p(a.pnl_pct)} of entry premium)",
        ),
        ("P&L closing at natural", f"{_money(a.pnl_at_close, ccy)} {ccy}"),
        (
            f"max profit / max loss ({ccy})",
            f"{_money(a.max_profit, ccy)} / {_money(a.max_loss, ccy)}",
        ),
        *(
            [
                (
                    "max profit / max loss (USD)",
                    f"{_money(a.max_profit_usd, 'USD')} / {_money(a.max_loss_usd, 'USD')}",
                )
            ]
            if ccy not in ("USD", "USDC", "USDT")
            else []
        ),
        ("breakeven at expiry", f"{a.breakeven}"),
        ("capital", f"{_money(a.capital_required, ccy)} {ccy} ({a.capital_basis})"),
    )
    for key, value in rows:
        pos.add_row(key, value)
    console.print(pos)
    g, v = a.greeks, a.venue_greeks
    greeks = _table(
        f"Greeks per unit (own: {g.model} at {_p(g.vol)}, {g.vol_source}; venue beside)",
        "Greek",
        "own",
        "venue",
        "position (own)",
    )
    greeks.add_row("IV", _p(a.iv), _p(v.iv if v else None), "")
    greeks.add_row("delta", _n(g.delta, 4), _n(v.delta if v else None, 4), _n(g.position_delta, 1))
    greeks.add_row("gamma", _n(g.gamma, 5), _n(v.gamma if v else None, 5), _n(g.position_gamma, 3))
    greeks.add_row(
        "theta / day", _n(g.theta_per_day, 4), _n(v.theta_per_day if v else None, 4),
        _n(g.position_theta_per_day, 2),
    )  # fmt: skip
    greeks.add_row(
        "vega / 1 %", _n(g.vega_per_pct, 4), _n(v.vega_per_pct if v else None, 4),
        _n(g.position_vega_per_pct, 2),
    )  # fmt: skip
    greeks.add_row("delta dollars", "", "", _n(g.delta_dollars, 0))
    console.print(greeks)
    console.print(
        # A long option is never assigned: its holder decides; N(d2) is then the chance to
        # finish in the money.
        f"{'Assignment probability' if a.quantity < 0 else 'Probability of finishing in the money'} "
        f"{_p(a.assignment_probability)}, touch {_p(a.prob_touch)}, "
        f"probability of profit vs the entry {_p(a.prob_profit)}; theta "
        f"{escape(theta_text(a))}. Holding to expiry vs closing now at the natural price: "
        f"expected value {_n(a.hold_vs_close_expected_value)} USD, probability it does "
        f"better {_p(a.prob_hold_beats_close)}, probability-weighted loss "
        f"{_n(a.expected_loss)} USD. Early assignment: {escape(a.early_assignment_note)}."
    )
    for note in a.notes:
        console.print(f"[dim]{escape(note)}[/]")
    colour = {"HOLD": "green", "CLOSE": "yellow", "ROLL": "cyan"}[d.action.value]
    console.print(
        f"\n[bold {colour}]{d.action.value}[/] confidence {d.confidence:.0%}, risk {d.risk_level}, "
        f"timing {d.timing} (tolerance {d.risk_tolerance.value}); scores "
        + ", ".join(f"{k} {v:+.0f}" for k, v in d.scores.items())
    )
    factors = _table("Factors (points added to HOLD / CLOSE / ROLL)", "Factor", "Fired", "Value",
                     "Threshold", "HOLD", "CLOSE", "ROLL", "Why")  # fmt: skip
    for f in d.factors:
        value, threshold = _cell(f.value), _cell(f.threshold)
        factors.add_row(
            f.name, "yes" if f.triggered else "", value, threshold,
            *(f"{f.points[k]:+.0f}" if f.points[k] else "" for k in ("HOLD", "CLOSE", "ROLL")),
            escape(f.explanation),
        )  # fmt: skip
    console.print(factors)
    for line in d.reasoning:
        console.print(f"• {escape(line)}")
    if rolls.candidates:
        days = rolls.window_days_out
        cands = _table(
            f"Roll candidates ({rolls.passed} of {rolls.evaluated} passed; new expiry "
            f"{days[0]}-{days[1]} days beyond the current one; net + = credit, {ccy}; POP of "
            "the combined position)",
            "Roll", "DTE", "Net natural", "Net mid", "Add. capital", "P(assign)", "POP",
            "Risk cut", "ROC/yr", "Score",
        )  # fmt: skip
        for c in rolls.candidates:
            cands.add_row(
                escape(c.label), str(c.new_dte), _money(c.net_credit_natural, ccy),
                _money(c.net_credit_mid, ccy), _money(c.additional_capital, ccy),
                _p(c.assignment_probability), _p(c.prob_profit), _p(c.risk_reduction),
                _p(c.annualised_return_on_capital), f"{c.score:.1f}",
            )  # fmt: skip
        console.print(cands)
    if rolls.defense_note:
        console.print(f"[yellow]{escape(rolls.defense_note)}[/]")
    if rolls.rejected:
        console.print(
            "Rejected: " + ", ".join(f"{n} ({escape(why)})" for why, n in rolls.rejected.items())
        )
    for note in rolls.notes:
        console.print(f"[dim]{escape(note)}[/]")
    console.print(f"\n[bold]Ticket[/] — {escape(plan.primary_action)}")
    console.print(escape(plan.ticket_text), highlight=False)
    for warning in plan.risk_warnings:
        console.print(f"[yellow]! {escape(warning)}[/]")
    for point in plan.monitoring_points:
        when = point.level if point.level is not None else point.when
        console.print(f"  watch {when}: {escape(point.description)}")


def _quote_table(q: QuoteReport) -> Table:
    c = q.contract
    table = _table(
        f"{c.symbol} at {q.as_of:%Y-%m-%d %H:%M:%S} UTC ({q.source}); underlying "
        f"{q.underlying.symbol} {q.underlying.price}; market {q.market.session.value}",
        "Field", "own", "venue",
    )  # fmt: skip
    v = q.venue
    table.add_row("bid / ask / mid", f"{_d(c.bid)} / {_d(c.ask)} / {_d(q.mid)}", "")
    table.add_row("IV", _p(q.own.iv), _p(v.iv if v else None))
    table.add_row("delta", _n(q.own.delta, 4), _n(v.delta if v else None, 4))
    table.add_row("gamma", _n(q.own.gamma, 5), _n(v.gamma if v else None, 5))
    table.add_row("theta / day", _n(q.own.theta_per_day, 4), _n(v.theta_per_day if v else None, 4))
    table.add_row("vega / 1 %", _n(q.own.vega_per_pct, 4), _n(v.vega_per_pct if v else None, 4))
    table.add_row("P(in the money)", _p(q.own.prob_itm), "")
    table.add_row("own vol from", escape(q.own.vol_source), "")
    table.add_row("volume / OI", f"{_d(c.volume)} / {_d(c.open_interest)}", "")
    return table


def _chain_table(report: ChainReport) -> Table:
    table = _table(
        f"{report.underlying.symbol} {report.underlying.price} at {report.as_of:%Y-%m-%d %H:%M} UTC "
        f"({report.source}); {len(report.rows)} of {report.total} rows",
        "Symbol", "DTE", "Bid", "Ask", "Spread", "Vol", "OI", "IV", "Delta", "P(ITM)",
        "Venue IV", "Venue delta",
    )  # fmt: skip
    for r in report.rows:
        table.add_row(
            r.symbol, f"{r.dte:.1f}", _d(r.bid), _d(r.ask), _p(r.spread_pct), _d(r.volume),
            _d(r.open_interest), _p(r.iv), _n(r.delta, 3), _p(r.prob_itm), _p(r.venue_iv),
            _n(r.venue_delta, 3),
        )  # fmt: skip
    return table


def _book_table(result: BookRebalance) -> Table:
    table = _table(
        f"Option positions ({result.scope}): " + ", ".join(f"{k} {v}" for k, v in result.counts.items()),
        "Position", "Qty", "Entry", "Mark", "P&L", "DTE", "P(ITM)", "Action", "Conf.",
        "Risk", "Plan",
    )  # fmt: skip
    for row in result.positions:
        if row.report is None:
            error = row.error or {}
            table.add_row(
                row.instrument_key, f"{row.quantity}", f"{row.entry_price}", "", "", "", "",
                "[red]n/a[/]", "", "", escape(f"[{error.get('code')}] {error.get('reason')}"),
            )  # fmt: skip
            continue
        a, d = row.report.analysis, row.report.decision
        table.add_row(
            row.instrument_key, f"{row.quantity}", f"{row.entry_price}", f"{a.mark}",
            _money(a.unrealized_pnl, a.premium_currency), str(a.dte_days),
            _p(a.assignment_probability),
            d.action.value, f"{d.confidence:.0%}", d.risk_level,
            escape(row.report.plan.primary_action),
        )  # fmt: skip
    return table


def _parse_date(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValue(f"expected YYYY-MM-DD, got {text!r}", field=name) from None


@options_app.command("analyze")
def analyze(
    symbol: Annotated[str, typer.Argument(help="option symbol: OCC or Deribit")],
    size: Annotated[
        float, typer.Option("--size", "-n", help="contracts, negative = short (e.g. -10)")
    ],
    entry: Annotated[float, typer.Option("--entry", "-e", help="entry premium per unit")],
    position_type: Annotated[
        str | None, typer.Option("--type", help="short_put|short_call|long_put|long_call")
    ] = None,
    entry_date: Annotated[str | None, typer.Option(help="entry date YYYY-MM-DD")] = None,
    tolerance: Annotated[
        str | None, typer.Option("--tolerance", help="conservative|moderate|aggressive")
    ] = None,
    max_capital: Annotated[
        float | None, typer.Option("--max-capital", help="max additional capital for a roll")
    ] = None,
    target_days: Annotated[
        int | None, typer.Option("--target-days", help="DTE that opens the roll window")
    ] = None,
    defensive: Annotated[
        float | None, typer.Option("--defensive-trigger", help="loss fraction, 0.15 = 15 %")
    ] = None,
    profit: Annotated[
        float | None, typer.Option("--profit-target", help="profit fraction, 0.5 = 50 %")
    ] = None,
    roll_types: Annotated[
        str | None, typer.Option("--roll-types", help="comma list: calendar,diagonal,resize")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Analyse one option position and decide HOLD / CLOSE / ROLL with a ticket."""

    def run() -> PlanRecord:
        entered = _parse_date(entry_date, "entry_date")
        request = RebalanceRequest(
            option_symbol=symbol,
            position_size=size,
            entry_price=entry,
            position_type=position_type,
            entry_date=datetime.combine(entered, datetime.min.time()) if entered else None,
            risk_tolerance=tolerance,
            max_additional_capital=max_capital,
            target_days_to_roll=target_days,
            defensive_roll_trigger=defensive,
            profit_target=profit,
            preferred_roll_types=roll_types,
        )
        return _service().rebalance(request)

    record = guard(as_json, run)
    if as_json:
        _dump(record.report)
        return
    print_report(record.report)


@options_app.command("quote")
def quote(
    symbol: Annotated[str, typer.Argument(help="option symbol: OCC or Deribit")],
    as_json: JsonOption = False,
) -> None:
    """One option's quote with riskdesk's Greeks beside the venue's."""
    report = guard(as_json, lambda: _service().quote(symbol))
    if as_json:
        _dump(report)
        return
    console.print(_quote_table(report))


@options_app.command("chain")
def chain(
    underlying: Annotated[str, typer.Argument(help="underlying, e.g. AAPL or BTC")],
    expiry: Annotated[str | None, typer.Option(help="expiration YYYY-MM-DD")] = None,
    right: Annotated[str | None, typer.Option(help="call or put")] = None,
    min_strike: Annotated[float | None, typer.Option(help="lowest strike")] = None,
    max_strike: Annotated[float | None, typer.Option(help="highest strike")] = None,
    limit: Annotated[int, typer.Option(help="rows to show")] = 60,
    as_json: JsonOption = False,
) -> None:
    """Chain rows with own IV, delta and probability beside the venue's figures."""

    def run() -> ChainReport:
        return _service().chain(
            underlying,
            expiry=_parse_date(expiry, "expiry"),
            right=right,
            min_strike=min_strike,
            max_strike=max_strike,
            limit=limit,
        )

    report = guard(as_json, run)
    if as_json:
        _dump(report)
        return
    console.print(_chain_table(report))


@options_app.command("book")
def book(
    account: AccountOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """HOLD / CLOSE / ROLL for every option position in the book (default preferences)."""
    result = guard(as_json, lambda: build(Settings(), db).app.options.book(account))
    if as_json:
        _dump(result)
        return
    console.print(_book_table(result))
    for row in result.positions:
        if row.report is not None and row.report.plan.order_kind != "none":
            console.print(f"\n[bold]{row.instrument_key}[/]")
            console.print(escape(row.report.plan.ticket_text), highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``riskdesk options …`` to the command line."""
    app.add_typer(options_app, name="options")
