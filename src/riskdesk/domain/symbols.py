"""Parse and format instrument symbols: OCC, Deribit and CCXT unified.

A parsed symbol is a :class:`SymbolSpec`; each format has a ``parse_*`` and ``format_*`` pair and
they round-trip (``format_x(parse_x(s)) == s`` for every canonical ``s``). :func:`parse_symbol`
detects the format. A bad symbol raises :class:`~riskdesk.domain.errors.InvalidSymbol` whose
``field`` names the wrong part (``root``, ``expiry``, ``right``, ``strike``, ``base``, ``quote``,
``settle``, ``kind``, ``format``).

Formats::

    OCC       TSLA250919P00390000     root(1-6) YYMMDD C|P strike*1000 (8 digits); the padded
              SPXW  251219C05000000   21-character form (root padded with spaces) is accepted too
    Deribit   BTC-PERPETUAL  BTC_USDC-PERPETUAL  ETH-28MAR25  BTC-27DEC24-100000-C
              XRP_USDC-21SEP26-1d25-C  (linear USDC options; ``d`` is the decimal point)
    CCXT      BTC/USDT  BTC/USDT:USDT  BTC/USD:BTC  BTC/USD:BTC-241227  BTC/USD:BTC-241227-100000-C
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Final

from riskdesk.domain.errors import InvalidSymbol


class SymbolKind(StrEnum):
    """What a symbol names."""

    SPOT = "spot"
    PERPETUAL = "perpetual"
    FUTURE = "future"
    OPTION = "option"


class OptionRight(StrEnum):
    """Call or put."""

    CALL = "C"
    PUT = "P"

    @property
    def word(self) -> str:
        """``call`` or ``put``."""
        return "call" if self is OptionRight.CALL else "put"


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """A parsed symbol, independent of the format it came from.

    ``settle`` is None for spot. Inverse (coin-margined) contracts have ``settle == base``.
    ``root`` is the OCC option root (``SPXW`` for SPX weeklies); for other options it is ``base``.
    ``equity`` marks US equity/index symbols (stock tickers and OCC options), settled in USD.
    """

    kind: SymbolKind
    base: str
    quote: str
    settle: str | None = None
    expiry: date | None = None
    strike: Decimal | None = None
    right: OptionRight | None = None
    root: str | None = None
    equity: bool = False

    @property
    def is_inverse(self) -> bool:
        """True for coin-margined contracts (settled in the base currency)."""
        return self.settle is not None and self.settle == self.base


_MONTHS: Final = (
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
)
_CURRENCY = re.compile(r"^[A-Z0-9]{1,12}$")
_OCC = re.compile(r"^(?P<root>[A-Z0-9.]{1,6}?) *(?P<date>\d{6})(?P<right>[CP])(?P<strike>\d{8})$")


def _bad(symbol: str, part: str, reason: str) -> InvalidSymbol:
    return InvalidSymbol(symbol, part, reason)


def _currency(symbol: str, text: str, part: str) -> str:
    if not _CURRENCY.match(text):
        raise _bad(symbol, part, f"{part} currency {text!r} must be 1-12 letters or digits")
    return text


def _pair(symbol: str, kind: SymbolKind, base: str, quote: str, settle: str | None) -> SymbolSpec:
    base = _currency(symbol, base, "base")
    quote = _currency(symbol, quote, "quote")
    if base == quote:
        raise _bad(symbol, "quote", f"quote currency {quote!r} is the same as the base")
    return SymbolSpec(kind, base, quote, settle)


def _yymmdd(symbol: str, text: str) -> date:
    if len(text) != 6 or not text.isdigit():
        raise _bad(symbol, "expiry", f"expiry {text!r} must be YYMMDD")
    try:
        return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError:
        raise _bad(symbol, "expiry", f"expiry {text!r} is not a calendar date") from None


def _strike(symbol: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _bad(symbol, "strike", f"strike {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise _bad(symbol, "strike", f"strike {text!r} must be a positive number")
    return value


def _right(symbol: str, text: str) -> OptionRight:
    if text not in ("C", "P"):
        raise _bad(symbol, "right", f"option right {text!r} must be C or P")
    return OptionRight(text)


def _plain(value: Decimal) -> str:
    """Shortest plain decimal text (no exponent, no trailing zeros)."""
    text = format(value.normalize(), "f")
    return text


# ---------------------------------------------------------------------------------------- OCC


def parse_occ(symbol: str) -> SymbolSpec:
    """Parse an OCC option symbol (``TSLA250919P00390000``; padded 21-char form accepted)."""
    text = symbol.strip().upper()
    if len(text) < 16:
        raise _bad(symbol, "format", "an OCC symbol is root + YYMMDD + C/P + 8-digit strike")
    tail = text[-15:]
    root = text[:-15].rstrip()
    if not root:
        raise _bad(symbol, "root", "missing option root")
    if len(root) > 6 or not re.fullmatch(r"[A-Z][A-Z0-9.]*", root):
        raise _bad(
            symbol, "root", f"option root {root!r} must be 1-6 characters starting with a letter"
        )
    expiry = _yymmdd(symbol, tail[:6])
    right = _right(symbol, tail[6])
    digits = tail[7:]
    if not digits.isdigit():
        raise _bad(symbol, "strike", f"strike {digits!r} must be 8 digits (strike x 1000)")
    strike = Decimal(int(digits)) / 1000
    if strike <= 0:
        raise _bad(symbol, "strike", "strike must be positive")
    return SymbolSpec(
        SymbolKind.OPTION,
        base=occ_underlying(root),
        quote="USD",
        settle="USD",
        expiry=expiry,
        strike=strike.normalize(),
        right=right,
        root=root,
        equity=True,
    )


#: OCC roots whose underlying has another name (PM-settled weeklies and similar).
_ROOT_UNDERLYING: Final = {
    "SPXW": "SPX",
    "NDXP": "NDX",
    "RUTW": "RUT",
    "VIXW": "VIX",
    "XSPW": "XSP",
    "DJXW": "DJX",
}


def occ_underlying(root: str) -> str:
    """The underlying of an OCC root: ``SPXW`` -> ``SPX``; adjusted roots ``AAPL1`` -> ``AAPL``."""
    if root in _ROOT_UNDERLYING:
        return _ROOT_UNDERLYING[root]
    stripped = root.rstrip("0123456789")
    return stripped or root


def format_occ(spec: SymbolSpec, padded: bool = False) -> str:
    """Format an option as OCC (``padded`` gives the 21-character form with the root padded)."""
    if spec.kind is not SymbolKind.OPTION or spec.expiry is None or spec.strike is None:
        raise _bad(repr(spec), "kind", "only options have an OCC symbol")
    root = spec.root or spec.base
    thousandths = spec.strike * 1000
    if thousandths != thousandths.to_integral_value() or thousandths >= 10**8:
        raise _bad(repr(spec), "strike", f"strike {spec.strike} does not fit OCC's 8 digits")
    assert spec.right is not None  # noqa: S101 - options always carry a right
    body = f"{spec.expiry:%y%m%d}{spec.right.value}{int(thousandths):08d}"
    return f"{root:<6}{body}" if padded else f"{root}{body}"


# ------------------------------------------------------------------------------------ Deribit


def _deribit_date(symbol: str, text: str) -> date:
    match = re.fullmatch(r"(\d{1,2})([A-Z]{3})(\d{2})", text)
    if not match:
        raise _bad(symbol, "expiry", f"expiry {text!r} must look like 27DEC24")
    day, mon, year = match.groups()
    if mon not in _MONTHS:
        raise _bad(symbol, "expiry", f"month {mon!r} is not a month abbreviation")
    try:
        return date(2000 + int(year), _MONTHS.index(mon) + 1, int(day))
    except ValueError:
        raise _bad(symbol, "expiry", f"expiry {text!r} is not a calendar date") from None


def _deribit_underlying(symbol: str, text: str) -> tuple[str, str, str]:
    """``BTC`` -> inverse (BTC, USD, settle BTC); ``BTC_USDC`` -> linear (BTC, USDC, USDC)."""
    if "_" in text:
        base, _, quote = text.partition("_")
        spec = _pair(symbol, SymbolKind.SPOT, base, quote, None)
        return spec.base, spec.quote, spec.quote
    base = _currency(symbol, text, "base")
    return base, "USD", base


def parse_deribit(symbol: str) -> SymbolSpec:
    """Parse a Deribit instrument name (perpetual, future or option, inverse or USDC-linear)."""
    text = symbol.strip().upper()
    parts = text.split("-")
    if len(parts) == 1 and "_" in text:
        base, _, quote = text.partition("_")
        return _pair(symbol, SymbolKind.SPOT, base, quote, None)
    if len(parts) < 2 or not parts[0]:
        raise _bad(
            symbol,
            "format",
            "a Deribit name is UNDERLYING-PERPETUAL, -DDMMMYY or -DDMMMYY-STRIKE-C/P",
        )
    base, quote, settle = _deribit_underlying(symbol, parts[0])
    if len(parts) == 2:
        if parts[1] == "PERPETUAL":
            return SymbolSpec(SymbolKind.PERPETUAL, base, quote, settle)
        return SymbolSpec(
            SymbolKind.FUTURE, base, quote, settle, expiry=_deribit_date(symbol, parts[1])
        )
    if len(parts) == 4:
        expiry = _deribit_date(symbol, parts[1])
        strike = _strike(symbol, parts[2].replace("D", "."))
        return SymbolSpec(
            SymbolKind.OPTION,
            base,
            quote,
            settle,
            expiry=expiry,
            strike=strike,
            right=_right(symbol, parts[3]),
            root=base,
        )
    raise _bad(symbol, "format", f"expected 2 or 4 dash-separated parts, got {len(parts)}")


def format_deribit(spec: SymbolSpec) -> str:
    """Format as a Deribit instrument name."""
    if spec.kind is SymbolKind.SPOT:
        return f"{spec.base}_{spec.quote}"
    underlying = spec.base if spec.is_inverse else f"{spec.base}_{spec.quote}"
    if spec.kind is SymbolKind.PERPETUAL:
        return f"{underlying}-PERPETUAL"
    assert spec.expiry is not None  # noqa: S101 - futures and options carry an expiry
    expiry = f"{spec.expiry.day}{_MONTHS[spec.expiry.month - 1]}{spec.expiry:%y}"
    if spec.kind is SymbolKind.FUTURE:
        return f"{underlying}-{expiry}"
    assert spec.strike is not None and spec.right is not None  # noqa: S101
    strike = _plain(spec.strike)
    if not spec.is_inverse:
        strike = strike.replace(".", "d")
    return f"{underlying}-{expiry}-{strike}-{spec.right.value}"


# --------------------------------------------------------------------------------------- CCXT


def parse_ccxt(symbol: str) -> SymbolSpec:
    """Parse a CCXT unified symbol (``BASE/QUOTE[:SETTLE[-YYMMDD[-STRIKE-C|P]]]``)."""
    text = symbol.strip().upper()
    pair, sep, rest = text.partition(":")
    if "/" not in pair:
        raise _bad(symbol, "format", "a CCXT symbol is BASE/QUOTE[:SETTLE[-YYMMDD[-STRIKE-C|P]]]")
    base_text, _, quote_text = pair.partition("/")
    spot_spec = _pair(symbol, SymbolKind.SPOT, base_text, quote_text, None)
    base, quote = spot_spec.base, spot_spec.quote
    if not sep:
        return spot_spec
    parts = rest.split("-")
    settle = _currency(symbol, parts[0], "settle")
    if settle not in (base, quote):
        raise _bad(symbol, "settle", f"settle currency {settle!r} must be the base or the quote")
    if len(parts) == 1:
        return SymbolSpec(SymbolKind.PERPETUAL, base, quote, settle)
    expiry = _yymmdd(symbol, parts[1])
    if len(parts) == 2:
        return SymbolSpec(SymbolKind.FUTURE, base, quote, settle, expiry=expiry)
    if len(parts) == 4:
        return SymbolSpec(
            SymbolKind.OPTION,
            base,
            quote,
            settle,
            expiry=expiry,
            strike=_strike(symbol, parts[2]),
            right=_right(symbol, parts[3]),
            root=base,
        )
    raise _bad(symbol, "format", "after SETTLE expected -YYMMDD or -YYMMDD-STRIKE-C|P")


def format_ccxt(spec: SymbolSpec) -> str:
    """Format as a CCXT unified symbol."""
    pair = f"{spec.base}/{spec.quote}"
    if spec.kind is SymbolKind.SPOT:
        return pair
    assert spec.settle is not None  # noqa: S101 - derivatives always settle somewhere
    if spec.kind is SymbolKind.PERPETUAL:
        return f"{pair}:{spec.settle}"
    assert spec.expiry is not None  # noqa: S101
    head = f"{pair}:{spec.settle}-{spec.expiry:%y%m%d}"
    if spec.kind is SymbolKind.FUTURE:
        return head
    assert spec.strike is not None and spec.right is not None  # noqa: S101
    return f"{head}-{_plain(spec.strike)}-{spec.right.value}"


# ---------------------------------------------------------------------------------- detection


_EQUITY = re.compile(r"^[A-Z][A-Z0-9.]{0,9}$")


def _looks_occ(text: str) -> bool:
    """OCC-shaped: no ``/`` or ``-``, and a 6-digit date 15 characters from the end. Such a
    symbol goes to the OCC parser even when another part is wrong, so the error names that part."""
    return "/" not in text and "-" not in text and len(text) >= 16 and text[-15:-9].isdigit()


def parse_symbol(symbol: str) -> SymbolSpec:
    """Parse any supported format: CCXT (has ``/``), OCC, Deribit (has ``-``), or a stock ticker."""
    if not isinstance(symbol, str) or not symbol.strip():
        raise InvalidSymbol(str(symbol), "format", "empty symbol")
    text = symbol.strip().upper()
    if "/" in text:
        return parse_ccxt(text)
    if _looks_occ(text):
        return parse_occ(text)
    if "-" in text or "_" in text:
        return parse_deribit(text)
    if _EQUITY.match(text):
        return SymbolSpec(SymbolKind.SPOT, text, "USD", equity=True)
    raise _bad(symbol, "format", "not an OCC, Deribit, CCXT or stock symbol")


def canonical_symbol(spec: SymbolSpec) -> str:
    """The symbol riskdesk stores: OCC for US equity options, the bare ticker for stocks, CCXT
    unified for everything else."""
    if spec.equity:
        return format_occ(spec) if spec.kind is SymbolKind.OPTION else spec.base
    return format_ccxt(spec)
