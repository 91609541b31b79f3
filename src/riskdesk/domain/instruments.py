"""Instruments: spot, linear and inverse perpetuals and futures, equity and crypto options.

An :class:`Instrument` owns its grid (tick and lot size) and its value arithmetic. Everything that
depends on *what kind of contract* a position is lives here, so the ledger is the same code for
every instrument:

* **linear** contracts (spot, USDT/USDC perpetuals and futures, options): P&L is linear in price,
  ``pnl = qty · contract_size · (exit − entry)`` in the price currency;
* **inverse** contracts (coin-margined perpetuals and futures, contract value in USD):
  ``pnl = qty · contract_size · (1/entry − 1/exit)`` in coin.

Both are written as ``pnl = qty · contract_size · (x(exit) − x(entry))`` with the *value
coordinate* ``x(p) = p`` (linear) or ``x(p) = −1/p`` (inverse). Averaging entries in ``x`` gives the
weighted-average entry for linear contracts and the contract-weighted harmonic mean that inverse
venues (Deribit, Bybit) report.

``settlement`` says whether the full value changes hands on a trade (``PREMIUM``: spot, options —
cash pays for the position and the position has a market value) or only variation (``MARGIN``:
perpetuals, futures — realized P&L moves the wallet, the position carries unrealized P&L).

Units: ``contract_size`` is base units per contract for linear derivatives (1 for Binance
USDT-M, where quantity is in coins), quote units (USD) per contract for inverse contracts (10 for
Deribit BTC-PERPETUAL, 1 for Bybit BTCUSD), the multiplier for options (100 shares for US equity
options, 1 coin for Deribit options) and 1 for spot. ``tick_size`` is in the price currency,
``lot_size`` and ``min_qty`` in contracts (coins for spot), ``min_notional`` in the price currency.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Final

from riskdesk.domain.errors import InvalidValue, OffGrid
from riskdesk.domain.symbols import (
    OptionRight,
    SymbolKind,
    SymbolSpec,
    canonical_symbol,
    format_deribit,
    parse_symbol,
)
from riskdesk.domain.values import (
    ACCOUNTING_CONTEXT,
    LEDGER_QUANTUM,
    ZERO,
    Number,
    Side,
    positive,
    to_decimal,
)

InstrumentKind = SymbolKind

# Value arithmetic runs in the 50-digit accounting context whatever the caller's context is.
_MUL = ACCOUNTING_CONTEXT.multiply


class Settlement(StrEnum):
    """How a trade moves cash: the whole value (PREMIUM) or only variation margin (MARGIN)."""

    PREMIUM = "premium"
    MARGIN = "margin"


class ExerciseStyle(StrEnum):
    """Option exercise style."""

    EUROPEAN = "european"
    AMERICAN = "american"


@dataclass(frozen=True, slots=True)
class MarginTier:
    """One maintenance-margin bracket (Binance style), by position notional in the quote currency.

    ``maint_amount`` is the bracket's cumulative deduction ``cum`` so that
    ``maintenance = notional · maint_margin_rate − maint_amount`` is continuous across brackets.
    """

    floor: Decimal
    cap: Decimal
    maint_margin_rate: Decimal
    max_leverage: Decimal
    maint_amount: Decimal


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable contract with its grid and value arithmetic. Identity is ``(venue, symbol)``."""

    symbol: str
    venue: str
    kind: InstrumentKind
    base: str
    quote: str
    settle: str
    tick_size: Decimal
    lot_size: Decimal
    contract_size: Decimal = Decimal(1)
    inverse: bool = False
    min_qty: Decimal = ZERO
    min_notional: Decimal = ZERO
    price_currency: str = ""
    expiry: datetime | None = None
    strike: Decimal | None = None
    right: OptionRight | None = None
    exercise: ExerciseStyle | None = None
    underlying: str | None = None
    venue_symbol: str | None = None
    maker_fee_rate: Decimal = ZERO
    taker_fee_rate: Decimal = ZERO
    fee_per_contract: Decimal = ZERO
    maint_margin_rate: Decimal = Decimal("0.005")
    margin_tiers: tuple[MarginTier, ...] = field(default=())
    equity: bool = False
    #: ``venue:symbol``, unique across the catalog (computed once: it is read on every fill).
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.venue}:{self.symbol}")
        for name in ("tick_size", "lot_size", "contract_size"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                raise InvalidValue(f"must be a positive decimal, got {value!r}", field=name)
        if not self.price_currency:
            object.__setattr__(self, "price_currency", self.quote)
        if self.kind is SymbolKind.OPTION and (self.strike is None or self.right is None):
            raise InvalidValue("an option needs a strike and a right", field="strike")
        if self.kind in (SymbolKind.FUTURE, SymbolKind.OPTION) and self.expiry is None:
            raise InvalidValue(f"a {self.kind.value} needs an expiry", field="expiry")
        if self.expiry is not None and self.expiry.tzinfo is None:
            raise InvalidValue("expiry must be timezone-aware (UTC)", field="expiry")

    # ---------------------------------------------------------------------------- identity

    @property
    def settlement(self) -> Settlement:
        """PREMIUM for spot and options, MARGIN for perpetuals and futures."""
        if self.kind in (SymbolKind.SPOT, SymbolKind.OPTION):
            return Settlement.PREMIUM
        return Settlement.MARGIN

    @property
    def is_derivative(self) -> bool:
        """Anything but spot."""
        return self.kind is not SymbolKind.SPOT

    @property
    def coin_settled(self) -> bool:
        """Settled in the base coin (inverse futures, Deribit BTC/ETH options)."""
        return self.settle == self.base

    @property
    def asset(self) -> str:
        """The underlying asset for exposure grouping (``BTC`` for every BTC contract)."""
        return self.base

    # ---------------------------------------------------------------------------- grid

    def tick_at(self, price: Decimal) -> Decimal:
        """Tick size at ``price`` (constant here; venues with price bands override at the edge)."""
        return self.tick_size

    def _snap(self, value: Decimal, step: Decimal, rounding: str) -> Decimal:
        # The division must be exact before the directed rounding, or a long input would be
        # rounded to the default 28 digits first and could end up on the wrong side.
        units = ACCOUNTING_CONTEXT.divide(value, step).to_integral_value(rounding=rounding)
        return ACCOUNTING_CONTEXT.multiply(units, step).quantize(step, context=ACCOUNTING_CONTEXT)

    def make_price(self, value: Number, rounding: str = ROUND_HALF_EVEN) -> Decimal:
        """Snap a price to the tick grid (nearest by default). Units: price currency per unit."""
        price = to_decimal(value, "price")
        if price < 0:
            raise InvalidValue(f"must not be negative, got {price}", field="price")
        return self._snap(price, self.tick_at(price), rounding)

    def make_limit_price(self, value: Number, side: Side) -> Decimal:
        """Snap a limit price in the side's favour: a buy never pays more, a sell never gets less
        than asked (buy rounds down, sell rounds up)."""
        return self.make_price(value, ROUND_FLOOR if side is Side.BUY else ROUND_CEILING)

    def make_stop_price(self, value: Number, protects_long: bool) -> Decimal:
        """Snap a protective stop in the safe direction: a long's stop (a sell stop below the
        market) rounds up, a short's stop rounds down — never looser than asked."""
        return self.make_price(value, ROUND_CEILING if protects_long else ROUND_FLOOR)

    def make_qty(self, value: Number, rounding: str = ROUND_DOWN) -> Decimal:
        """Snap a quantity to the lot grid, rounding toward zero by default (never more than
        intended). Units: contracts (coins for spot and coin-quantity perps)."""
        qty = to_decimal(value, "quantity")
        if qty < 0:
            raise InvalidValue(f"must not be negative, got {qty}", field="quantity")
        return self._snap(qty, self.lot_size, rounding)

    def check_price(self, value: Number, field: str = "price") -> Decimal:
        """Return ``value`` as a Decimal if it is positive and on the tick grid, else raise."""
        price = positive(value, field)
        tick = self.tick_at(price)
        if price % tick != 0:
            raise OffGrid(f"{price} is not a multiple of the tick size {tick}", field=field)
        return price

    def check_lot(self, qty: Decimal, field: str = "quantity") -> None:
        """Raise :class:`OffGrid` unless ``qty`` is a whole number of lots."""
        try:
            on_grid = ACCOUNTING_CONTEXT.remainder(qty, self.lot_size) == 0
        except decimal.InvalidOperation:  # more than 10^50 lots: not a quantity of this grid
            on_grid = False
        if not on_grid:
            raise OffGrid(f"{qty} is not a multiple of the lot size {self.lot_size}", field=field)

    def check_qty(self, value: Number, field: str = "quantity") -> Decimal:
        """Return ``value`` as a Decimal if it is positive, on the lot grid and ≥ ``min_qty``."""
        qty = positive(value, field)
        self.check_lot(qty, field)
        if qty < self.min_qty:
            raise InvalidValue(f"{qty} is below the minimum quantity {self.min_qty}", field=field)
        return qty

    # ---------------------------------------------------------------------------- values

    def value_coordinate(self, price: Decimal) -> Decimal:
        """``x(p)``: ``p`` for linear contracts, ``−1/p`` for inverse (rounded to the ledger
        quantum). P&L is ``qty · contract_size · Δx``."""
        if not self.inverse:
            return price
        return ACCOUNTING_CONTEXT.divide(Decimal(-1), price).quantize(
            LEDGER_QUANTUM, context=ACCOUNTING_CONTEXT
        )

    def entry_value(self, qty: Decimal, price: Decimal) -> Decimal:
        """Signed value basis ``qty · contract_size · x(price)`` in the settlement currency.

        Exact for linear contracts; for inverse contracts rounded to the ledger quantum, once per
        fill, so that sums of bases stay exact afterwards."""
        if not self.inverse:
            return _MUL(_MUL(qty, self.contract_size), price)
        raw = ACCOUNTING_CONTEXT.divide(-qty * self.contract_size, price)
        return raw.quantize(LEDGER_QUANTUM, context=ACCOUNTING_CONTEXT)

    def price_from_basis(self, qty: Decimal, basis: Decimal) -> Decimal:
        """Average entry price implied by a value basis (inverse: the harmonic mean)."""
        if qty == 0:
            return ZERO
        if not self.inverse:
            return ACCOUNTING_CONTEXT.divide(basis, _MUL(qty, self.contract_size))
        if basis == 0:
            return ZERO
        return ACCOUNTING_CONTEXT.divide(_MUL(-qty, self.contract_size), basis)

    def pnl(self, qty: Decimal, entry: Decimal, exit_price: Decimal) -> Decimal:
        """P&L in the settlement currency of ``qty`` (signed: + long) from ``entry`` to ``exit``.

        Linear: ``qty · cs · (exit − entry)``; inverse: ``qty · cs · (1/entry − 1/exit)`` (coin)."""
        return ACCOUNTING_CONTEXT.subtract(
            self.entry_value(qty, exit_price), self.entry_value(qty, entry)
        )

    def notional(self, qty: Decimal, price: Decimal) -> Decimal:
        """Absolute notional in the settlement currency: linear ``|q|·cs·p``; inverse
        ``|q|·cs/p`` (coin). For options this is the premium value, not the underlying's."""
        if not self.inverse:
            return _MUL(_MUL(abs(qty), self.contract_size), price)
        return ACCOUNTING_CONTEXT.divide(_MUL(abs(qty), self.contract_size), price)

    def quote_notional(self, qty: Decimal, price: Decimal) -> Decimal:
        """Absolute notional in the quote currency (USD for inverse: ``|q|·cs``)."""
        if not self.inverse:
            return _MUL(_MUL(abs(qty), self.contract_size), price)
        return _MUL(abs(qty), self.contract_size)

    def fee(self, qty: Decimal, price: Decimal, maker: bool) -> Decimal:
        """Default fee of a fill (settlement currency): the rate on the notional plus the
        per-contract commission (US equity options charge per contract, e.g. 0.65 USD)."""
        return self.fee_on(self.notional(qty, price), qty, maker)

    def fee_on(self, notional: Decimal, qty: Decimal, maker: bool) -> Decimal:
        """:meth:`fee` of ``qty`` whose :meth:`notional` is already known."""
        rate = self.maker_fee_rate if maker else self.taker_fee_rate
        return ACCOUNTING_CONTEXT.add(_MUL(notional, rate), _MUL(abs(qty), self.fee_per_contract))

    def expired(self, now: datetime) -> bool:
        """True once ``now`` has reached the expiry."""
        return self.expiry is not None and now >= self.expiry

    def maintenance_tier(self, notional: Decimal) -> MarginTier | None:
        """The bracket whose [floor, cap) holds ``notional`` (quote currency), if tiers exist."""
        for tier in self.margin_tiers:
            if tier.floor <= notional < tier.cap:
                return tier
        return self.margin_tiers[-1] if self.margin_tiers else None


# ----------------------------------------------------------------------------------- expiries

_UTC_HOUR_DERIBIT: Final = 8


def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    offset = (6 - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (n - 1))


def us_eastern_utc_offset_hours(day: date) -> int:
    """UTC offset of US Eastern time on ``day`` (−4 in daylight time, −5 otherwise).

    US rule since 2007: DST from the second Sunday of March to the first Sunday of November."""
    start = _nth_sunday(day.year, 3, 2)
    end = _nth_sunday(day.year, 11, 1)
    return -4 if start <= day < end else -5


def equity_option_expiry(day: date) -> datetime:
    """Expiry of a US equity option: 16:00 New York time on the expiration date, in UTC."""
    hour = 16 - us_eastern_utc_offset_hours(day)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)


