"""Portfolio views: summary (seed 002 ``get_portfolio_summary``, seed 004 PMS), position detail
with liquidation distances, and exposure by symbol, asset and venue.

Inputs are the book(s), the instruments, and a :class:`MarketSnapshot` (marks per instrument and
asset prices in the reporting currency). Amounts are exact ``Decimal`` in the reporting currency
unless a field says otherwise; ratios are fractions (0.05 = 5 %).

Exposure of a position, in the reporting currency: spot and linear contracts ``q·cs·mark``;
inverse contracts ``q·cs`` USD; options ``delta·q·multiplier·underlying`` when a delta is given
(the pricing layer supplies it from the mark-implied vol), otherwise their premium market value
(``PositionView.exposure_basis`` says which).

**Unpriced currencies.** A currency without a rate in the snapshot (see :mod:`.rates`) does not
stop the views: amounts in it stay exact in their own currency (``*_ccy`` fields, balances),
its contribution to reporting-currency figures is counted at zero, and the view, exposure row
or summary lists it in ``unpriced`` — those figures are then incomplete (the CLI shows them as
``—`` and names the currency).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from riskdesk.domain.accounting.book import Book
from riskdesk.domain.accounting.margin import (
    BINANCE,
    MaintenanceBasis,
    MarginConvention,
    MarginLeg,
    OptionMarginRates,
    distance_to_liquidation,
    group_prices,
    maintenance_margin,
    margin_excess,
    roe,
    short_option_margin,
)
from riskdesk.domain.accounting.position import Position
from riskdesk.domain.errors import InvalidValue, UnknownInstrument
from riskdesk.domain.events import json_safe
from riskdesk.domain.fills import MarginMode
from riskdesk.domain.instruments import Instrument, Settlement
from riskdesk.domain.symbols import OptionRight, SymbolKind
from riskdesk.domain.values import (
    ACCOUNTING_CONTEXT,
    ONE,
    ZERO,
    exact,
    frozen_factory,
    ratio,
    trim,
)

_div = ACCOUNTING_CONTEXT.divide


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """Marks per instrument key (price currency per unit) and asset prices in the reporting
    currency (``USD``/``USDT``/``USDC`` → 1, ``BTC`` → its index, ``AAPL`` → its last).

    ``mark_times`` gives each mark's time where marks are of different ages (holding times are
    measured to the position's own mark time)."""

    marks: Mapping[str, Decimal]
    asset_prices: Mapping[str, Decimal]
    ts: datetime
    mark_times: Mapping[str, datetime] = field(default_factory=dict)

    def mark(self, instrument: Instrument) -> Decimal:
        """The instrument's mark; a clear error if the snapshot has none."""
        try:
            return self.marks[instrument.key]
        except KeyError:
            raise InvalidValue(f"no mark price for {instrument.key}", field="mark") from None

    def rate(self, currency: str) -> Decimal:
        """Value of one unit of ``currency`` in the reporting currency."""
        try:
            return self.asset_prices[currency]
        except KeyError:
            raise InvalidValue(
                f"no price for {currency} in the reporting currency", field="asset_prices"
            ) from None

    def rate_or_zero(self, currency: str) -> Decimal:
        """:meth:`rate`, or zero for an unpriced currency (the caller records it as unpriced)."""
        return self.asset_prices.get(currency, ZERO)


