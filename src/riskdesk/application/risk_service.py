"""Risk use cases: revalue the book (equity marks), build the risk book, check orders before
they are sent (and store every decision), run the intraday monitors and the kill switch, plan a
flatten, size entries and produce risk reports.

Every revaluation (:meth:`RiskService.revalue`: a mark update, a fill, a monitor run, a check
on a rebuilt book) records the equity marks — the start-of-day baseline and the cash-adjusted
high-water mark (``domain.risk.equity``) — so daily loss and drawdown work in any book, not only
where snapshots are taken. :meth:`RiskService.on_mark_update` is what a running engine calls on
every mark update: one revaluation feeds the equity marks, the risk book and the monitors (and
through them the kill switch).

The risk book is built from the exact portfolio views (BookService) at the stored marks; option
Greeks per contract come from the mark-implied volatility (Black-Scholes-Merton for equity
options, Black-76 off the underlying price for coin-settled ones). The book's scenario grid is
the pricing service's full revaluation when available; an order's own contribution is its
delta-gamma-vega-theta expansion per contract (documented approximation, exact for linear
instruments).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np

from riskdesk.application.book_service import BookService, PortfolioReport
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.accounting.margin import short_option_margin
from riskdesk.domain.accounting.portfolio import PortfolioSnapshot, PositionView
from riskdesk.domain.accounting.position import TradeAction
from riskdesk.domain.accounting.rates import currency_rates
from riskdesk.domain.errors import InvalidValue, UnknownAccount, UnknownInstrument
from riskdesk.domain.events import json_safe
from riskdesk.domain.instruments import Instrument, Settlement
from riskdesk.domain.order_lifecycle import Order, OrderRole, OrderStatus
from riskdesk.domain.orders import OrderIntent, client_order_id_for, validate_intent
from riskdesk.domain.pricing.black_scholes import black76_greeks, bsm_greeks
from riskdesk.domain.pricing.implied_vol import implied_vol_black76, implied_vol_bsm
from riskdesk.domain.risk.aggregates import FloatArray, InstrumentRisk, OrderBook, RiskBook
from riskdesk.domain.risk.books import DESK, BookSplit, storage_key
from riskdesk.domain.risk.decisions import Decision, Denied, RiskRecord, record_of
from riskdesk.domain.risk.equity import (
    DayStart,
    EquityMark,
    Observation,
    mark_equity,
    midnight,
    peak_equity_at,
)
from riskdesk.domain.risk.flatten import OpenExposure, flatten_orders, risk_contributions
from riskdesk.domain.risk.limits import KillSwitchPolicy, KillTrigger, MonitorThresholds, RiskLimits
from riskdesk.domain.risk.monitors import (
    MONITOR_KINDS,
    Alert,
    AlertDeduper,
    AlertLevel,
    MonitorInput,
    Reading,
    compute_levels,
    evaluate,
    reached,
    reading_at,
    stale_trigger,
)
from riskdesk.domain.risk.pretrade import (
    PreTradeEngine,
    order_margin,
    order_price,
    order_trade_risk,
)
from riskdesk.domain.risk.reports import EquityPoint, RiskReport, build_report
from riskdesk.domain.risk.sizing import (
    SizingResult,
    book_caps,
    kelly_fraction,
    leverage_for_confidence,
    size_position,
)
from riskdesk.domain.risk.trading_state import (
    StateChange,
    TradingState,
    TradingStatus,
    escalate,
    reset,
)
from riskdesk.domain.symbols import OptionRight, SymbolKind
from riskdesk.domain.values import ZERO, PositionSide
from riskdesk.ports.clock import Clock
from riskdesk.ports.store import UnitOfWork, UnitOfWorkFactory

#: The whole desk's scope (equity marks, snapshots); also its one book without a paper venue.
SCOPE = DESK
#: Sources of marks recorded by hand by default (``riskdesk prices set``, ``paper quote``).
MANUAL_MARK_SOURCES = frozenset({"manual", "paper quote"})

#: Order statuses still able to fill (their working remainder is counted in the risk book).
_WORKING = tuple(s for s in OrderStatus if not s.terminal)
#: Roles of orders that add exposure (entries); the others reduce or protect a position.
_ENTRY_ROLES = (OrderRole.ENTRY, OrderRole.OTHER)
#: Key prefixes of the per-position alerts (``monitors``): the account id follows.
_POSITION_ALERTS = frozenset({"liquidation", "loss", "stale"})


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """Plain risk configuration (built by bootstrap from the typed settings)."""

    limits: RiskLimits = field(default_factory=RiskLimits)
    thresholds: MonitorThresholds = field(default_factory=MonitorThresholds)
    policy: KillSwitchPolicy = field(default_factory=KillSwitchPolicy)
    risk_free_rate: float = 0.04
    dividend_yields: Mapping[str, float] = field(default_factory=dict)
    spot_shocks: tuple[float, ...] = (-0.30, -0.20, -0.10, -0.05, 0.0, 0.05, 0.10, 0.20, 0.30)
    vol_shocks: tuple[float, ...] = (-0.50, -0.25, 0.0, 0.25, 0.50)
    time_steps_days: tuple[float, ...] = (0.0, 1.0, 7.0)
    #: The paper venue: its accounts form the paper book, every other account the real book
    #: (``domain.risk.books``); None keeps the desk one book.
    paper_venue: str | None = None
    #: Mark sources that mean "recorded by hand": such marks are judged by the manual-mark age
    #: limits, not the live-feed ones.
    manual_mark_sources: frozenset[str] = MANUAL_MARK_SOURCES


@dataclass(frozen=True, slots=True)
class MonitorResult:
    """One monitor run of a book (``book``; ``*`` for a run over every book): every non-OK
    reading, the alerts raised (de-duplicated) and any trading state change it caused (over
    every book: the most severe book's state and the first change)."""

    as_of: datetime
    readings: list[Reading]
    alerts: list[Alert]
    state: TradingStatus
    change: StateChange | None
    book: str = DESK


@dataclass(frozen=True, slots=True)
class CheckResult:
    """A decision and the record stored for it (None for a what-if); for an order that adds
    exposure, the margin and fees it needs (settlement currency) and its risk to the stop
    (reporting currency), which a caller keeping a live risk book reserves."""

    decision: Decision
    record: RiskRecord | None
    margin: float = 0.0
    trade_risk: float = 0.0
    reducing: bool = False


@dataclass(frozen=True, slots=True)
class Valuation:
    """One revaluation as one book sees it: the whole desk's portfolio report, and the book's
    part of it — its positions and cash balances, its equity and margin in use (reporting
    currency), and its equity marks after the revaluation: ``peak`` (cash-adjusted high-water
    mark) and ``day_start_equity`` (the day's baseline plus cash moved in today; None only
    without any equity known). ``accounts``: the book's accounts (None: every account)."""

    as_of: datetime
    report: PortfolioReport
    peak: float
    day_start_equity: float | None
    book: str = DESK
    equity: float = 0.0
    margin_used: float = 0.0
    positions: Sequence[PositionView] = ()
    balances: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    accounts: frozenset[str] | None = None
    #: Currencies the book holds (cash, a position's settlement currency or one its view could
    #: not value) without a
    #: rate in the reporting currency: ``equity`` and ``margin_used`` leave them out, and no
    #: equity mark was recorded for the book.
    unpriced: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """What a mark update did to one book: its revaluation, rebuilt risk book and monitor run."""

    valuation: Valuation
    book: RiskBook
    monitor: MonitorResult


@dataclass(frozen=True, slots=True)
class MarkUpdate:
    """What a mark update did, per book; ``valuation``, ``book`` and ``monitor`` are the
    primary book's (the order manager's venue: the paper book when the desk is split)."""

    books: Mapping[str, BookUpdate]
    primary: str = DESK

    @property
    def valuation(self) -> Valuation:
        """The primary book's revaluation."""
        return self.books[self.primary].valuation

    @property
    def book(self) -> RiskBook:
        """The primary book's risk book."""
        return self.books[self.primary].book

    @property
    def monitor(self) -> MonitorResult:
        """The primary book's monitor run."""
        return self.books[self.primary].monitor

    def of(self, book: str) -> BookUpdate:
        """One book's part."""
        return self.books[book]

    @property
    def alerts(self) -> list[Alert]:
        """Every book's alerts."""
        return [a for part in self.books.values() for a in part.monitor.alerts]


@dataclass(frozen=True, slots=True)
class FlattenLine:
    """One order of a FLATTEN plan with the position's risk contribution (reporting currency,
    see ``domain.risk.flatten``) and |exposure|."""

    intent: OrderIntent
    contribution: float
    exposure: float


def _f(value: Decimal | None) -> float:
    return float(value) if value is not None else 0.0


class RiskService:
    """The risk use cases over the book and the store, per risk book (``domain.risk.books``:
    the real and the paper book when a paper venue is configured, else the desk as one book).
    A method that takes ``scope`` (a book name) defaults to the primary book (the order
    manager's venue)."""

    def __init__(
        self,
        book: BookService,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        config: RiskConfig | None = None,
        scenario_source: object | None = None,
    ) -> None:
        self._book = book
        self._uow = uow_factory
        self._clock = clock
        self.config = config or RiskConfig()
        self.split = BookSplit(self.config.paper_venue)
        self.engine = PreTradeEngine(self.config.limits)
        self._scenario_source = scenario_source
        self._dedupe: dict[str, AlertDeduper] = {}
        self.order_books: dict[str, OrderBook] = {}
        #: The catalog as of the last risk book built (checks look instruments up here first).
        self._catalog: dict[str, Instrument] = {}
        #: The live risk books: the last mark update's, kept current by the engine's risk gate.
        self._live: dict[str, RiskBook] = {}
        #: Book of every account seen (account id -> book name).
        self._account_books: dict[str, str] = {}

    # ------------------------------------------------------------------------ books

    def _name(self, scope: str | None) -> str:
        return self.split.primary if scope is None else self.split.parse(scope, "book")

    def _learn(self, accounts: Sequence[Account]) -> None:
        self._account_books = {a.account_id: self.split.book_of(a.venue) for a in accounts}

    def book_of_account(self, account_id: str) -> str:
        """The book an account belongs to; an unknown account is an error naming it."""
        found = self._account_books.get(account_id)
        if found is None:
            with self._uow() as uow:
                self._learn(uow.accounts.all())
            found = self._account_books.get(account_id)
        if found is None:
            raise UnknownAccount(
                f"no account {account_id!r} (known: "
                f"{', '.join(sorted(self._account_books)) or 'none'})",
                field="account_id",
            )
        return found

    def _members(self, accounts: Sequence[Account]) -> dict[str, frozenset[str] | None]:
        """Accounts of every scope marked on a revaluation: the desk (None: all), each account,
        and each book of a split desk (under its storage key)."""
        members: dict[str, frozenset[str] | None] = {SCOPE: None}
        for a in accounts:
            members[a.account_id] = frozenset({a.account_id})
        if self.split.paper_venue is not None:
            for name in self.split.books:
                members[storage_key(name)] = frozenset(
                    a.account_id for a in accounts if self.split.book_of(a.venue) == name
                )
        return members

    # ------------------------------------------------------------------------ state

    def _status(self, uow: UnitOfWork, name: str) -> TradingStatus | None:
        """A book's persisted status; one stored for the whole desk before the books were
        split still applies to each book until that book's state is changed."""
        key = storage_key(name)
        status = uow.risk.status(key)
        if status is None and key != SCOPE:
            status = uow.risk.status(SCOPE)
        return status

    def status(self, scope: str | None = None) -> TradingStatus:
        """A book's persisted trading status (ACTIVE, never changed, if never set)."""
        with self._uow() as uow:
            status = self._status(uow, self._name(scope))
        return status or TradingStatus(TradingState.ACTIVE, None, "initial", "never changed")

    def history(self, scope: str | None = None) -> list[StateChange]:
        """Every trading-state transition of a book, oldest first (those recorded for the whole
        desk before the books were split first)."""
        key = storage_key(self._name(scope))
        with self._uow() as uow:
            legacy = uow.risk.history(SCOPE) if key != SCOPE else []
            return legacy + uow.risk.history(key)

    def escalate(
        self,
        target: TradingState,
        trigger: str,
        reason: str,
        by: str = "system",
        now: datetime | None = None,
        scope: str | None = None,
    ) -> tuple[TradingStatus, StateChange | None]:
        """Move a book's trading to a more severe state (manual halts use trigger
        ``manual``)."""
        if not reason.strip():
            raise InvalidValue("a state change needs a reason", field="reason")
        now = now or self._clock.now()
        name = self._name(scope)
        with self._uow() as uow:
            current = self._status(uow, name) or TradingStatus(
                TradingState.ACTIVE, now, "initial", ""
            )
            status, change = escalate(current, target, trigger, reason, now, by)
            if change is not None:
                uow.risk.set_status(storage_key(name), status, change)
                uow.commit()
        return status, change

    def reset(
        self,
        reason: str,
        by: str,
        target: TradingState = TradingState.ACTIVE,
        now: datetime | None = None,
        scope: str | None = None,
    ) -> tuple[TradingStatus, StateChange]:
        """Manual reset of a book to a less severe state, with a reason (recorded in the
        history)."""
        now = now or self._clock.now()
        name = self._name(scope)
        with self._uow() as uow:
            current = self._status(uow, name) or TradingStatus(
                TradingState.ACTIVE, now, "initial", ""
            )
            status, change = reset(current, target, reason, by, now)
            uow.risk.set_status(storage_key(name), status, change)
            uow.commit()
        return status, change

    # ------------------------------------------------------------------------ revaluation

    def revalue(
        self, now: datetime | None = None, record: bool = True, scope: str | None = None
    ) -> Valuation:
        """Value the whole book at the stored marks and record the equity marks of every scope
        (idempotent): the day's midnight baseline snapshot at the first revaluation of a UTC
        day, and the cash-adjusted high-water mark, for the desk, every book and every account.
        Returns one book's view (``scope``). ``record=False`` computes the same numbers and
        stores nothing (a what-if)."""
        name = self._name(scope)
        return self.valuations(now, record)[name]

    def valuations(self, now: datetime | None = None, record: bool = True) -> dict[str, Valuation]:
        """:meth:`revalue` once, every book's view of it (by book name)."""
        now = now or self._clock.now()
        return self._mark(self._book.report(None, now), now, record)

    def _mark(self, report: PortfolioReport, now: datetime, record: bool) -> dict[str, Valuation]:
        day = midnight(now)
        with self._uow() as uow:
            accounts = uow.accounts.all()
            self._learn(accounts)
            members = self._members(accounts)
            previous = uow.risk.equity_marks()
            moves = uow.fills.cash_movements()
            # The summary's own rates (asset prices, fixed rates, then the book's marks): one
            # conversion for every figure of the desk.
            rates = {currency: rate.price for currency, rate in report.rates.items()}
            marks: dict[str, EquityMark] = {}
            day_starts: dict[str, Decimal | None] = {}
            everyone = frozenset(a.account_id for a in accounts)
            numbers = _scope_numbers(report, rates, members)
            unpriced = {scope: _unpriced(report, rates, members[scope]) for scope in numbers}
            for scope, (equity, gross, net) in numbers.items():
                chosen = members[scope]
                if unpriced[scope]:
                    # Its equity leaves a holding out (counted at 0): no baseline and no
                    # high-water mark are made of it; the monitors report the currency.
                    day_starts[scope] = None
                    continue
                own = moves if chosen is None else [m for m in moves if m[0] in chosen]
                prev = previous.get(scope)
                # A book holding every account is the desk: the desk's snapshots are its own.
                shared = scope != SCOPE and scope.startswith(SCOPE) and chosen == everyone
                snaps = [
                    s
                    for s in (
                        uow.snapshots.last_before(x, day + timedelta(microseconds=1))
                        for x in ((scope, SCOPE) if shared else (scope,))
                    )
                    if s is not None
                ]
                snap = max(snaps, key=lambda s: s.ts, default=None)
                last_snapshot = None if snap is None else Observation(snap.ts, snap.total_equity)
                known = max(
                    [x for x in (prev.ts if prev else None, snap.ts if snap else None) if x],
                    default=None,
                )
                moved_before = _moved(own, rates, known, day)
                moved_today = _moved(own, rates, day, now)
                observations: list[Observation] = []
                if scope.startswith(SCOPE):  # the desk and the books: their own snapshots
                    since = prev.ts if prev is not None else None
                    observations = [
                        Observation(s.ts, s.total_equity + _moved(own, rates, s.ts, now))
                        for x in ((scope, SCOPE) if shared else (scope,))
                        for s in uow.snapshots.series(x, since)
                        if since is None or s.ts > since
                    ]
                flows: dict[str, Decimal] = {}
                for _, currency, amount, _ in own:
                    flows[currency] = flows.get(currency, ZERO) + amount
                opened = True
                if prev is None and snap is None:
                    opened = _active_by(uow, own, chosen, day)
                mark, start = mark_equity(
                    prev,
                    scope,
                    now,
                    equity,
                    gross,
                    net,
                    flows,
                    rates,
                    last_snapshot=last_snapshot,
                    moved_before_midnight=moved_before,
                    moved_today=moved_today,
                    observations=observations,
                    opened_before_midnight=opened,
                )
                if start is not None:
                    uow.snapshots.add(_baseline_snapshot(start))
                # The day start: today's baseline (just made, else the stored one, if no older
                # than a day) plus the cash moved in after it.
                base = Observation(start.ts, start.equity) if start is not None else last_snapshot
                day_starts[scope] = (
                    base.equity + _moved(own, rates, base.ts, now)
                    if base is not None and base.ts >= day - timedelta(days=1)
                    else None
                )
                marks[scope] = mark
            if record:
                uow.risk.put_equity_marks(list(marks.values()))
                uow.commit()
        out: dict[str, Valuation] = {}
        for name in self.split.books:
            key = storage_key(name)
            chosen = members[key]
            positions = [v for v in report.positions if chosen is None or v.account_id in chosen]
            balances = {a: b for a, b in report.balances.items() if chosen is None or a in chosen}
            margin = sum((v.margin_ccy * rates.get(v.settle, ZERO) for v in positions), ZERO)
            start_equity = day_starts.get(key)
            made = marks.get(key)
            # Without a mark (an unpriced currency) the equity is the incomplete figure, and
            # its own peak: a drawdown is not measured on what leaves a holding out.
            value = float(numbers[key][0]) if made is None else float(made.equity)
            out[name] = Valuation(
                now,
                report,
                value if made is None else float(made.peak),
                None if start_equity is None else float(start_equity),
                name,
                value,
                float(margin),
                positions,
                balances,
                chosen,
                unpriced[key],
            )
        return out

    def equity_marks(self) -> dict[str, EquityMark]:
        """The stored equity marks (last revaluation and high-water mark) per scope."""
        with self._uow() as uow:
            return uow.risk.equity_marks()

    # ------------------------------------------------------------------------ risk book

    def risk_book(
        self,
        now: datetime | None = None,
        valuation: Valuation | None = None,
        record: bool = True,
        scope: str | None = None,
    ) -> RiskBook:
        """Build one book's risk aggregates at the stored marks (``valuation``'s book, else
        ``scope``; revaluing unless ``valuation`` is given; ``record``: store the equity marks
        of that revaluation); its working orders that add exposure are counted as pending."""
        now = now or self._clock.now()
        if valuation is None:
            valuation = self.revalue(now, record, scope)
        return self._risk_books(now, {valuation.book: valuation})[valuation.book]

    def risk_books(self, now: datetime | None = None, record: bool = True) -> dict[str, RiskBook]:
        """Every book's risk aggregates from one revaluation (by book name)."""
        now = now or self._clock.now()
        return self._risk_books(now, self.valuations(now, record))

    def _risk_books(
        self, as_of: datetime, valuations: Mapping[str, Valuation]
    ) -> dict[str, RiskBook]:
        """The risk books of ``valuations`` (one per book), sharing one read of the store and
        the per-contract risk of every marked instrument."""
        day_start = as_of.replace(hour=0, minute=0, second=0, microsecond=0)
        with self._uow() as uow:
            states = {name: self._status(uow, name) for name in valuations}
            catalog = {i.key: i for i in uow.instruments.all()}
            marks = uow.prices.marks()
            sources = uow.prices.mark_sources()
            assets = uow.prices.asset_prices()
            approved = uow.risk.decisions(since=day_start, outcome="approved")
            kinds = self.config.limits.adjustment_sources
            adjustments = [d for d in approved if d.source.split(":")[0] in kinds]
            # Only adjustments' fills cost against seed 001's daily budget: read fills if any.
            fills_today = uow.fills.history(since=day_start) if adjustments else []
            accounts = uow.accounts.all()
            working = uow.oms.orders(_WORKING)
        self._catalog = catalog
        self._learn(accounts)
        rates = self._float_rates(valuations, catalog, marks, assets)
        manual = self.config.manual_mark_sources
        priced: dict[str, InstrumentRisk] = {}
        for key, instrument in catalog.items():
            if key in marks:
                mark, ts = marks[key]
                risk = self._instrument_risk(instrument, float(mark), ts, rates, as_of)
                if risk is not None:
                    risk.manual_mark = sources.get(key) in manual
                    risk.book = self.order_books.get(key)
                    priced[key] = risk
        books: dict[str, RiskBook] = {}
        for name, valuation in valuations.items():
            chosen = valuation.accounts
            status = states[name]
            rb = RiskBook(
                as_of=as_of,
                equity=valuation.equity,
                day_start_equity=valuation.day_start_equity,
                peak_equity=max(valuation.peak, valuation.equity),
                state=status.state if status else TradingState.ACTIVE,
                scope=name,
            )
            rb.instruments = dict(priced)
            for view in valuation.positions:
                self._add_position(rb, view, catalog, rates, as_of)
            rb.available = self._available(valuation, catalog)
            rb.account_leverage = {
                a.account_id: float(a.default_leverage)
                for a in accounts
                if chosen is None or a.account_id in chosen
            }
            rb.heat = sum(
                float(v.risk_to_stop) for v in valuation.positions if v.risk_to_stop is not None
            )
            rb.margin_used = valuation.margin_used
            rb.unpriced = valuation.unpriced
            mine = [d for d in adjustments if chosen is None or d.account_id in chosen]
            rb.adjustments_today = len(mine)
            for d in mine:
                inst = catalog.get(f"{d.venue}:{d.symbol}")
                if inst is not None:
                    rb.last_adjustment[inst.asset] = max(
                        rb.last_adjustment.get(inst.asset, d.ts), d.ts
                    )
            # Seed 001 limits the cost of adjustments: today's fees of the adjustments' fills.
            adjusting = {client_order_id_for(d.intent_id) for d in mine}
            cost = 0.0
            for f in fills_today:
                if f.order_id is None or f.order_id not in adjusting:
                    continue
                inst = catalog.get(f.instrument_key)
                currency = f.fee_currency or (inst.settle if inst is not None else "USD")
                rate = rates.get(currency)
                if rate is None:  # a fee nothing prices is reported, never counted at 0
                    rb.unpriced = tuple(sorted({*rb.unpriced, currency}))
                    continue
                cost += float(f.fee) * rate
            rb.cost_today = cost
            for order in working:
                if chosen is None or order.intent.account_id in chosen:
                    self.add_working_order(rb, order)
            books[name] = rb
        return books

    def _float_rates(
        self,
        valuations: Mapping[str, Valuation],
        catalog: Mapping[str, Instrument],
        marks: Mapping[str, tuple[Decimal, datetime]],
        assets: Mapping[str, tuple[Decimal, datetime]],
    ) -> dict[str, float]:
        """Rates (reporting currency per unit, float) of every currency the catalog's
        instruments use: the revaluation's (``PortfolioReport.rates``, what the summary
        used), and for currencies the book does not hold the same resolution over the same
        stored prices and marks (``domain.accounting.rates``), so an order in a new instrument
        is judged at the rate the summary would use once it is held."""
        needed = {c for i in catalog.values() for c in (i.quote, i.settle, i.base)}
        config = self._book.config
        found = currency_rates(
            needed,
            config.reporting_currency,
            assets,
            config.fixed_rates,
            marks,
            catalog.values(),
        )
        for valuation in valuations.values():
            found.update(valuation.report.rates)
            break  # every book's valuation shares one report
        return {currency: float(rate.price) for currency, rate in found.items()}

    def add_working_order(self, book: RiskBook, order: Order) -> None:
        """Count a working order that adds exposure (an entry's unfilled remainder) in ``book``
        as pending: its exposure, reserved margin and risk to the stop."""
        intent = order.intent
        if intent.reduce_only or order.role not in _ENTRY_ROLES or order.status.terminal:
            return
        inst = book.instruments.get(intent.instrument_key)
        left = float(order.remaining)
        if inst is None or left <= 0:
            return
        q = left if intent.side.value == "buy" else -left
        px = order_price(intent, inst)
        notional = left * inst.notional_at(px)
        book.add_pending(
            order.client_order_id,
            intent.account_id,
            intent.instrument_key,
            intent.position_side.value,
            q,
            order_margin(intent, inst, book, q, px, notional),
            order_trade_risk(intent, inst, q, px),
        )

    def _instrument_risk(
        self,
        inst: Instrument,
        mark: float,
        mark_ts: datetime | None,
        rates: Mapping[str, float],
        as_of: datetime,
    ) -> InstrumentRisk | None:
        quote_rate = rates.get(inst.quote)
        settle_rate = rates.get(inst.settle)
        if quote_rate is None or settle_rate is None:
            return None
        cs = float(inst.contract_size)
        fee_rate = float(inst.taker_fee_rate)
        if inst.kind is SymbolKind.OPTION:
            return self._option_risk(inst, mark, mark_ts, rates, as_of, settle_rate, fee_rate)
        if inst.inverse:
            exposure = cs * quote_rate
            margin = cs / mark if mark else 0.0
        else:
            exposure = cs * mark * quote_rate
            margin = cs * mark
        margined = inst.settlement is Settlement.MARGIN
        return InstrumentRisk(
            key=inst.key,
            venue=inst.venue,
            asset=inst.asset,
            settle=inst.settle,
            mark=mark,
            mark_ts=mark_ts,
            exposure_per_unit=exposure,
            notional_per_unit=exposure,
            margin_per_unit=margin,
            margined=margined,
            settle_rate=settle_rate,
            fee_rate=fee_rate,
            fee_per_contract=float(inst.fee_per_contract),
            contract_size=cs,
            lot_size=float(inst.lot_size),
            inverse=inst.inverse,
            delta_per_unit=exposure,
            scenario_per_unit=self._linear_grid(exposure),
            underlying_price=mark * quote_rate,
        )

    def _option_risk(
        self,
        inst: Instrument,
        mark: float,
        mark_ts: datetime | None,
        rates: Mapping[str, float],
        as_of: datetime,
        settle_rate: float,
        fee_rate: float,
    ) -> InstrumentRisk | None:
        underlying = rates.get(inst.base)
        if underlying is None or inst.strike is None or inst.expiry is None or inst.right is None:
            return None
        cfg = self.config
        cs = float(inst.contract_size)
        years = max((inst.expiry - as_of).total_seconds() / (365.0 * 86400.0), 1e-6)
        strike = float(inst.strike)
        is_call = inst.right is OptionRight.CALL
        if inst.coin_settled:
            usd_price = mark * underlying
            iv = implied_vol_black76(usd_price, underlying, strike, years, 0.0, is_call)
            vol = float(iv.vol[()]) if np.isfinite(iv.vol).all() else 0.0
            g = black76_greeks(underlying, strike, years, 0.0, max(vol, 1e-4), is_call)
        else:
            q = cfg.dividend_yields.get(inst.base, 0.0)
            iv = implied_vol_bsm(mark, underlying, strike, years, cfg.risk_free_rate, q, is_call)
            vol = float(iv.vol[()]) if np.isfinite(iv.vol).all() else 0.0
            g = bsm_greeks(
                underlying, strike, years, cfg.risk_free_rate, q, max(vol, 1e-4), is_call
            )
        delta = float(g.delta[()])
        gamma = float(g.gamma[()])
        vega_pt = float(g.vega[()]) / 100.0
        theta_day = float(g.theta[()]) / 365.0
        usd = rates.get("USD", 1.0)
        delta_dollars = delta * cs * underlying
        gamma_dollars = gamma * underlying * underlying * cs / 100.0
        premium_per_unit = mark * cs * settle_rate
        # Margin of one more short contract, in the settlement currency (Reg-T or Deribit).
        short_margin = float(
            short_option_margin(
                inst,
                Decimal(-1),
                Decimal(str(mark)),
                Decimal(str(underlying)),
                self._book.config.option_rates,
            )
        )
        grid = self._option_grid(
            delta * cs, gamma * cs, vega_pt * cs, theta_day * cs, underlying, vol
        )
        return InstrumentRisk(
            key=inst.key,
            venue=inst.venue,
            asset=inst.asset,
            settle=inst.settle,
            mark=mark,
            mark_ts=mark_ts,
            exposure_per_unit=delta_dollars * usd,
            notional_per_unit=cs * underlying * usd,
            margin_per_unit=premium_per_unit / settle_rate if settle_rate else 0.0,
            short_margin_per_unit=short_margin,
            settle_rate=settle_rate,
            fee_rate=fee_rate,
            fee_per_contract=float(inst.fee_per_contract),
            contract_size=cs,
            lot_size=float(inst.lot_size),
            is_option=True,
            delta_per_unit=delta_dollars * usd,
            gamma_per_unit=gamma_dollars * usd,
            vega_per_unit=vega_pt * cs * usd,
            scenario_per_unit=grid * usd,
            underlying_price=underlying * usd,
        )

    def _linear_grid(self, dollar_delta: float) -> FloatArray:
        cfg = self.config
        spot = np.asarray(cfg.spot_shocks, dtype=float)[:, None, None]
        shape = (len(cfg.spot_shocks), len(cfg.vol_shocks), len(cfg.time_steps_days))
        return np.broadcast_to(spot * dollar_delta, shape).copy()

    def _option_grid(
        self, delta: float, gamma: float, vega_pt: float, theta_day: float, s: float, vol: float
    ) -> FloatArray:
        cfg = self.config
        ds = np.asarray(cfg.spot_shocks, dtype=float)[:, None, None] * s
        dv = np.asarray(cfg.vol_shocks, dtype=float)[None, :, None] * vol * 100.0
        dt = np.asarray(cfg.time_steps_days, dtype=float)[None, None, :]
        return np.asarray(
            delta * ds + 0.5 * gamma * ds * ds + vega_pt * dv + theta_day * dt, dtype=float
        )

    def _add_position(
        self,
        rb: RiskBook,
        view: PositionView,
        catalog: Mapping[str, Instrument],
        rates: Mapping[str, float],
        as_of: datetime,
    ) -> None:
        key = f"{view.venue}:{view.symbol}"
        inst = rb.instruments.get(key)
        if inst is None:
            instrument = catalog.get(key)
            if instrument is None:
                return
            # No stored mark: priced at entry only to size the aggregates; no mark time, so any
            # order that adds risk is denied (no_mark) and the monitors see it as stale.
            made = self._instrument_risk(instrument, float(view.mark_price), None, rates, as_of)
            if made is None:
                return
            made.has_mark = False
            inst = rb.instruments[key] = made
        rb.apply_fill(view.account_id, key, view.slot, float(view.qty))

    def _available(
        self, valuation: Valuation, catalog: Mapping[str, Instrument]
    ) -> dict[tuple[str, str], float]:
        """Free cash per (account, settlement currency) of a book: balance − margin held +
        cross unrealized."""
        free: dict[tuple[str, str], float] = {}
        for account_id, balances in valuation.balances.items():
            for currency, amount in balances.items():
                free[(account_id, currency)] = float(amount)
        for v in valuation.positions:
            k = (v.account_id, v.settle)
            free[k] = free.get(k, 0.0) - float(v.margin_ccy)
            if v.margined and v.margin_mode == "cross":
                free[k] += float(v.unrealized_pnl_ccy)
        return {k: max(0.0, v) for k, v in free.items()}

    # ------------------------------------------------------------------------ checks

    def check(
        self,
        intent: OrderIntent,
        book: RiskBook | None = None,
        now: datetime | None = None,
        what_if: bool = False,
    ) -> CheckResult:
        """Run the pre-trade pipeline on one order, against the book of its account (a paper
        order against the paper book, a real one against the real book): ``book`` when it is
        that book; rebuilt when None; that book's live risk book (:meth:`live_book`) when
        ``book`` is another book's. Unless ``what_if``, the decision is stored (approved or
        denied) in the risk journal. An unknown account or instrument is an error naming it
        (not a denial): there is nothing to check against."""
        now = now or self._clock.now()
        name = self.book_of_account(intent.account_id)
        if book is None:
            book = self.risk_book(now, record=not what_if, scope=name)
        elif book.scope != name:
            book = self.live_book(now, name)
        instrument = self._catalog.get(intent.instrument_key)
        if instrument is None:
            with self._uow() as uow:
                instrument = uow.instruments.get(intent.instrument_key)
        if instrument is None:
            raise UnknownInstrument(
                f"no instrument {intent.instrument_key!r} in the catalog", field="symbol"
            )
        engine = self.engine
        decision = engine.check(intent, instrument, book, now, consume=not what_if)
        figures = (engine.last_margin, engine.last_trade_risk, engine.last_reducing)
        if what_if:
            return CheckResult(decision, None, *figures)
        record = record_of(
            decision,
            now,
            intent.account_id,
            intent.venue,
            intent.symbol,
            intent.side.value,
            intent.qty,
            intent.source,
        )
        with self._uow() as uow:
            uow.risk.add_decisions([record])
            uow.commit()
        return CheckResult(decision, record, *figures)

    def validate(self, intent: OrderIntent) -> Instrument:
        """An order's input, checked before any limit: its account and instrument are known,
        its quantity and prices valid for the instrument (positive, on the lot and tick grid,
        minimums, the prices its type needs). Raises an error naming the field: a denial is
        for a valid order that breaks a limit. Returns the instrument."""
        self.book_of_account(intent.account_id)
        instrument = self._catalog.get(intent.instrument_key)
        if instrument is None:
            with self._uow() as uow:
                instrument = uow.instruments.get(intent.instrument_key)
        if instrument is None:
            raise UnknownInstrument(
                f"no instrument {intent.instrument_key!r} in the catalog", field="symbol"
            )
        validate_intent(intent, instrument)
        return instrument

    def decisions(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        outcome: str | None = None,
    ) -> list[RiskRecord]:
        """Stored decisions."""
        with self._uow() as uow:
            return uow.risk.decisions(since, until, None, outcome)

    # ------------------------------------------------------------------------ monitors

    def on_mark_update(self, now: datetime | None = None, detail: bool = False) -> MarkUpdate:
        """What a running engine does on every mark update: one revaluation (equity marks),
        every book's risk book rebuilt from it and every monitor run on each (alerts
        de-duplicated, the book's kill switch moved by a trigger). Each returned book carries
        its resulting state; ``detail`` as for :meth:`monitor`."""
        now = now or self._clock.now()
        valuations = self.valuations(now)
        books = self._risk_books(now, valuations)
        self._live = dict(books)
        parts = {
            name: BookUpdate(valuations[name], rb, self.monitor(now, rb, detail, valuations[name]))
            for name, rb in books.items()
        }
        return MarkUpdate(parts, self.split.primary)

    def live_book(self, now: datetime | None = None, scope: str | None = None) -> RiskBook:
        """A book's live risk book, without rebuilding it: the one the last
        :meth:`on_mark_update` built, which the engine's risk gate keeps current between mark
        updates (its approvals counted as working orders, fills booked); built now (equity
        marks recorded, as any rebuild does) when there is none yet or it was forgotten.
        Callers that only read it (a management tick checking its plans) share the gate's view
        at no cost; one that changes it changes what the gate sees."""
        name = self._name(scope)
        book = self._live.get(name)
        if book is None:
            book = self._live[name] = self.risk_book(now, scope=name)
        return book

    def forget_live(self) -> None:
        """Drop the live risk books (something happened they cannot follow): the next
        :meth:`live_book` rebuilds them."""
        self._live = {}

    def monitor(
        self,
        now: datetime | None = None,
        book: RiskBook | None = None,
        detail: bool = False,
        valuation: Valuation | None = None,
    ) -> MonitorResult:
        """Evaluate every monitor of a book (``valuation``'s, else ``book``'s; every book when
        neither is given), raise de-duplicated alerts (stored) and move the book's kill switch
        when a trigger fires (daily loss, drawdown, liquidation emergency, stale data, margin
        usage at its block level). ``readings`` lists every non-OK reading with ``detail``;
        otherwise only the book-level ones and those that fired the kill switch (formatting
        every reading on every tick is what a large book cannot afford)."""
        # Mark ages are measured against the clock: a dead feed must look stale.
        as_of = now or self._clock.now()
        if valuation is None and book is None:
            valuations = self.valuations(as_of)
            books = self._risk_books(as_of, valuations)
            runs = [self._monitor(as_of, books[n], detail, valuations[n]) for n in books]
            worst = max(runs, key=lambda r: r.state.state)
            return MonitorResult(
                as_of,
                [r for run in runs for r in run.readings],
                [a for run in runs for a in run.alerts],
                worst.state,
                next((run.change for run in runs if run.change is not None), None),
                DESK,
            )
        if valuation is None:
            assert book is not None  # noqa: S101 - one of the two is given here
            valuation = self.revalue(as_of, scope=book.scope)
        rb = book if book is not None else self.risk_book(as_of, valuation)
        return self._monitor(as_of, rb, detail, valuation)

    def _monitor(
        self, as_of: datetime, rb: RiskBook, detail: bool, valuation: Valuation
    ) -> MonitorResult:
        """One book's monitor run (see :meth:`monitor`)."""
        report = valuation.report
        name = valuation.book
        views = valuation.positions
        instruments = rb.instruments
        keys = [f"{v.venue}:{v.symbol}" for v in views]
        data = MonitorInput(
            keys=[f"{v.account_id}:{v.venue}:{v.symbol}:{v.slot}" for v in views],
            labels=[f"{v.symbol} ({v.account_id}, {v.side})" for v in views],
            liq_distance=np.array(
                [
                    _f(v.liq_distance_ratio) if v.liq_distance_ratio is not None else np.nan
                    for v in views
                ],
                dtype=float,
            ),
            loss=np.array([_loss(v) for v in views], dtype=float),
            mark_age=np.array(
                [
                    (as_of - report.mark_times[k]).total_seconds()
                    if k in report.mark_times
                    else np.inf  # never marked: as stale as it gets
                    for k in keys
                ],
                dtype=float,
            ),
            equity=rb.equity,
            peak_equity=rb.peak_equity,
            margin_used=rb.margin_used,
            heat=rb.heat,
            ts=as_of,
            manual=np.array(
                [k in instruments and instruments[k].manual_mark for k in keys], dtype=bool
            ),
            book="" if name == DESK else name,
            unpriced=valuation.unpriced,
        )
        thresholds = self.config.thresholds
        policy = self.config.policy
        levels = compute_levels(data, thresholds)
        triggers = list(levels.book)
        first = levels.any_at("liquidation", 3)
        if first is not None:
            triggers.append(reading_at(data, thresholds, "liquidation", first, 3))
        # A position never marked is a stale-data alert (and its entries are denied), but moves
        # the kill switch only when the policy says so: no data that was flowing went stale.
        # A mark recorded by hand is as-of data: it moves the switch only if the policy says so.
        stale: Reading | None = None
        first = stale_trigger(
            data, levels, policy.unmarked_trips_stale_data, policy.manual_marks_trip_stale_data
        )
        if first is not None:
            stale = reading_at(data, thresholds, "stale_data", first, int(levels.stale[first]))
            triggers.append(stale)
        readings = evaluate(data, thresholds) if detail else triggers
        dedupe = self._dedupe.get(name)
        if dedupe is None:
            dedupe = self._dedupe[name] = AlertDeduper(thresholds.cooldown_seconds)
            since = as_of - timedelta(seconds=thresholds.cooldown_seconds)
            with self._uow() as uow:
                stored = uow.risk.alerts(since=since)
            # Only this book's monitor alerts (oldest first, so the latest level wins): the
            # journal also holds the supervisor's and recovery's, which no monitor clears.
            for alert in stored:
                if alert.kind in MONITOR_KINDS and self._alert_book(alert.key) == name:
                    dedupe.remember(alert)
        alerts = dedupe.feed_levels(data, thresholds, levels, as_of)
        if alerts:  # a quiet tick stores nothing
            with self._uow() as uow:
                uow.risk.add_alerts(alerts)
                uow.commit()
        status, change = self._kill_switch(triggers, rb, as_of, stale)
        rb.state = status.state
        return MonitorResult(as_of, readings, alerts, status, change, name)

    def _alert_book(self, key: str) -> str | None:
        """The book a stored alert belongs to: a position's by its account, a book-level one by
        its prefix (none on a desk that is one book)."""
        head, _, rest = key.partition(":")
        if head in _POSITION_ALERTS:
            return self._account_books.get(rest.partition(":")[0])
        if self.split.paper_venue is None:
            return DESK if not rest else None
        return head if rest and head in self.split.books else None

    def _kill_switch(
        self, readings: Sequence[Reading], rb: RiskBook, now: datetime, stale: Reading | None
    ) -> tuple[TradingStatus, StateChange | None]:
        """Escalate the book's state to the most severe one any trigger asks for. Every
        trigger fires when its value reaches the threshold (``monitors.reached``); ``stale``
        is the stale-data reading that trips the switch, if any (``monitors.stale_trigger``)."""
        policy = self.config.policy
        lim = self.config.limits
        triggers: list[tuple[TradingState, str, str]] = []
        if lim.daily_loss_limit is not None and rb.day_start_equity and rb.daily_pnl is not None:
            loss = -rb.daily_pnl / rb.day_start_equity
            if reached(loss, lim.daily_loss_limit):
                triggers.append(
                    (
                        TradingState.parse(policy.on_daily_loss),
                        KillTrigger.DAILY_LOSS.value,
                        f"daily loss {loss * 100:.2f} % reached the limit {lim.daily_loss_limit * 100:g} %",
                    )
                )
        if rb.peak_equity > 0:
            drawdown = 1.0 - rb.equity / rb.peak_equity
            if reached(drawdown, policy.drawdown_limit):
                triggers.append(
                    (
                        TradingState.parse(policy.on_drawdown),
                        KillTrigger.DRAWDOWN.value,
                        f"drawdown {drawdown * 100:.2f} % reached the limit {policy.drawdown_limit * 100:g} %",
                    )
                )
        for r in readings:
            if r.kind == "liquidation" and r.level is AlertLevel.EMERGENCY:
                triggers.append(
                    (
                        TradingState.parse(policy.on_liquidation_emergency),
                        KillTrigger.LIQUIDATION.value,
                        r.message,
                    )
                )
            if r is stale:
                triggers.append(
                    (
                        TradingState.parse(policy.on_stale_data),
                        KillTrigger.STALE_DATA.value,
                        r.message,
                    )
                )
            if r.kind == "margin_usage" and r.level is AlertLevel.EMERGENCY:
                triggers.append(
                    (
                        TradingState.parse(policy.on_margin_block),
                        KillTrigger.MARGIN_BLOCK.value,
                        r.message,
                    )
                )
        status = self.status(rb.scope)
        change: StateChange | None = None
        for target, trigger, reason in sorted(triggers, key=lambda t: t[0], reverse=True):
            status, made = self.escalate(target, trigger, reason, "system", now, rb.scope)
            change = change or made
        return status, change

    # ------------------------------------------------------------------------ flatten, sizing

    def flatten_plan(
        self,
        now: datetime | None = None,
        run_id: str | None = None,
        book: RiskBook | None = None,
        valuation: Valuation | None = None,
        scope: str | None = None,
    ) -> list[FlattenLine]:
        """Market orders closing every position of a book (``valuation``'s, else ``book``'s,
        else ``scope``) — reduce-only where the venue takes the flag — largest risk
        contribution first: the position's loss in the book's worst scenario
        (``domain.risk.flatten``)."""
        now = now or self._clock.now()
        if valuation is None:
            name = book.scope if book is not None else self._name(scope)
            valuation = self.revalue(now, record=False, scope=name)
        rb = book if book is not None and book.scope == valuation.book else None
        rb = rb or self.risk_book(now, valuation)
        views = [v for v in valuation.positions if v.qty != 0]
        held: list[tuple[float, InstrumentRisk]] = []
        usable: list[PositionView] = []
        for v in views:
            inst = rb.instruments.get(f"{v.venue}:{v.symbol}")
            if inst is not None:
                held.append((float(v.qty), inst))
                usable.append(v)
        shock = max((abs(x) for x in self.config.spot_shocks), default=0.0)
        contributions = dict(
            zip(
                (v.position_id for v in usable),
                risk_contributions(held, shock),
                strict=True,
            )
        )
        exposures = [
            OpenExposure(
                v.account_id,
                v.venue,
                v.symbol,
                PositionSide(v.slot),
                v.qty,
                contributions.get(v.position_id, abs(float(v.exposure)) * shock),
                abs(float(v.exposure)),
                self._derivative(f"{v.venue}:{v.symbol}"),
            )
            for v in views
        ]
        by_key = {(e.account_id, e.venue, e.symbol, e.slot.value): e for e in exposures}
        intents = flatten_orders(exposures, now, run_id or now.strftime("%Y%m%dT%H%M%S"))
        lines = []
        for intent in intents:
            e = by_key[(intent.account_id, intent.venue, intent.symbol, intent.position_side.value)]
            lines.append(FlattenLine(intent, e.risk, e.exposure))
        return lines

    def _derivative(self, key: str) -> bool:
        inst = self._catalog.get(key)
        if inst is None:
            with self._uow() as uow:
                inst = uow.instruments.get(key)
        return inst is not None and inst.is_derivative

    def size(
        self,
        instrument_key: str,
        *,
        entry: Decimal,
        stop: Decimal,
        account_id: str,
        leverage: Decimal | None = None,
        risk_fraction: Decimal | None = None,
        confidence: float | None = None,
        win_rate: float | None = None,
        payoff_ratio: float | None = None,
        position_side: PositionSide = PositionSide.NET,
    ) -> SizingResult:
        """Size an entry from the risk per trade and the stop (seed 002), within every cap the
        pre-trade checks apply given the book — the position already held and the working
        orders included (``domain.risk.sizing.book_caps``). ``confidence`` picks the leverage
        from the configured tiers; ``win_rate`` with ``payoff_ratio`` caps the risk at the
        configured fraction of the Kelly bet."""
        now = self._clock.now()
        book = self.risk_book(now, record=False, scope=self.book_of_account(account_id))
        inst = self._catalog.get(instrument_key)
        if inst is None:
            raise UnknownInstrument(f"no instrument {instrument_key!r}", field="symbol")
        risk = book.instruments.get(instrument_key)
        if risk is None:
            raise InvalidValue(f"no mark for {instrument_key}: record a mark first", field="symbol")
        lim = self.config.limits
        if leverage is not None and confidence is not None:
            raise InvalidValue("give a leverage or a confidence, not both", field="confidence")
        if confidence is not None:
            tier = leverage_for_confidence(confidence, lim.leverage_tiers)
            leverage = Decimal(repr(round(tier, 4))).normalize()
        if leverage is None:
            leverage = Decimal(repr(book.account_leverage.get(account_id, 1.0))).normalize()
        kelly = None
        if (win_rate is None) != (payoff_ratio is None):
            raise InvalidValue(
                "fractional Kelly needs both the win rate and the payoff ratio",
                field="win_rate" if win_rate is None else "payoff_ratio",
            )
        if win_rate is not None and payoff_ratio is not None:
            kelly = Decimal(repr(kelly_fraction(win_rate, payoff_ratio, lim.kelly_fraction)))
        caps = book_caps(
            book,
            risk,
            lim,
            account_id=account_id,
            slot=position_side.value,
            long=stop < entry,
            entry=float(entry),
            stop=float(stop),
            leverage=float(leverage) if risk.margined else None,
        )
        rate = risk.settle_rate or 1.0
        fraction = (
            risk_fraction if risk_fraction is not None else Decimal(str(lim.risk_per_trade or 0.02))
        )
        available = Decimal(repr(max(0.0, book.available.get((account_id, inst.settle), 0.0))))
        return size_position(
            inst,
            equity=Decimal(repr(book.equity / rate)),
            available=available,
            entry=entry,
            stop=stop,
            risk_fraction=fraction,
            max_symbol_fraction=None,
            leverage=leverage if risk.margined else Decimal(1),
            caps=caps,
            kelly=kelly,
        )

    # ------------------------------------------------------------------------ reports

    def report(self, period: str, anchor: date, scope: str | None = None) -> RiskReport:
        """Daily, weekly (ISO week of ``anchor``) or monthly risk report of a book
        (``domain.risk.reports``). Its equity points are the book's snapshots (the midnight
        baselines among them; the desk's too when the book holds every account), its latest
        revaluation and the moment of its high-water mark; its cash flows, trades and denied
        orders are those of its accounts."""
        start, end = _period(period, anchor)
        name = self._name(scope)
        key = storage_key(name)
        until = end + timedelta(microseconds=1)  # the snapshot at ``end`` closes the period
        with self._uow() as uow:
            accounts = uow.accounts.all()
            self._learn(accounts)
            chosen = self._members(accounts)[key]
            points = [_point(s) for s in uow.snapshots.series(key, None, until)]
            if key != SCOPE and chosen == frozenset(a.account_id for a in accounts):
                # A book holding every account is the desk: the desk's snapshots are its own.
                seen = {p.ts for p in points}
                points += [
                    _point(s) for s in uow.snapshots.series(SCOPE, None, until) if s.ts not in seen
                ]
            trades = [
                t
                for t in uow.closed.trades(None, start, end)
                if chosen is None or t.account_id in chosen
            ]
            catalog = {i.key: i for i in uow.instruments.all()}
            violations = [
                v
                for v in uow.risk.decisions(start, end, outcome="denied")
                if chosen is None or v.account_id in chosen
            ]
            rows = [m for m in uow.fills.cash_movements() if chosen is None or m[0] in chosen]
            latest = uow.risk.equity_marks().get(key)
            assets = uow.prices.asset_prices()
            stored_marks = uow.prices.marks()
            opened = _opened(uow, rows, chosen)
        config = self._book.config
        reporting = config.reporting_currency
        # A trade's currency as the book counts it: its instrument's settlement currency (the
        # reporting currency for an instrument no longer in the catalog).
        settles = {
            t.instrument_key: catalog[t.instrument_key].settle
            if t.instrument_key in catalog
            else reporting
            for t in trades
        }
        needed = {m[1] for m in rows} | set(settles.values())
        # The summary's resolution (stored prices, fixed rates, then the book's marks).
        found = currency_rates(
            needed, reporting, assets, config.fixed_rates, stored_marks, catalog.values()
        )
        rates = {currency: rate.price for currency, rate in found.items()}
        unpriced = sorted(needed.difference(rates))
        # A flow or trade nothing prices is left out and named, never counted at 0.
        moves = sorted(
            ((ts, amount * rates[ccy]) for _, ccy, amount, ts in rows if ccy in rates),
            key=lambda m: m[0],
        )
        if latest is not None:
            points.append(EquityPoint(latest.ts, latest.equity, latest.gross))
            # An intraday peak is a point of the equity curve too (its drawdown is not missed).
            points.append(EquityPoint(latest.peak_ts, peak_equity_at(latest, moves)))
        pnls = []
        for t in trades:
            if t.action not in (TradeAction.REDUCE, TradeAction.CLOSE):
                continue
            rate = rates.get(settles[t.instrument_key])
            if rate is not None:
                pnls.append((t.realized_pnl - t.fee) * rate)
        report = build_report(
            period,
            start,
            end,
            points,
            moves,
            opened,
            pnls,
            [v.code for v in violations],
            self.config.limits.max_total_exposure,
            name,
        )
        return replace(report, unpriced=tuple(unpriced)) if unpriced else report

    def alerts(self, since: datetime | None = None, limit: int | None = None) -> list[Alert]:
        """Stored alerts."""
        with self._uow() as uow:
            return uow.risk.alerts(since, limit)


def _loss(view: PositionView) -> float:
    """Unrealized P&L over the entry notional (seed 004's position-loss measure)."""
    entry = float(view.entry_notional_ccy)
    return float(view.unrealized_pnl_ccy) / entry if entry else 0.0


def _period(period: str, anchor: date) -> tuple[datetime, datetime]:
    day = datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC)
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        start = day - timedelta(days=anchor.weekday())
        return start, start + timedelta(days=7)
    if period == "month":
        start = day.replace(day=1)
        nxt = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
        return start, nxt
    raise InvalidValue(f"expected day, week or month, got {period!r}", field="period")