def deribit_expiry(day: date) -> datetime:
    """Deribit expiries settle at 08:00 UTC."""
    return datetime(day.year, day.month, day.day, _UTC_HOUR_DERIBIT, tzinfo=UTC)


# ---------------------------------------------------------------------------------- factories


def _d(value: Number, name: str) -> Decimal:
    return positive(value, name)


def spot(
    symbol: str,
    venue: str,
    *,
    tick_size: Number,
    lot_size: Number,
    min_notional: Number = 0,
    maker_fee_rate: Number = 0,
    taker_fee_rate: Number = 0,
) -> Instrument:
    """A spot pair (``BTC/USDT``) or a stock (``AAPL``): quantity in base units, settled in quote."""
    spec = parse_symbol(symbol)
    if spec.kind is not SymbolKind.SPOT:
        raise InvalidValue(f"{symbol!r} is not a spot symbol", field="symbol")
    return Instrument(
        symbol=canonical_symbol(spec),
        venue=venue,
        kind=SymbolKind.SPOT,
        base=spec.base,
        quote=spec.quote,
        settle=spec.quote,
        tick_size=_d(tick_size, "tick_size"),
        lot_size=_d(lot_size, "lot_size"),
        min_notional=to_decimal(min_notional, "min_notional"),
        maker_fee_rate=to_decimal(maker_fee_rate, "maker_fee_rate"),
        taker_fee_rate=to_decimal(taker_fee_rate, "taker_fee_rate"),
        equity=spec.equity,
        underlying=spec.base,
    )


