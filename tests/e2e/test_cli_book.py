"""The CLI as a user runs it: demo, imports (good and bad), reads with --json, calc."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskdesk.interfaces.cli.app import app
from tests.e2e.book_cli_kit import fingerprint

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "book.db"
    code, out, _ = run("init", "--db", str(path))
    assert code == 0, out
    return str(path)


def _setup(db: str) -> None:
    assert run("accounts", "add", "acct", "--venue", "binance", "--db", db)[0] == 0
    assert run("instruments", "add", "BTC/USDT:USDT", "--venue", "binance", "--db", db)[0] == 0
    assert run("instruments", "add", "BTC/USDT", "--venue", "binance", "--db", db)[0] == 0


GOOD = """venue,fill_id,symbol,side,qty,price,ts,fee,fee_currency
binance,1,BTC/USDT:USDT,buy,0.5,5000,2025-01-01T00:00:00Z,1,USDT
binance,2,BTC/USDT:USDT,buy,0.3,6000,2025-01-01T01:00:00Z,0.72,USDT
binance,3,BTC/USDT,buy,1,40000,2025-01-01T02:00:00Z,0,USDT
"""


def _snapshot_tables(db: str) -> tuple[dict[str, int], str]:
    """Every table's row count and one hash over all rows (not only what the views show)."""
    return fingerprint(db)


def test_import_then_views_report_exact_values(db: str, tmp_path: Path) -> None:
    _setup(db)
    assert (
        run(
            "cash",
            "move",
            "acct",
            "100000",
            "USDT",
            "--reference",
            "dep-1",
            "--db",
            db,
            "--at",
            "2024-12-31T00:00:00Z",
        )[0]
        == 0
    )
    fills = tmp_path / "fills.csv"
    fills.write_text(GOOD)
    code, out, err = run("fills", "import", str(fills), "--account", "acct", "--db", db)
    assert code == 0, err
    assert "imported 3 fill(s)" in out
    # A second import of the same file changes nothing.
    code, out, _ = run("fills", "import", str(fills), "--account", "acct", "--db", db)
    assert "imported 0 fill(s)" in out and "skipped 3" in out

    assert run("prices", "set", "binance:BTC/USDT:USDT", "5500", "--db", db)[0] == 0
    assert run("prices", "set", "binance:BTC/USDT", "41000", "--db", db)[0] == 0
    code, out, _ = run("positions", "--db", db, "--json")
    positions = {p["symbol"]: p for p in json.loads(out)}
    perp = positions["BTC/USDT:USDT"]
    # Bybit's worked example: 0.5 @ 5000 + 0.3 @ 6000 -> 5375.
    assert Decimal(perp["entry_price"]) == Decimal("5375")
    assert Decimal(perp["unrealized_pnl_ccy"]) == Decimal("0.8") * 5500 - Decimal("4300")
    code, out, _ = run("summary", "--db", db, "--json")
    summary = json.loads(out)
    # Wallet: 100000 - 40000 (spot) - fees 1.72; equity adds the BTC at 41000 and the perp's uPnL 100.
    assert (
        Decimal(summary["total_equity"])
        == Decimal("100000") - Decimal("40000") - Decimal("1.72") + 41000 + 100
    )
    code, out, _ = run("exposure", "--db", db, "--json")
    exposure = json.loads(out)
    assert exposure["by_asset"][0]["key"] == "BTC"
    assert Decimal(exposure["by_asset"][0]["long"]) == Decimal("41000") + Decimal("0.8") * 5500


def test_csv_with_one_bad_row_imports_nothing(db: str, tmp_path: Path) -> None:
    _setup(db)
    before = _snapshot_tables(db)
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD + "binance,4,BTC/USDT:USDT,buy,nan,6000,2025-01-01T03:00:00Z,0,USDT\n")
    code, _, err = run("fills", "import", str(bad), "--account", "acct", "--db", db)
    assert code == 2
    assert "line 5" in err and "qty" in err and "finite" in err
    assert _snapshot_tables(db) == before


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("binance,9,BTC/USDT:USDT,buy,1,-5,2025-01-01T00:00:00Z,0,USDT", "price", "greater than 0"),
        ("binance,9,BTCUSDT-XYZ-1-Q,buy,1,5,2025-01-01T00:00:00Z,0,USDT", "expiry", "expiry"),
        ("binance,9,ETH/USDT:USDT,buy,1,5,2025-01-01T00:00:00Z,0,USDT", "symbol", "no instrument"),
        ("binance,9,BTC/USDT:USDT,buy,1,5,2025-01-01T00:00:00,0,USDT", "ts", "no UTC offset"),
        ("binance,9,BTC/USDT,sell,1,5,2025-01-01T00:00:00Z,0,USDT", "qty", "spot cannot go short"),
    ],
)
def test_bad_rows_name_field_and_reason(
    db: str, tmp_path: Path, row: str, field: str, reason: str
) -> None:
    _setup(db)
    before = _snapshot_tables(db)
    path = tmp_path / "one.csv"
    path.write_text(GOOD.splitlines()[0] + "\n" + row + "\n")
    code, _, err = run("fills", "import", str(path), "--account", "acct", "--db", db)
    assert code == 2
    assert f"{field}:" in err and reason in err and "line 2" in err
    assert _snapshot_tables(db) == before


