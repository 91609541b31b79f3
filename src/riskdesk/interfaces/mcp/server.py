"""riskdesk's MCP server (official ``mcp`` SDK 2.x, ``MCPServer``): tools, a prompt, resources.

Tools (structured output with JSON schemas; read-only unless stated):

* ``parse_option_symbol`` — every notation of an option symbol (OCC, Deribit, CCXT) and its
  terms; anything that is not an option symbol is a tool error;
* ``option_quote`` — a contract's quote with riskdesk's Greeks beside the venue's;
* ``option_chain`` — filtered chain rows with own IV, delta and probability;
* ``analyze_option_position`` — P&L, Greeks, assignment probability, breakeven, liquidity,
  market status, capital, and seed 000's ``risk_metrics``;
* ``evaluate_rolls`` — every roll candidate enumerated from the real chain, scored, and the
  same as seed 000's ``roll_strategies``;
* ``rebalance_option_position`` — seed 000's response (the same JSON as ``POST
  /api/v1/rebalance``: ``decision`` hold / close / roll, ``execution_plan``, ``risk_metrics``,
  ``roll_strategies``, ``warnings``, ``valuation_time``, ``evidence``) plus ``ticket_text``,
  ``dry_run``, ``recorded`` and ``plan_id``; it records the plan only with ``dry_run=false``
  and ``confirm=true`` (the one state change);
* ``portfolio_greeks`` — the book's Greeks per position, underlying and total.

Prompt ``option_position_rebalancer`` (seed 000's parameters) walks an agent through the tools.
Resources: ``riskdesk://book/positions``, ``riskdesk://book/options`` (a decision per option
position), ``riskdesk://plans/latest`` and ``riskdesk://plans/{plan_id}``.

Bad input (malformed symbol, expired option, size 0…) comes back as a tool error whose text is
``[code] field: reason``. Every result states its valuation time: the data's own time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, TypeVar

import pydantic_core
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, BeforeValidator, Field

from riskdesk.application.facade import Application
from riskdesk.application.pricing_service import GreeksReport
from riskdesk.application.rebalance_seed import (
    SeedDecision,
    SeedEvidence,
    SeedExecutionPlan,
    SeedRiskMetrics,
    SeedRollStrategy,
    seed_response,
    seed_risk_metrics,
    seed_roll_strategies,
)
from riskdesk.application.rebalance_service import (
    BookRebalance,
    ChainReport,
    QuoteReport,
    RebalanceRequest,
    RollSearch,
    SymbolInfo,
)
from riskdesk.domain.errors import RiskdeskError
from riskdesk.domain.rebalance.analysis import PositionAnalysis

T = TypeVar("T")
_READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)


def _lower(value: object) -> object:
    """Enum values in any case, as the REST endpoint accepts them (``SHORT_PUT``)."""
    return value.strip().lower() if isinstance(value, str) else value


Tolerance = Annotated[Literal["conservative", "moderate", "aggressive"], BeforeValidator(_lower)]
PositionTypeName = Annotated[
    Literal["short_put", "short_call", "long_put", "long_call"], BeforeValidator(_lower)
]

INSTRUCTIONS = (
    "riskdesk computes option analytics deterministically from real chain data. Call the tools "
    "instead of estimating numbers; quote their figures and factors verbatim. Every result has "
    "a valuation_time: the time of the market data used (a recorded snapshot may be old)."
)


class SymbolResult(BaseModel):
    """A parsed symbol."""

    symbol: SymbolInfo


class QuoteResult(BaseModel):
    """An option quote at ``valuation_time``."""

    valuation_time: datetime
    quote: QuoteReport


class ChainResult(BaseModel):
    """Chain rows at ``valuation_time``."""

    valuation_time: datetime
    chain: ChainReport


class AnalysisResult(BaseModel):
    """A position analysis at ``valuation_time``; ``risk_metrics`` in seed 000's schema (the
    same as ``POST /api/v1/rebalance``)."""

    valuation_time: datetime
    valuation_note: str
    risk_metrics: SeedRiskMetrics
    analysis: PositionAnalysis


class RollsResult(BaseModel):
    """Roll candidates at ``valuation_time``: ``best`` is the label of the chosen roll;
    ``roll_strategies`` the candidates in seed 000's schema (best first)."""

    valuation_time: datetime
    evaluated: int
    passed: int
    credit_available: bool
    best: str | None
    roll_strategies: list[SeedRollStrategy]
    search: RollSearch