@dataclass(frozen=True, slots=True)
class PositionView:
    """One open position as a trader reads it. ``*_ccy`` fields are in the settlement currency.

    ``liquidation_price`` and ``bankruptcy_price`` are shared by the position's margin group
    (itself when isolated; every cross position of the same instrument in the account), exact;
    :meth:`on_tick` gives them on the tick grid for display. ``liq_distance`` is signed:
    positive while the mark is on the safe side of the liquidation price (for a hedged pair the
    danger can lie on either side of a leg). Ratios are fractions at ``RATIO_QUANTUM``."""

    position_id: str
    account_id: str
    venue: str
    symbol: str
    asset: str
    kind: str
    margined: bool
    side: str
    slot: str
    qty: Decimal
    entry_price: Decimal
    mark_price: Decimal
    settle: str
    notional: Decimal
    entry_notional_ccy: Decimal
    exposure: Decimal
    market_value: Decimal
    unrealized_pnl_ccy: Decimal
    unrealized_pnl: Decimal
    pnl_ratio: Decimal
    realized_pnl_ccy: Decimal
    fees_ccy: Decimal
    funding_ccy: Decimal
    leverage: Decimal
    margin_mode: str
    margin_ccy: Decimal
    maintenance_ccy: Decimal
    margin_ratio: Decimal | None
    liquidation_price: Decimal | None
    bankruptcy_price: Decimal | None
    liq_distance: Decimal | None
    liq_distance_ratio: Decimal | None
    stop_price: Decimal | None
    risk_to_stop: Decimal | None
    opened_at: datetime
    hold_seconds: int
    tick_size: Decimal = ONE
    lot_size: Decimal = ONE
    #: How ``exposure`` was valued: ``notional`` (spot, futures, perpetuals), ``delta`` (an
    #: option with a delta) or ``premium`` (an option without one: its market value).
    exposure_basis: str = "notional"
    #: Currencies this view could not value in the reporting currency (counted at zero).
    unpriced: tuple[str, ...] = ()

    def on_tick(self) -> PositionView:
        """This view as printed: the liquidation price on the instrument's tick grid rounded
        toward the mark (never beyond the exact price, which the view itself keeps for
        computation), the bankruptcy price on the grid (nearest), and the average entry without
        trailing zeros."""
        return replace(
            self,
            entry_price=trim(self.entry_price),
            liquidation_price=toward_mark(self.liquidation_price, self.tick_size, self.mark_price),
            bankruptcy_price=on_grid(self.bankruptcy_price, self.tick_size),
        )


# Built once per position on every read: the same objects as the constructor, the cheap way.
_position_view = frozen_factory(PositionView)


@dataclass(frozen=True, slots=True)
class ExposureRow:
    """Exposure of one group (a symbol, an asset or a venue/account)."""

    key: str
    long: Decimal
    short: Decimal
    gross: Decimal
    net: Decimal
    of_equity: Decimal
    unrealized_pnl: Decimal
    count: int
    #: Currencies of the group's positions without a rate (its amounts are incomplete).
    unpriced: tuple[str, ...] = ()


_exposure_row = frozen_factory(ExposureRow)


@dataclass(frozen=True, slots=True)
class Exposure:
    """Exposure tables, sorted by gross exposure, and the largest single-asset concentration."""

    by_symbol: list[ExposureRow]
    by_asset: list[ExposureRow]
    by_venue: list[ExposureRow]
    largest_asset: str | None
    largest_asset_share: Decimal
    #: Currencies without a rate: the equity (and so every share of it) is incomplete.
    unpriced: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PortfolioSummary:
    """Account-level numbers in the reporting currency; ratios are fractions."""

    reporting_currency: str
    ts: datetime
    total_equity: Decimal
    wallet_balance: Decimal
    available_balance: Decimal
    margin_used: Decimal
    maintenance_margin: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    fees: Decimal
    funding: Decimal
    daily_pnl: Decimal | None
    daily_return: Decimal | None
    long_exposure: Decimal
    short_exposure: Decimal
    gross_exposure: Decimal
    net_exposure: Decimal
    effective_leverage: Decimal
    long_short_ratio: Decimal | None
    position_count: int
    portfolio_heat: Decimal
    unprotected_positions: int
    margin_usage: Decimal
    largest_asset: str | None
    largest_asset_share: Decimal
    max_drawdown: Decimal | None
    #: Currencies held without a rate in the reporting currency: every total below leaves them
    #: out (counted at zero) and is incomplete (see :data:`SUMMARY_TOTALS`).
    unpriced: tuple[str, ...] = ()


