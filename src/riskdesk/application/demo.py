"""The demo use case: load a scenario into the store and replay its prices through the book.

Events (cash, fills, price updates) are processed in time order. Before the first event of each
new UTC day a snapshot of every account and of the whole book is stored, so daily P&L and
drawdown have a day-start reference, exactly as a live deployment taking snapshots would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from riskdesk.application.book_service import BookService, PortfolioReport
from riskdesk.application.demo_governance import PaperDesk, PaperReport, PaperRun
from riskdesk.application.fill_rows import parse_rows, parse_timestamp
from riskdesk.application.risk_service import RiskService
from riskdesk.domain.fills import normalize_symbol
from riskdesk.domain.matching import Candle
from riskdesk.domain.orders import OrderIntent
from riskdesk.domain.risk.decisions import Decision
from riskdesk.domain.risk.monitors import Alert
from riskdesk.domain.values import Side, to_decimal
from riskdesk.ports.market_data import CashMovement, PaperTwins, PriceUpdate, Scenario

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class DemoResult:
    """The final report and what the replay did."""

    report: PortfolioReport
    accounts: int
    instruments: int
    fills: int
    price_updates: int
    snapshots: int
    first: datetime
    last: datetime
    description: str
    sources: dict[str, str]
    alerts: list[Alert] = field(default_factory=list)
    checks: list[tuple[datetime, OrderIntent, str, Decision]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    paper: PaperReport | None = None


@dataclass(frozen=True, slots=True)
class _MonitorPoint:
    ts: datetime


@dataclass(frozen=True, slots=True)
class _PaperStep:
    bar: datetime
    candles: Mapping[str, Candle]


@dataclass(frozen=True, slots=True)
class _OrderCheck:
    ts: datetime
    intent: OrderIntent
    why: str


class DemoService:
    """Runs a scenario through the same book service every interface uses."""

    def __init__(
        self,
        book: BookService,
        risk: RiskService | None = None,
        paper: Callable[[PaperTwins], PaperDesk] | None = None,
    ) -> None:
        self._book = book
        self._risk = risk
        # Governance runs in the paper twins' engine loop, where its plans are executed.
        self._paper = paper

    def run(self, scenario: Scenario, progress: Progress | None = None) -> DemoResult:
        """Load and replay ``scenario``; return the final whole-book report."""
        book = self._book
        book.register_instruments(scenario.instruments)
        for account in scenario.accounts:
            book.register_account(account)
        rows = parse_rows(enumerate(scenario.fill_rows, start=1))
        events: list[tuple[datetime, int, object]] = []
        events += [(c.ts, 0, c) for c in scenario.cash]
        events += [(item.ts, 1, (line, item)) for line, item in rows]
        events += [(u.ts, 2, u) for u in scenario.price_updates]
        if self._risk is not None:
            events += [(ts, 3, _MonitorPoint(ts)) for ts in scenario.monitor_times]
            events += [(c.ts, 4, c) for c in (_order_check(row) for row in scenario.order_checks)]
        alerts: list[Alert] = []
        checks: list[tuple[datetime, OrderIntent, str, Decision]] = []
        paper = None
        if self._paper is not None and scenario.paper is not None:
            paper = PaperRun(self._paper(scenario.paper))
            events += [(ts, 5, _PaperStep(bar, candles)) for ts, bar, candles in paper.start()]
        events.sort(key=lambda e: (e[0], e[1]))
        scopes = [None, *(a.account_id for a in scenario.accounts)]
        snapshots = 0
        day = None
        pending: list[tuple[int, object]] = []
        total = len(events)
        for done, (ts, _, event) in enumerate(events, start=1):
            if day is not None and ts.date() != day:
                snapshots += self._flush_and_snapshot(pending, scopes, ts)
            day = ts.date()
            if isinstance(event, CashMovement):
                self._flush(pending)
                book.move_cash(
                    event.account_id,
                    event.currency,
                    event.amount,
                    event.ts,
                    event.reason,
                    event.reference,
                )
            elif isinstance(event, PriceUpdate):
                self._flush(pending)
                book.record_prices(event.marks, event.asset_prices, event.ts, event.source)
            elif isinstance(event, _MonitorPoint) and self._risk is not None:
                self._flush(pending)
                alerts.extend(self._risk.monitor(event.ts).alerts)
            elif isinstance(event, _PaperStep) and paper is not None:
                self._flush(pending)
                paper.step(event.bar, event.candles)
            elif isinstance(event, _OrderCheck) and self._risk is not None:
                self._flush(pending)
                checks.append(
                    (
                        event.ts,
                        event.intent,
                        event.why,
                        self._risk.check(event.intent, now=event.ts).decision,
                    )
                )
            else:
                pending.append(event)  # type: ignore[arg-type]
            if progress is not None:
                progress("replay", done, total)
        self._flush(pending)
        last = events[-1][0]
        for scope in scopes:
            book.snapshot(scope, last)
            snapshots += 1
        report = book.report(None, last)
        return DemoResult(
            report=report,
            accounts=len(scenario.accounts),
            instruments=len(scenario.instruments),
            fills=len(rows),
            price_updates=len(scenario.price_updates),
            snapshots=snapshots,
            first=events[0][0],
            last=last,
            description=scenario.description,
            sources=dict(scenario.sources),
            alerts=alerts,
            checks=checks,
            notes=list(scenario.notes),
            paper=None if paper is None else paper.finish(last),
        )

    def _flush(self, pending: list[tuple[int, object]]) -> None:
        if pending:
            self._book.apply(list(pending))  # type: ignore[arg-type]
            pending.clear()

    def _flush_and_snapshot(
        self, pending: list[tuple[int, object]], scopes: list[str | None], ts: datetime
    ) -> int:
        self._flush(pending)
        day_start = ts.replace(hour=0, minute=0, second=0, microsecond=0)
        for scope in scopes:
            self._book.snapshot(scope, day_start)
        return len(scopes)


def _order_check(row: object) -> _OrderCheck:
    assert isinstance(row, dict)  # noqa: S101 - scenario rows are JSON objects
    ts = parse_timestamp(str(row["at"]), "at")
    intent = OrderIntent(
        intent_id=str(row["intent_id"]),
        account_id=str(row["account_id"]),
        venue=str(row["venue"]),
        symbol=normalize_symbol(str(row["symbol"])),
        side=Side.parse(str(row["side"])),
        qty=to_decimal(str(row["qty"]), "qty"),
        reduce_only=bool(row.get("reduce_only", False)),
        source=str(row.get("source", "manual")),
        created_at=ts,
    )
    return _OrderCheck(ts, intent, str(row.get("why", "")))