def perpetual_or_future(
    symbol: str,
    venue: str,
    *,
    tick_size: Number,
    lot_size: Number,
    contract_size: Number = 1,
    min_notional: Number = 0,
    maker_fee_rate: Number = 0,
    taker_fee_rate: Number = 0,
    maint_margin_rate: Number = "0.005",
    margin_tiers: tuple[MarginTier, ...] = (),
) -> Instrument:
    """A perpetual or dated future, linear (``BTC/USDT:USDT``) or inverse (``BTC/USD:BTC``,
    ``BTC-PERPETUAL``). Inverse contracts: ``contract_size`` in USD per contract."""
    spec = parse_symbol(symbol)
    if spec.kind not in (SymbolKind.PERPETUAL, SymbolKind.FUTURE):
        raise InvalidValue(f"{symbol!r} is not a perpetual or future", field="symbol")
    assert spec.settle is not None  # noqa: S101 - derivatives always have a settle currency
    expiry = deribit_expiry(spec.expiry) if spec.expiry is not None else None
    return Instrument(
        symbol=canonical_symbol(spec),
        venue=venue,
        kind=spec.kind,
        base=spec.base,
        quote=spec.quote,
        settle=spec.settle,
        tick_size=_d(tick_size, "tick_size"),
        lot_size=_d(lot_size, "lot_size"),
        contract_size=_d(contract_size, "contract_size"),
        inverse=spec.is_inverse,
        min_notional=to_decimal(min_notional, "min_notional"),
        expiry=expiry,
        underlying=f"{spec.base}/{spec.quote}",
        venue_symbol=format_deribit(spec) if venue == "deribit" else None,
        maker_fee_rate=to_decimal(maker_fee_rate, "maker_fee_rate"),
        taker_fee_rate=to_decimal(taker_fee_rate, "taker_fee_rate"),
        maint_margin_rate=to_decimal(maint_margin_rate, "maint_margin_rate"),
        margin_tiers=margin_tiers,
    )


