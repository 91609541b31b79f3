"""``riskdesk price`` and ``riskdesk greeks`` as a user runs them (CliRunner, temp SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskdesk.domain.pricing import bsm_price
from riskdesk.interfaces.cli.app import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    code, _, err = run("demo", "--db", str(path), "--json")
    assert code == 0, err
    return str(path)


def test_greeks_of_the_demo_book(demo_db: str) -> None:
    code, out, err = run("greeks", "--db", demo_db, "--json")
    assert code == 0, err
    report = json.loads(out)
    rows = {r["instrument_key"]: r for r in report["positions"]}
    short_put = rows["broker:AAPL260821P00320000"]
    long_call = rows["broker:AAPL260918C00350000"]
    assert short_put["model"] == "american-bs2002" and short_put["iv_status"] == "OK"
    assert 0.05 < short_put["iv"] < 1.5
    # Short puts are long delta, long calls long delta, in shares (× 100 multiplier).
    assert 0 < short_put["delta"] < 5 * 100 and 0 < long_call["delta"] < 3 * 100
    assert short_put["gamma"] < 0 < long_call["gamma"]
    assert short_put["theta_per_day"] > 0 > long_call["theta_per_day"]
    # The model reprices the mark at the implied vol.
    assert short_put["model_price"] == pytest.approx(short_put["mark"], abs=1e-6)
    aapl = next(u for u in report["by_underlying"] if u["key"] == "AAPL")
    members = [r for r in report["positions"] if r["underlying"] == "AAPL"]
    assert aapl["delta"] == pytest.approx(sum(r["delta"] for r in members))
    assert rows["broker:AAPL"]["delta"] == pytest.approx(200.0)
    assert report["total"]["dollar_delta"] == pytest.approx(
        sum(r["dollar_delta"] for r in report["positions"])
    )
    assert report["skipped"] == []


def test_greeks_table_for_one_account(demo_db: str) -> None:
    code, out, err = run("greeks", "--db", demo_db, "--account", "broker-us")
    assert code == 0, err
    assert "broker:AAPL260821P00320000" in out and "american-bs2002" in out
    assert "binance" not in out
    assert "Per underlying and total" in out


def test_greeks_unknown_account_is_a_clear_error(demo_db: str) -> None:
    code, _, err = run("greeks", "--db", demo_db, "--account", "nope")
    assert code == 2
    assert "nope" in err


def test_price_from_the_command_line_and_implied_round_trip() -> None:
    code, out, err = run(
        "price", "--type", "call", "-S", "100", "-K", "105", "-T", "0.5", "-r", "0.03",
        "-q", "0.01", "--sigma", "0.25", "--json",
    )  # fmt: skip
    assert code == 0, err
    (quote,) = json.loads(out)
    expected = float(bsm_price(100, 105, 0.5, 0.03, 0.01, 0.25, True))
    assert quote["price"] == pytest.approx(expected, rel=1e-14)
    code, out, err = run(
        "price", "--type", "call", "-S", "100", "-K", "105", "-T", "0.5", "-r", "0.03",
        "-q", "0.01", "--price", repr(expected), "--json",
    )  # fmt: skip
    assert code == 0, err
    (quote,) = json.loads(out)
    assert quote["implied"] and quote["iv_status"] == "OK"
    assert quote["sigma"] == pytest.approx(0.25, abs=1e-12)


def test_price_file_csv_and_json(tmp_path: Path) -> None:
    csv_file = tmp_path / "opts.csv"
    csv_file.write_text(
        "type,model,S,F,K,T,expiry,r,q,sigma,price\n"
        "call,bsm,100,,100,1,,0.05,0,0.2,\n"
        "put,black76,,60000,65000,0.1,,0,,,9000\n"
        "put,american,100,,110,,2027-01-01,0.05,0,0.3,\n"
    )
    code, out, err = run("price", "--file", str(csv_file), "--as-of", "2026-01-01T00:00:00Z",
                         "--json")  # fmt: skip
    assert code == 0, err
    quotes = json.loads(out)
    assert [q["line"] for q in quotes] == [2, 3, 4]
    assert quotes[0]["price"] == pytest.approx(10.450583572185565, rel=1e-12)
    assert quotes[1]["model"] == "black76" and quotes[1]["iv_status"] == "OK"
    assert quotes[2]["years"] == pytest.approx(1.0)
    assert quotes[2]["price"] >= 10.0 and quotes[2]["vanna_per_pct"] is None
    json_file = tmp_path / "opts.json"
    json_file.write_text(json.dumps([{"type": "put", "S": 100, "K": 90, "T": 0.25, "sigma": 0.3}]))
    code, out, err = run("price", "-f", str(json_file))
    assert code == 0, err
    assert "put" in out and "bsm" in out


def test_price_bad_rows_name_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "type,S,K,T,sigma,price\n"
        "call,100,100,1,0.2,\n"
        "straddle,100,100,1,0.2,\n"
        "put,abc,100,1,0.2,\n"
        "put,100,100,1,0.2,5\n"
    )
    code, _, err = run("price", "--file", str(bad))
    assert code == 2
    assert "line 3, type: expected call or put" in err
    assert "line 4, S: not a number" in err
    assert "line 5, sigma: give sigma" in err
    code, _, err = run("price", "--file", str(bad), "--json")
    assert code == 2
    error = json.loads(err)["error"]
    assert error["code"] == "invalid_option_rows" and "line 3" in error["reason"]
    code, _, err = run("price", "--file", str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in err