#: The summary figures an unpriced currency makes incomplete (reporting-currency amounts and
#: the ratios built on them).
SUMMARY_TOTALS: tuple[str, ...] = (
    "total_equity",
    "wallet_balance",
    "available_balance",
    "margin_used",
    "maintenance_margin",
    "unrealized_pnl",
    "realized_pnl",
    "fees",
    "funding",
    "daily_pnl",
    "daily_return",
    "long_exposure",
    "short_exposure",
    "gross_exposure",
    "net_exposure",
    "effective_leverage",
    "long_short_ratio",
    "portfolio_heat",
    "margin_usage",
    "largest_asset",
    "largest_asset_share",
    "max_drawdown",
)

#: The position-view figures in the reporting currency (incomplete when the view is unpriced).
VIEW_REPORTING_FIELDS: tuple[str, ...] = (
    "notional",
    "exposure",
    "market_value",
    "unrealized_pnl",
    "risk_to_stop",
)


@dataclass(slots=True)
class PortfolioInputs:
    """Everything the views need besides books and market: conventions and history numbers."""

    conventions: Mapping[str, MarginConvention] = field(default_factory=dict)
    option_rates: OptionMarginRates = field(default_factory=OptionMarginRates)
    option_deltas: Mapping[str, Decimal] = field(default_factory=dict)
    realized_closed: Decimal = ZERO
    day_start_equity: Decimal | None = None
    equity_history: Sequence[Decimal] = ()
    #: Currencies the caller could not value (e.g. closed positions' realized P&L).
    unpriced: Sequence[str] = ()


@dataclass(slots=True)
class _CrossPool:
    """Per (account, settlement currency): the cross wallet and totals of its cross positions."""

    wallet: Decimal = ZERO
    maintenance: Decimal = ZERO
    unrealized: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class _Liquidation:
    """What a position's margin group (itself when isolated; every cross position of its
    instrument in the account otherwise) shares: liquidation and bankruptcy prices, and the
    signed distance from the mark (positive while the mark is on the safe side)."""

    price: Decimal | None
    bankruptcy: Decimal | None
    distance: Decimal | None
    distance_ratio: Decimal | None


_NO_LIQUIDATION = _Liquidation(None, None, None, None)


def _convention(inputs: PortfolioInputs, venue: str) -> MarginConvention:
    return inputs.conventions.get(venue, BINANCE)


def on_grid(price: Decimal | None, tick: Decimal) -> Decimal | None:
    """``price`` on the ``tick`` grid, nearest (half-even)."""
    if price is None:
        return None
    units = _div(price, tick).to_integral_value(rounding=ROUND_HALF_EVEN)
    return (units * tick).quantize(tick, context=ACCOUNTING_CONTEXT)


def toward_mark(price: Decimal | None, tick: Decimal, mark: Decimal) -> Decimal | None:
    """``price`` on the ``tick`` grid, rounded toward ``mark``: a liquidation (or bankruptcy)
    price so rounded is never beyond the exact one, so the distance it shows is never too
    generous."""
    if price is None:
        return None
    rounding = ROUND_CEILING if price < mark else ROUND_FLOOR
    units = _div(price, tick).to_integral_value(rounding=rounding)
    return (units * tick).quantize(tick, context=ACCOUNTING_CONTEXT)


def _liquidation(
    inst: Instrument,
    group: Sequence[Position],
    backing: Decimal,
    mark: Decimal,
    conv: MarginConvention,
    excess_at_mark: Decimal,
) -> _Liquidation:
    """The group's prices and distance. ``excess_at_mark`` is its margin balance less its
    maintenance at the mark (what the views already hold); it says which side is safe."""
    legs = [MarginLeg(p.qty, p.basis, p.entry_price) for p in group]
    price, bank = group_prices(inst, legs, backing, conv, mark)
    if price is None:
        return _Liquidation(None, bank, None, None)
    if conv.basis is not MaintenanceBasis.MARK or conv.close_fee_rate:
        # Entry-basis maintenance or a close fee: not what the views hold at the mark.
        excess_at_mark = margin_excess(inst, legs, backing, mark, conv)
    safe = excess_at_mark >= 0
    falls = price < mark if safe else price > mark
    distance = distance_to_liquidation(mark, price, falls)
    if distance is None:
        return _Liquidation(price, bank, None, None)
    return _Liquidation(price, bank, distance[0], ratio(distance[1]))


