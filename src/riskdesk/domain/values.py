"""Exact value types: ``Price``, ``Quantity``, ``Money`` on ``Decimal``, and trade sides.

Money and quantities in the ledger and in orders are exact decimals. Floats are accepted only at
the edge through :func:`to_decimal`, which converts a float through its shortest ``repr`` (so
``0.1`` becomes ``Decimal("0.1")``, not ``0.1000000000000000055…``) and rejects NaN and infinity.
"""

from __future__ import annotations

import dataclasses
import decimal
import functools
import types
from collections.abc import Callable
from dataclasses import MISSING, dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final, ParamSpec, TypeVar, cast

from riskdesk.domain.errors import CurrencyMismatch, InvalidValue

ZERO: Final = Decimal(0)
ONE: Final = Decimal(1)

#: Precision of the accounting context. 50 significant digits hold a 10^15 notional to 10^-30
#: without rounding, so sums and products of fills are exact; only divisions round.
ACCOUNTING_CONTEXT: Final = decimal.Context(
    prec=50,
    rounding=decimal.ROUND_HALF_EVEN,
    Emin=-999999,
    Emax=999999,
    traps=[decimal.InvalidOperation],
)

#: Ledger quantum for amounts that come from a division (pro-rata cost, inverse values): 1e-28 of
#: the settlement currency, far below any venue's display precision (1e-8 BTC, 1e-2 USD), and fine
#: enough that an inverse position's entry re-derived from its coin basis is the fill price to
#: more than 20 significant digits. With 50 digits of precision, sums stay exact up to 10^21.
LEDGER_QUANTUM: Final = Decimal("1e-28")

#: Display precision of derived average prices (entries, exits): far below any venue's tick.
PRICE_QUANTUM: Final = Decimal("1e-12")

#: Precision of the ratios the views report (P&L %, margin ratio, distance to liquidation,
#: shares of equity, leverage): fractions to 1e-8, i.e. a millionth of a percent.
RATIO_QUANTUM: Final = Decimal("1e-8")

# ------------------------------------------------------------------ bounds on edge numbers
#
# Every number that enters the ledger from outside (a fill's price, quantity and fee, a cash
# movement, a mark) is checked against these bounds where it is parsed, so that nothing absurd is
# ever stored. They are capacity limits of the exact ledger, not trading policy: sums and
# products of values inside them stay exact in the 50-digit accounting context with the 1e-28
# ledger quantum (which holds magnitudes up to about 10^21), and a derived average entry keeps
# at least four significant digits at ``PRICE_QUANTUM``. Real inputs are many orders of magnitude
# inside them (BTC in Indonesian rupiah is about 10^9; a meme coin about 10^-8).

#: Largest price per unit, in the price currency.
MAX_PRICE: Final = Decimal("1e12")
#: Smallest price per unit: 1000 times ``PRICE_QUANTUM``, so an average entry keeps 4 digits.
MIN_PRICE: Final = Decimal("1e-9")
#: Largest quantity of one fill, in contracts (coins for spot).
MAX_QTY: Final = Decimal("1e13")
#: Largest absolute money amount of one fact (a fee, a deposit or withdrawal).
MAX_AMOUNT: Final = Decimal("1e15")
#: Largest notional of one fill in its settlement currency (quantity × contract size × price,
#: or ÷ price for inverse contracts), checked where the instrument is known.
MAX_NOTIONAL: Final = Decimal("1e18")
#: Largest leverage a fill or an account may carry.
MAX_LEVERAGE: Final = Decimal(1000)
#: Largest absolute funding rate per interval (1 = 100 %).
MAX_FUNDING_RATE: Final = Decimal(1)
#: Most significant digits a price or a quantity may have: their product is exact within the
#: 50-digit context.
MAX_SIGNIFICANT_DIGITS: Final = 24

Number = Decimal | int | str | float