def equity_option(
    symbol: str,
    venue: str = "us",
    *,
    tick_size: Number = "0.01",
    multiplier: Number = 100,
    taker_fee_per_contract: Number = 0,
) -> Instrument:
    """A US equity or index option from its OCC symbol. Premium per share, multiplier 100,
    quantity in contracts, American exercise (European for cash-settled index roots)."""
    spec = parse_symbol(symbol)
    if spec.kind is not SymbolKind.OPTION or not spec.equity:
        raise InvalidValue(f"{symbol!r} is not an OCC option symbol", field="symbol")
    assert spec.expiry is not None  # noqa: S101
    european = spec.base in {"SPX", "NDX", "RUT", "VIX", "XSP", "DJX"}
    return Instrument(
        symbol=canonical_symbol(spec),
        venue=venue,
        kind=SymbolKind.OPTION,
        base=spec.base,
        quote="USD",
        settle="USD",
        tick_size=_d(tick_size, "tick_size"),
        lot_size=Decimal(1),
        contract_size=_d(multiplier, "multiplier"),
        min_qty=Decimal(1),
        expiry=equity_option_expiry(spec.expiry),
        strike=spec.strike,
        right=spec.right,
        exercise=ExerciseStyle.EUROPEAN if european else ExerciseStyle.AMERICAN,
        underlying=spec.base,
        equity=True,
        fee_per_contract=to_decimal(taker_fee_per_contract, "taker_fee_per_contract"),
    )


