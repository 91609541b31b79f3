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
* A quote is **usable** for a vol when it is two-sided (bid > 0 and ask > 0) and its spread
  (ask − bid) / mid is at most ``QuotePolicy.max_iv_spread``. A vol is never implied from a
  one-sided or zero-bid quote: its "mid" is half the ask, a number nobody trades at.
* Own implied vol (``iv``): the European vol of a usable quote's mid.
* Analytics vol (``vol``, the one every Greek and probability uses), first available of
  (``vol_source`` codes, ``VOL_SOURCES``):

  1. the usable mid of the **out-of-the-money side** of the (expiry, strike): the call at or
     above the forward, the put below it. Its early-exercise premium is negligible, so an
     in-the-money American put is not read as a higher vol, and a deep in-the-money option
     (whose time value is smaller than its spread) is not read at all;
  2. when the venue publishes a mark (Deribit's ``mark_price`` / ``mark_iv``): the venue's
     mark IV (the contract's, then its partner's), else the IV implied from the mark price;
  3. the contract's own usable mid (in the money);
  4. the venue's IV (CBOE, Tradier/ORATS), the contract's then its partner's.

  Contracts within an hour of expiry (or expired) get no vol: they are valued at intrinsic
  value, and their probability of finishing in the money is 1 (in the money), 0 (out of the
  money) or 0.5 (exactly at the money).
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

#: What the analytics vol of a contract was taken from (index = ``ChainIndex.vol_source``).
VOL_SOURCES: tuple[str, ...] = (
    "none: no usable quote, venue mark or venue IV",
    "two-sided mid of this contract (the out-of-the-money side)",
    "two-sided mid of the out-of-the-money option of the same strike and expiry",
    "venue mark IV (the book is one-sided or too wide on the out-of-the-money side)",
    "IV implied from the venue mark price",
    "two-sided mid of this contract (in the money; the out-of-the-money side has no usable quote)",
    "venue IV (no usable quote)",
    "intrinsic value: under an hour to expiry, no vol",
)
VOL_NONE, VOL_OWN_OTM, VOL_PARTNER, VOL_MARK_IV, VOL_MARK_PRICE, VOL_OWN_ITM, VOL_VENUE = range(7)
VOL_INTRINSIC = 7


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
class QuotePolicy:
    """When a quote says something about volatility: ``max_iv_spread`` is the widest spread
    (ask − bid) / mid whose mid is used to imply a vol (wider books fall back to the venue's
    mark, see the module doc)."""

    max_iv_spread: float = 0.50


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
    ``years`` and ``dte`` to expiry; ``usable`` whether the quote is two-sided and tight
    enough to imply a vol; ``venue_mark`` the venue's mark price (NaN if none); ``iv`` the own
    European IV of a usable mid (NaN if none); ``vol`` the analytics vol and ``vol_source``
    where it came from (``VOL_SOURCES``; module doc); Greeks per unit at ``vol`` in USD (theta
    per year, vega/rho per 1.00); ``prob_itm`` under the drift (0/0.5/1 without time left).
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
    usable: BoolArray
    venue_mark: FloatArray
    iv: FloatArray
    vol: FloatArray
    vol_source: npt.NDArray[np.int8]
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


def analyse_chain(
    snapshot: ChainSnapshot, rates: RateInputs, policy: QuotePolicy | None = None
) -> ChainIndex:
    """Vectorised analytics of every contract (module doc). Expired contracts (expiry at or
    before ``as_of``) get T = 0: intrinsic value, no vol."""
    policy = policy or QuotePolicy()
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
    usable = has_ask & (bid > 0.0) & (spread_pct <= policy.max_iv_spread)
    venue_mark = np.array([_dec(c.mark) for c in contracts], dtype=np.float64)
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
    # Within the last hour a mid says nothing about volatility (the IV of a 1-second option is
    # noise): such contracts are valued at intrinsic value, without a vol.
    live = years > MIN_LIVE_YEARS
    iv = _implied(mid * usd_factor, live & usable, spot, strike, years, rate, carry, is_call)
    has_mark = np.isfinite(venue_mark) & (venue_mark > 0.0)
    mark_iv = _implied(
        venue_mark * usd_factor, live & has_mark, spot, strike, years, rate, carry, is_call
    )
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
    publishes_mark = np.array([c.mark is not None for c in contracts], dtype=np.bool_)
    vol, source = _surface_vol(
        contracts,
        strike,
        is_call,
        spot * np.exp((rate - carry) * years),
        iv,
        venue_iv,
        mark_iv,
        publishes_mark,
    )
    vol = np.where(live, vol, np.nan)
    source = np.where(live, source, VOL_INTRINSIC).astype(np.int8)
    years = np.where(live, years, 0.0)
    vol_ok = np.where(np.isfinite(vol), vol, 0.0)
    greeks = bsm_greeks(spot, strike, years, rate, carry, vol_ok, is_call, backend="numpy")
    # Without time (or vol) d2 is ±inf, or 0 exactly at the money: N(d2) is 1, 0 or 0.5.
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
        usable=usable,
        venue_mark=venue_mark,
        iv=iv,
        vol=vol,
        vol_source=source,
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


def _implied(
    price_usd: FloatArray,
    mask: BoolArray,
    spot: FloatArray,
    strike: FloatArray,
    years: FloatArray,
    rate: FloatArray,
    carry: FloatArray,
    is_call: BoolArray,
) -> FloatArray:
    """European IV of ``price_usd`` where ``mask`` holds (NaN elsewhere and where no vol
    reproduces the price, e.g. below intrinsic value)."""
    out = np.full(price_usd.shape, np.nan)
    if mask.any():
        solved = implied_vol_bsm(
            price_usd[mask],
            spot[mask],
            strike[mask],
            years[mask],
            rate[mask],
            carry[mask],
            is_call[mask],
            backend="numpy",
        )
        out[mask] = np.where(solved.vol > 0.0, solved.vol, np.nan)
    return out


def _surface_vol(
    contracts: tuple[OptionQuote, ...],
    strike: FloatArray,
    is_call: BoolArray,
    forward: FloatArray,
    iv: FloatArray,
    venue_iv: FloatArray,
    mark_iv: FloatArray,
    publishes_mark: BoolArray,
) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    """Per contract: the analytics vol and its source code (module doc, ``VOL_SOURCES``)."""
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
    otm_self = np.where(is_call, strike >= forward, strike < forward)
    has_partner = partner >= 0
    at = np.where(has_partner, partner, 0)

    def of_partner(values: FloatArray) -> FloatArray:
        return np.where(has_partner, values[at], np.nan)

    steps: list[tuple[FloatArray, int]] = [
        (np.where(otm_self, iv, np.nan), VOL_OWN_OTM),
        (np.where(otm_self, np.nan, of_partner(iv)), VOL_PARTNER),
        (np.where(publishes_mark, venue_iv, np.nan), VOL_MARK_IV),
        (np.where(publishes_mark, of_partner(venue_iv), np.nan), VOL_MARK_IV),
        (mark_iv, VOL_MARK_PRICE),
        (np.where(otm_self, np.nan, iv), VOL_OWN_ITM),
        (venue_iv, VOL_VENUE),
        (of_partner(venue_iv), VOL_VENUE),
    ]
    vol = np.full(n, np.nan)
    source = np.full(n, VOL_NONE, dtype=np.int8)
    for values, code in steps:
        take = ~np.isfinite(vol) & np.isfinite(values)
        vol = np.where(take, values, vol)
        source = np.where(take, code, source).astype(np.int8)
    return vol, source


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
    "VOL_SOURCES",
    "ChainIndex",
    "ChainSnapshot",
    "ContractTerms",
    "OptionQuote",
    "QuotePolicy",
    "RateInputs",
    "UnderlyingQuote",
    "VenueGreeks",
    "analyse_chain",
    "expected_excess",
    "plain",
    "prob_beyond",
]