@exact
def position_views(
    books: Iterable[Book],
    instruments: Mapping[str, Instrument],
    market: MarketSnapshot,
    inputs: PortfolioInputs | None = None,
) -> list[PositionView]:
    """Detail rows for every open position, with margin, liquidation and stop risk.

    ``pnl_ratio`` is ROE (unrealized / margin) for margined positions and the return on cost for
    spot and options; ``liq_distance_ratio`` is the distance to liquidation as a fraction of the
    mark; both are fractions (0.05 = 5 %)."""
    inputs = inputs or PortfolioInputs()
    rows: list[PositionView] = []
    for book in books:
        positions = book.open_positions()
        instr = {p.position_id: _instrument(instruments, p) for p in positions}
        marks = {p.position_id: market.mark(instr[p.position_id]) for p in positions}
        pools: dict[str, _CrossPool] = {}
        mm: dict[str, Decimal] = {}
        upnl: dict[str, Decimal] = {}
        covered = _covered_calls(positions, instr)
        for p in positions:
            inst = instr[p.position_id]
            mark = marks[p.position_id]
            upnl[p.position_id] = p.unrealized_pnl(inst, mark)
            mm[p.position_id] = (
                ZERO if p.position_id in covered else _maintenance(inst, p, mark, market, inputs)
            )
            if inst.settlement is Settlement.MARGIN:
                pool = pools.setdefault(inst.settle, _CrossPool())
                if p.margin_mode is MarginMode.CROSS:
                    pool.maintenance += mm[p.position_id]
                    pool.unrealized += upnl[p.position_id]
                else:
                    pool.wallet -= p.isolated_margin
        for currency, pool in pools.items():
            pool.wallet += book.cash(currency)
        liquidations = _group_liquidations(positions, instr, marks, upnl, mm, pools, inputs)
        unpriced: dict[str, tuple[str, ...]] = {}  # per instrument: computed once
        for p in positions:
            inst = instr[p.position_id]
            if inst.key not in unpriced:
                unpriced[inst.key] = _unpriced(inst, market)
            cross = pools.get(inst.settle)
            if p.margin_mode is not MarginMode.CROSS:
                cross = None
            rows.append(
                _view(
                    book,
                    p,
                    instr[p.position_id],
                    marks[p.position_id],
                    upnl[p.position_id],
                    mm[p.position_id],
                    liquidations.get(p.position_id, _NO_LIQUIDATION),
                    market,
                    inputs,
                    p.position_id in covered,
                    cross,
                    unpriced[inst.key],
                )
            )
    return rows


def _group_liquidations(
    positions: Sequence[Position],
    instr: Mapping[str, Instrument],
    marks: Mapping[str, Decimal],
    upnl: Mapping[str, Decimal],
    mm: Mapping[str, Decimal],
    pools: Mapping[str, _CrossPool],
    inputs: PortfolioInputs,
) -> dict[str, _Liquidation]:
    """Liquidation of every margined position: an isolated one alone on its margin; the cross
    positions of one instrument together (hedge-mode long and short move with the same price),
    backed by the pool less the other cross positions' maintenance plus their unrealized P&L."""
    groups: dict[str, list[Position]] = {}
    out: dict[str, _Liquidation] = {}
    for p in positions:
        pid = p.position_id
        inst = instr[pid]
        if inst.settlement is not Settlement.MARGIN:
            continue
        if p.margin_mode is MarginMode.ISOLATED:
            margin = p.isolated_margin
            out[pid] = _liquidation(
                inst,
                [p],
                margin,
                marks[pid],
                _convention(inputs, inst.venue),
                margin + upnl[pid] - mm[pid],
            )
        else:
            groups.setdefault(inst.key, []).append(p)
    for group in groups.values():
        inst = instr[group[0].position_id]
        pool = pools[inst.settle]
        # The whole cross pool's excess at the mark is the group's: the others are at the mark.
        excess = pool.wallet - pool.maintenance + pool.unrealized
        own = ZERO
        for p in group:
            own += upnl[p.position_id] - mm[p.position_id]
        result = _liquidation(
            inst,
            group,
            excess - own,  # backing: the pool less the others' maintenance plus their P&L
            marks[group[0].position_id],
            _convention(inputs, inst.venue),
            excess,
        )
        for p in group:
            out[p.position_id] = result
    return out