def crypto_option(
    symbol: str,
    venue: str = "deribit",
    *,
    tick_size: Number = "0.0005",
    lot_size: Number = "0.1",
    contract_size: Number = 1,
    maker_fee_rate: Number = "0.0003",
    taker_fee_rate: Number = "0.0003",
) -> Instrument:
    """A crypto option: Deribit inverse (``BTC-27DEC24-100000-C``, premium in BTC per 1 BTC,
    settled in BTC) or USDC-linear (``XRP_USDC-21SEP26-1d25-C``, premium in USDC). European.

    The premium currency is the settlement currency; P&L in it is linear in the premium."""
    spec = parse_symbol(symbol)
    if spec.kind is not SymbolKind.OPTION or spec.equity:
        raise InvalidValue(f"{symbol!r} is not a crypto option symbol", field="symbol")
    assert spec.expiry is not None and spec.settle is not None  # noqa: S101
    return Instrument(
        symbol=canonical_symbol(spec),
        venue=venue,
        kind=SymbolKind.OPTION,
        base=spec.base,
        quote=spec.quote,
        settle=spec.settle,
        price_currency=spec.settle,
        tick_size=_d(tick_size, "tick_size"),
        lot_size=_d(lot_size, "lot_size"),
        contract_size=_d(contract_size, "contract_size"),
        min_qty=_d(lot_size, "lot_size"),
        expiry=deribit_expiry(spec.expiry),
        strike=spec.strike,
        right=spec.right,
        exercise=ExerciseStyle.EUROPEAN,
        underlying=f"{spec.base}/{spec.quote}",
        venue_symbol=format_deribit(spec) if venue == "deribit" else None,
        maker_fee_rate=to_decimal(maker_fee_rate, "maker_fee_rate"),
        taker_fee_rate=to_decimal(taker_fee_rate, "taker_fee_rate"),
    )