def decision_dict(result: Decision) -> dict[str, object]:
    """JSON-safe form of a decision."""
    if isinstance(result, Denied):
        return {
            "approved": False,
            "intent_id": result.intent_id,
            **result.denial.to_dict(),
            "all": [d.to_dict() for d in result.all],
        }
    data = json_safe(
        {
            "approved": True,
            "intent_id": result.intent_id,
            "checks": result.checks,
            "warnings": list(result.warnings),
        }
    )
    assert isinstance(data, dict)  # noqa: S101 - json_safe keeps dicts
    return data


def _scope_numbers(
    report: PortfolioReport,
    rates: Mapping[str, Decimal],
    members: Mapping[str, frozenset[str] | None],
) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """``(equity, gross, net)`` of the desk (``*``, the summary's), of each account and of each
    book (the sum of its accounts'): cash at the rates, plus the market value of
    premium-settled positions and the unrealized P&L of margined ones (the summary's
    definition), in the reporting currency."""
    summary = report.summary
    out = {SCOPE: (summary.total_equity, summary.gross_exposure, summary.net_exposure)}
    per: dict[str, list[Decimal]] = {
        account_id: [
            sum((amount * rates.get(ccy, ZERO) for ccy, amount in balances.items()), ZERO),
            ZERO,
            ZERO,
        ]
        for account_id, balances in report.balances.items()
    }
    for v in report.positions:
        numbers = per.get(v.account_id)
        if numbers is None:
            continue
        numbers[0] += v.unrealized_pnl if v.margined else v.market_value
        numbers[1] += abs(v.exposure)
        numbers[2] += v.exposure
    for account_id, (equity, gross, net) in per.items():
        out[account_id] = (equity, gross, net)
    for scope, chosen in members.items():
        if scope == SCOPE or scope in out or chosen is None:
            continue
        parts = [per[a] for a in chosen if a in per]
        out[scope] = (
            sum((p[0] for p in parts), ZERO),
            sum((p[1] for p in parts), ZERO),
            sum((p[2] for p in parts), ZERO),
        )
    return out


