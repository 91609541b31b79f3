"""Option Greeks and scenario grids for the book: per position, per underlying and total.

Inputs come from :meth:`BookService.report` (open positions and their marks), the catalog
(strike, expiry, right, exercise style, multiplier) and the latest stored asset prices
(the underlying). Rates come from configuration. Every option's own Greeks are computed
at the volatility implied by its stored mark:

* **US equity options, American exercise**: Bjerksund-Stensland 2002 (or the configured
  ``american_method``) for the price; the vol is implied from the mark *with that model*;
  Greeks are finite differences of the American price (bump-and-revalue, central in S,
  sigma, r and q; theta over one calendar day). Vanna/charm/volga are not reported for them.
* **European equity/index options**: generalised BSM, analytic Greeks, implied vol from the
  mark by the BSM solver.
* **Coin-settled (Deribit) options**: the mark is in coin; USD price = mark × F, with the
  forward F = index × e^{(r - q)T} (r, q from configuration; set q = r for F = index).
  Black-76 off F, discounted at ``coin_discount_rate`` (Deribit uses 0); Greeks in USD and in
  coin (``inverse.py``: coin delta = USD delta - premium in coin).
* **Linear positions** (spot, perpetuals, futures): delta = exposure / underlying price
  (underlying units); no gamma, vega or theta.

Units of every position figure (the position scale sign × contracts × multiplier already
applied): ``delta`` in units of the underlying (shares, coins), ``dollar_delta`` in the
reporting currency, ``beta_dollar_delta`` = β × dollar delta, ``gamma`` underlying units per
1 unit move, ``dollar_gamma`` change of dollar delta for a 1 % move, ``theta_per_day`` per
calendar day, ``vega_per_pct`` per 1 vol point, ``rho_per_pct`` per 1 % rate, all in the
reporting currency. Venue-supplied Greeks (``venue_greeks_from``: chain snapshots, Tradier,
Deribit through the options data port) sit beside ours in ``venue``, scaled the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

import numpy as np
import numpy.typing as npt

from riskdesk.application.book_service import BookService, OptionMark, PortfolioReport
from riskdesk.application.fill_rows import RowError
from riskdesk.domain.accounting.portfolio import PositionView
from riskdesk.domain.errors import MarketDataError, NotFound, ValidationError
from riskdesk.domain.instruments import ExerciseStyle, Instrument
from riskdesk.domain.pricing import (
    IVStatus,
    american_greeks_fd,
    american_price,
    black76_price,
    black76_second_order,
    bsm_greeks,
    bsm_price,
    bsm_second_order,
    implied_vol_american,
    implied_vol_black76,
    implied_vol_bsm,
    inverse_option_greeks,
)
from riskdesk.domain.pricing.inverse import InverseGreeks
from riskdesk.domain.rebalance.chain import VenueGreeks
from riskdesk.domain.symbols import OptionRight, SymbolKind
from riskdesk.ports.options_data import OptionsData

SECONDS_PER_YEAR = 365.0 * 86400.0
AmericanMethod = Literal["bs2002", "bs1993", "baw"]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PricingConfig:
    """Plain pricing configuration (built by bootstrap from ``PricingSettings``).

    Rates are continuously compounded per year (0.04 = 4 %); betas are against
    ``benchmark``; shocks are fractions (-0.3 = -30 %); time steps in calendar days.
    """

    risk_free_rate: float = 0.04
    dividend_yields: Mapping[str, float] = field(default_factory=dict)
    betas: Mapping[str, float] = field(default_factory=dict)
    benchmark: str = "SPY"
    american_method: AmericanMethod = "bs2002"
    coin_discount_rate: float = 0.0
    spot_shocks: tuple[float, ...] = (-0.3, -0.2, -0.1, -0.05, 0.0, 0.05, 0.1, 0.2, 0.3)
    vol_shocks: tuple[float, ...] = (-0.5, -0.25, 0.0, 0.25, 0.5)
    vol_shock_mode: Literal["relative", "absolute"] = "relative"
    time_steps_days: tuple[float, ...] = (0.0, 1.0, 7.0)

    def yield_of(self, underlying: str) -> float:
        """Continuous dividend (or carry) yield of ``underlying`` per year; 0 if not set."""
        return float(self.dividend_yields.get(underlying, 0.0))

    def beta_of(self, underlying: str) -> float:
        """Beta of ``underlying`` against the benchmark (1 when not configured; the
        benchmark itself is 1)."""
        return float(self.betas.get(underlying, 1.0))


@dataclass(frozen=True, slots=True)
class CoinGreeks:
    """Coin-denominated figures of a coin-settled option position (scale applied).

    ``value`` in coins; ``delta`` in coins of exposure (USD delta - premium in coin);
    ``gamma`` = F·∂²(V/F)/∂F² in coins per USD of forward move; ``theta_per_day`` and
    ``vega_per_pct`` in coins per day and per vol point.
    """

    value: float
    delta: float
    gamma: float
    theta_per_day: float
    vega_per_pct: float


@dataclass(frozen=True, slots=True)
class PositionGreeks:
    """One position's Greeks (units in the module docstring). Option-only fields are None
    for linear positions. ``venue`` holds the venue's Greeks scaled like ours (sign ×
    contracts × multiplier: delta in underlying units, gamma, theta per day, vega per vol
    point, rho per 1 %; iv unchanged), so the columns compare like for like;
    ``venue_per_unit`` the same Greeks per unit, as the venue sent them."""

    position_id: str
    account_id: str
    instrument_key: str
    underlying: str
    kind: str
    model: str
    quantity: float
    multiplier: float
    underlying_price: float
    mark: float
    right: str | None
    strike: float | None
    expiry: datetime | None
    years_to_expiry: float | None
    iv: float | None
    iv_status: str | None
    model_price: float | None
    delta: float
    dollar_delta: float
    beta_dollar_delta: float
    gamma: float
    dollar_gamma: float
    theta_per_day: float
    vega_per_pct: float
    rho_per_pct: float
    vanna_per_pct: float | None = None
    charm_per_day: float | None = None
    volga_per_pct: float | None = None
    coin: CoinGreeks | None = None
    venue: VenueGreeks | None = None
    venue_per_unit: VenueGreeks | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class GreeksTotals:
    """Sums over a group of positions (an underlying, or the whole book)."""

    key: str
    positions: int
    underlying_price: float | None
    beta: float | None
    delta: float | None
    dollar_delta: float
    beta_dollar_delta: float
    beta_weighted_delta: float | None
    gamma: float | None
    dollar_gamma: float
    theta_per_day: float
    vega_per_pct: float
    rho_per_pct: float


@dataclass(frozen=True, slots=True)
class GreeksReport:
    """The book's Greeks: per position, per underlying and total, with what was used.

    ``beta_weighted_delta`` is in benchmark units (e.g. SPY shares) and needs the
    benchmark's stored price; without it only ``beta_dollar_delta`` is given. ``skipped``
    lists positions that could not be priced, with the reason.
    """

    scope: str
    as_of: datetime
    reporting_currency: str
    risk_free_rate: float
    benchmark: str
    benchmark_price: float | None
    positions: list[PositionGreeks]
    by_underlying: list[GreeksTotals]
    total: GreeksTotals
    skipped: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class ScenarioGrid:
    """Full-revaluation P&L of the book (reporting currency) over spot × vol × time.

    ``pnl[i, j, k]`` is the P&L for a relative spot shock ``spot_shocks[i]`` applied to every
    underlying, a vol shock ``vol_shocks[j]`` (relative or absolute, ``vol_shock_mode``) and
    ``time_steps_days[k]`` calendar days elapsed, against today's model value. Options are
    revalued with their models; linear positions move with their delta (no time or vol
    effect). ``pnl_by_underlying`` has the same shape per underlying.
    ``pnl_coin_by_underlying``: for coin-settled (Deribit) options, the same grid in coins
    of the underlying (value V(F')/F' against V(F)/F, F' the shocked forward): what a
    coin-margined book gains or loses in its own currency. Options only.
    """

    spot_shocks: FloatArray
    vol_shocks: FloatArray
    vol_shock_mode: str
    time_steps_days: FloatArray
    pnl: FloatArray
    pnl_by_underlying: dict[str, FloatArray]
    pnl_coin_by_underlying: dict[str, FloatArray] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _OptionInputs:
    """Per-option arrays ready for the pricers (one element per option position)."""

    views: list[PositionView]
    instruments: list[Instrument]
    kinds: list[str]  # "american" | "european" | "coin"
    spot: FloatArray
    strike: FloatArray
    years: FloatArray
    rate: FloatArray
    carry_yield: FloatArray
    vol: FloatArray
    status: list[IVStatus]
    is_call: npt.NDArray[np.bool_]
    scale: FloatArray
    forward: FloatArray


def _f(value: Decimal) -> float:
    return float(value)


def _years(expiry: datetime, as_of: datetime) -> float:
    return max((expiry - as_of).total_seconds() / SECONDS_PER_YEAR, 0.0)


def _option_inputs(
    opt_views: list[PositionView],
    opt_insts: list[Instrument],
    marks: FloatArray,
    spot: FloatArray,
    scale: FloatArray,
    as_of: datetime,
    cfg: PricingConfig,
    european: bool = False,
) -> _OptionInputs:
    """Per-option arrays with the vol implied from each mark by the option's own model
    (``opt_views`` may be empty when only per-unit figures are wanted); ``european`` treats
    American options as European (BSM: the vol and Greeks of the fast closed form)."""
    n = len(opt_insts)
    strike = np.array([_f(i.strike or Decimal(0)) for i in opt_insts], dtype=np.float64)
    years = np.array(
        [_years(i.expiry, as_of) if i.expiry else 0.0 for i in opt_insts],
        dtype=np.float64,
    )
    is_call = np.array([i.right is OptionRight.CALL for i in opt_insts], dtype=np.bool_)
    kinds = [
        "coin"
        if i.coin_settled
        else ("american" if i.exercise is ExerciseStyle.AMERICAN and not european else "european")
        for i in opt_insts
    ]
    coin = np.array([k == "coin" for k in kinds], dtype=np.bool_)
    carry_yield = np.array([cfg.yield_of(i.asset) for i in opt_insts], dtype=np.float64)
    rate = np.where(coin, cfg.coin_discount_rate, cfg.risk_free_rate)
    # Deribit's forward: the index carried at (r - q); the discount rate is separate.
    forward = spot * np.exp((cfg.risk_free_rate - carry_yield) * years)
    vol = np.full(n, np.nan)
    status = np.full(n, int(IVStatus.INVALID_INPUT), dtype=np.int8)
    amer = np.array([k == "american" for k in kinds], dtype=np.bool_)
    euro = ~amer & ~coin
    if amer.any():
        v, s = implied_vol_american(
            marks[amer],
            spot[amer],
            strike[amer],
            years[amer],
            rate[amer],
            carry_yield[amer],
            is_call[amer],
            method=cfg.american_method,
        )
        vol[amer], status[amer] = v, s
    if euro.any():
        res = implied_vol_bsm(
            marks[euro],
            spot[euro],
            strike[euro],
            years[euro],
            rate[euro],
            carry_yield[euro],
            is_call[euro],
            backend="numpy",
        )
        vol[euro], status[euro] = res.vol, res.status
    if coin.any():
        res = implied_vol_black76(
            marks[coin] * forward[coin],
            forward[coin],
            strike[coin],
            years[coin],
            rate[coin],
            is_call[coin],
            backend="numpy",
        )
        vol[coin], status[coin] = res.vol, res.status
    return _OptionInputs(
        views=opt_views,
        instruments=opt_insts,
        kinds=kinds,
        spot=spot,
        strike=strike,
        years=years,
        rate=rate,
        carry_yield=carry_yield,
        vol=vol,
        status=[IVStatus(int(s)) for s in status],
        is_call=is_call,
        scale=scale,
        forward=forward,
    )


def _first_order(
    o: _OptionInputs, vol: FloatArray, cfg: PricingConfig
) -> tuple[dict[str, FloatArray], InverseGreeks | None]:
    """Per-unit price, delta, gamma, theta, vega and rho of every option at ``vol`` with its
    own model (BSM; American finite differences; Black-76 in USD for coin options, whose delta
    is to the forward), and the coin figures of the coin options (None if there are none)."""
    n = len(o.instruments)
    per_unit = {name: np.zeros(n) for name in ("price", "delta", "gamma", "theta", "vega", "rho")}
    amer = np.array([k == "american" for k in o.kinds], dtype=np.bool_)
    coin = np.array([k == "coin" for k in o.kinds], dtype=np.bool_)
    euro = ~amer & ~coin
    if euro.any():
        g = bsm_greeks(
            o.spot[euro],
            o.strike[euro],
            o.years[euro],
            o.rate[euro],
            o.carry_yield[euro],
            vol[euro],
            o.is_call[euro],
            backend="numpy",
        )
        for name, arr in per_unit.items():
            arr[euro] = getattr(g, name)
    if amer.any():
        ag = american_greeks_fd(
            o.spot[amer],
            o.strike[amer],
            o.years[amer],
            o.rate[amer],
            o.carry_yield[amer],
            vol[amer],
            o.is_call[amer],
            cfg.american_method,
        )
        for name, arr in per_unit.items():
            arr[amer] = ag[name]
    inv = None
    if coin.any():
        inv = inverse_option_greeks(
            o.forward[coin],
            o.strike[coin],
            o.years[coin],
            vol[coin],
            o.is_call[coin],
            o.rate[coin],
        )
        for name, arr in per_unit.items():
            arr[coin] = getattr(inv.usd, name)
    return per_unit, inv


def option_deltas(
    options: Sequence[OptionMark], as_of: datetime, config: PricingConfig
) -> dict[str, Decimal]:
    """Delta per unit of each option (by instrument key) at the vol implied from its mark,
    relative to the underlying price it was given: the book values an option's exposure as
    ``delta · qty · multiplier · underlying``. European and coin options use the model
    ``riskdesk greeks`` uses, so the exposure is its dollar delta (a coin option's delta is to
    the forward F, hence scaled by F / index). American equity options use the
    Black-Scholes-Merton delta at the vol BSM implies from the same mark: the closed form keeps
    every revaluation fast, and it equals the American delta for calls without a dividend yield
    (for puts it leaves out the early-exercise premium's delta; ``greeks`` shows the American
    finite-difference one). An option whose mark gives no vol (at or below intrinsic) has the
    delta of vol 0, as in ``greeks``. Float64 analytics, converted to Decimal at the boundary."""
    if not options:
        return {}
    insts = [o.instrument for o in options]
    spot = np.array([_f(o.underlying) for o in options], dtype=np.float64)
    inputs = _option_inputs(
        [],
        insts,
        np.array([_f(o.mark) for o in options], dtype=np.float64),
        spot,
        np.ones(len(options)),
        as_of,
        config,
        european=True,
    )
    vol = np.where(np.isfinite(inputs.vol), inputs.vol, 0.0)
    per_unit, _ = _first_order(inputs, vol, config)
    coin = np.array([k == "coin" for k in inputs.kinds], dtype=np.bool_)
    delta = per_unit["delta"] * np.where(coin, inputs.forward / spot, 1.0)
    return {
        inst.key: Decimal(repr(float(d))) for inst, d in zip(insts, delta, strict=True)
        if np.isfinite(d)
    }  # fmt: skip


class PricingService:
    """Greeks and scenario grids of the book, from stored positions, marks and prices."""

    def __init__(self, book: BookService, config: PricingConfig | None = None) -> None:
        self._book = book
        self.config = config or PricingConfig()

    # ---------------------------------------------------------------------------- inputs

    def _inputs(
        self, report: PortfolioReport
    ) -> tuple[
        _OptionInputs,
        list[tuple[PositionView, Instrument]],
        dict[str, float],
        list[tuple[str, str]],
        float | None,
    ]:
        cfg = self.config
        catalog = {i.key: i for i in self._book.instruments()}
        # The report's rates: stored asset prices, fixed rates and prices derived from marks.
        prices = {a: _f(r.price) for a, r in report.rates.items()}
        skipped: list[tuple[str, str]] = []
        opt_views: list[PositionView] = []
        opt_insts: list[Instrument] = []
        linear: list[tuple[PositionView, Instrument]] = []
        for view in report.positions:
            key = f"{view.venue}:{view.symbol}"
            inst = catalog.get(key)
            if inst is None:
                skipped.append((key, "instrument not in the catalog"))
                continue
            if inst.asset not in prices:
                skipped.append((key, f"no price for the underlying {inst.asset}"))
                continue
            if key in report.missing_marks:
                skipped.append((key, "no stored mark"))
                continue
            if inst.kind is SymbolKind.OPTION:
                opt_views.append(view)
                opt_insts.append(inst)
            else:
                linear.append((view, inst))
        inputs = _option_inputs(
            opt_views,
            opt_insts,
            np.array([_f(v.mark_price) for v in opt_views], dtype=np.float64),
            np.array([prices[i.asset] for i in opt_insts], dtype=np.float64),
            np.array(
                [
                    _f(v.qty) * _f(i.contract_size)
                    for v, i in zip(opt_views, opt_insts, strict=True)
                ],
                dtype=np.float64,
            ),
            report.as_of,
            cfg,
        )
        bench = prices.get(cfg.benchmark)
        return inputs, linear, prices, skipped, bench

    # ---------------------------------------------------------------------------- Greeks

    def greeks(
        self,
        account_id: str | None = None,
        venue_greeks: Mapping[str, VenueGreeks] | None = None,
    ) -> GreeksReport:
        """Greeks of every open position of one account (or all), valued at the stored marks.

        ``venue_greeks`` (by instrument key ``venue:symbol``; per unit of underlying in
        riskdesk units, e.g. from :meth:`venue_greeks_from`) are shown beside ours, scaled
        to the position like ours.
        Positions without a catalog entry, a mark or an underlying price are listed in
        ``skipped`` with the reason, never silently priced at a default.
        """
        report = self._book.report(account_id)
        o, linear, prices, skipped, bench = self._inputs(report)
        cfg = self.config
        venue_greeks = venue_greeks or {}
        rows: list[PositionGreeks] = []
        n = len(o.views)
        # Greeks need a vol: a mark at or below intrinsic gives vol 0 (the intrinsic limit).
        vol = np.where(np.isfinite(o.vol), o.vol, 0.0)
        per_unit, inv = _first_order(o, vol, cfg)
        second = {name: np.full(n, np.nan) for name in ("vanna", "charm", "volga")}
        amer = np.array([k == "american" for k in o.kinds], dtype=np.bool_)
        coin = np.array([k == "coin" for k in o.kinds], dtype=np.bool_)
        euro = ~amer & ~coin
        if euro.any():
            so = bsm_second_order(
                o.spot[euro],
                o.strike[euro],
                o.years[euro],
                o.rate[euro],
                o.carry_yield[euro],
                vol[euro],
                o.is_call[euro],
            )
            for name, arr in second.items():
                arr[euro] = getattr(so, name)
        coin_rows: dict[int, CoinGreeks] = {}
        if inv is not None:
            idx = np.flatnonzero(coin)
            so = black76_second_order(
                o.forward[coin],
                o.strike[coin],
                o.years[coin],
                o.rate[coin],
                vol[coin],
                o.is_call[coin],
            )
            for name, arr in second.items():
                arr[coin] = getattr(so, name)
            for j, pos in enumerate(idx.tolist()):
                sc = o.scale[pos]
                coin_rows[pos] = CoinGreeks(
                    value=float(sc * inv.price_coin[j]),
                    delta=float(sc * inv.delta_coin[j]),
                    gamma=float(sc * inv.gamma_coin[j]),
                    theta_per_day=float(sc * inv.theta_coin[j] / 365.0),
                    vega_per_pct=float(sc * inv.vega_coin[j] / 100.0),
                )
        # Delta of a coin option is with respect to the forward; dollar figures use F.
        under = np.where(coin, o.forward, o.spot)
        for i, (view, inst) in enumerate(zip(o.views, o.instruments, strict=True)):
            sc = float(o.scale[i])
            s_i = float(under[i])
            beta = cfg.beta_of(inst.asset)
            delta = sc * float(per_unit["delta"][i])
            gamma = sc * float(per_unit["gamma"][i])
            status = o.status[i]
            note = "" if status is IVStatus.OK else f"iv {status.name.lower()}: Greeks at vol 0"
            model = {
                "american": f"american-{cfg.american_method}",
                "european": "bsm",
                "coin": "black76-inverse",
            }[o.kinds[i]]
            rows.append(
                PositionGreeks(
                    position_id=view.position_id,
                    account_id=view.account_id,
                    instrument_key=inst.key,
                    underlying=inst.asset,
                    kind="option",
                    model=model,
                    quantity=_f(view.qty),
                    multiplier=_f(inst.contract_size),
                    underlying_price=s_i,
                    mark=_f(view.mark_price),
                    right=inst.right.value if inst.right else None,
                    strike=float(o.strike[i]),
                    expiry=inst.expiry,
                    years_to_expiry=float(o.years[i]),
                    iv=float(o.vol[i]) if np.isfinite(o.vol[i]) else None,
                    iv_status=status.name,
                    model_price=float(per_unit["price"][i]),
                    delta=delta,
                    dollar_delta=delta * s_i,
                    beta_dollar_delta=beta * delta * s_i,
                    gamma=gamma,
                    dollar_gamma=gamma * s_i * s_i / 100.0,
                    theta_per_day=sc * float(per_unit["theta"][i]) / 365.0,
                    vega_per_pct=sc * float(per_unit["vega"][i]) / 100.0,
                    rho_per_pct=sc * float(per_unit["rho"][i]) / 100.0,
                    vanna_per_pct=_opt(sc * second["vanna"][i] / 100.0),
                    charm_per_day=_opt(sc * second["charm"][i] / 365.0),
                    volga_per_pct=_opt(sc * second["volga"][i] / 10_000.0),
                    coin=coin_rows.get(i),
                    venue=_scaled_venue(venue_greeks.get(inst.key), sc),
                    venue_per_unit=venue_greeks.get(inst.key),
                    note=note,
                )
            )
        for view, inst in linear:
            s_i = prices[inst.asset]
            dollar = _f(view.exposure)
            beta = cfg.beta_of(inst.asset)
            rows.append(
                PositionGreeks(
                    position_id=view.position_id,
                    account_id=view.account_id,
                    instrument_key=inst.key,
                    underlying=inst.asset,
                    kind=inst.kind.value,
                    model="inverse" if inst.inverse else "linear",
                    quantity=_f(view.qty),
                    multiplier=_f(inst.contract_size),
                    underlying_price=s_i,
                    mark=_f(view.mark_price),
                    right=None,
                    strike=None,
                    expiry=inst.expiry,
                    years_to_expiry=None,
                    iv=None,
                    iv_status=None,
                    model_price=None,
                    delta=dollar / s_i,
                    dollar_delta=dollar,
                    beta_dollar_delta=beta * dollar,
                    gamma=0.0,
                    dollar_gamma=0.0,
                    theta_per_day=0.0,
                    vega_per_pct=0.0,
                    rho_per_pct=0.0,
                )
            )
        by_underlying = [
            _totals(u, [r for r in rows if r.underlying == u], prices.get(u), cfg.beta_of(u), bench)
            for u in sorted({r.underlying for r in rows})
        ]
        total = _totals("total", rows, None, None, bench)
        return GreeksReport(
            scope=report.scope,
            as_of=report.as_of,
            reporting_currency=report.summary.reporting_currency,
            risk_free_rate=cfg.risk_free_rate,
            benchmark=cfg.benchmark,
            benchmark_price=bench,
            positions=rows,
            by_underlying=by_underlying,
            total=total,
            skipped=skipped,
        )

    def venue_greeks_from(
        self, sources: Sequence[OptionsData], account_id: str | None = None
    ) -> dict[str, VenueGreeks]:
        """Venue-supplied Greeks (per unit) of the book's open option positions.

        Each option is looked up by its symbol in the first source that serves its
        underlying (chain snapshots, Tradier or Deribit through the options data port);
        options a source does not list, and quotes without Greeks, are left out. The
        Greeks are the source's, at the source's own time (a snapshot's ``as_of``).
        """
        report = self._book.report(account_id)
        catalog = {i.key: i for i in self._book.instruments()}
        out: dict[str, VenueGreeks] = {}
        for view in report.positions:
            inst = catalog.get(f"{view.venue}:{view.symbol}")
            if inst is None or inst.kind is not SymbolKind.OPTION or inst.key in out:
                continue
            for source in sources:
                served = source.underlyings()
                if served and inst.asset not in served:
                    continue
                try:
                    quotes = source.quotes([view.symbol])
                except (NotFound, MarketDataError):
                    continue
                greeks = quotes[0].venue_greeks if quotes else None
                if greeks is not None:
                    out[inst.key] = greeks
                    break
        return out

    # ---------------------------------------------------------------------------- scenarios

    def scenario_grid(
        self,
        account_id: str | None = None,
        spot_shocks: Sequence[float] | None = None,
        vol_shocks: Sequence[float] | None = None,
        time_steps_days: Sequence[float] | None = None,
        vol_shock_mode: Literal["relative", "absolute"] | None = None,
    ) -> ScenarioGrid:
        """P&L grid of the book's option and linear positions (see :class:`ScenarioGrid`).

        Defaults come from configuration. Options are fully revalued with their model at the
        mark-implied vol (shocked); linear positions contribute dollar delta × spot shock.
        """
        cfg = self.config
        ds = np.asarray(cfg.spot_shocks if spot_shocks is None else spot_shocks, dtype=float)
        dv = np.asarray(cfg.vol_shocks if vol_shocks is None else vol_shocks, dtype=float)
        days = np.asarray(
            cfg.time_steps_days if time_steps_days is None else time_steps_days, dtype=float
        )
        mode = vol_shock_mode or cfg.vol_shock_mode
        report = self._book.report(account_id)
        o, linear, _, _, _ = self._inputs(report)
        shape = (ds.size, dv.size, days.size)
        by_under: dict[str, FloatArray] = {}
        by_coin: dict[str, FloatArray] = {}
        vol = np.where(np.isfinite(o.vol), o.vol, 0.0)
        if o.views:
            # Grid axes first, positions last: (n_spot, n_vol, n_time, n_positions).
            gs = ds[:, None, None, None]
            gv = dv[None, :, None, None]
            gt = days[None, None, :, None] / 365.0
            shocked_vol = vol * (1.0 + gv) if mode == "relative" else vol + gv
            shocked_vol = np.maximum(shocked_vol, 0.0)
            t_left = np.maximum(o.years - gt, 0.0)
            value = np.zeros((*shape, len(o.views)))
            base = np.zeros(len(o.views))
            for kind in ("american", "european", "coin"):
                sel = np.array([k == kind for k in o.kinds], dtype=np.bool_)
                if not sel.any():
                    continue
                args_now = (o.strike[sel], o.years[sel], o.rate[sel])
                if kind == "coin":
                    fwd = o.forward[sel]
                    base[sel] = black76_price(fwd, *args_now, vol[sel], o.is_call[sel])
                    value[..., sel] = black76_price(
                        fwd * (1.0 + gs),
                        o.strike[sel],
                        t_left[..., sel],
                        o.rate[sel],
                        shocked_vol[..., sel],
                        o.is_call[sel],
                    )
                    coin_pnl = (value[..., sel] / (fwd * (1.0 + gs)) - base[sel] / fwd) * o.scale[
                        sel
                    ]
                    assets = [i.asset for i, k in zip(o.instruments, o.kinds, strict=True)
                              if k == "coin"]  # fmt: skip
                    for u in sorted(set(assets)):
                        cols = np.array([a == u for a in assets], dtype=np.bool_)
                        by_coin[u] = by_coin.get(u, np.zeros(shape)) + coin_pnl[..., cols].sum(
                            axis=-1
                        )
                    continue
                pricer = bsm_price if kind == "european" else _american_pricer(cfg.american_method)
                base[sel] = pricer(
                    o.spot[sel],
                    o.strike[sel],
                    o.years[sel],
                    o.rate[sel],
                    o.carry_yield[sel],
                    vol[sel],
                    o.is_call[sel],
                )
                value[..., sel] = pricer(
                    o.spot[sel] * (1.0 + gs),
                    o.strike[sel],
                    t_left[..., sel],
                    o.rate[sel],
                    o.carry_yield[sel],
                    shocked_vol[..., sel],
                    o.is_call[sel],
                )
            pnl_opt = (value - base) * o.scale
            for u in sorted({i.asset for i in o.instruments}):
                cols = np.array([i.asset == u for i in o.instruments], dtype=np.bool_)
                by_under[u] = by_under.get(u, np.zeros(shape)) + pnl_opt[..., cols].sum(axis=-1)
        for view, inst in linear:
            move = _f(view.exposure) * ds[:, None, None] * np.ones(shape)
            by_under[inst.asset] = by_under.get(inst.asset, np.zeros(shape)) + move
        total = np.zeros(shape)
        for grid in by_under.values():
            total = total + grid
        return ScenarioGrid(ds, dv, mode, days, total, by_under, by_coin)


def _american_pricer(method: AmericanMethod) -> Callable[..., FloatArray]:
    def price(
        s: npt.ArrayLike,
        k: npt.ArrayLike,
        t: npt.ArrayLike,
        r: npt.ArrayLike,
        q: npt.ArrayLike,
        sigma: npt.ArrayLike,
        is_call: npt.ArrayLike,
    ) -> FloatArray:
        return american_price(s, k, t, r, q, sigma, is_call, method=method)

    return price


def _scaled_venue(greeks: VenueGreeks | None, scale: float) -> VenueGreeks | None:
    """Per-unit venue Greeks scaled by the position (sign × contracts × multiplier)."""
    if greeks is None:
        return None

    def sc(value: float | None) -> float | None:
        return None if value is None else value * scale

    return VenueGreeks(
        delta=sc(greeks.delta),
        gamma=sc(greeks.gamma),
        theta_per_day=sc(greeks.theta_per_day),
        vega_per_pct=sc(greeks.vega_per_pct),
        rho_per_pct=sc(greeks.rho_per_pct),
        iv=greeks.iv,
    )


def _opt(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _totals(
    key: str,
    rows: Sequence[PositionGreeks],
    price: float | None,
    beta: float | None,
    benchmark_price: float | None,
) -> GreeksTotals:
    """Sum a group; unit deltas and gamma only add up within one underlying."""
    one_underlying = len({r.underlying for r in rows}) <= 1
    beta_dollar = sum(r.beta_dollar_delta for r in rows)
    return GreeksTotals(
        key=key,
        positions=len(rows),
        underlying_price=price,
        beta=beta,
        delta=sum(r.delta for r in rows) if one_underlying else None,
        dollar_delta=sum(r.dollar_delta for r in rows),
        beta_dollar_delta=beta_dollar,
        beta_weighted_delta=beta_dollar / benchmark_price if benchmark_price else None,
        gamma=sum(r.gamma for r in rows) if one_underlying else None,
        dollar_gamma=sum(r.dollar_gamma for r in rows),
        theta_per_day=sum(r.theta_per_day for r in rows),
        vega_per_pct=sum(r.vega_per_pct for r in rows),
        rho_per_pct=sum(r.rho_per_pct for r in rows),
    )


# ------------------------------------------------------------------------------ option requests

OptionModel = Literal["bsm", "black76", "american"]
_TRUE = {"call", "c"}
_FALSE = {"put", "p"}


@dataclass(frozen=True, slots=True)
class OptionRequest:
    """One option to price (a CLI argument set or a file row).

    ``underlying`` is the spot S (bsm, american) or the forward F (black76), quote currency
    per unit; ``years`` to expiry; ``rate`` and ``carry_yield`` continuous per year (the
    yield is ignored for black76); exactly one of ``sigma`` (per year) or ``market_price``
    (per unit, to imply the vol from).
    """

    line: int
    is_call: bool
    model: OptionModel
    underlying: float
    strike: float
    years: float
    rate: float
    carry_yield: float
    sigma: float | None
    market_price: float | None


@dataclass(frozen=True, slots=True)
class OptionQuote:
    """Price and Greeks of one :class:`OptionRequest`, per unit of underlying.

    theta per calendar day, vega and rho per 1 %, vanna per 1 vol point (delta change),
    charm per day (delta change), volga per 1 vol point (change of vega per 1 %);
    second-order Greeks are None for the American model. ``iv_status`` is set when the vol
    was implied (``OK``, ``AT_INTRINSIC``…; other than OK/AT_INTRINSIC the figures are None)
    and ``iv_reason`` explains any status other than OK in plain words.
    """

    line: int
    option_type: str
    model: str
    underlying: float
    strike: float
    years: float
    rate: float
    carry_yield: float
    sigma: float | None
    implied: bool
    iv_status: str | None
    price: float | None
    delta: float | None
    gamma: float | None
    theta_per_day: float | None
    vega_per_pct: float | None
    rho_per_pct: float | None
    vanna_per_pct: float | None
    charm_per_day: float | None
    volga_per_pct: float | None
    iv_reason: str | None = None


def _iv_reason(status: IVStatus, model: str, q: OptionRequest, market: float) -> str | None:
    """Plain explanation of an implied-vol status other than OK (per unit prices)."""
    w = 1.0 if q.is_call else -1.0
    intrinsic = max(w * (q.underlying - q.strike), 0.0)
    if status is IVStatus.OK:
        return None
    if q.years == 0.0:
        return (
            f"at expiry (T = 0) an option is worth its intrinsic value {intrinsic:g}; "
            "there is no volatility to imply"
        )
    if status is IVStatus.AT_INTRINSIC:
        return f"price {market:g} has no time value (intrinsic value): vol 0"
    if status is IVStatus.BELOW_INTRINSIC:
        return f"price {market:g} is below the option's intrinsic (no-arbitrage) value"
    if status is IVStatus.ABOVE_MAXIMUM:
        if model == "american":
            return f"price {market:g} is above the model price at 500 % vol"
        bound = "the discounted forward" if q.is_call else "the discounted strike"
        return f"price {market:g} is at or above its no-arbitrage maximum ({bound})"
    return "the inputs do not allow a volatility to be implied"


class OptionRowsRejected(ValidationError):
    """Some option rows are invalid; each error names its line and field."""

    code = "invalid_option_rows"

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        listed = "; ".join(str(e) for e in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        rows = len({e.line for e in errors})
        super().__init__(
            f"{len(errors)} problem(s) in {rows} row(s), nothing priced: {listed}{more}",
            field=None,
        )


# Spelling of every input when it is missing (so there is no user spelling to echo):
# file columns, or the command-line options (``labels="cli"``).
_FILE_LABELS = {
    "type": "type", "model": "model", "s": "S", "f": "F", "k": "K", "t": "T",
    "expiry": "expiry", "r": "r", "q": "q", "sigma": "sigma", "price": "price",
}  # fmt: skip
_CLI_LABELS = {
    "type": "--type", "model": "--model", "s": "-S/--spot", "f": "-F/--forward",
    "k": "-K/--strike", "t": "-T/--years", "expiry": "--expiry", "r": "-r/--rate",
    "q": "-q/--yield", "sigma": "--sigma", "price": "--price",
}  # fmt: skip
# Accepted names of each input (case-insensitive; leading dashes ignored).
_ALIASES = {
    "type": ("type", "option_type", "right"),
    "model": ("model",),
    "s": ("s", "spot"),
    "f": ("f", "forward"),
    "k": ("k", "strike"),
    "t": ("t", "years"),
    "expiry": ("expiry", "expiration"),
    "r": ("r", "rate"),
    "q": ("q", "yield", "dividend_yield"),
    "sigma": ("sigma", "vol", "volatility"),
    "price": ("price", "market_price", "premium"),
}
KNOWN_OPTION_COLUMNS = tuple(name for names in _ALIASES.values() for name in names)


def _normal(name: object) -> str:
    # "-K/--strike" (a command-line label) -> "strike"; "K" -> "k".
    return str(name).strip().split("/")[-1].lstrip("-").lower()


class _Row:
    """One input row: finds each input by its aliases and keeps the user's spelling of
    the name for messages; collects every problem of the row."""

    def __init__(self, line: int, row: Mapping[str, object], labels: Mapping[str, str]) -> None:
        self.line = line
        self.labels = labels
        self.values: dict[str, tuple[str, str]] = {}
        for key, value in row.items():
            if key is None or value is None or str(value).strip() == "":
                continue
            self.values.setdefault(_normal(key), (str(key).strip(), str(value).strip()))
        self.errors: list[RowError] = []

    def get(self, name: str) -> tuple[str, str] | None:
        for alias in _ALIASES[name]:
            if alias in self.values:
                return self.values[alias]
        return None

    def label(self, name: str) -> str:
        found = self.get(name)
        return found[0] if found else self.labels[name]

    def bad(self, name: str, reason: str) -> None:
        self.errors.append(RowError(self.line, self.label(name), reason))

    def number(self, name: str) -> float | None:
        found = self.get(name)
        if found is None:
            return None
        label, text = found
        try:
            value = float(text)
        except ValueError:
            self.errors.append(RowError(self.line, label, f"not a number: {text!r}"))
            return None
        if not np.isfinite(value):
            self.errors.append(RowError(self.line, label, f"must be finite, got {text!r}"))
            return None
        return value


def _years_of(row: _Row, now: datetime) -> float | None:
    years = row.number("t")
    expiry = row.get("expiry")
    if row.get("t") is None and expiry is None:
        row.bad("t", f"give {row.labels['t']} (years) or {row.labels['expiry']} (date)")
        return None
    if row.get("t") is not None and expiry is not None:
        row.bad("expiry", f"give {row.label('t')} or {row.label('expiry')}, not both")
        return None
    if expiry is not None:
        try:
            when = datetime.fromisoformat(expiry[1].replace("Z", "+00:00"))
        except ValueError:
            row.bad("expiry", f"not an ISO date: {expiry[1]!r}")
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        years = (when - now).total_seconds() / SECONDS_PER_YEAR
        if years < 0:
            row.bad("expiry", f"{expiry[1]} is before the valuation time {now.isoformat()}")
            return None
    if years is not None and years < 0:
        row.bad("t", f"must not be negative (years to expiry), got {years:g}")
        return None
    return years


def _parse_one(
    line: int,
    raw: Mapping[str, object],
    now: datetime,
    default_rate: float,
    labels: Mapping[str, str],
) -> OptionRequest | list[RowError]:
    row = _Row(line, raw, labels)
    kind = row.get("type")
    if kind is None:
        row.bad("type", "missing: give call or put")
    elif kind[1].lower() not in _TRUE | _FALSE:
        row.bad("type", f"expected call or put, got {kind[1]!r}")
    model_field = row.get("model")
    model = (model_field[1] if model_field else "bsm").lower()
    if model not in ("bsm", "black76", "american"):
        row.bad("model", f"expected bsm, black76 or american, got {model!r}")
    under_name = "f" if model == "black76" else "s"
    if model == "black76" and row.get("f") is None and row.get("s") is not None:
        under_name = "s"
    under = row.number(under_name)
    if row.get(under_name) is None:
        row.bad(under_name, "missing underlying price")
    elif under is not None and under <= 0:
        row.bad(under_name, f"must be positive, got {under:g}")
    strike = row.number("k")
    if row.get("k") is None:
        row.bad("k", "missing strike")
    elif strike is not None and strike <= 0:
        row.bad("k", f"must be positive, got {strike:g}")
    years = _years_of(row, now)
    rate = row.number("r")
    carry = row.number("q")
    if model == "black76" and carry is not None and carry != 0.0:
        row.bad(
            "q",
            "not an input of Black-76: the forward F already carries the yield "
            "(give F, or use --model bsm with S and q)",
        )
    sigma = row.number("sigma")
    market = row.number("price")
    if (row.get("sigma") is None) == (row.get("price") is None):
        row.bad(
            "sigma",
            f"give {row.label('sigma')} (to price) or {row.label('price')} (to imply), exactly one",
        )
    if sigma is not None and sigma < 0:
        row.bad("sigma", f"must not be negative, got {sigma:g}")
    if market is not None and market < 0:
        row.bad("price", f"must not be negative, got {market:g}")
    if row.errors:
        return row.errors
    assert kind is not None and under is not None and strike is not None  # noqa: S101
    assert years is not None  # noqa: S101 - all set when no error was recorded
    return OptionRequest(
        line=line,
        is_call=kind[1].lower() in _TRUE,
        model=model,  # type: ignore[arg-type]
        underlying=under,
        strike=strike,
        years=years,
        rate=default_rate if rate is None else rate,
        carry_yield=0.0 if carry is None else carry,
        sigma=sigma,
        market_price=market,
    )


def parse_option_rows(
    rows: Iterable[tuple[int, Mapping[str, object]]],
    now: datetime,
    default_rate: float,
    *,
    labels: Literal["file", "cli"] = "file",
) -> list[OptionRequest]:
    """Validate option rows (CSV/JSON records or CLI arguments); all errors are reported.

    Columns (case-insensitive, leading dashes ignored): type (call/put), model
    (bsm|black76|american, default bsm), S or F, K, T (years) or expiry (ISO date/time; a
    date alone is 00:00 UTC), r (default ``default_rate``), q (default 0; not an input of
    black76), sigma or price. Raises :class:`OptionRowsRejected` naming each bad line and
    field, every bad field of a row, spelled as the user did (the column header, or the
    command-line option with ``labels="cli"``). No rows at all is an error too.
    """
    names = _CLI_LABELS if labels == "cli" else _FILE_LABELS
    parsed: list[OptionRequest] = []
    errors: list[RowError] = []
    seen = 0
    for line, row in rows:
        seen += 1
        result = _parse_one(line, row, now, default_rate, names)
        if isinstance(result, list):
            errors.extend(result)
        else:
            parsed.append(result)
    if errors:
        raise OptionRowsRejected(errors)
    if seen == 0:
        raise ValidationError("no options to price: the input has no rows", field="file")
    return parsed


def price_options(requests: Sequence[OptionRequest]) -> list[OptionQuote]:
    """Price (or imply the vol of, then price) every request; vectorised per model.

    Never raises for a price outside the no-arbitrage bounds: that row gets its
    ``iv_status`` and None figures.
    """
    n = len(requests)
    out: list[OptionQuote | None] = [None] * n
    for model in ("bsm", "black76", "american"):
        idx = [i for i, q in enumerate(requests) if q.model == model]
        if not idx:
            continue
        sel = [requests[i] for i in idx]
        s = np.array([q.underlying for q in sel])
        k = np.array([q.strike for q in sel])
        t = np.array([q.years for q in sel])
        r = np.array([q.rate for q in sel])
        y = np.array([0.0 if model == "black76" else q.carry_yield for q in sel])
        c = np.array([q.is_call for q in sel], dtype=np.bool_)
        given = np.array([np.nan if q.sigma is None else q.sigma for q in sel])
        market = np.array([np.nan if q.market_price is None else q.market_price for q in sel])
        implied = np.isnan(given)
        status = np.zeros(len(sel), dtype=np.int8)
        vol = given.copy()
        if implied.any():
            if model == "american":
                v, st = implied_vol_american(
                    market[implied],
                    s[implied],
                    k[implied],
                    t[implied],
                    r[implied],
                    y[implied],
                    c[implied],
                )
            else:
                res = (
                    implied_vol_black76(
                        market[implied],
                        s[implied],
                        k[implied],
                        t[implied],
                        r[implied],
                        c[implied],
                        backend="numpy",
                    )
                    if model == "black76"
                    else implied_vol_bsm(
                        market[implied],
                        s[implied],
                        k[implied],
                        t[implied],
                        r[implied],
                        y[implied],
                        c[implied],
                        backend="numpy",
                    )
                )
                v, st = res.vol, res.status
            vol[implied], status[implied] = v, st
        usable = np.isfinite(vol)
        v_ok = np.where(usable, vol, 0.0)
        second: dict[str, FloatArray] | None = None
        if model == "american":
            g = american_greeks_fd(s, k, t, r, y, v_ok, c)
        else:
            eu = bsm_greeks(
                s, k, t, r, np.where(model == "black76", r, y), v_ok, c, backend="numpy"
            )
            g = {
                name: getattr(eu, name)
                for name in ("price", "delta", "gamma", "theta", "vega", "rho")
            }
            if model == "black76":
                g["rho"] = -t * eu.price
            so = bsm_second_order(s, k, t, r, np.where(model == "black76", r, y), v_ok, c)
            second = {"vanna": so.vanna, "charm": so.charm, "volga": so.volga}
        for j, i in enumerate(idx):
            q = sel[j]
            ok = bool(usable[j])

            def val(arr: FloatArray, div: float, ok: bool = ok, j: int = j) -> float | None:
                return float(arr[j] / div) if ok and np.isfinite(arr[j]) else None

            out[i] = OptionQuote(
                line=q.line,
                option_type="call" if q.is_call else "put",
                model=model,
                underlying=q.underlying,
                strike=q.strike,
                years=q.years,
                rate=q.rate,
                carry_yield=0.0 if model == "black76" else q.carry_yield,
                sigma=float(vol[j]) if ok else None,
                implied=bool(implied[j]),
                iv_status=IVStatus(int(status[j])).name if implied[j] else None,
                iv_reason=(
                    _iv_reason(IVStatus(int(status[j])), model, q, float(market[j]))
                    if implied[j]
                    else None
                ),
                price=val(g["price"], 1.0),
                delta=val(g["delta"], 1.0),
                gamma=val(g["gamma"], 1.0),
                theta_per_day=val(g["theta"], 365.0),
                vega_per_pct=val(g["vega"], 100.0),
                rho_per_pct=val(g["rho"], 100.0),
                vanna_per_pct=None if second is None else val(second["vanna"], 100.0),
                charm_per_day=None if second is None else val(second["charm"], 365.0),
                volga_per_pct=None if second is None else val(second["volga"], 10_000.0),
            )
    return [q for q in out if q is not None]