#: Contract size of inverse (coin-margined) contracts, USD per contract, by venue and base coin,
#: from the venues' contract specifications: Deribit BTC futures and perpetual 10 USD, ETH 1 USD;
#: Bybit inverse contracts (BTCUSD, ETHUSD, …) 1 USD each; Binance COIN-M BTC 100 USD and every
#: other coin 10 USD. ``"*"`` is a venue's size for coins not listed. A venue not listed here has
#: no default: give the contract size explicitly (``--contract-size``).
INVERSE_CONTRACT_SIZES: Final[Mapping[str, Mapping[str, Decimal]]] = {
    "deribit": {"BTC": Decimal(10), "ETH": Decimal(1)},
    "bybit": {"*": Decimal(1)},
    "binance": {"BTC": Decimal(100), "*": Decimal(10)},
    "binancecoinm": {"BTC": Decimal(100), "*": Decimal(10)},  # CCXT's id for COIN-M
}


def _coin(base: str, listed: int) -> str:
    if base != "*":
        return base
    return "other coins" if listed > 1 else "every coin"


def inverse_contract_size(venue: str, base: str) -> Decimal:
    """The default USD size of one inverse contract on ``venue`` for ``base`` (see
    :data:`INVERSE_CONTRACT_SIZES`); an error naming ``contract_size`` when there is none."""
    sizes = INVERSE_CONTRACT_SIZES.get(venue.strip().lower(), {})
    size = sizes.get(base.upper(), sizes.get("*"))
    if size is None:
        known = "; ".join(
            f"{v}: " + ", ".join(f"{_coin(b, len(m))} {c} USD" for b, c in m.items())
            for v, m in INVERSE_CONTRACT_SIZES.items()
            if v != "binancecoinm"
        )
        raise InvalidValue(
            f"no default size for {base} inverse contracts on {venue!r}: give it in USD per "
            f"contract (known defaults — {known})",
            field="contract_size",
        )
    return size


