"""The risk view of the book: float aggregates that pre-trade checks read in O(1).

Built once per mark update from the exact portfolio views (and the pricing layer's Greeks), then
kept current by :meth:`RiskBook.apply_fill` between rebuilds, so a check's cost does not grow with
the number of open positions. Analytics run on float64: these numbers gate orders, they are not
the ledger. Money is in the reporting currency unless a name says otherwise.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from riskdesk.domain.risk.trading_state import TradingState

FloatArray = npt.NDArray[np.float64]

#: Positions smaller than this (contracts) are treated as flat: float sums of fills leave dust.
QTY_EPSILON = 1e-9

PositionKey = tuple[str, str, str]  # (account_id, instrument key, slot)


@dataclass(slots=True)
class OrderBookSide:
    """Price levels on one side, best first: prices and sizes (contracts).

    ``levels`` keeps the same levels as Python floats: the book walk touches at most a handful
    of levels, where a Python loop is several times faster than NumPy's per-call overhead.
    ``cumulative[k]`` is the total size of the first ``k + 1`` levels (summed in level order),
    ``best`` / ``best_size`` the first level (NaN / 0.0 on an empty side): what every check
    reads, without touching the levels themselves."""

    prices: FloatArray
    sizes: FloatArray
    levels: tuple[tuple[float, float], ...] = ()
    cumulative: tuple[float, ...] = ()
    best: float = math.nan
    best_size: float = 0.0

    def __post_init__(self) -> None:
        self.levels = tuple(zip(self.prices.tolist(), self.sizes.tolist(), strict=True))
        self.cumulative = tuple(itertools.accumulate(size for _, size in self.levels))
        if self.levels:
            self.best, self.best_size = self.levels[0]

    def depth(self, levels: int) -> float:
        """Total size of the first ``levels`` levels."""
        cumulative = self.cumulative
        if levels <= 0 or not cumulative:
            return 0.0
        return cumulative[min(levels, len(cumulative)) - 1]


@dataclass(slots=True)
class OrderBook:
    """A depth snapshot (top levels) used by the liquidity and slippage checks."""

    bids: OrderBookSide
    asks: OrderBookSide
    ts: datetime | None = None


@dataclass(slots=True)
class InstrumentRisk:
    """Per-contract risk numbers of one instrument at the current marks.

    ``exposure_per_unit``: signed reporting-currency exposure of +1 contract (delta-adjusted for
    options); ``notional_per_unit``: gross notional of one contract at the mark (the underlying's
    for options; constant USD for inverse); ``margin_per_unit``: settlement-currency cash one more
    contract needs (for ``margined`` instruments before dividing by the leverage);
    ``short_margin_per_unit``: margin one more short option contract needs; Greeks are dollar Greeks per contract (delta per 1.00
    of underlying move scaled to dollars, gamma per 1 % move, vega per 1 vol point);
    ``underlying_price``: reporting-currency price of one unit of the underlying asset (0: the
    mark), so ``delta_units_per_unit`` = delta of one contract in units of the underlying (BTC,
    shares) — seed 001 measures a delta change in those units."""

    key: str
    venue: str
    asset: str
    settle: str
    mark: float
    mark_ts: datetime | None
    exposure_per_unit: float
    notional_per_unit: float
    margin_per_unit: float
    settle_rate: float
    short_margin_per_unit: float = 0.0
    fee_rate: float = 0.0
    fee_per_contract: float = 0.0
    contract_size: float = 1.0
    lot_size: float = 0.0
    inverse: bool = False
    margined: bool = False
    is_option: bool = False
    delta_per_unit: float = 0.0
    gamma_per_unit: float = 0.0
    vega_per_unit: float = 0.0
    scenario_per_unit: FloatArray | None = None
    book: OrderBook | None = None
    scenario_min: float = 0.0
    scenario_max: float = 0.0
    has_mark: bool = True
    #: The mark was recorded by hand (``prices set``): as-of data, judged by the manual-mark
    #: age limits rather than the live-feed ones.
    manual_mark: bool = False
    underlying_price: float = 0.0
    delta_units_per_unit: float = 0.0

    def __post_init__(self) -> None:
        price = self.underlying_price or self.mark
        self.delta_units_per_unit = self.delta_per_unit / price if price > 0 else 0.0
        if self.scenario_per_unit is not None:
            self.scenario_min = float(self.scenario_per_unit.min())
            self.scenario_max = float(self.scenario_per_unit.max())

    def notional_at(self, price: float) -> float:
        """Gross reporting-currency notional of one contract at ``price`` (price currency)."""
        if self.inverse or self.is_option or self.mark <= 0:
            return self.notional_per_unit
        return self.notional_per_unit * price / self.mark


@dataclass(slots=True)
class PendingOrder:
    """A working order counted in the aggregates as if filled: what is left of it (signed
    contracts), and its reserved margin (settlement currency) and risk to the stop (reporting
    currency) per contract."""

    account_id: str
    key: str
    slot: str
    qty: float
    margin_per_unit: float = 0.0
    risk_per_unit: float = 0.0


@dataclass(slots=True)
class RiskBook:
    """Aggregates of the whole book for the pre-trade pipeline and the monitors.

    Exposure, Greek and scenario aggregates (and ``heat``, ``available``) include the working
    orders that add exposure (``pending``), as if they had filled: a second entry is judged on
    the book after the first one fills. ``positions`` and ``count`` are the positions held."""

    as_of: datetime
    equity: float
    day_start_equity: float | None
    peak_equity: float
    state: TradingState = TradingState.ACTIVE
    #: The book these aggregates are of (``domain.risk.books``: ``real``, ``paper``, or ``*``
    #: for a desk that is one book).
    scope: str = "*"
    gross: float = 0.0
    long: float = 0.0
    short: float = 0.0
    count: int = 0
    heat: float = 0.0
    margin_used: float = 0.0
    instruments: dict[str, InstrumentRisk] = field(default_factory=dict)
    positions: dict[PositionKey, float] = field(default_factory=dict)
    symbol_exposure: dict[str, float] = field(default_factory=dict)
    asset_gross: dict[str, float] = field(default_factory=dict)
    asset_delta: dict[str, float] = field(default_factory=dict)
    delta_sum: float = 0.0
    asset_gamma: dict[str, float] = field(default_factory=dict)
    gamma_sum: float = 0.0
    asset_vega: dict[str, float] = field(default_factory=dict)
    vega_sum: float = 0.0
    available: dict[tuple[str, str], float] = field(default_factory=dict)
    account_leverage: dict[str, float] = field(default_factory=dict)
    scenario: dict[str, FloatArray] = field(default_factory=dict)
    scenario_sum: FloatArray | None = None
    scenario_worst: float = 0.0
    adjustments_today: int = 0
    last_adjustment: dict[str, datetime] = field(default_factory=dict)
    cost_today: float = 0.0
    pending: dict[str, PendingOrder] = field(default_factory=dict)
    #: Currencies the book holds that have no rate in the reporting currency: its equity and
    #: the fractions of it are incomplete, so entries are denied (``no_rate``).
    unpriced: tuple[str, ...] = ()

    @property
    def daily_pnl(self) -> float | None:
        """Equity change since the start of the day (None without a day-start equity)."""
        return None if self.day_start_equity is None else self.equity - self.day_start_equity

    @property
    def delta_total(self) -> float:
        """Net dollar delta of the whole book (kept as ``delta_sum``)."""
        return self.delta_sum

    def position_qty(self, account_id: str, key: str, slot: str = "net") -> float:
        """Signed contracts held in one slot (0.0 if flat)."""
        return self.positions.get((account_id, key, slot), 0.0)

    def apply_fill(self, account_id: str, key: str, slot: str, signed_qty: float) -> None:
        """Move every aggregate by a fill of ``signed_qty`` contracts (also how a rebuild adds
        each open position, so there is one code path). A position within ``QTY_EPSILON`` of zero
        counts as closed (float sums of fills such as 0.1 + 0.2 − 0.3 leave 5.6e-17)."""
        pos_key = (account_id, key, slot)
        old = self.positions.get(pos_key, 0.0)
        new = old + signed_qty
        if abs(new) <= QTY_EPSILON:
            new = 0.0
        if old == 0.0 and new != 0.0:
            self.count += 1
        elif old != 0.0 and new == 0.0:
            self.count -= 1
        if new == 0.0:
            self.positions.pop(pos_key, None)
        else:
            self.positions[pos_key] = new
        self._move(self.instruments[key], new - old)

    def _move(self, inst: InstrumentRisk, change: float) -> None:
        """Move the exposure, Greek and scenario aggregates by ``change`` contracts."""
        key = inst.key
        old_exp = self.symbol_exposure.get(key, 0.0)
        new_exp = old_exp + change * inst.exposure_per_unit
        self.symbol_exposure[key] = new_exp
        self._move_gross(old_exp, new_exp)
        asset = inst.asset
        self.asset_gross[asset] = self.asset_gross.get(asset, 0.0) - abs(old_exp) + abs(new_exp)
        self.asset_delta[asset] = self.asset_delta.get(asset, 0.0) + change * inst.delta_per_unit
        self.delta_sum += change * inst.delta_per_unit
        if inst.gamma_per_unit:
            self.asset_gamma[asset] = (
                self.asset_gamma.get(asset, 0.0) + change * inst.gamma_per_unit
            )
            self.gamma_sum += change * inst.gamma_per_unit
        if inst.vega_per_unit:
            self.asset_vega[asset] = self.asset_vega.get(asset, 0.0) + change * inst.vega_per_unit
            self.vega_sum += change * inst.vega_per_unit
        if inst.scenario_per_unit is not None:
            grid = change * inst.scenario_per_unit
            current = self.scenario.get(asset)
            self.scenario[asset] = grid if current is None else current + grid
            self.scenario_sum = grid if self.scenario_sum is None else self.scenario_sum + grid
            self.scenario_worst = float(self.scenario_sum.min())

    # ------------------------------------------------------------------ working orders

    def add_pending(
        self,
        order_id: str,
        account_id: str,
        key: str,
        slot: str,
        signed_qty: float,
        margin: float = 0.0,
        trade_risk: float = 0.0,
    ) -> None:
        """Count a working order that adds exposure as if it had filled: its exposure, Greeks
        and scenario losses join the aggregates (not ``positions``, so what reduces a position
        is still judged on the position), its margin and fees (settlement currency) are
        reserved from ``available`` and its risk to the stop joins ``heat``. Idempotent by
        ``order_id``."""
        if order_id in self.pending or signed_qty == 0.0 or key not in self.instruments:
            return
        inst = self.instruments[key]
        self.pending[order_id] = PendingOrder(
            account_id,
            key,
            slot,
            signed_qty,
            margin / abs(signed_qty),
            trade_risk / abs(signed_qty),
        )
        self._move(inst, signed_qty)
        wallet = (account_id, inst.settle)
        self.available[wallet] = self.available.get(wallet, 0.0) - margin
        self.heat += trade_risk

    def fill_pending(self, order_id: str, qty: float) -> bool:
        """A counted working order filled ``qty`` contracts (unsigned): they move from the
        pending overlay to the position (aggregates unchanged). False if the order is not
        counted (then book the fill with :meth:`apply_fill`)."""
        p = self.pending.get(order_id)
        if p is None:
            return False
        take = min(abs(qty), abs(p.qty))
        signed = take if p.qty > 0 else -take
        self._move(self.instruments[p.key], -signed)
        self.apply_fill(p.account_id, p.key, p.slot, signed)
        p.qty -= signed
        if abs(p.qty) <= QTY_EPSILON:
            del self.pending[order_id]
        return True

    def drop_pending(self, order_id: str) -> None:
        """A counted working order ended (cancelled, expired, rejected): release what is left
        of it (exposure, reserved margin, heat)."""
        p = self.pending.pop(order_id, None)
        if p is None:
            return
        inst = self.instruments[p.key]
        self._move(inst, -p.qty)
        wallet = (p.account_id, inst.settle)
        self.available[wallet] = self.available.get(wallet, 0.0) + abs(p.qty) * p.margin_per_unit
        self.heat -= abs(p.qty) * p.risk_per_unit

    def _move_gross(self, old_exp: float, new_exp: float) -> None:
        self.gross += abs(new_exp) - abs(old_exp)
        self.long += max(new_exp, 0.0) - max(old_exp, 0.0)
        self.short += max(-new_exp, 0.0) - max(-old_exp, 0.0)