class RebalanceResult(BaseModel):
    """Seed 000's response (the same fields as ``POST /api/v1/rebalance``) plus the ticket
    text and the recording state: ``recorded`` is true only when the plan was stored
    (``plan_id`` then names it in ``riskdesk://plans/{plan_id}``)."""

    status: str
    decision: SeedDecision
    confidence: float
    execution_plan: SeedExecutionPlan
    risk_metrics: SeedRiskMetrics
    roll_strategies: list[SeedRollStrategy] | None
    warnings: list[str]
    valuation_time: datetime
    evidence: SeedEvidence
    ticket_text: str
    dry_run: bool
    recorded: bool
    plan_id: str | None


class GreeksResult(BaseModel):
    """The book's Greeks."""

    valuation_time: datetime
    greeks: GreeksReport


def _tool_error(exc: RiskdeskError) -> ToolError:
    field = f" {exc.field}:" if exc.field else ""
    return ToolError(f"[{exc.code}]{field} {exc.reason}")


def _guard(action: Callable[[], T]) -> T:
    try:
        return action()
    except RiskdeskError as exc:
        raise _tool_error(exc) from None


def _request(
    option_symbol: str,
    position_size: Decimal,
    entry_price: Decimal,
    position_type: PositionTypeName | None = None,
    entry_date: datetime | None = None,
    risk_tolerance: Tolerance | None = None,
    max_additional_capital: Decimal | None = None,
    target_days_to_roll: int | None = None,
    defensive_roll_trigger: float | None = None,
    profit_target: float | None = None,
    preferred_roll_types: list[str] | None = None,
) -> RebalanceRequest:
    return RebalanceRequest(
        option_symbol=option_symbol,
        position_size=position_size,
        entry_price=entry_price,
        position_type=position_type,
        entry_date=entry_date,
        risk_tolerance=risk_tolerance,
        max_additional_capital=max_additional_capital,
        target_days_to_roll=target_days_to_roll,
        defensive_roll_trigger=defensive_roll_trigger,
        profit_target=profit_target,
        preferred_roll_types=preferred_roll_types,
    )


SYMBOL_DOC = "OCC (AAPL260821P00330000) or Deribit (BTC-21SEP26-69000-P) option symbol"
SIZE_DOC = "contracts, negative = short (e.g. -10)"
ENTRY_DOC = "entry premium per unit (per share; per coin for Deribit)"


def create_server(application: Application) -> MCPServer:
    """The MCP server over ``application`` (tools, prompt and resources in the module doc)."""
    server: MCPServer = MCPServer(
        "riskdesk", instructions=INSTRUCTIONS, version="0.1.0", log_level="WARNING"
    )
    _lookup_tools(server, application)
    _position_tools(server, application)
    _prompt(server)
    _resources(server, application)
    return server