#: Default price tick and lot size (contracts) of an instrument added without a grid, by
#: ``(venue, base coin, contract type)``; ``"*"`` matches any venue or coin. Contract types:
#: ``spot``, ``perpetual``, ``future`` (``/inverse`` for coin-margined ones), ``option`` (crypto)
#: and ``equity_option``. Deribit's rows are its instrument specifications (public/get_instruments
#: as bundled in the shared data, openbb-deribit fixtures): BTC-PERPETUAL tick 0.5, BTC dated
#: futures 2.5, one 10 USD contract per lot; BTC options 0.0005 BTC (0.0001 below a premium of
#: 0.005) in lots of 0.1 BTC. The ``*`` rows are generic fallbacks: give a real account's grid
#: with ``--tick-size``/``--lot-size``. The one table every default grid is read from.
DEFAULT_GRIDS: Final[Mapping[tuple[str, str, str], tuple[Decimal, Decimal]]] = {
    ("deribit", "BTC", "perpetual/inverse"): (Decimal("0.5"), Decimal(1)),
    ("deribit", "BTC", "future/inverse"): (Decimal("2.5"), Decimal(1)),
    ("deribit", "BTC", "option"): (Decimal("0.0005"), Decimal("0.1")),
    ("*", "*", "spot"): (Decimal("0.01"), Decimal("0.00001")),
    ("*", "*", "perpetual"): (Decimal("0.01"), Decimal("0.001")),
    ("*", "*", "future"): (Decimal("0.01"), Decimal("0.001")),
    ("*", "*", "perpetual/inverse"): (Decimal("0.1"), Decimal(1)),
    ("*", "*", "future/inverse"): (Decimal("0.1"), Decimal(1)),
    ("*", "*", "option"): (Decimal("0.0005"), Decimal("0.1")),
    ("*", "*", "equity_option"): (Decimal("0.01"), Decimal(1)),
}


def default_grid(venue: str, spec: SymbolSpec) -> tuple[Decimal, Decimal]:
    """``(tick_size, lot_size)`` for ``spec`` on ``venue`` from :data:`DEFAULT_GRIDS` (the most
    specific row: venue and coin, then venue, then the generic one)."""
    if spec.kind is SymbolKind.OPTION:
        kind = "equity_option" if spec.equity else "option"
    else:
        kind = spec.kind.value + ("/inverse" if spec.is_inverse else "")
    where = venue.strip().lower()
    for key in ((where, spec.base, kind), (where, "*", kind), ("*", "*", kind)):
        if key in DEFAULT_GRIDS:
            return DEFAULT_GRIDS[key]
    raise InvalidValue(f"no default grid for {kind} instruments", field="tick_size")


def instrument_from_spec(spec: SymbolSpec, venue: str, **grid: Number) -> Instrument:
    """Build an instrument for any parsed symbol with the grid of :data:`DEFAULT_GRIDS`,
    overridable (``tick_size``, ``lot_size``, ``contract_size``).

    Inverse contracts take their default size from :data:`INVERSE_CONTRACT_SIZES`."""
    symbol = canonical_symbol(spec)
    tick, lot = default_grid(venue, spec)
    if spec.kind is SymbolKind.SPOT:
        return spot(
            symbol,
            venue,
            tick_size=grid.get("tick_size", tick),
            lot_size=grid.get("lot_size", lot),
        )
    if spec.kind is SymbolKind.OPTION:
        if spec.equity:
            return equity_option(symbol, venue, tick_size=grid.get("tick_size", tick))
        return crypto_option(
            symbol,
            venue,
            tick_size=grid.get("tick_size", tick),
            lot_size=grid.get("lot_size", lot),
        )
    return perpetual_or_future(
        symbol,
        venue,
        tick_size=grid.get("tick_size", tick),
        lot_size=grid.get("lot_size", lot),
        contract_size=grid.get("contract_size")
        or (inverse_contract_size(venue, spec.base) if spec.is_inverse else 1),
    )


__all__ = [
    "DEFAULT_GRIDS",
    "INVERSE_CONTRACT_SIZES",
    "ExerciseStyle",
    "Instrument",
    "InstrumentKind",
    "MarginTier",
    "OptionRight",
    "Settlement",
    "crypto_option",
    "default_grid",
    "deribit_expiry",
    "equity_option",
    "equity_option_expiry",
    "instrument_from_spec",
    "inverse_contract_size",
    "perpetual_or_future",
    "spot",
    "us_eastern_utc_offset_hours",
]