def _unpriced(
    report: PortfolioReport, rates: Mapping[str, Decimal], accounts: frozenset[str] | None
) -> tuple[str, ...]:
    """Currencies a scope (``accounts``; None: every account) holds — non-zero cash, its
    positions' settlement currencies and those their views could not value — that have no
    rate, sorted."""
    held: set[str] = set()
    for account_id, balances in report.balances.items():
        if accounts is None or account_id in accounts:
            held.update(c for c, amount in balances.items() if amount)
    for v in report.positions:
        if accounts is None or v.account_id in accounts:
            held.add(v.settle)
            held.update(v.unpriced)
    return tuple(sorted(held.difference(rates)))


def _active_by(
    uow: UnitOfWork,
    moves: Sequence[tuple[str, str, Decimal, datetime]],
    accounts: frozenset[str] | None,
    ts: datetime,
) -> bool:
    """Whether a scope (``accounts``; None: every account) had any cash movement or fill at or
    before ``ts``: before that it held nothing."""
    if any(m[3] <= ts for m in moves):
        return True
    until = ts + timedelta(microseconds=1)
    if accounts is None:
        return bool(uow.fills.history(until=until, limit=1))
    return any(uow.fills.history(account_id=a, until=until, limit=1) for a in accounts)


def _opened(
    uow: UnitOfWork,
    moves: Sequence[tuple[str, str, Decimal, datetime]],
    accounts: frozenset[str] | None,
) -> datetime | None:
    """The first cash movement or fill of a scope (None: it never had one)."""
    first = [m[3] for m in moves]
    for account_id in [None] if accounts is None else sorted(accounts):
        fills = uow.fills.history(account_id=account_id, limit=1)
        first += [f.ts for f in fills]
    return min(first, default=None)