def _lookup_tools(server: MCPServer, application: Application) -> None:
    options = application.options

    @server.tool(annotations=_READ_ONLY)
    def parse_option_symbol(
        symbol: Annotated[
            str, Field(description="option symbol: OCC, Deribit or CCXT unified option")
        ],
    ) -> SymbolResult:
        """Parse an option symbol and show it in every notation (OCC, Deribit, CCXT) with its
        underlying, right, strike (plain decimal), expiry date and time (UTC), exercise style,
        multiplier. A symbol that is not an option (a ticker, a spot pair) is an error."""
        return SymbolResult(symbol=_guard(lambda: options.parse_option_symbol(symbol)))

    @server.tool(annotations=_READ_ONLY)
    def option_quote(symbol: Annotated[str, Field(description=SYMBOL_DOC)]) -> QuoteResult:
        """Quote of one option: bid/ask/mid, volume, open interest, riskdesk's IV and Greeks
        (theta per day, vega per vol point) beside the venue's, probability of finishing in
        the money, and the market status — at the data's own time."""
        report = _guard(lambda: options.quote(symbol))
        return QuoteResult(valuation_time=report.as_of, quote=report)

    @server.tool(annotations=_READ_ONLY)
    def option_chain(
        underlying: Annotated[
            str, Field(description="underlying, e.g. AAPL, BTC, ETH (an unknown one lists all)")
        ],
        expiry: Annotated[str | None, Field(description="expiration date YYYY-MM-DD")] = None,
        right: Annotated[Literal["call", "put"] | None, Field(description="call or put")] = None,
        min_strike: Annotated[float | None, Field(description="lowest strike")] = None,
        max_strike: Annotated[float | None, Field(description="highest strike")] = None,
        limit: Annotated[int, Field(ge=1, le=500, description="rows to return")] = 50,
    ) -> ChainResult:
        """Chain rows filtered by expiry, right and strikes, with own IV, delta and
        probability of finishing in the money beside the venue's IV and delta."""

        def run() -> ChainReport:
            day = None
            if expiry is not None:
                try:
                    day = date.fromisoformat(expiry)
                except ValueError:
                    raise ToolError(
                        f"[invalid_value] expiry: expected YYYY-MM-DD, got {expiry!r}"
                    ) from None
            return options.chain(
                underlying,
                expiry=day,
                right=right,
                min_strike=min_strike,
                max_strike=max_strike,
                limit=limit,
            )

        report = _guard(run)
        return ChainResult(valuation_time=report.as_of, chain=report)