def _covered_calls(positions: Sequence[Position], instr: Mapping[str, Instrument]) -> set[str]:
    """Short equity calls fully covered by shares of the underlying held in the same account
    (no margin required): shares are allocated to the short calls in order."""
    shares: dict[str, Decimal] = {}
    for p in positions:
        inst = instr[p.position_id]
        if inst.kind is SymbolKind.SPOT and inst.equity and p.qty > 0:
            shares[inst.base] = shares.get(inst.base, ZERO) + p.qty
    covered: set[str] = set()
    for p in positions:
        inst = instr[p.position_id]
        if (
            inst.equity
            and inst.kind is SymbolKind.OPTION
            and inst.right is OptionRight.CALL
            and p.qty < 0
        ):
            need = abs(p.qty) * inst.contract_size
            if shares.get(inst.base, ZERO) >= need:
                shares[inst.base] -= need
                covered.add(p.position_id)
    return covered


def _instrument(instruments: Mapping[str, Instrument], position: Position) -> Instrument:
    try:
        return instruments[position.instrument_key]
    except KeyError:
        raise UnknownInstrument(
            f"no instrument {position.instrument_key}", field="symbol"
        ) from None


def _underlying_price(instrument: Instrument, market: MarketSnapshot) -> Decimal:
    return market.rate_or_zero(instrument.base)


def _unpriced(inst: Instrument, market: MarketSnapshot) -> tuple[str, ...]:
    """The currencies a view of ``inst`` needs that the snapshot cannot value."""
    prices = market.asset_prices
    needs: tuple[str, ...] = (inst.settle, inst.quote, inst.price_currency)
    if inst.kind is SymbolKind.OPTION:
        needs = (*needs, inst.base)
    missing = {c for c in needs if c not in prices}
    return tuple(sorted(missing)) if missing else ()


def _maintenance(
    inst: Instrument, p: Position, mark: Decimal, market: MarketSnapshot, inputs: PortfolioInputs
) -> Decimal:
    if inst.settlement is Settlement.MARGIN:
        return maintenance_margin(inst, p.qty, mark)
    if inst.kind is SymbolKind.OPTION and p.qty < 0:
        if inst.base not in market.asset_prices:
            return ZERO  # no underlying price: unknown (the view is marked unpriced)
        return short_option_margin(
            inst,
            p.qty,
            mark,
            _underlying_price(inst, market),
            inputs.option_rates,
            maintenance=True,
        )
    return ZERO


def _exposure(
    inst: Instrument, p: Position, mark: Decimal, market: MarketSnapshot, inputs: PortfolioInputs
) -> Decimal:
    if inst.kind is SymbolKind.OPTION:
        delta = inputs.option_deltas.get(inst.key)
        if delta is not None:
            return delta * p.qty * inst.contract_size * _underlying_price(inst, market)
        return p.qty * inst.contract_size * mark * market.rate_or_zero(inst.price_currency)
    if inst.inverse:
        return p.qty * inst.contract_size * market.rate_or_zero(inst.quote)
    return p.qty * inst.contract_size * mark * market.rate_or_zero(inst.quote)


def _notional(inst: Instrument, p: Position, mark: Decimal, market: MarketSnapshot) -> Decimal:
    """Absolute notional in the reporting currency (options: of the underlying)."""
    if inst.kind is SymbolKind.OPTION:
        return abs(p.qty) * inst.contract_size * _underlying_price(inst, market)
    return inst.quote_notional(p.qty, mark) * market.rate_or_zero(inst.quote)


