"""Option chain snapshots and their analytics (implied vols, Greeks, probabilities), vectorised.

A :class:`ChainSnapshot` is what a venue (or a recorded file) said at one instant ``as_of``:
the underlying quote, every contract's bid/ask/sizes/volume/open interest and, when the venue
sends them, its own IV and Greeks. :func:`analyse_chain` turns it into a :class:`ChainIndex` of
float64 arrays, computed once per snapshot and shared by every position on that underlying.

Method (docs/options.md):

* Time to expiry ``T`` = seconds from ``as_of`` to the contract's expiry / (365 × 86 400).
* Equity options are valued on the spot ``S`` with the rate ``r`` and dividend yield ``q``
  (generalised Black-Scholes-Merton); coin-settled and USDC-linear (Deribit) options on the
  expiry's forward ``F`` (Black-76; ``S`` := F and ``q`` := r). Coin premiums are converted to
  USD at F before implying vols.
* Own implied vol: the European vol of the quote's mid. For American equity options the vol of
  each (expiry, strike) is taken from its **out-of-the-money side** (the call at or above the
  forward, the put below it), whose early-exercise premium is negligible, so an in-the-money
  American put is not read as a higher vol; the other side, then the venue's IV, are fallbacks.
* Greeks: analytic GBSM/Black-76 at that vol (delta per unit of underlying, theta per year,
  vega and rho per 1.00). Probability of finishing in the money: N(±d2) under the drift
  (risk-neutral r − q unless a real-world drift is configured).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from riskdesk.domain.errors import InvalidValue, NotFound
from riskdesk.domain.instruments import ExerciseStyle
from riskdesk.domain.pricing import bsm_greeks, gbsm_d1_d2, implied_vol_bsm, ndtr
from riskdesk.domain.symbols import OptionRight

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
SECONDS_PER_YEAR = 365.0 * 86400.0
DAYS_PER_YEAR = 365.0
#: Contracts with less than an hour to expiry get no implied vol (years).
MIN_LIVE_YEARS = 3600.0 / SECONDS_PER_YEAR


def plain(value: Decimal) -> Decimal:
    """``value`` without exponent notation or trailing zeros (``3.3E+2`` -> ``330``)."""
    return Decimal(format(value.normalize(), "f"))


@dataclass(frozen=True, slots=True)
class VenueGreeks:
    """Greeks as the venue sends them, converted to riskdesk units: delta per unit, gamma per
    unit move, theta per calendar day, vega per 1 vol point, rho per 1 % (premium currency per
    unit), iv as a decimal per year."""

    delta: float | None = None
    gamma: float | None = None
    theta_per_day: float | None = None
    vega_per_pct: float | None = None
    rho_per_pct: float | None = None
    iv: float | None = None


@dataclass(frozen=True, slots=True)
class OptionQuote:
    """One contract of a chain. Prices per unit of underlying in the premium currency; sizes,
    volume and open interest in contracts; ``forward`` is the expiry's underlying price when the
    venue quotes one (Deribit's future), ``ts`` the quote's own time when known."""

    symbol: str
    underlying: str
    expiry: datetime
    strike: Decimal
    right: OptionRight
    bid: Decimal | None
    ask: Decimal | None
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None
    last: Decimal | None = None
    mark: Decimal | None = None
    volume: Decimal | None = None
    open_interest: Decimal | None = None
    venue_greeks: VenueGreeks | None = None
    forward: Decimal | None = None
    ts: datetime | None = None

    @property
    def mid(self) -> Decimal | None:
        """(bid + ask) / 2 when an ask exists (a missing bid counts as 0), else None."""
        if self.ask is None or self.ask <= 0:
            return None
        return (max(self.bid or Decimal(0), Decimal(0)) + self.ask) / 2

    @property
    def expiry_date(self) -> date:
        """Expiration date (UTC date of the expiry instant)."""
        return self.expiry.date()


@dataclass(frozen=True, slots=True)
class UnderlyingQuote:
    """The underlying: ``price`` (last trade, or the index for crypto) and bid/ask if known."""

    symbol: str
    price: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None
    ts: datetime | None = None


@dataclass(frozen=True, slots=True)
class ContractTerms:
    """What every contract of a chain shares: ``multiplier`` (units of underlying per
    contract), ``premium_currency``, exercise style, whether premiums are in the coin
    (``coin_settled``), the price grid (``tick_size`` below ``tick_threshold``,
    ``tick_size_above`` at or above it — the Cboe penny-interval rule — and ``combo_tick`` for
    multi-leg orders), the quantity grid ``lot_size`` and the ``venue``."""

    multiplier: Decimal
    premium_currency: str
    exercise: ExerciseStyle
    coin_settled: bool
    tick_size: Decimal
    tick_size_above: Decimal
    tick_threshold: Decimal
    combo_tick: Decimal
    lot_size: Decimal
    venue: str
    linear_settle: bool = False

    def tick_for(self, price: Decimal) -> Decimal:
        """Single-leg tick at ``price``."""
        return self.tick_size if abs(price) < self.tick_threshold else self.tick_size_above


@dataclass(frozen=True, slots=True)
class ChainSnapshot:
    """A full chain at one instant. ``as_of`` is the data's own time (the valuation time of
    everything computed from it); ``source`` says where it came from."""

    underlying: UnderlyingQuote
    contracts: tuple[OptionQuote, ...]
    as_of: datetime
    source: str
    terms: ContractTerms

    def __post_init__(self) -> None:
        if self.as_of.tzinfo is None:
            raise InvalidValue("snapshot time must be timezone-aware", field="as_of")

    def expirations(self) -> list[date]:
        """Sorted expiration dates."""
        return sorted({c.expiry_date for c in self.contracts})


@dataclass(frozen=True, slots=True)
class RateInputs:
    """Rates for a chain: ``rate`` and ``carry_yield`` continuous per year (equity), ``coin_rate``
    the discount rate of coin/USDC options (Deribit: 0), ``drift`` the expected return per year
    for probabilities (None = risk-neutral)."""

    rate: float = 0.04
    carry_yield: float = 0.0
    coin_rate: float = 0.0
    drift: float | None = None


@dataclass(frozen=True)
class ChainIndex:
    """Analytics of a snapshot, one array element per contract (same order as ``contracts``).

    Units: ``strike``, ``bid``, ``ask``, ``mid`` in the premium currency per unit; ``usd_factor``
    converts a premium to USD (the forward for coin-settled options, else 1); ``spot`` the
    valuation underlying (S, or F for forward-priced options) and ``carry`` its yield (q, or r);
    ``years`` and ``dte`` to expiry; ``iv`` the own European IV of the mid (NaN if none);
    ``vol`` the analytics vol (OTM side, see module doc); Greeks per unit at ``vol`` in USD
    (theta per year, vega/rho per 1.00); ``prob_itm`` under the drift.
    """

    snapshot: ChainSnapshot
    rates: RateInputs
    strike: FloatArray
    years: FloatArray
    dte: FloatArray
    is_call: BoolArray
    bid: FloatArray
    ask: FloatArray
    mid: FloatArray
    spread_pct: FloatArray
    open_interest: FloatArray
    volume: FloatArray
    usd_factor: FloatArray
    spot: FloatArray
    carry: FloatArray
    rate: FloatArray
    drift: FloatArray
    iv: FloatArray
    vol: FloatArray
    model_price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray
    rho: FloatArray
    prob_itm: FloatArray
    expiry_ns: npt.NDArray[np.int64]
    by_symbol: Mapping[str, int] = field(repr=False)

    @property
    def as_of(self) -> datetime:
        """The valuation time: the snapshot's own time."""
        return self.snapshot.as_of

    @property
    def terms(self) -> ContractTerms:
        """The chain's contract terms."""
        return self.snapshot.terms

    def contract(self, i: int) -> OptionQuote:
        """Contract ``i``."""
        return self.snapshot.contracts[i]

    def find(self, symbol: str) -> int:
        """Index of ``symbol`` (OCC or venue name, case-insensitive); :class:`NotFound` names the
        nearest listed expiry and strikes when the contract is not in the snapshot."""
        key = symbol.strip().upper()
        if key in self.by_symbol:
            return self.by_symbol[key]
        raise NotFound(
            f"{symbol} is not in the {self.snapshot.underlying.symbol} chain of "
            f"{self.as_of:%Y-%m-%d %H:%M} UTC ({self.snapshot.source}); listed expiries: "
            + ", ".join(f"{d:%Y-%m-%d}" for d in self.snapshot.expirations()[:12]),
            field="option_symbol",
        )


