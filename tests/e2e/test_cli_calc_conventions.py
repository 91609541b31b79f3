"""``calc`` follows the venue's margin convention from the ``margin_conventions`` setting
(Binance: maintenance on the mark notional; Bybit: on the entry notional plus the fee to close
at the bankruptcy price), checked against the exchanges' documented worked examples in
``reference_cases.json``; --basis and --close-fee-rate override it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.book_cli_kit import run

CASES = {
    c["id"]: c
    for c in json.loads(
        (Path(__file__).parents[1] / "golden" / "data" / "reference_cases.json").read_text()
    )
}


def _calc(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    from typer.testing import CliRunner

    from riskdesk.interfaces.main import app

    result = CliRunner().invoke(app, ["calc", *args, "--json"], env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _close(value: str, expected: float, tolerance: float) -> bool:
    return abs(Decimal(value) - Decimal(str(expected))) <= Decimal(str(tolerance))


@pytest.mark.parametrize(
    "case_id", ["binance_usdm_liq_btc_isolated_2", "binance_usdm_liq_eth_isolated_1"]
)
def test_binance_examples_on_the_mark_basis(case_id: str) -> None:
    case = CASES[case_id]
    i = case["inputs"]
    symbol = "BTC/USDT:USDT" if i["symbol"] == "BTCUSDT" else "ETH/USDT:USDT"
    # One position backed by the whole wallet: Binance's worked example.
    result = _calc(
        symbol, "--venue", "binance", "--side", "buy", "--size", str(i["position_size"]),
        "--entry", str(i["entry_price"]), "--margin-mode", "cross",
        "--wallet", str(i["wallet_balance"]), "--mmr", str(i["maint_margin_rate"]),
        "--maint-amount", str(i["maint_amount"]),
    )  # fmt: skip
    assert (
        result["basis"] == "mark" and result["convention"] == "setting margin_conventions.binance"
    )
    assert _close(
        result["liquidation_price"], case["expected"]["liquidation_price"], case["tolerance"]
    )


def test_bybit_linear_examples_on_the_entry_basis() -> None:
    case = CASES["bybit_linear_liq_isolated_long"]
    # Bybit's USDT example leaves the fee to close out: --close-fee-rate 0 over the setting.
    result = _calc(
        "BTC/USDT:USDT", "--venue", "bybit", "--side", "buy", "--size", "1", "--entry", "20000",
        "--leverage", "50", "--close-fee-rate", "0",
    )  # fmt: skip
    assert result["basis"] == "entry"
    assert Decimal(result["liquidation_price"]) == Decimal(
        str(case["expected"]["liquidation_price"])
    )
    assert Decimal(result["maintenance_margin"]) == 100 and Decimal(result["initial_margin"]) == 400
    short = CASES["bybit_linear_liq_isolated_short_added_margin"]
    result = _calc(
        "BTC/USDT:USDT", "--venue", "bybit", "--side", "sell", "--size", "1", "--entry", "20000",
        "--leverage", "50", "--extra-margin", "3000", "--close-fee-rate", "0",
    )  # fmt: skip
    assert Decimal(result["liquidation_price"]) == Decimal(
        str(short["expected"]["liquidation_price"])
    )
    # The same position on Binance's mark basis liquidates elsewhere: EP·(1 − 1/lev)/(1 − mmr).
    binance = _calc(
        "BTC/USDT:USDT", "--venue", "binance", "--side", "buy", "--size", "1", "--entry", "20000",
        "--leverage", "50",
    )  # fmt: skip
    assert Decimal(binance["liquidation_price"]) == Decimal("19698.5")


def test_bybit_inverse_cross_example_with_its_fee() -> None:
    liq, bank = CASES["bybit_inverse_cross_liquidation"], CASES["bybit_inverse_cross_bankruptcy"]
    fee = str(liq["inputs"]["taker_fee_rate"])
    result = _calc(
        "BTC/USD:BTC", "--venue", "bybit", "--side", "buy", "--size", "10000", "--entry", "8000",
        "--margin-mode", "cross", "--wallet", "0.5", "--close-fee-rate", fee, "--tick-size", "0.01",
    )  # fmt: skip
    assert result["basis"] == "entry"  # from the setting
    assert _close(
        result["liquidation_price"], liq["expected"]["liquidation_price"], liq["tolerance"]
    )
    assert _close(
        result["bankruptcy_price"], bank["expected"]["bankruptcy_price"], bank["tolerance"]
    )


def test_the_readme_example_uses_the_bybit_setting_and_the_setting_can_change() -> None:
    args = (
        "BTC/USD:BTC", "--venue", "bybit", "--side", "sell", "--size", "10000", "--entry", "8000",
        "--margin-mode", "cross", "--wallet", "0.5",
    )  # fmt: skip
    bybit = _calc(*args)
    # 0.5 + 10000/P − 1.25 = 0.00625 + 10000 × 0.00055 / BP, BP = 0.99945 × 10000 / 0.75.
    assert Decimal(bybit["bankruptcy_price"]) == Decimal("13326.0")
    assert Decimal(bybit["liquidation_price"]) == Decimal("13215.9")
    mark = _calc(*args, "--basis", "mark", "--close-fee-rate", "0")
    assert Decimal(mark["liquidation_price"]) == Decimal("13266.6")
    assert mark["convention"] == "--basis/--close-fee-rate"
    changed = _calc(*args, env={"RISKDESK_MARGIN_CONVENTIONS__BYBIT__CLOSE_FEE_RATE": "0"})
    assert Decimal(changed["close_fee_rate"]) == 0 and changed["basis"] == "entry"
    assert Decimal(changed["liquidation_price"]) > Decimal(bybit["liquidation_price"])


def test_an_unknown_basis_is_refused() -> None:
    code, _, err = run(
        "calc",
        "BTC/USDT:USDT",
        "--side",
        "buy",
        "--size",
        "1",
        "--entry",
        "20000",
        "--basis",
        "last",
    )
    assert code == 2 and "basis:" in err
