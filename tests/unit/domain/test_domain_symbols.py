"""Symbol parsing and formatting: OCC, Deribit, CCXT unified — examples, round trips, bad parts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.domain.errors import InvalidSymbol
from riskdesk.domain.symbols import (
    OptionRight,
    SymbolKind,
    SymbolSpec,
    canonical_symbol,
    format_ccxt,
    format_deribit,
    format_occ,
    occ_underlying,
    parse_ccxt,
    parse_deribit,
    parse_occ,
    parse_symbol,
)

D = Decimal
OPTION, PERP, FUT, SPOT = (
    SymbolKind.OPTION,
    SymbolKind.PERPETUAL,
    SymbolKind.FUTURE,
    SymbolKind.SPOT,
)
C, P = OptionRight.CALL, OptionRight.PUT

# ------------------------------------------------------------------------------ examples

EXAMPLES = [
    (
        "TSLA250919P00390000",
        SymbolSpec(OPTION, "TSLA", "USD", "USD", date(2025, 9, 19), D(390), P, "TSLA", True),
        "TSLA250919P00390000",
    ),
    (
        "SPXW251219C05000000",
        SymbolSpec(OPTION, "SPX", "USD", "USD", date(2025, 12, 19), D(5000), C, "SPXW", True),
        "SPXW251219C05000000",
    ),
    (
        "SPXW  251219C05000000",
        SymbolSpec(OPTION, "SPX", "USD", "USD", date(2025, 12, 19), D(5000), C, "SPXW", True),
        "SPXW251219C05000000",
    ),
    (
        "AAPL1 250117C00150500",
        SymbolSpec(OPTION, "AAPL", "USD", "USD", date(2025, 1, 17), D("150.5"), C, "AAPL1", True),
        "AAPL1250117C00150500",
    ),
    (
        "BTC-27DEC24-100000-C",
        SymbolSpec(OPTION, "BTC", "USD", "BTC", date(2024, 12, 27), D(100000), C, "BTC"),
        "BTC/USD:BTC-241227-100000-C",
    ),
    ("BTC-PERPETUAL", SymbolSpec(PERP, "BTC", "USD", "BTC"), "BTC/USD:BTC"),
    ("BTC_USDC-PERPETUAL", SymbolSpec(PERP, "BTC", "USDC", "USDC"), "BTC/USDC:USDC"),
    (
        "ETH-28MAR25",
        SymbolSpec(FUT, "ETH", "USD", "ETH", date(2025, 3, 28)),
        "ETH/USD:ETH-250328",
    ),
    (
        "XRP_USDC-21SEP26-1d25-C",
        SymbolSpec(OPTION, "XRP", "USDC", "USDC", date(2026, 9, 21), D("1.25"), C, "XRP"),
        "XRP/USDC:USDC-260921-1.25-C",
    ),
    ("BTC/USDT", SymbolSpec(SPOT, "BTC", "USDT"), "BTC/USDT"),
    ("BTC/USDT:USDT", SymbolSpec(PERP, "BTC", "USDT", "USDT"), "BTC/USDT:USDT"),
    (
        "BTC/USD:BTC-241227",
        SymbolSpec(FUT, "BTC", "USD", "BTC", date(2024, 12, 27)),
        "BTC/USD:BTC-241227",
    ),
    (
        "BTC/USD:BTC-241227-100000-C",
        SymbolSpec(OPTION, "BTC", "USD", "BTC", date(2024, 12, 27), D(100000), C, "BTC"),
        "BTC/USD:BTC-241227-100000-C",
    ),
    ("AAPL", SymbolSpec(SPOT, "AAPL", "USD", equity=True), "AAPL"),
    (" btc/usdt:usdt ", SymbolSpec(PERP, "BTC", "USDT", "USDT"), "BTC/USDT:USDT"),
]


@pytest.mark.parametrize(("text", "spec", "canonical"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_issue_examples_parse(text: str, spec: SymbolSpec, canonical: str) -> None:
    parsed = parse_symbol(text)
    assert parsed == spec
    assert canonical_symbol(parsed) == canonical
    assert parse_symbol(canonical) == spec


def test_inverse_and_linear_flags() -> None:
    assert parse_symbol("BTC-PERPETUAL").is_inverse
    assert parse_symbol("BTC/USD:BTC-241227").is_inverse
    assert not parse_symbol("BTC/USDT:USDT").is_inverse
    assert not parse_symbol("BTC/USDT").is_inverse
    assert not parse_symbol("XRP_USDC-21SEP26-1d25-C").is_inverse


def test_same_contract_in_every_format_is_one_spec() -> None:
    a = parse_deribit("BTC-27DEC24-100000-C")
    b = parse_ccxt("BTC/USD:BTC-241227-100000-C")
    assert a == b
    assert format_deribit(b) == "BTC-27DEC24-100000-C"
    assert format_ccxt(a) == "BTC/USD:BTC-241227-100000-C"
    assert format_deribit(parse_ccxt("ETH/USD:ETH-250328")) == "ETH-28MAR25"
    assert format_deribit(parse_ccxt("BTC/USD:BTC")) == "BTC-PERPETUAL"


def test_occ_padded_form_and_underlyings() -> None:
    spec = parse_occ("SPXW251219C05000000")
    assert format_occ(spec, padded=True) == "SPXW  251219C05000000"
    assert len(format_occ(spec, padded=True)) == 21
    assert occ_underlying("SPXW") == "SPX"
    assert occ_underlying("NDXP") == "NDX"
    assert occ_underlying("AAPL1") == "AAPL"
    assert occ_underlying("TSLA") == "TSLA"


def test_format_occ_rejects_what_does_not_fit() -> None:
    with pytest.raises(InvalidSymbol) as info:
        format_occ(SymbolSpec(PERP, "BTC", "USD", "BTC"))
    assert info.value.field == "kind"
    big = SymbolSpec(OPTION, "X", "USD", "USD", date(2025, 1, 17), D(100000), C, "X", True)
    with pytest.raises(InvalidSymbol) as info:
        format_occ(big)
    assert info.value.field == "strike"
    fine = SymbolSpec(OPTION, "X", "USD", "USD", date(2025, 1, 17), D("1.0005"), C, "X", True)
    with pytest.raises(InvalidSymbol) as info:
        format_occ(fine)
    assert info.value.field == "strike"


# ------------------------------------------------------------------------------ bad parts

BAD = [
    # OCC, parsed as OCC
    (parse_occ, "TOOLONG250919P00390000", "root"),
    (parse_occ, "TS$A250919P00390000", "root"),
    (parse_occ, "      250919P00390000", "format"),
    (parse_occ, "TSLA251319P00390000", "expiry"),
    (parse_occ, "TSLA25AB19P00390000", "expiry"),
    (parse_occ, "TSLA250931P00390000", "expiry"),
    (parse_occ, "TSLA250919X00390000", "right"),
    (parse_occ, "TSLA250919P0039000A", "strike"),
    (parse_occ, "TSLA250919P00000000", "strike"),
    (parse_occ, "TSLA2509", "format"),
    # Deribit
    (parse_deribit, "B$C-PERPETUAL", "base"),
    (parse_deribit, "BTC_U$D-PERPETUAL", "quote"),
    (parse_deribit, "BTC-27XYZ24", "expiry"),
    (parse_deribit, "BTC-32DEC24", "expiry"),
    (parse_deribit, "BTC-PERPETUALLY", "expiry"),
    (parse_deribit, "BTC-27DEC24-ABC-C", "strike"),
    (parse_deribit, "BTC-27DEC24-0-C", "strike"),
    (parse_deribit, "BTC-27DEC24-100000-X", "right"),
    (parse_deribit, "BTC-27DEC24-100000", "format"),
    (parse_deribit, "BTC", "format"),
    # CCXT
    (parse_ccxt, "B!C/USDT", "base"),
    (parse_ccxt, "/USDT", "base"),
    (parse_ccxt, "BTC/", "quote"),
    (parse_ccxt, "BTC/USDT:ETH", "settle"),
    (parse_ccxt, "BTC/USDT:", "settle"),
    (parse_ccxt, "BTC/USD:BTC-241232", "expiry"),
    (parse_ccxt, "BTC/USD:BTC-2412", "expiry"),
    (parse_ccxt, "BTC/USD:BTC-241227-ABC-C", "strike"),
    (parse_ccxt, "BTC/USD:BTC-241227-0-C", "strike"),
    (parse_ccxt, "BTC/USD:BTC-241227-100000-X", "right"),
    (parse_ccxt, "BTC/USD:BTC-241227-100000", "format"),
    (parse_ccxt, "BTCUSDT", "format"),
    # detection
    (parse_symbol, "", "format"),
    (parse_symbol, "   ", "format"),
    (parse_symbol, "???", "format"),
    (parse_symbol, "TSLA251319P00390000", "expiry"),
    (parse_symbol, "BTC-27DEC24-100000-X", "right"),
    (parse_symbol, "BTC/USDT:ETH", "settle"),
    (parse_symbol, "ETH-30FEB25", "expiry"),
]


@pytest.mark.parametrize(("parse", "text", "part"), BAD, ids=[f"{b[1]!r}->{b[2]}" for b in BAD])
def test_bad_symbol_names_the_wrong_part(parse: object, text: str, part: str) -> None:
    with pytest.raises(InvalidSymbol) as info:
        parse(text)  # type: ignore[operator]
    err = info.value
    assert err.field == part
    assert err.part == part
    assert err.code == "invalid_symbol"
    assert repr(text.strip().upper()) in err.reason or repr(text) in err.reason
    assert str(err).startswith(f"{part}: ")


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("TSLA250919X00390000", "right"),
        ("TSLA250919P0039000A", "strike"),
        ("TOOLONG250919P00390000", "root"),
    ],
)
def test_parse_symbol_names_the_wrong_part_of_an_occ_symbol(text: str, part: str) -> None:
    with pytest.raises(InvalidSymbol) as info:
        parse_symbol(text)
    assert info.value.field == part


def test_non_string_symbol_is_a_format_error() -> None:
    with pytest.raises(InvalidSymbol) as info:
        parse_symbol(None)  # type: ignore[arg-type]
    assert info.value.field == "format"


# ------------------------------------------------------------------------------ round trips

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
currency = st.text(LETTERS, min_size=2, max_size=5) | st.builds(
    lambda n, s: f"{n}{s}",
    st.sampled_from(["1000", "1M"]),
    st.text(LETTERS, min_size=2, max_size=4),
)
expiry = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
rights = st.sampled_from(list(OptionRight))
occ_root = st.text(LETTERS, min_size=1, max_size=6) | st.builds(
    lambda r, n: r + str(n), st.text(LETTERS, min_size=1, max_size=5), st.integers(1, 9)
)
occ_strike = st.integers(1, 99_999_999).map(lambda n: (Decimal(n) / 1000).normalize())
plain_strike = st.decimals(
    min_value=Decimal("0.0001"), max_value=Decimal(10**7), places=4, allow_nan=False
).map(lambda d: d.normalize())


@st.composite
def occ_symbols(draw: st.DrawFn) -> str:
    root = draw(occ_root)
    day = draw(expiry)
    thousandths = draw(st.integers(1, 99_999_999))
    return f"{root}{day:%y%m%d}{draw(rights).value}{thousandths:08d}"


@st.composite
def deribit_symbols(draw: st.DrawFn) -> str:
    # An inverse Deribit name quotes in USD, so its base cannot itself be USD.
    base = draw(currency.filter(lambda b: b != "USD"))
    linear = draw(st.booleans())
    quote = draw(currency.filter(lambda q: q != base))
    head = f"{base}_{quote}" if linear else base
    kind = draw(st.sampled_from(["perp", "future", "option"]))
    if kind == "perp":
        return f"{head}-PERPETUAL"
    day = draw(expiry)
    months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    exp = f"{day.day}{months[day.month - 1]}{day:%y}"
    if kind == "future":
        return f"{head}-{exp}"
    strike = format(draw(plain_strike), "f")
    if linear:
        strike = strike.replace(".", "d")
    return f"{head}-{exp}-{strike}-{draw(rights).value}"


@st.composite
def ccxt_symbols(draw: st.DrawFn) -> str:
    base = draw(currency)
    quote = draw(currency.filter(lambda q: q != base))
    kind = draw(st.sampled_from(["spot", "perp", "future", "option"]))
    if kind == "spot":
        return f"{base}/{quote}"
    settle = draw(st.sampled_from([base, quote]))
    if kind == "perp":
        return f"{base}/{quote}:{settle}"
    head = f"{base}/{quote}:{settle}-{draw(expiry):%y%m%d}"
    if kind == "future":
        return head
    return f"{head}-{format(draw(plain_strike), 'f')}-{draw(rights).value}"


@settings(max_examples=500, deadline=None)
@given(occ_symbols(), st.booleans())
def test_occ_round_trip(symbol: str, padded: bool) -> None:
    spec = parse_occ(symbol)
    assert format_occ(spec) == symbol
    assert parse_occ(format_occ(spec, padded=True)) == spec
    assert parse_symbol(format_occ(spec, padded=padded)) == spec
    assert canonical_symbol(spec) == symbol


@settings(max_examples=500, deadline=None)
@given(deribit_symbols())
def test_deribit_round_trip(symbol: str) -> None:
    spec = parse_deribit(symbol)
    assert format_deribit(spec) == symbol
    assert parse_symbol(symbol) == spec
    # The canonical (CCXT) form names the same contract.
    assert parse_symbol(canonical_symbol(spec)) == spec
    assert spec.is_inverse == ("_" not in symbol)


@settings(max_examples=500, deadline=None)
@given(ccxt_symbols())
def test_ccxt_round_trip(symbol: str) -> None:
    spec = parse_ccxt(symbol)
    assert format_ccxt(spec) == symbol
    assert parse_symbol(symbol) == spec
    assert canonical_symbol(spec) == symbol
    assert parse_symbol(symbol.lower()) == spec


def test_deribit_spot_round_trip() -> None:
    spec = SymbolSpec(SPOT, "BTC", "USDC")
    assert format_deribit(spec) == "BTC_USDC"
    assert parse_symbol(format_deribit(spec)) == spec
