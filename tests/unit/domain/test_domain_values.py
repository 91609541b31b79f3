"""Value types: Price, Quantity, Money, to_decimal, sides; the error tree's shape."""

from __future__ import annotations

from decimal import Decimal

import pytest
from domain_testkit import exact
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.domain import errors
from riskdesk.domain.values import (
    Money,
    PositionSide,
    Price,
    Quantity,
    Side,
    non_negative,
    positive,
    to_decimal,
)


class TestToDecimal:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (0.1, Decimal("0.1")),
            (1e-8, Decimal("1E-8")),
            (3, Decimal(3)),
            (" 12.50 ", Decimal("12.50")),
            (Decimal("98765432.98765432"), Decimal("98765432.98765432")),
        ],
    )
    def test_accepts_numbers_exactly(self, value: object, expected: Decimal) -> None:
        result = to_decimal(value)  # type: ignore[arg-type]
        assert result == expected
        assert str(result) == str(expected)

    def test_float_goes_through_repr_not_binary_expansion(self) -> None:
        assert to_decimal(0.1) != Decimal.from_float(0.1)
        assert to_decimal(0.1) + to_decimal(0.2) == Decimal("0.3")

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            (float("nan"), "finite"),
            (float("inf"), "finite"),
            (float("-inf"), "finite"),
            ("NaN", "finite"),
            ("sNaN", "finite"),
            ("Infinity", "finite"),
            (Decimal("NaN"), "finite"),
            ("abc", "not a number"),
            ("1,000", "not a number"),
            ("", "not a number"),
            (True, "boolean"),
            (None, "expected a number"),
            ([1], "expected a number"),
        ],
    )
    def test_rejects_non_finite_and_non_numbers_naming_field(
        self, value: object, reason: str
    ) -> None:
        with pytest.raises(errors.InvalidValue) as info:
            to_decimal(value, "qty")  # type: ignore[arg-type]
        assert info.value.field == "qty"
        assert reason in info.value.reason
        assert info.value.code == "invalid_value"
        assert info.value.to_dict() == {
            "code": "invalid_value",
            "field": "qty",
            "reason": info.value.reason,
        }
        assert str(info.value).startswith("qty: ")

    def test_positive_and_non_negative(self) -> None:
        assert positive("0.001", "qty") == Decimal("0.001")
        assert non_negative(0, "price") == 0
        with pytest.raises(errors.InvalidValue, match="greater than 0") as info:
            positive(0, "qty")
        assert info.value.field == "qty"
        with pytest.raises(errors.InvalidValue, match="negative") as info:
            non_negative("-0.01", "price")
        assert info.value.field == "price"


class TestPriceQuantity:
    def test_are_decimals(self) -> None:
        price = Price("101.25")
        qty = Quantity(2)
        assert isinstance(price, Decimal)
        assert price * qty == Decimal("202.50")

    @pytest.mark.parametrize("bad", ["-1", -0.01, "nan", float("inf"), "x"])
    def test_price_rejects(self, bad: object) -> None:
        with pytest.raises(errors.InvalidValue) as info:
            Price(bad)  # type: ignore[arg-type]
        assert info.value.field == "price"

    @pytest.mark.parametrize("bad", ["-1", float("nan"), "Infinity", "1e", object()])
    def test_quantity_rejects(self, bad: object) -> None:
        with pytest.raises(errors.InvalidValue) as info:
            Quantity(bad)  # type: ignore[arg-type]
        assert info.value.field == "quantity"

    def test_zero_is_a_valid_price_and_quantity(self) -> None:
        assert Price(0) == 0
        assert Quantity(0) == 0