def _view(
    book: Book,
    p: Position,
    inst: Instrument,
    mark: Decimal,
    upnl: Decimal,
    mm: Decimal,
    liq: _Liquidation,
    market: MarketSnapshot,
    inputs: PortfolioInputs,
    covered: bool = False,
    pool: _CrossPool | None = None,
    unpriced: tuple[str, ...] = (),
) -> PositionView:
    rate = market.rate_or_zero(inst.settle)
    margined = inst.settlement is Settlement.MARGIN
    margin = ZERO
    if margined:
        if p.margin_mode is MarginMode.ISOLATED:
            margin = p.isolated_margin
        else:
            margin = _div(inst.notional(p.qty, p.entry_price), p.leverage)
        pct = roe(upnl, margin)
    elif inst.kind is SymbolKind.OPTION and p.qty < 0 and not covered:
        if inst.base in market.asset_prices:
            margin = short_option_margin(
                inst, p.qty, mark, _underlying_price(inst, market), inputs.option_rates
            )
        cost = abs(p.basis)
        pct = _div(upnl, cost) if cost else ZERO
    else:
        cost = abs(p.basis)
        pct = _div(upnl, cost) if cost else ZERO
    if margined and pool is not None:
        # Cross: the account's (as exchanges show it): every cross position's maintenance over
        # the cross margin balance (wallet less isolated margin, plus cross unrealized P&L).
        balance: Decimal | None = pool.wallet + pool.unrealized
        maint = pool.maintenance
    else:
        balance, maint = (margin + upnl if margined else None), mm
    margin_ratio = _div(maint, balance) if balance is not None and balance > 0 else None
    risk = None
    if p.stop_price is not None:
        risk = max(ZERO, -inst.pnl(p.qty, p.entry_price, p.stop_price)) * rate
    exposure = _exposure(inst, p, mark, market, inputs)
    market_value = (
        ZERO if margined else p.market_value(inst, mark) * market.rate_or_zero(inst.price_currency)
    )
    return _position_view(
        position_id=p.position_id,
        account_id=book.account.account_id,
        venue=inst.venue,
        symbol=inst.symbol,
        asset=inst.asset,
        kind=inst.kind.value + ("/inverse" if inst.inverse else ""),
        margined=margined,
        side=p.side_name,
        slot=p.slot.value,
        qty=p.qty,
        entry_price=p.entry_price,
        mark_price=mark,
        settle=inst.settle,
        notional=_notional(inst, p, mark, market),
        entry_notional_ccy=inst.notional(p.qty, p.entry_price),
        exposure=exposure,
        market_value=market_value,
        unrealized_pnl_ccy=upnl,
        unrealized_pnl=upnl * rate,
        pnl_ratio=ratio(pct),
        realized_pnl_ccy=p.realized_pnl,
        fees_ccy=p.fees,
        funding_ccy=p.funding,
        leverage=p.leverage,
        margin_mode=p.margin_mode.value if margined else "-",
        margin_ccy=margin,
        maintenance_ccy=mm,
        margin_ratio=None if margin_ratio is None else ratio(margin_ratio),
        liquidation_price=liq.price,
        bankruptcy_price=liq.bankruptcy,
        liq_distance=liq.distance,
        liq_distance_ratio=liq.distance_ratio,
        stop_price=p.stop_price,
        risk_to_stop=risk,
        opened_at=p.opened_at,
        hold_seconds=int(
            (market.mark_times.get(inst.key, market.ts) - p.opened_at).total_seconds()
        ),
        tick_size=inst.tick_size,
        lot_size=inst.lot_size,
        exposure_basis=(
            "notional"
            if inst.kind is not SymbolKind.OPTION
            else "delta"
            if inst.key in inputs.option_deltas
            else "premium"
        ),
        unpriced=unpriced,
    )