def test_json_import_and_unknown_account(db: str, tmp_path: Path) -> None:
    _setup(db)
    path = tmp_path / "fills.json"
    path.write_text(
        json.dumps(
            [
                {
                    "venue": "binance",
                    "fill_id": "j1",
                    "symbol": "BTC/USDT:USDT",
                    "side": "sell",
                    "qty": 0.25,
                    "price": 6100.5,
                    "ts": 1735689600000,
                    "account_id": "nobody",
                }
            ]
        )
    )
    code, _, err = run("fills", "import", str(path), "--db", db)
    assert code == 2 and "account_id" in err and "nobody" in err
    path.write_text(
        json.dumps(
            [
                {
                    "venue": "binance",
                    "fill_id": "j1",
                    "symbol": "BTC/USDT:USDT",
                    "side": "sell",
                    "qty": 0.25,
                    "price": 6100.5,
                    "ts": 1735689600000,
                }
            ]
        )
    )
    code, out, err = run("fills", "import", str(path), "--account", "acct", "--db", db, "--json")
    assert code == 0, err
    assert json.loads(out)["applied"] == 1


def test_calc_reproduces_exchange_examples() -> None:
    code, out, _ = run(
        "calc",
        "BTC/USDT:USDT",
        "--side",
        "buy",
        "--size",
        "1",
        "--entry",
        "20000",
        "--leverage",
        "50",
        "--basis",
        "entry",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert Decimal(result["liquidation_price"]) == Decimal("19700")
    assert Decimal(result["initial_margin"]) == Decimal("400")
    code, out, _ = run(
        "calc",
        "BTC/USD:BTC",
        "--side",
        "buy",
        "--size",
        "10000",
        "--entry",
        "8000",
        "--leverage",
        "1",
        "--margin-mode",
        "cross",
        "--wallet",
        "0.5",
        "--contract-size",
        "1",
        "--tick-size",
        "0.01",
        "--basis",
        "entry",
        "--close-fee-rate",
        "0.00075",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert abs(Decimal(result["bankruptcy_price"]) - Decimal("5718.57")) < Decimal("0.005")
    assert abs(Decimal(result["liquidation_price"]) - Decimal("5739.5")) < Decimal("0.5")
    code, _, err = run("calc", "BTC/USDT:USDT", "--side", "buy", "--size", "-1", "--entry", "20000")
    assert code == 2 and "size:" in err


def test_demo_prints_three_tables_fast(tmp_path: Path) -> None:
    start = time.perf_counter()
    code, out, err = run("demo", "--db", str(tmp_path / "demo.db"))
    elapsed = time.perf_counter() - start
    assert code == 0, err
    for title in ("Portfolio summary", "Positions", "Exposure by asset"):
        assert title in out
    assert "BTC/USDT:USDT" in out and "BTC/USD:BTC" in out and "AAPL260821P00320000" in out
    assert elapsed < 30


def test_demo_json_is_exact_and_consistent(tmp_path: Path) -> None:
    code, out, err = run("demo", "--db", str(tmp_path / "demo.db"), "--json")
    assert code == 0, err
    data = json.loads(out)
    positions = {p["symbol"]: p for p in data["positions"]}
    perp = positions["BTC/USDT:USDT"]
    # Isolated 8x long: the liquidation price sits below the mark and the distance is positive.
    assert Decimal(perp["liquidation_price"]) < Decimal(perp["mark_price"])
    assert Decimal(perp["liq_distance_ratio"]) > 0
    inverse = positions["BTC/USD:BTC"]
    assert inverse["side"] == "short" and Decimal(inverse["liquidation_price"]) > Decimal(
        inverse["mark_price"]
    )
    summary = data["summary"]
    gross = Decimal(summary["long_exposure"]) + Decimal(summary["short_exposure"])
    assert Decimal(summary["gross_exposure"]) == gross
    assert Decimal(summary["total_equity"]) > 0


def test_console_script_runs_demo(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("riskdesk")
    if not exe.exists():
        pytest.skip("the riskdesk console script is not installed in this environment")
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path))
    result = subprocess.run(
        [str(exe), "demo"], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Portfolio summary" in result.stdout and (tmp_path / "riskdesk" / "demo.db").exists()