def _point(snapshot: PortfolioSnapshot) -> EquityPoint:
    """A snapshot as a point of an equity curve (its exposure only where it was observed)."""
    gross = None if _exposure_unknown(snapshot) else snapshot.gross_exposure
    return EquityPoint(snapshot.ts, snapshot.total_equity, gross)


def _exposure_unknown(snapshot: PortfolioSnapshot) -> bool:
    """A midnight baseline whose exposure was not observed with its equity (a first
    revaluation's: today's exposure with the equity less today's cash)."""
    summary = snapshot.summary
    if summary.get("kind") != "day_start":
        return False
    if "exposure" in summary:
        return summary["exposure"] == "unknown"
    # Stored before the flag existed: only a first revaluation's baseline had this basis.
    return str(summary.get("basis", "")).startswith("first revaluation")


def _moved(
    moves: Sequence[tuple[str, str, Decimal, datetime]],
    rates: Mapping[str, Decimal],
    after: datetime | None,
    until: datetime,
) -> Decimal:
    """Reporting-currency value of the cash moved in ``(after, until]`` (all before ``until``
    when ``after`` is None)."""
    return sum(
        (
            amount * rates.get(ccy, ZERO)
            for _, ccy, amount, ts in moves
            if (after is None or ts > after) and ts <= until
        ),
        ZERO,
    )


def _baseline_snapshot(start: DayStart) -> PortfolioSnapshot:
    """The midnight snapshot holding a day's start-of-day baseline (only equity, gross and net
    exposure are known at the boundary; the summary says where the number comes from)."""
    return PortfolioSnapshot(
        scope=start.scope,
        ts=start.ts,
        total_equity=start.equity.normalize() if start.equity.is_zero() else start.equity,
        available_balance=ZERO,
        unrealized_pnl=ZERO,
        realized_pnl=ZERO,
        gross_exposure=start.gross,
        net_exposure=start.net,
        summary={
            "kind": "day_start",
            "basis": start.basis,
            "total_equity": str(start.equity),
            "exposure": "observed" if start.exposure_known else "unknown",
        },
    )