@dataclass(slots=True)
class _Acc:
    long: Decimal = ZERO
    short: Decimal = ZERO
    upnl: Decimal = ZERO
    count: int = 0
    unpriced: tuple[str, ...] = ()


def _add(
    table: dict[str, _Acc], name: str, e: Decimal, upnl: Decimal, unpriced: tuple[str, ...]
) -> None:
    row = table.get(name)
    if row is None:
        row = table[name] = _Acc()
    if e > 0:
        row.long += e
    elif e < 0:
        row.short -= e
    row.upnl += upnl
    row.count += 1
    if unpriced:
        row.unpriced = tuple(sorted({*row.unpriced, *unpriced}))


def _rows(table: dict[str, _Acc], equity: Decimal) -> list[ExposureRow]:
    rows = []
    for name, a in table.items():
        gross = a.long + a.short
        rows.append(
            _exposure_row(
                name,
                a.long,
                a.short,
                gross,
                a.long - a.short,
                ratio(_div(gross, equity)) if equity > 0 else ZERO,
                a.upnl,
                a.count,
                a.unpriced,
            )
        )
    rows.sort(key=lambda r: r.gross, reverse=True)
    return rows


@exact
def exposure(
    views: Sequence[PositionView], equity: Decimal, unpriced: tuple[str, ...] = ()
) -> Exposure:
    """Exposure by symbol, by underlying asset and by venue/account. ``unpriced``: currencies
    the equity leaves out (its shares are then incomplete)."""
    # One pass filling the three tables (a sum per group and per field was the hot spot).
    symbols: dict[str, _Acc] = {}
    assets: dict[str, _Acc] = {}
    venues: dict[str, _Acc] = {}
    for v in views:
        e, upnl, missing = v.exposure, v.unrealized_pnl, v.unpriced
        _add(symbols, f"{v.venue}:{v.symbol}", e, upnl, missing)
        _add(assets, v.asset, e, upnl, missing)
        _add(venues, f"{v.venue}/{v.account_id}", e, upnl, missing)
    by_asset = _rows(assets, equity)
    largest = by_asset[0] if by_asset else None
    return Exposure(
        by_symbol=_rows(symbols, equity),
        by_asset=by_asset,
        by_venue=_rows(venues, equity),
        largest_asset=largest.key if largest else None,
        largest_asset_share=largest.of_equity if largest else ZERO,
        unpriced=unpriced,
    )


@exact
def max_drawdown(equities: Sequence[Decimal]) -> Decimal | None:
    """Largest peak-to-trough fall of an equity series as a fraction (0.08 = −8 %)."""
    peak: Decimal | None = None
    worst = ZERO
    for value in equities:
        if peak is None or value > peak:
            peak = value
        elif peak > 0:
            worst = max(worst, _div(peak - value, peak))
    return None if peak is None else worst


@exact
def summarize(
    books: Sequence[Book],
    instruments: Mapping[str, Instrument],
    market: MarketSnapshot,
    inputs: PortfolioInputs | None = None,
    views: Sequence[PositionView] | None = None,
) -> PortfolioSummary:
    """The portfolio summary across ``books`` in the first book's reporting currency."""
    return summary_and_exposure(books, instruments, market, inputs, views)[0]