def _dec(value: Decimal | None) -> float:
    return float(value) if value is not None else np.nan


def analyse_chain(snapshot: ChainSnapshot, rates: RateInputs) -> ChainIndex:
    """Vectorised analytics of every contract (module doc). Expired contracts (expiry at or
    before ``as_of``) get T = 0: intrinsic value, no vol."""
    contracts = snapshot.contracts
    n = len(contracts)
    terms = snapshot.terms
    as_of = snapshot.as_of
    s_under = float(snapshot.underlying.price)
    strike = np.array([float(c.strike) for c in contracts], dtype=np.float64)
    seconds = np.array([(c.expiry - as_of).total_seconds() for c in contracts], dtype=np.float64)
    years = np.maximum(seconds, 0.0) / SECONDS_PER_YEAR
    dte = np.maximum(seconds, 0.0) / 86400.0
    is_call = np.array([c.right is OptionRight.CALL for c in contracts], dtype=np.bool_)
    bid = np.array([_dec(c.bid) for c in contracts], dtype=np.float64)
    ask = np.array([_dec(c.ask) for c in contracts], dtype=np.float64)
    bid = np.where(np.isfinite(bid), np.maximum(bid, 0.0), 0.0)
    has_ask = np.isfinite(ask) & (ask > 0.0)
    mid = np.where(has_ask, 0.5 * (bid + np.where(has_ask, ask, 0.0)), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread_pct = np.where(mid > 0.0, (ask - bid) / mid, np.inf)
    oi = np.array([_dec(c.open_interest) for c in contracts], dtype=np.float64)
    volume = np.array([_dec(c.volume) for c in contracts], dtype=np.float64)
    forward_given = np.array([_dec(c.forward) for c in contracts], dtype=np.float64)
    forward_priced = terms.coin_settled or terms.linear_settle
    if forward_priced:
        # Deribit: each expiry has its own forward (the future); without one, carry the index.
        rate = np.full(n, rates.coin_rate)
        fallback = s_under * np.exp((rates.rate - rates.carry_yield) * years)
        spot = np.where(np.isfinite(forward_given) & (forward_given > 0), forward_given, fallback)
        carry = rate.copy()
        drift = np.full(n, 0.0 if rates.drift is None else rates.drift)
    else:
        rate = np.full(n, rates.rate)
        spot = np.full(n, s_under)
        carry = np.full(n, rates.carry_yield)
        drift = np.full(n, rates.rate - rates.carry_yield if rates.drift is None else rates.drift)
    usd_factor = spot if terms.coin_settled else np.ones(n)
    usd_mid = mid * usd_factor
    # Within the last hour a mid says nothing about volatility (the IV of a 1-second option is
    # noise): such contracts are valued at intrinsic value, without a vol.
    live = years > MIN_LIVE_YEARS
    iv = np.full(n, np.nan)
    if live.any():
        solved = implied_vol_bsm(
            usd_mid[live],
            spot[live],
            strike[live],
            years[live],
            rate[live],
            carry[live],
            is_call[live],
            backend="numpy",
        )
        iv[live] = np.where(solved.vol > 0.0, solved.vol, np.nan)
    venue_iv = np.array(
        [
            c.venue_greeks.iv
            if c.venue_greeks is not None
            and c.venue_greeks.iv is not None
            and c.venue_greeks.iv > 0
            else np.nan
            for c in contracts
        ],
        dtype=np.float64,
    )
    vol = _surface_vol(contracts, strike, is_call, spot, carry, rate, years, iv, venue_iv)
    vol = np.where(live, vol, np.nan)
    years = np.where(live, years, 0.0)
    vol_ok = np.where(np.isfinite(vol), vol, 0.0)
    greeks = bsm_greeks(spot, strike, years, rate, carry, vol_ok, is_call, backend="numpy")
    _, d2 = gbsm_d1_d2(spot, strike, years, drift, 0.0, vol_ok)
    prob_itm = ndtr(np.where(is_call, d2, -d2))
    prob_itm = np.where(np.isfinite(vol) | ~live, prob_itm, np.nan)
    by_symbol: dict[str, int] = {}
    for i, c in enumerate(contracts):
        by_symbol[c.symbol.upper()] = i
    expiry_ns = np.array(
        [int(c.expiry.timestamp()) * 1_000_000_000 for c in contracts], dtype=np.int64
    )
    return ChainIndex(
        snapshot=snapshot,
        rates=rates,
        strike=strike,
        years=years,
        dte=dte,
        is_call=is_call,
        bid=bid,
        ask=np.where(has_ask, ask, np.nan),
        mid=mid,
        spread_pct=spread_pct,
        open_interest=np.where(np.isfinite(oi), oi, 0.0),
        volume=np.where(np.isfinite(volume), volume, 0.0),
        usd_factor=usd_factor,
        spot=spot,
        carry=carry,
        rate=rate,
        drift=drift,
        iv=iv,
        vol=vol,
        model_price=greeks.price,
        delta=greeks.delta,
        gamma=greeks.gamma,
        theta=greeks.theta,
        vega=greeks.vega,
        rho=greeks.rho,
        prob_itm=prob_itm,
        expiry_ns=expiry_ns,
        by_symbol=by_symbol,
    )


def _surface_vol(
    contracts: tuple[OptionQuote, ...],
    strike: FloatArray,
    is_call: BoolArray,
    spot: FloatArray,
    carry: FloatArray,
    rate: FloatArray,
    years: FloatArray,
    iv: FloatArray,
    venue_iv: FloatArray,
) -> FloatArray:
    """Per contract: the IV of the OTM side of its (expiry, strike), then its own, then the
    partner's, then the venue's."""
    n = len(contracts)
    partner = np.full(n, -1, dtype=np.int64)
    slots: dict[tuple[datetime, Decimal], list[int]] = {}
    for i, c in enumerate(contracts):
        slots.setdefault((c.expiry, c.strike), []).append(i)
    for members in slots.values():
        calls = [i for i in members if is_call[i]]
        puts = [i for i in members if not is_call[i]]
        if calls and puts:
            partner[calls[0]] = puts[0]
            partner[puts[0]] = calls[0]
    forward = spot * np.exp((rate - carry) * years)
    otm_self = np.where(is_call, strike >= forward, strike < forward)
    has_partner = partner >= 0
    partner_iv = np.where(has_partner, iv[np.where(has_partner, partner, 0)], np.nan)
    first = np.where(otm_self, iv, partner_iv)
    second = np.where(otm_self, partner_iv, iv)
    vol = np.where(np.isfinite(first), first, second)
    return np.where(np.isfinite(vol), vol, venue_iv)


def expected_excess(
    spot: npt.ArrayLike,
    level: npt.ArrayLike,
    years: npt.ArrayLike,
    drift: npt.ArrayLike,
    vol: npt.ArrayLike,
    above: npt.ArrayLike,
) -> FloatArray:
    """Undiscounted expectation of (S_T − B)+ (``above``) or (B − S_T)+ under a lognormal
    S_T with drift ``drift`` and volatility ``vol`` per year: E[(S_T−B)+] = S e^{μT} N(d1) −
    B N(d2). A level B ≤ 0 gives S e^{μT} − B (above) or 0. Units of ``spot``."""
    s_ = np.asarray(spot, dtype=np.float64)
    b_ = np.asarray(level, dtype=np.float64)
    t_ = np.asarray(years, dtype=np.float64)
    m_ = np.asarray(drift, dtype=np.float64)
    v_ = np.asarray(vol, dtype=np.float64)
    up = np.asarray(above, dtype=np.bool_)
    positive = b_ > 0.0
    b_safe = np.where(positive, b_, 1.0)
    fwd = s_ * np.exp(m_ * t_)
    d1, d2 = gbsm_d1_d2(s_, b_safe, t_, m_, 0.0, v_)
    call = fwd * ndtr(d1) - b_safe * ndtr(d2)
    put = b_safe * ndtr(-d2) - fwd * ndtr(-d1)
    call = np.where(positive, call, fwd - b_)
    put = np.where(positive, put, 0.0)
    return np.maximum(np.where(up, call, put), 0.0)


def prob_beyond(
    spot: npt.ArrayLike,
    level: npt.ArrayLike,
    years: npt.ArrayLike,
    drift: npt.ArrayLike,
    vol: npt.ArrayLike,
    above: npt.ArrayLike,
) -> FloatArray:
    """P(S_T > B) (``above``) or P(S_T < B) under the same lognormal model; B ≤ 0 gives 1 or 0."""
    b_ = np.asarray(level, dtype=np.float64)
    up = np.asarray(above, dtype=np.bool_)
    positive = b_ > 0.0
    _, d2 = gbsm_d1_d2(spot, np.where(positive, b_, 1.0), years, drift, 0.0, vol)
    p_above = np.where(positive, ndtr(d2), 1.0)
    return np.where(up, p_above, 1.0 - p_above)


__all__ = [
    "ChainIndex",
    "ChainSnapshot",
    "ContractTerms",
    "OptionQuote",
    "RateInputs",
    "UnderlyingQuote",
    "VenueGreeks",
    "analyse_chain",
    "expected_excess",
    "plain",
    "prob_beyond",
]