def _position_tools(server: MCPServer, application: Application) -> None:
    options = application.options

    @server.tool(annotations=_READ_ONLY)
    def analyze_option_position(
        option_symbol: Annotated[str, Field(description=SYMBOL_DOC)],
        position_size: Annotated[Decimal, Field(description=SIZE_DOC)],
        entry_price: Annotated[Decimal, Field(description=ENTRY_DOC)],
        position_type: Annotated[
            PositionTypeName | None,
            Field(description="checked against the symbol and the size's sign"),
        ] = None,
        entry_date: Annotated[
            datetime | None, Field(description="when the position was opened")
        ] = None,
    ) -> AnalysisResult:
        """Analyse an option position on the real chain: P&L ($ and % of premium), own and
        venue Greeks, assignment probability N(d2) and American early-assignment flag,
        probability of touch and of profit, max profit/loss, breakeven, theta per day, DTE,
        moneyness, liquidity (volume, open interest, spread %), market status, capital."""
        analysis = _guard(
            lambda: options.analyze(
                _request(option_symbol, position_size, entry_price, position_type, entry_date)
            )
        )
        return AnalysisResult(
            valuation_time=analysis.as_of,
            valuation_note=analysis.valuation_note,
            risk_metrics=seed_risk_metrics(analysis),
            analysis=analysis,
        )

    @server.tool(annotations=_READ_ONLY)
    def evaluate_rolls(
        option_symbol: Annotated[str, Field(description=SYMBOL_DOC)],
        position_size: Annotated[Decimal, Field(description=SIZE_DOC)],
        entry_price: Annotated[Decimal, Field(description=ENTRY_DOC)],
        risk_tolerance: Annotated[
            Tolerance | None, Field(description="default: configured")
        ] = None,
        max_additional_capital: Annotated[
            Decimal | None, Field(description="money a roll may add (premium currency)")
        ] = None,
        preferred_roll_types: Annotated[
            list[str] | None, Field(description="calendar, diagonal, resize (default all)")
        ] = None,
        position_type: PositionTypeName | None = None,
    ) -> RollsResult:
        """Enumerate roll candidates from the real chain (calendar: same strike later expiry;
        diagonal: strike by target delta or % OTM; resize: fewer contracts further OTM) with
        net credit at natural and mid, capital, new breakeven, assignment probability,
        probability of profit, expected value, annualised return on capital and the risk
        reduction computed from the before and after positions. Best first."""
        search = _guard(
            lambda: options.evaluate_rolls(
                _request(
                    option_symbol,
                    position_size,
                    entry_price,
                    position_type,
                    risk_tolerance=risk_tolerance,
                    max_additional_capital=max_additional_capital,
                    preferred_roll_types=preferred_roll_types,
                )
            )
        )
        chosen = search.rolls.chosen
        return RollsResult(
            valuation_time=search.as_of,
            evaluated=search.rolls.evaluated,
            passed=search.rolls.passed,
            credit_available=search.rolls.credit_available,
            best=chosen.label if chosen else None,
            roll_strategies=seed_roll_strategies(
                search.rolls, search.analysis.position_type.is_short
            ),
            search=search,
        )

    @server.tool(
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False
        )
    )
    def rebalance_option_position(
        option_symbol: Annotated[str, Field(description=SYMBOL_DOC)],
        position_size: Annotated[Decimal, Field(description=SIZE_DOC)],
        entry_price: Annotated[Decimal, Field(description=ENTRY_DOC)],
        position_type: PositionTypeName | None = None,
        entry_date: datetime | None = None,
        risk_tolerance: Tolerance | None = None,
        max_additional_capital: Decimal | None = None,
        target_days_to_roll: int | None = None,
        defensive_roll_trigger: float | None = None,
        profit_target: float | None = None,
        preferred_roll_types: list[str] | None = None,
        dry_run: Annotated[bool, Field(description="true: compute only, store nothing")] = True,
        confirm: Annotated[bool, Field(description="with dry_run=false: record the plan")] = False,
    ) -> RebalanceResult:
        """Decide HOLD / CLOSE / ROLL with transparent factor scoring (every factor with its
        points), confidence, risk level, timing and reasoning, and build the execution plan:
        a roll as one combo ticket (BTC + STO, limit at net mid with a price ladder and a
        floor) or a single-leg close, with warnings and monitoring points. Nothing is sent
        to a broker; the plan is recorded only with dry_run=false and confirm=true."""
        if not dry_run and not confirm:
            raise ToolError(
                "[confirmation_required] confirm: set confirm=true to record the plan "
                "(or dry_run=true to only compute it)"
            )
        record = not dry_run and confirm
        plan = _guard(
            lambda: options.rebalance(
                _request(
                    option_symbol,
                    position_size,
                    entry_price,
                    position_type,
                    entry_date,
                    risk_tolerance,
                    max_additional_capital,
                    target_days_to_roll,
                    defensive_roll_trigger,
                    profit_target,
                    preferred_roll_types,
                ),
                record=record,
            )
        )
        seed = seed_response(plan.report)
        return RebalanceResult(
            status=seed.status,
            decision=seed.decision,
            confidence=seed.confidence,
            execution_plan=seed.execution_plan,
            risk_metrics=seed.risk_metrics,
            roll_strategies=seed.roll_strategies,
            warnings=seed.warnings,
            valuation_time=seed.valuation_time,
            evidence=seed.evidence,
            ticket_text=plan.report.plan.ticket_text,
            dry_run=dry_run,
            recorded=record,
            plan_id=plan.plan_id,
        )

    @server.tool(annotations=_READ_ONLY)
    def portfolio_greeks(
        account: Annotated[str | None, Field(description="one account, or the whole book")] = None,
    ) -> GreeksResult:
        """The book's Greeks per position, per underlying and total (delta, dollar delta,
        beta-weighted delta, gamma, theta per day, vega per vol point, rho), at stored marks."""
        report = _guard(lambda: application.pricing.greeks(account))
        return GreeksResult(valuation_time=report.as_of, greeks=report)


