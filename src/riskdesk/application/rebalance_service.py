"""Option rebalancer use cases: symbol parsing, quotes, chains, position analysis, roll search,
HOLD/CLOSE/ROLL with an execution plan, and the same for every option position in the book.

Market data comes through the ``OptionsData`` port: one source for US equity options, one for
crypto options (recorded snapshots by default; Tradier and Deribit when configured). Each chain
is analysed once per snapshot time (vols, Greeks, probabilities) and cached, so a book of
positions on one underlying shares the work. The valuation time of every result is the data's
own time, never the wall clock; the clock is only used to choose which expirations to fetch
from a live source.

Plans are recorded (kept in memory, newest first) only when the caller asks for it
(``record=True``): that is the one state this service changes; a plan id is only given to a
recorded plan.

A chain is looked up by underlying in every source (the crypto snapshots serve BTC, ETH and
XRP, the equity snapshot AAPL; a live Tradier source serves any US symbol); an unknown
underlying names the available ones with their expiries.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import numpy as np

from riskdesk.application.book_service import BookService
from riskdesk.domain.calendar import MarketStatus
from riskdesk.domain.errors import InvalidValue, NotFound, RiskdeskError
from riskdesk.domain.instruments import ExerciseStyle, deribit_expiry, equity_option_expiry
from riskdesk.domain.rebalance.analysis import PositionAnalysis, market_status_for, venue_symbol
from riskdesk.domain.rebalance.chain import (
    VOL_SOURCES,
    ChainIndex,
    OptionQuote,
    RateInputs,
    UnderlyingQuote,
    VenueGreeks,
    analyse_chain,
    plain,
)
from riskdesk.domain.rebalance.engine import RebalanceReport, analyse, rebalance, search_rolls
from riskdesk.domain.rebalance.model import (
    EngineConfig,
    OptionPosition,
    RebalanceParams,
    make_params,
    make_position,
)
from riskdesk.domain.rebalance.rolls import RollEvaluation
from riskdesk.domain.symbols import (
    SymbolKind,
    SymbolSpec,
    format_ccxt,
    format_deribit,
    format_occ,
    parse_symbol,
)
from riskdesk.domain.values import Number
from riskdesk.ports.clock import Clock
from riskdesk.ports.options_data import OptionsData

_INDEX_CACHE_SIZE = 16
_EUROPEAN_ROOTS = frozenset({"SPX", "NDX", "RUT", "VIX", "XSP", "DJX"})


@dataclass(frozen=True, slots=True)
class RebalanceConfig:
    """Plain configuration (built by bootstrap from ``OptionsSettings``)."""

    engine: EngineConfig = field(default_factory=EngineConfig)
    defaults: RebalanceParams = field(default_factory=RebalanceParams)
    max_plans_kept: int = 50


@dataclass(frozen=True, slots=True)
class RebalanceRequest:
    """Seed 000's request: the position and the trader's preferences (None = configured
    default). ``position_size`` is signed (negative = short), ``entry_price`` per unit."""

    option_symbol: str
    position_size: Number
    entry_price: Number
    position_type: str | None = None
    entry_date: datetime | None = None
    risk_tolerance: str | None = None
    max_additional_capital: Number | None = None
    target_days_to_roll: int | None = None
    defensive_roll_trigger: float | None = None
    profit_target: float | None = None
    preferred_roll_types: Sequence[str] | str | None = None


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """A parsed option (or other) symbol in every notation riskdesk knows."""

    input: str
    kind: str
    underlying: str
    quote_currency: str
    settle: str | None
    right: str | None
    strike: Decimal | None
    expiry_date: date | None
    expiry_time: datetime | None
    equity: bool
    occ: str | None
    deribit: str | None
    ccxt: str | None
    exercise: str | None
    multiplier: Decimal | None


@dataclass(frozen=True, slots=True)
class OwnQuoteGreeks:
    """riskdesk's per-unit figures at the analytics vol (USD; theta per day, vega per vol
    point, rho per 1 %); ``vol_source`` says which price the vol comes from."""

    iv: float | None
    vol: float | None
    vol_source: str
    price: float | None
    delta: float | None
    gamma: float | None
    theta_per_day: float | None
    vega_per_pct: float | None
    rho_per_pct: float | None
    prob_itm: float | None


@dataclass(frozen=True, slots=True)
class QuoteReport:
    """One contract's quote with own and venue Greeks, at the data's time ``as_of``."""

    as_of: datetime
    source: str
    market: MarketStatus
    underlying: UnderlyingQuote
    contract: OptionQuote
    mid: Decimal | None
    dte: float
    own: OwnQuoteGreeks
    venue: VenueGreeks | None


@dataclass(frozen=True, slots=True)
class ChainRow:
    """One chain row (prices per unit, premium currency; Greeks per unit)."""

    symbol: str
    expiry: date
    dte: float
    right: str
    strike: Decimal
    bid: Decimal | None
    ask: Decimal | None
    mid: Decimal | None
    spread_pct: float | None
    volume: Decimal | None
    open_interest: Decimal | None
    iv: float | None
    delta: float | None
    prob_itm: float | None
    venue_iv: float | None
    venue_delta: float | None


@dataclass(frozen=True, slots=True)
class ChainReport:
    """A filtered view of a chain at ``as_of``; ``total`` rows matched, ``rows`` the first
    ``limit`` of them."""

    as_of: datetime
    source: str
    underlying: UnderlyingQuote
    expirations: list[date]
    total: int
    rows: list[ChainRow]


@dataclass(frozen=True, slots=True)
class RollSearch:
    """Position analysis and its roll candidates."""

    as_of: datetime
    source: str
    params: RebalanceParams
    analysis: PositionAnalysis
    rolls: RollEvaluation


@dataclass(frozen=True, slots=True)
class PlanRecord:
    """A plan and its full report; ``plan_id`` is set only when the plan was recorded."""

    plan_id: str | None
    symbol: str
    action: str
    report: RebalanceReport


@dataclass(frozen=True, slots=True)
class BookRow:
    """One option position of the book and its rebalance report (or why it has none)."""

    account_id: str
    instrument_key: str
    symbol: str
    quantity: Decimal
    entry_price: Decimal
    action: str | None
    report: RebalanceReport | None
    error: dict[str, str | None] | None = None


@dataclass(frozen=True, slots=True)
class BookRebalance:
    """Every option position of the book (one account or all)."""

    scope: str
    positions: list[BookRow]
    counts: dict[str, int]


def _opt(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


class RebalanceService:
    """The option rebalancer use cases over the ``OptionsData`` port."""

    def __init__(
        self,
        equity: OptionsData,
        crypto: OptionsData,
        book: BookService | None,
        clock: Clock,
        config: RebalanceConfig | None = None,
    ) -> None:
        self._equity = equity
        self._crypto = crypto
        self._book = book
        self._clock = clock
        self.config = config or RebalanceConfig()
        self._indexes: OrderedDict[tuple[str, str, datetime], ChainIndex] = OrderedDict()
        self._plans: deque[PlanRecord] = deque(maxlen=self.config.max_plans_kept)
        self._plan_seq = 0

    # ----------------------------------------------------------------------------- data

    def source_for(self, spec: SymbolSpec) -> OptionsData:
        """The data source of a symbol: equity options or crypto options."""
        return self._equity if spec.equity else self._crypto

    def sources(self) -> dict[str, str]:
        """Source name per market."""
        return {"equity": self._equity.name, "crypto": self._crypto.name}

    def _rates(self, underlying: str) -> RateInputs:
        eng = self.config.engine
        return RateInputs(
            rate=eng.rate,
            carry_yield=float(eng.carry_yields.get(underlying.upper(), 0.0)),
            coin_rate=eng.coin_rate,
            drift=eng.drift,
        )

    def _wanted_expirations(
        self, source: OptionsData, underlying: str, expiry: date | None
    ) -> list[date] | None:
        """A live source is asked only for the position's expiry and the roll window beyond it
        (the valuation time is still the data's own); without a position expiry, all."""
        if source.is_snapshot or expiry is None:
            return None
        eng = self.config.engine
        wanted = [
            d
            for d in source.expirations(underlying)
            if d == expiry or eng.roll_min_days_out <= (d - expiry).days <= eng.roll_max_days_out
        ]
        return wanted or None

    def source_for_underlying(self, underlying: str) -> OptionsData:
        """The source whose chains include ``underlying`` (a snapshot lists its underlyings; a
        live source with an empty list serves any symbol of its market). :class:`NotFound`
        names every available underlying with its expiries."""
        name = underlying.strip().upper()
        for source in (self._crypto, self._equity):
            if name in source.underlyings():
                return source
        for source in (self._equity, self._crypto):
            if not source.is_snapshot and not source.underlyings():
                return source
        raise NotFound(
            f"no option chain for {underlying!r}; available: {self._available()}",
            field="underlying",
        )

    def _available(self) -> str:
        parts: list[str] = []
        for source in (self._equity, self._crypto):
            for name in source.underlyings():
                try:
                    days = source.expirations(name)
                except RiskdeskError:
                    days = []
                span = (
                    f"{len(days)} expiries {days[0]:%Y-%m-%d}..{days[-1]:%Y-%m-%d}"
                    if len(days) > 1
                    else ", ".join(f"{d:%Y-%m-%d}" for d in days) or "no expiries"
                )
                parts.append(f"{name} ({source.name}: {span})")
        return "; ".join(parts) or "none"

    def chain_index(self, spec: SymbolSpec, expiry: date | None = None) -> ChainIndex:
        """The analysed chain of ``spec``'s underlying (cached per snapshot time)."""
        if spec.kind is SymbolKind.OPTION:
            source = self.source_for(spec)
        else:
            source = self.source_for_underlying(spec.base)
        underlying = spec.base
        snapshot = source.chain(underlying, self._wanted_expirations(source, underlying, expiry))
        key = (source.name, underlying, snapshot.as_of)
        cached = self._indexes.get(key)
        if cached is not None and cached.snapshot is snapshot:
            self._indexes.move_to_end(key)
            return cached
        index = analyse_chain(snapshot, self._rates(underlying), self.config.engine.quote_policy)
        self._indexes[key] = index
        while len(self._indexes) > _INDEX_CACHE_SIZE:
            self._indexes.popitem(last=False)
        return index

    # ----------------------------------------------------------------------------- lookups

    def parse_option_symbol(self, symbol: str) -> SymbolInfo:
        """:meth:`parse_symbol` for option symbols only: anything else (a bare ticker, a spot
        pair, a perpetual) is refused with :class:`InvalidValue` naming ``symbol``."""
        spec = parse_symbol(symbol)
        if spec.kind is not SymbolKind.OPTION:
            raise InvalidValue(
                f"{symbol!r} is not an option symbol (it reads as {spec.kind.value} "
                f"{spec.base}); expected OCC like AAPL260821P00330000 or Deribit like "
                "BTC-21SEP26-70000-P",
                field="symbol",
            )
        return self.parse_symbol(symbol)

    def parse_symbol(self, symbol: str) -> SymbolInfo:
        """Every notation of ``symbol`` (OCC, Deribit, CCXT) and its contract terms."""
        spec = parse_symbol(symbol)
        option = spec.kind is SymbolKind.OPTION
        occ = format_occ(spec) if option and spec.equity else None
        deribit = ccxt = None
        if not spec.equity:
            ccxt = format_ccxt(spec)
            try:
                deribit = format_deribit(spec)
            except RiskdeskError:
                deribit = None
        expiry_time = exercise = multiplier = None
        if option and spec.expiry is not None:
            european = not spec.equity or spec.base in _EUROPEAN_ROOTS
            expiry_time = (
                equity_option_expiry(spec.expiry) if spec.equity else deribit_expiry(spec.expiry)
            )
            exercise = (ExerciseStyle.EUROPEAN if european else ExerciseStyle.AMERICAN).value
            multiplier = Decimal(100) if spec.equity else Decimal(1)
        return SymbolInfo(
            input=symbol,
            kind=spec.kind.value,
            underlying=spec.base,
            quote_currency=spec.quote,
            settle=spec.settle,
            right=spec.right.word if spec.right else None,
            strike=plain(spec.strike) if spec.strike is not None else None,
            expiry_date=spec.expiry,
            expiry_time=expiry_time,
            equity=spec.equity,
            occ=occ,
            deribit=deribit,
            ccxt=ccxt,
            exercise=exercise,
            multiplier=multiplier,
        )

    def quote(self, symbol: str) -> QuoteReport:
        """One option's quote with own (at the analytics vol) and venue Greeks."""
        spec = parse_symbol(symbol)
        if spec.kind is not SymbolKind.OPTION:
            raise InvalidValue(f"{symbol!r} is not an option symbol", field="symbol")
        index = self.chain_index(spec, spec.expiry)
        i = index.find(venue_symbol(spec, index.terms.venue))
        c = index.contract(i)
        has_vol = bool(np.isfinite(index.vol[i]))
        own = OwnQuoteGreeks(
            iv=_opt(index.iv[i]),
            vol=_opt(index.vol[i]),
            vol_source=VOL_SOURCES[int(index.vol_source[i])],
            price=_opt(index.model_price[i]) if has_vol else None,
            delta=_opt(index.delta[i]) if has_vol else None,
            gamma=_opt(index.gamma[i]) if has_vol else None,
            theta_per_day=_opt(index.theta[i] / 365.0) if has_vol else None,
            vega_per_pct=_opt(index.vega[i] / 100.0) if has_vol else None,
            rho_per_pct=_opt(index.rho[i] / 100.0) if has_vol else None,
            prob_itm=_opt(index.prob_itm[i]),
        )
        return QuoteReport(
            as_of=index.as_of,
            source=index.snapshot.source,
            market=market_status_for(index),
            underlying=index.snapshot.underlying,
            contract=c,
            mid=c.mid,
            dte=float(index.dte[i]),
            own=own,
            venue=c.venue_greeks,
        )

    def chain(
        self,
        underlying: str,
        *,
        expiry: date | None = None,
        right: str | None = None,
        min_strike: float | None = None,
        max_strike: float | None = None,
        limit: int = 200,
    ) -> ChainReport:
        """Rows of ``underlying``'s chain filtered by expiry, right (``call``/``put``) and
        strike range, with own IV/delta/probability beside the venue's."""
        if limit < 1:
            raise InvalidValue(f"must be at least 1, got {limit}", field="limit")
        if right is not None and right.lower() not in ("call", "put", "c", "p"):
            raise InvalidValue(f"expected call or put, got {right!r}", field="right")
        text = underlying.strip().upper()
        spec = parse_symbol(text)
        index = self.chain_index(spec, expiry)
        snap = index.snapshot
        want_call = None if right is None else right.lower().startswith("c")
        rows: list[ChainRow] = []
        total = 0
        for i, c in enumerate(snap.contracts):
            if expiry is not None and c.expiry_date != expiry:
                continue
            if want_call is not None and bool(index.is_call[i]) != want_call:
                continue
            k = float(c.strike)
            if (min_strike is not None and k < min_strike) or (
                max_strike is not None and k > max_strike
            ):
                continue
            total += 1
            if len(rows) >= limit:
                continue
            g = c.venue_greeks
            rows.append(
                ChainRow(
                    symbol=c.symbol,
                    expiry=c.expiry_date,
                    dte=float(index.dte[i]),
                    right=c.right.word,
                    strike=c.strike,
                    bid=c.bid,
                    ask=c.ask,
                    mid=c.mid,
                    spread_pct=_opt(index.spread_pct[i]),
                    volume=c.volume,
                    open_interest=c.open_interest,
                    iv=_opt(index.iv[i]),
                    delta=_opt(index.delta[i]) if np.isfinite(index.vol[i]) else None,
                    prob_itm=_opt(index.prob_itm[i]),
                    venue_iv=g.iv if g else None,
                    venue_delta=g.delta if g else None,
                )
            )
        return ChainReport(
            index.as_of, snap.source, snap.underlying, snap.expirations(), total, rows
        )

    # ----------------------------------------------------------------------------- use cases

    def _prepare(
        self, request: RebalanceRequest
    ) -> tuple[OptionPosition, RebalanceParams, ChainIndex, OptionsData]:
        position = make_position(
            request.option_symbol,
            request.position_size,
            request.entry_price,
            request.position_type,
            request.entry_date,
        )
        params = make_params(
            self.config.defaults,
            risk_tolerance=request.risk_tolerance,
            max_additional_capital=request.max_additional_capital,
            target_days_to_roll=request.target_days_to_roll,
            defensive_roll_trigger=request.defensive_roll_trigger,
            profit_target=request.profit_target,
            preferred_roll_types=request.preferred_roll_types,
        )
        source = self.source_for(position.spec)
        index = self.chain_index(position.spec, position.spec.expiry)
        return position, params, index, source

    def analyze(self, request: RebalanceRequest) -> PositionAnalysis:
        """P&L, Greeks (own and venue), probabilities, liquidity and market status."""
        position, _, index, _ = self._prepare(request)
        return analyse(position, index, self.config.engine)[0]

    def evaluate_rolls(self, request: RebalanceRequest) -> RollSearch:
        """The analysis and every roll candidate from the chain, best first."""
        position, params, index, _ = self._prepare(request)
        analysis, rolls = search_rolls(position, index, params, self.config.engine)
        return RollSearch(index.as_of, index.snapshot.source, params, analysis, rolls)

    def rebalance(self, request: RebalanceRequest, *, record: bool = False) -> PlanRecord:
        """HOLD / CLOSE / ROLL with the execution plan; ``record`` keeps it as the latest."""
        position, params, index, source = self._prepare(request)
        report = rebalance(
            position, index, params, self.config.engine, snapshot_data=source.is_snapshot
        )
        plan_id = None
        if record:
            self._plan_seq += 1
            plan_id = f"plan-{report.as_of:%Y%m%dT%H%M%SZ}-{self._plan_seq:04d}"
        record_obj = PlanRecord(
            plan_id, report.analysis.symbol, report.decision.action.value, report
        )
        if record:
            self._plans.appendleft(record_obj)
        return record_obj

    def latest_plans(self) -> list[PlanRecord]:
        """Recorded plans, newest first."""
        return list(self._plans)

    def plan(self, plan_id: str) -> PlanRecord:
        """A recorded plan by id."""
        for record in self._plans:
            if record.plan_id == plan_id:
                return record
        raise InvalidValue(f"no recorded plan {plan_id!r}", field="plan_id")

    def book(self, account_id: str | None = None) -> BookRebalance:
        """Rebalance every option position of the book (default preferences); a position that
        cannot be analysed (no chain, expired, not listed) carries the error instead."""
        if self._book is None:
            raise InvalidValue("no book is wired", field="book")
        report = self._book.report(account_id)
        catalog = {i.key: i for i in self._book.instruments()}
        rows: list[BookRow] = []
        counts: dict[str, int] = {}
        for view in report.positions:
            key = f"{view.venue}:{view.symbol}"
            inst = catalog.get(key)
            if inst is None or inst.kind is not SymbolKind.OPTION:
                continue
            qty, entry = plain(view.qty), plain(view.entry_price)
            request = RebalanceRequest(view.symbol, qty, entry)
            try:
                plan = self.rebalance(request)
            except RiskdeskError as exc:
                rows.append(
                    BookRow(
                        view.account_id,
                        key,
                        view.symbol,
                        qty,
                        entry,
                        None,
                        None,
                        exc.to_dict(),
                    )
                )
                counts["error"] = counts.get("error", 0) + 1
                continue
            action = plan.report.decision.action.value
            counts[action] = counts.get(action, 0) + 1
            rows.append(
                BookRow(
                    view.account_id,
                    key,
                    view.symbol,
                    qty,
                    entry,
                    action,
                    plan.report,
                )
            )
        return BookRebalance(report.scope, rows, counts)


__all__ = [
    "BookRebalance",
    "BookRow",
    "ChainReport",
    "ChainRow",
    "OwnQuoteGreeks",
    "PlanRecord",
    "QuoteReport",
    "RebalanceConfig",
    "RebalanceRequest",
    "RebalanceService",
    "RollSearch",
    "SymbolInfo",
]