@exact
def summary_and_exposure(
    books: Sequence[Book],
    instruments: Mapping[str, Instrument],
    market: MarketSnapshot,
    inputs: PortfolioInputs | None = None,
    views: Sequence[PositionView] | None = None,
) -> tuple[PortfolioSummary, Exposure]:
    """:func:`summarize` and the :func:`exposure` tables it is built on (computed once)."""
    inputs = inputs or PortfolioInputs()
    views = list(views) if views is not None else position_views(books, instruments, market, inputs)
    currency = books[0].account.reporting_currency if books else "USD"
    prices = market.asset_prices
    unpriced: set[str] = set(inputs.unpriced)
    wallet = ZERO
    for b in books:
        for ccy, amount in b.balances.items():
            if not amount:
                continue
            if ccy in prices:
                wallet += amount * prices[ccy]
            else:
                unpriced.add(ccy)
    margined_upnl = premium_value = upnl = ZERO
    margin_used = maint = realized_open = fees = funding = long = short = heat = ZERO
    rates: dict[str, Decimal] = {}
    for v in views:  # one pass: these sums were most of the summary's time
        rate = rates.get(v.settle)
        if rate is None:
            rate = rates[v.settle] = market.rate_or_zero(v.settle)
        if v.unpriced:
            unpriced.update(v.unpriced)
        if v.margined:
            margined_upnl += v.unrealized_pnl
        premium_value += v.market_value
        upnl += v.unrealized_pnl
        margin_used += v.margin_ccy * rate
        maint += v.maintenance_ccy * rate
        realized_open += v.realized_pnl_ccy * rate
        fees += v.fees_ccy * rate
        funding += v.funding_ccy * rate
        if v.exposure > 0:
            long += v.exposure
        else:
            short -= v.exposure
        if v.risk_to_stop is not None:
            heat += v.risk_to_stop
    equity = wallet + premium_value + margined_upnl
    gross = long + short
    missing = tuple(sorted(unpriced))
    exp = exposure(views, equity, missing)
    daily = None if inputs.day_start_equity is None else equity - inputs.day_start_equity
    daily_ret = (
        None
        if daily is None or inputs.day_start_equity is None or inputs.day_start_equity <= 0
        else ratio(_div(daily, inputs.day_start_equity))
    )
    history = [*inputs.equity_history, equity]
    drawdown = max_drawdown(history)
    summary = PortfolioSummary(
        reporting_currency=currency,
        ts=market.ts,
        total_equity=equity,
        wallet_balance=wallet,
        available_balance=max(ZERO, equity - margin_used - premium_value),
        margin_used=margin_used,
        maintenance_margin=maint,
        unrealized_pnl=upnl,
        realized_pnl=inputs.realized_closed + realized_open,
        fees=fees,
        funding=funding,
        daily_pnl=daily,
        daily_return=daily_ret,
        long_exposure=long,
        short_exposure=short,
        gross_exposure=gross,
        net_exposure=long - short,
        effective_leverage=ratio(_div(gross, equity)) if equity > 0 else ZERO,
        long_short_ratio=ratio(_div(long, short)) if short > 0 else None,
        position_count=len(views),
        portfolio_heat=ratio(_div(heat, equity)) if equity > 0 else ZERO,
        unprotected_positions=sum(1 for v in views if v.stop_price is None),
        margin_usage=ratio(_div(margin_used, equity)) if equity > 0 else ZERO,
        largest_asset=exp.largest_asset,
        largest_asset_share=exp.largest_asset_share,
        max_drawdown=None if drawdown is None else ratio(drawdown),
        unpriced=missing,
    )
    return summary, exp


@dataclass(frozen=True, slots=True)
class PortfolioSnapshot:
    """A point of the equity curve (seed 002 ``portfolio_snapshots``), reporting currency.

    ``scope`` is an account id, or ``*`` for every account together. ``summary`` is the full
    summary as JSON-safe data, kept for reports."""

    scope: str
    ts: datetime
    total_equity: Decimal
    available_balance: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    gross_exposure: Decimal
    net_exposure: Decimal
    summary: Mapping[str, object]


def snapshot_of(scope: str, summary: PortfolioSummary) -> PortfolioSnapshot:
    """Freeze a summary into a snapshot row."""
    data = json_safe(asdict(summary))
    assert isinstance(data, dict)  # noqa: S101 - asdict returns a dict
    return PortfolioSnapshot(
        scope=scope,
        ts=summary.ts,
        total_equity=summary.total_equity,
        available_balance=summary.available_balance,
        unrealized_pnl=summary.unrealized_pnl,
        realized_pnl=summary.realized_pnl,
        gross_exposure=summary.gross_exposure,
        net_exposure=summary.net_exposure,
        summary=data,
    )