def _prompt(server: MCPServer) -> None:
    @server.prompt(
        name="option_position_rebalancer",
        description="Guide an agent through analysing and rebalancing one option position "
        "with riskdesk's tools (seed 000's parameters).",
    )
    def option_position_rebalancer(
        option_symbol: str,
        position_size: str,
        entry_price: str,
        position_type: str = "short_put",
        risk_tolerance: str = "moderate",
        max_additional_capital: str = "0",
        target_days_to_roll: str = "21",
        defensive_roll_trigger: str = "0.15",
        preferred_roll_types: str = "calendar,diagonal,resize",
    ) -> str:
        """The rebalancing workflow for one position."""
        types = [t.strip() for t in preferred_roll_types.split(",") if t.strip()]
        args = (
            f'option_symbol="{option_symbol}", position_size={position_size}, '
            f'entry_price={entry_price}, position_type="{position_type}"'
        )
        return "\n".join(
            [
                f"Rebalance my option position {option_symbol}: size {position_size} "
                f"(negative = short), entry {entry_price} per unit, {position_type}, "
                f"risk tolerance {risk_tolerance}, max additional capital "
                f"{max_additional_capital}, roll window opens at {target_days_to_roll} DTE, "
                f"defensive trigger {defensive_roll_trigger} of the entry premium, preferred "
                f"roll types {', '.join(types)}.",
                "",
                "Use riskdesk's tools; do not compute or estimate any number yourself:",
                f'1. parse_option_symbol(symbol="{option_symbol}") — confirm underlying, '
                "right, strike and expiry.",
                f'2. option_quote(symbol="{option_symbol}") — state the valuation_time and the '
                "market status; if the data is a snapshot, say so.",
                f"3. analyze_option_position({args}) — report P&L, assignment probability, "
                "breakeven, DTE, theta per day and liquidity.",
                f'4. evaluate_rolls({args}, risk_tolerance="{risk_tolerance}", '
                f"max_additional_capital={max_additional_capital}, "
                f"preferred_roll_types={types}) — summarise the top candidates with net "
                "credit (natural and mid), new breakeven, assignment probability and the "
                "computed risk reduction.",
                f'5. rebalance_option_position({args}, risk_tolerance="{risk_tolerance}", '
                f"max_additional_capital={max_additional_capital}, "
                f"target_days_to_roll={target_days_to_roll}, "
                f"defensive_roll_trigger={defensive_roll_trigger}, "
                f"preferred_roll_types={types}, dry_run=true) — give the decision "
                "(HOLD/CLOSE/ROLL), confidence, risk level and timing, list every fired factor "
                "with its points, show the ticket text exactly, the warnings and the "
                "monitoring points.",
                "6. Only if I explicitly approve, call rebalance_option_position again with "
                "dry_run=false and confirm=true to record the plan. riskdesk never sends "
                "orders.",
                "If a tool returns an error, show its code and reason and stop.",
            ]
        )


def _resources(server: MCPServer, application: Application) -> None:
    options = application.options

    @server.resource(
        "riskdesk://book/positions",
        name="book_positions",
        description="Open positions of the book with marks, P&L and margin (JSON).",
        mime_type="application/json",
    )
    def book_positions() -> str:
        try:
            report = application.book.report()
        except RiskdeskError as exc:
            raise ResourceError(f"[{exc.code}] {exc.reason}") from None
        return pydantic_core.to_json(
            {"valuation_time": report.as_of, "scope": report.scope, "positions": report.positions}
        ).decode()

    @server.resource(
        "riskdesk://book/options",
        name="book_options",
        description="HOLD / CLOSE / ROLL for every option position of the book (JSON).",
        mime_type="application/json",
    )
    def book_options() -> str:
        try:
            result: BookRebalance = options.book()
        except RiskdeskError as exc:
            raise ResourceError(f"[{exc.code}] {exc.reason}") from None
        return pydantic_core.to_json(result).decode()

    @server.resource(
        "riskdesk://plans/latest",
        name="latest_plans",
        description="Plans recorded by rebalance_option_position (newest first, JSON).",
        mime_type="application/json",
    )
    def latest_plans() -> str:
        plans = options.latest_plans()
        return pydantic_core.to_json(
            [
                {
                    "plan_id": p.plan_id,
                    "symbol": p.symbol,
                    "action": p.action,
                    "valuation_time": p.report.as_of,
                    "primary_action": p.report.plan.primary_action,
                    "ticket_text": p.report.plan.ticket_text,
                }
                for p in plans
            ]
        ).decode()

    @server.resource(
        "riskdesk://plans/{plan_id}",
        name="plan",
        description="One recorded plan with its full report (JSON).",
        mime_type="application/json",
    )
    def plan(plan_id: str) -> str:
        try:
            record = options.plan(plan_id)
        except RiskdeskError as exc:
            raise ResourceError(f"[{exc.code}] {exc.reason}") from None
        return pydantic_core.to_json(record).decode()


def run_server(
    application: Application,
    transport: Literal["stdio", "http"] = "stdio",
    host: str = "127.0.0.1",
    port: int = 8765,
    path: str = "/mcp",
) -> None:
    """Serve over stdio (for MCP clients that spawn the server) or streamable HTTP."""
    server = create_server(application)
    if transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=host, port=port, streamable_http_path=path)


__all__ = ["create_server", "run_server"]