class TestMoney:
    def test_same_currency_arithmetic_is_exact(self) -> None:
        a = Money(Decimal("0.1"), "USD")
        b = Money(Decimal("0.2"), "USD")
        assert a + b == Money(Decimal("0.3"), "USD")
        assert b - a == Money(Decimal("0.1"), "USD")
        assert -a == Money(Decimal("-0.1"), "USD")
        assert a * 3 == 3 * a == Money(Decimal("0.3"), "USD")
        assert a < b
        assert b >= a
        assert Money.zero("BTC") == Money(Decimal(0), "BTC")
        assert str(a) == "0.1 USD"

    @pytest.mark.parametrize(
        "op",
        [
            lambda a, b: a + b,
            lambda a, b: a - b,
            lambda a, b: a < b,
            lambda a, b: a <= b,
            lambda a, b: a > b,
            lambda a, b: a >= b,
        ],
    )
    def test_different_currencies_are_an_error(self, op: object) -> None:
        usd = Money(Decimal(1), "USD")
        btc = Money(Decimal(1), "BTC")
        with pytest.raises(errors.CurrencyMismatch) as info:
            op(usd, btc)  # type: ignore[operator]
        assert info.value.field == "currency"
        assert "USD" in info.value.reason
        assert "BTC" in info.value.reason
        assert isinstance(info.value, errors.ValidationError)

    def test_converts_edge_input_and_rejects_non_finite(self) -> None:
        assert Money(0.1, "USD").amount == Decimal("0.1")  # type: ignore[arg-type]
        for bad in (Decimal("NaN"), Decimal("Infinity"), float("nan")):
            with pytest.raises(errors.InvalidValue) as info:
                Money(bad, "USD")  # type: ignore[arg-type]
            assert info.value.field == "amount"

    @pytest.mark.parametrize("currency", ["", "US D", "U$D"])
    def test_rejects_bad_currency_codes(self, currency: str) -> None:
        with pytest.raises(errors.InvalidValue) as info:
            Money(Decimal(1), currency)
        assert info.value.field == "currency"

    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(
            st.decimals(
                min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False, places=8
            ),
            min_size=1,
        ),
    )
    def test_sum_is_exact_and_order_independent(self, amounts: list[Decimal]) -> None:
        forward = Money.zero("USDT")
        for a in amounts:
            forward = forward + Money(a, "USDT")
        backward = Money.zero("USDT")
        for a in reversed(amounts):
            backward = backward + Money(a, "USDT")
        assert forward == backward == Money(exact(*amounts), "USDT")

    def test_sum_is_exact_across_documented_range(self) -> None:
        big = Money(Decimal("1000000000000000"), "USD")
        tiny = Money(Decimal("1e-18"), "USD")
        assert (big + tiny).amount == Decimal("1000000000000000.000000000000000001")


class TestSides:
    @pytest.mark.parametrize(
        ("text", "side"), [("BUY", Side.BUY), (" s ", Side.SELL), ("b", Side.BUY)]
    )
    def test_side_parse(self, text: str, side: Side) -> None:
        assert Side.parse(text) is side
        assert side.opposite.opposite is side
        assert side.sign == (1 if side is Side.BUY else -1)

    def test_side_parse_rejects(self) -> None:
        with pytest.raises(errors.InvalidValue) as info:
            Side.parse("long")
        assert info.value.field == "side"

    @pytest.mark.parametrize(
        ("text", "side"),
        [
            (None, PositionSide.NET),
            ("", PositionSide.NET),
            ("BOTH", PositionSide.NET),
            ("Long", PositionSide.LONG),
            ("short", PositionSide.SHORT),
        ],
    )
    def test_position_side_parse(self, text: str | None, side: PositionSide) -> None:
        assert PositionSide.parse(text) is side

    def test_position_side_parse_rejects(self) -> None:
        with pytest.raises(errors.InvalidValue) as info:
            PositionSide.parse("buy")
        assert info.value.field == "position_side"


def test_error_codes_are_stable_and_unique() -> None:
    classes = [
        errors.RiskdeskError,
        errors.ValidationError,
        errors.InvalidValue,
        errors.InvalidSymbol,
        errors.OffGrid,
        errors.CurrencyMismatch,
        errors.NotFound,
        errors.UnknownInstrument,
        errors.UnknownAccount,
        errors.AccountingError,
        errors.InsufficientPosition,
        errors.PositionModeMismatch,
        errors.StateError,
        errors.ConfigError,
    ]
    codes = [c.code for c in classes]
    assert len(set(codes)) == len(codes)
    assert issubclass(errors.InsufficientPosition, errors.AccountingError)
    assert issubclass(errors.UnknownInstrument, errors.NotFound)
    assert issubclass(errors.OffGrid, errors.ValidationError)
    for c in classes:
        assert c.code in (errors.__doc__ or "")