_PREC: Final = ACCOUNTING_CONTEXT.prec
_P = ParamSpec("_P")
_R = TypeVar("_R")
_C = TypeVar("_C", bound=type)
_T = TypeVar("_T")


def exact(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` with the 50-digit accounting context as the thread's decimal context, so that
    every sum and product inside (including in callees) is exact, not rounded to 28 digits."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        # Nested calls already run in the accounting context: skip the context switch.
        if decimal.getcontext().prec >= _PREC:
            return fn(*args, **kwargs)
        with decimal.localcontext(ACCOUNTING_CONTEXT):
            return fn(*args, **kwargs)

    return wrapper


class _Factory:
    def __repr__(self) -> str:
        return "<factory>"


_FACTORY: Final = _Factory()

# ------------------------------------------------------------------ cheap frozen value objects
#
# A frozen dataclass stores each field with one ``object.__setattr__`` call (its own
# ``__setattr__`` refuses). The builders below fill a *twin* class instead — the same base and
# the same slots, so the same memory layout, but plain attribute stores — and then switch the
# instance's ``__class__`` to the frozen class (Python allows it between layout-compatible
# classes). The result is an ordinary instance of the frozen class: equal, hashed, printed and
# refused assignment exactly as one built by its own constructor. About 2x cheaper to build.

_TWINS: dict[type, type] = {}


def _twin(cls: type) -> type:
    """The mutable, layout-compatible twin of a slotted class (see above)."""
    twin = _TWINS.get(cls)
    if twin is None:
        if len(cls.__bases__) != 1 or "__slots__" not in cls.__dict__:
            raise TypeError(f"{cls.__name__} needs one base and its own __slots__")
        twin = type(
            f"_{cls.__name__}Builder",
            cls.__bases__,
            {
                "__slots__": cls.__dict__["__slots__"],
                "__setattr__": object.__setattr__,
                "__delattr__": object.__delattr__,  # both, or the stores stay slow
                "__module__": cls.__module__,
            },
        )
        _TWINS[cls] = twin
    return twin


def _field_code(cls: type, names: dict[str, object]) -> tuple[list[str], list[tuple[str, str]]]:
    """Parameters (as the dataclass's own ``__init__`` has them) and ``(field, value
    expression)`` pairs of a slotted dataclass; defaults and factories go into ``names``."""
    if not dataclasses.is_dataclass(cls) or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a slotted dataclass")
    params: list[str] = []
    stores: list[tuple[str, str]] = []
    for f in dataclasses.fields(cls):
        slot = getattr(cls, f.name)
        if type(slot).__name__ != "member_descriptor" or f.kw_only or f.name == "self":
            raise TypeError(f"{cls.__name__}.{f.name}: unsupported field")
        names[f"__fi_set_{f.name}"] = slot.__set__
        if f.default_factory is not MISSING:
            names[f"__fi_factory_{f.name}"] = f.default_factory
            value = f"__fi_factory_{f.name}()"
            if f.init:
                params.append(f"{f.name}=__fi_missing")
                value = f"__fi_factory_{f.name}() if {f.name} is __fi_missing else {f.name}"
        elif f.init:
            value = f.name
            if f.default is MISSING:
                params.append(f.name)
            else:
                names[f"__fi_default_{f.name}"] = f.default
                params.append(f"{f.name}=__fi_default_{f.name}")
        elif f.default is not MISSING:
            names[f"__fi_default_{f.name}"] = f.default
            value = f"__fi_default_{f.name}"
        else:
            continue  # set by __post_init__
        stores.append((f.name, value))
    return params, stores


def _compile(cls: type, kind: str, lines: list[str], names: dict[str, object], fn: str) -> object:
    code = compile("\n".join(lines), f"<{kind} {cls.__qualname__}>", "exec")
    exec(code, names)  # noqa: S102 - generated from the dataclass's own field names, as dataclasses does
    made = names[fn]
    assert isinstance(made, types.FunctionType)  # noqa: S101
    return made


def _namespace(cls: type) -> dict[str, object]:
    return {
        "__fi_missing": _FACTORY,
        "__fi_new": object.__new__,
        "__fi_setattr": object.__setattr__,
        "__fi_cls": cls,
        "__fi_twin": _twin(cls),
    }


def fast_init(cls: _C) -> _C:
    """Give a frozen, slotted dataclass a cheaper ``__init__`` (see the builders above): the
    same signature, defaults and ``__post_init__``, the same frozen instances. For value
    objects built on hot paths (orders, their events, quotes, positions)."""
    names = _namespace(cls)
    params, stores = _field_code(cls, names)
    lines = [
        f"def __init__(self, {', '.join(params)}):",
        "    if type(self) is __fi_cls:",
        '        __fi_setattr(self, "__class__", __fi_twin)',
        *(f"        self.{name} = {value}" for name, value in stores),
        "        self.__class__ = __fi_cls",
        "    else:  # a subclass: slot by slot",
        *(f"        __fi_set_{name}(self, {value})" for name, value in stores),
        "        pass",
    ]
    if hasattr(cls, "__post_init__"):
        lines.append("    self.__post_init__()")
    init = _compile(cls, "fast_init", lines, names, "__init__")
    assert isinstance(init, types.FunctionType)  # noqa: S101
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = dict(getattr(cls.__dict__["__init__"], "__annotations__", {}))
    type.__setattr__(cls, "__init__", init)
    return cls


def frozen_factory(cls: type[_T]) -> Callable[..., _T]:
    """A constructor building exactly what ``cls(...)`` builds (same parameters, defaults and
    ``__post_init__``) the cheap way, for a slotted dataclass of another layer (a port's value
    type, an event) or for the hottest constructions of one's own."""
    names = _namespace(cls)
    params, stores = _field_code(cls, names)
    lines = [
        f"def make({', '.join(params)}):",
        "    self = __fi_new(__fi_twin)",
        *(f"    self.{name} = {value}" for name, value in stores),
        "    self.__class__ = __fi_cls",
    ]
    if hasattr(cls, "__post_init__"):
        lines.append("    self.__post_init__()")
    lines.append("    return self")
    make = _compile(cls, "frozen_factory", lines, names, "make")
    assert isinstance(make, types.FunctionType)  # noqa: S101
    make.__qualname__ = f"make_{cls.__qualname__}"
    return cast(Callable[..., _T], make)


def fast_replace(cls: type[_T]) -> Callable[..., _T]:
    """``dataclasses.replace`` for a slotted dataclass without ``__post_init__``: a copy of an
    instance with the fields named as keywords changed and the others carried over, built the
    cheap way (for value objects evolved on hot paths, such as a position on every fill)."""
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} validates in __post_init__: use dataclasses.replace")
    names = _namespace(cls)
    params, stores = _field_code(cls, names)
    if len(stores) != len(params):
        raise TypeError(f"{cls.__name__} has fields set outside __init__")
    names["__fi_keep"] = _FACTORY
    lines = [
        f"def replace(__fi_obj, *, {', '.join(f'{name}=__fi_keep' for name, _ in stores)}):",
        "    self = __fi_new(__fi_twin)",
        *(
            f"    self.{name} = __fi_obj.{name} if {name} is __fi_keep else {name}"
            for name, _ in stores
        ),
        "    self.__class__ = __fi_cls",
        "    return self",
    ]
    fn = _compile(cls, "fast_replace", lines, names, "replace")
    assert isinstance(fn, types.FunctionType)  # noqa: S101
    fn.__qualname__ = f"replace_{cls.__qualname__}"
    return cast(Callable[..., _T], fn)


def to_decimal(value: Number, field: str = "value") -> Decimal:
    """Convert an edge input to a finite ``Decimal``, naming ``field`` in the error.

    Floats go through ``repr`` (shortest round-trip form). Strings are stripped; ``_`` and ``,``
    thousands separators are not accepted (ambiguous across locales; Python's ``Decimal`` would
    read ``1_000`` as 1000, which a CSV user does not mean).
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise InvalidValue(f"expected a number, got boolean {value!r}", field=field)
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if "_" in text:
            raise InvalidValue(
                f"{value!r} is not a number (no '_' separators in numbers)", field=field
            )
        try:
            result = Decimal(text)
        except decimal.InvalidOperation:
            raise InvalidValue(f"{value!r} is not a number", field=field) from None
    else:
        raise InvalidValue(f"expected a number, got {type(value).__name__}", field=field)
    if not result.is_finite():
        raise InvalidValue(f"must be finite, got {result}", field=field)
    return result


def ratio(value: Decimal) -> Decimal:
    """A reported ratio (a fraction) at :data:`RATIO_QUANTUM`, half-even."""
    return value.quantize(RATIO_QUANTUM, context=ACCOUNTING_CONTEXT)  # a half-even context


def trim(value: Decimal) -> Decimal:
    """The same number without trailing zeros and without an exponent (``5375.000`` → ``5375``,
    ``1E+3`` → ``1000``): for values shown to people and programs."""
    if not value:
        return ZERO
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # noqa: S101 - finite decimals have an integer exponent
    if exponent > 0:  # 1E+3: spell the zeros out (exact, no context involved)
        return Decimal((sign, digits + (0,) * exponent, 0))
    end = len(digits)
    while end > 1 and exponent < 0 and digits[end - 1] == 0:
        end -= 1
        exponent += 1
    return Decimal((sign, digits[:end], exponent))


def significant_digits(value: Decimal) -> int:
    """Significant digits of a finite decimal, trailing zeros not counted (``1.500`` has 2)."""
    digits = value.as_tuple().digits
    end = len(digits)
    while end > 1 and digits[end - 1] == 0:
        end -= 1
    start = 0
    while start < end - 1 and digits[start] == 0:
        start += 1
    return end - start


def _within(value: Decimal, field: str) -> Decimal:
    if significant_digits(value) > MAX_SIGNIFICANT_DIGITS:
        raise InvalidValue(
            f"{value} has more than {MAX_SIGNIFICANT_DIGITS} significant digits", field=field
        )
    return value


def price_value(value: Number, field: str = "price") -> Decimal:
    """A price: finite, in [``MIN_PRICE``, ``MAX_PRICE``], at most ``MAX_SIGNIFICANT_DIGITS``
    significant digits. Units: the instrument's price currency per unit."""
    price = positive(value, field)
    if price > MAX_PRICE:
        raise InvalidValue(
            f"{price} is above the largest accepted price {MAX_PRICE:f}", field=field
        )
    if price < MIN_PRICE:
        raise InvalidValue(
            f"{price} is below the smallest accepted price {MIN_PRICE:f} "
            f"(average entries are kept to {PRICE_QUANTUM:f})",
            field=field,
        )
    return _within(price, field)


def qty_value(value: Number, field: str = "qty") -> Decimal:
    """A quantity: finite, greater than 0, at most ``MAX_QTY``, at most
    ``MAX_SIGNIFICANT_DIGITS`` significant digits. Units: contracts (coins for spot)."""
    qty = positive(value, field)
    if qty > MAX_QTY:
        raise InvalidValue(f"{qty} is above the largest accepted quantity {MAX_QTY:f}", field=field)
    return _within(qty, field)


def amount_value(value: Number, field: str = "amount") -> Decimal:
    """A signed money amount: finite, ``|amount| <= MAX_AMOUNT``, on the ``LEDGER_QUANTUM``
    grid (at most 28 decimals). Units: the currency it is paid in."""
    amount = to_decimal(value, field)
    if abs(amount) > MAX_AMOUNT:
        raise InvalidValue(
            f"{amount} is beyond the largest accepted amount {MAX_AMOUNT:f} (either sign)",
            field=field,
        )
    if ACCOUNTING_CONTEXT.quantize(amount, LEDGER_QUANTUM) != amount:
        raise InvalidValue(
            f"{amount} has more decimals than the ledger keeps ({LEDGER_QUANTUM})", field=field
        )
    return amount


def leverage_value(value: Number, field: str = "leverage") -> Decimal:
    """A leverage: greater than 0 and at most ``MAX_LEVERAGE``."""
    leverage = positive(value, field)
    if leverage > MAX_LEVERAGE:
        raise InvalidValue(f"must be at most {MAX_LEVERAGE}, got {leverage}", field=field)
    return leverage


def positive(value: Number, field: str) -> Decimal:
    """A finite ``Decimal`` strictly greater than zero."""
    result = to_decimal(value, field)
    if result <= 0:
        raise InvalidValue(f"must be greater than 0, got {result}", field=field)
    return result


def non_negative(value: Number, field: str) -> Decimal:
    """A finite ``Decimal`` greater than or equal to zero."""
    result = to_decimal(value, field)
    if result < 0:
        raise InvalidValue(f"must not be negative, got {result}", field=field)
    return result


class Price(Decimal):
    """A finite, non-negative price in the instrument's quote (or premium) currency per unit."""

    __slots__ = ()

    def __new__(cls, value: Number = 0, field: str = "price") -> Price:
        return Decimal.__new__(cls, non_negative(value, field))


class Quantity(Decimal):
    """A finite, non-negative quantity (contracts, coins or shares); direction lives in ``Side``."""

    __slots__ = ()

    def __new__(cls, value: Number = 0, field: str = "quantity") -> Quantity:
        return Decimal.__new__(cls, non_negative(value, field))


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency. Adding or comparing different currencies is an error."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            object.__setattr__(self, "amount", to_decimal(self.amount, "amount"))
        elif not self.amount.is_finite():
            raise InvalidValue(f"must be finite, got {self.amount}", field="amount")
        if not self.currency or not self.currency.isalnum():
            raise InvalidValue(f"invalid currency code {self.currency!r}", field="currency")

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``."""
        return cls(ZERO, currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(
                f"cannot combine {self.currency} with {other.currency}", field="currency"
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(ACCOUNTING_CONTEXT.add(self.amount, other.amount), self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(ACCOUNTING_CONTEXT.subtract(self.amount, other.amount), self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(ACCOUNTING_CONTEXT.multiply(self.amount, Decimal(factor)), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


class Side(StrEnum):
    """Direction of an order or fill."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        """The other side."""
        return Side.SELL if self is Side.BUY else Side.BUY

    @classmethod
    def parse(cls, text: str, field: str = "side") -> Side:
        """Accept buy/sell/b/s in any case."""
        key = text.strip().lower()
        aliases = {"buy": cls.BUY, "b": cls.BUY, "sell": cls.SELL, "s": cls.SELL}
        if key not in aliases:
            raise InvalidValue(f"expected buy or sell, got {text!r}", field=field)
        return aliases[key]


class PositionSide(StrEnum):
    """Which position a fill belongs to: NET (one-way mode) or LONG/SHORT (hedge mode)."""

    NET = "net"
    LONG = "long"
    SHORT = "short"

    @classmethod
    def parse(cls, text: str | None, field: str = "position_side") -> PositionSide:
        """Accept net/both/long/short (``both`` is Binance's name for one-way mode)."""
        if text is None or not text.strip():
            return cls.NET
        key = text.strip().lower()
        aliases = {"net": cls.NET, "both": cls.NET, "long": cls.LONG, "short": cls.SHORT}
        if key not in aliases:
            raise InvalidValue(f"expected net, long or short, got {text!r}", field=field)
        return aliases[key]


class Liquidity(StrEnum):
    """Whether a fill added liquidity (maker) or took it (taker)."""

    MAKER = "maker"
    TAKER = "taker"
