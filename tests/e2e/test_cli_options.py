"""``riskdesk options …`` as a user runs it (CliRunner)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from riskdesk.interfaces.cli.app import app

runner = CliRunner()


def test_analyze_prints_the_report_and_ticket() -> None:
    result = runner.invoke(
        app, ["options", "analyze", "AAPL260807P00300000", "--size", "-3", "--entry", "1.00"]
    )
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "2026-07-25 07:44:38 UTC" in out and "ROLL" in out
    assert "BTC 3 AAPL260807P00300000" in out and "LMT NET CREDIT" in out
    assert "Factors" in out and "expiry_near" in out


def test_analyze_json_and_errors() -> None:
    result = runner.invoke(
        app, ["options", "analyze", "AAPL260821P00300000", "-n", "-3", "-e", "5", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["decision"]["action"] == "CLOSE"
    assert report["as_of"] == "2026-07-25T07:44:38Z"
    bad = runner.invoke(
        app, ["options", "analyze", "AAPL260821P00300000", "-n", "0", "-e", "5", "--json"]
    )
    assert bad.exit_code == 2
    assert json.loads(bad.stderr)["error"]["field"] == "position_size"


def test_quote_and_chain() -> None:
    quote = runner.invoke(app, ["options", "quote", "AAPL260821P00330000"])
    assert quote.exit_code == 0 and "8.95" in quote.stdout
    chain = runner.invoke(
        app,
        [
            "options",
            "chain",
            "AAPL",
            "--expiry",
            "2026-08-21",
            "--right",
            "put",
            "--limit",
            "3",
            "--json",
        ],
    )
    assert chain.exit_code == 0
    assert len(json.loads(chain.stdout)["rows"]) == 3


def test_impossible_inputs_exit_2_naming_the_field() -> None:
    for extra, field in (
        (["--entry", "1000"], "entry_price"),
        (["--entry", "8.50", "--entry-date", "2027-01-01"], "entry_date"),
        (["--entry", "8.50", "--profit-target", "5"], "profit_target"),
    ):
        result = runner.invoke(
            app, ["options", "analyze", "AAPL260821P00330000", "--size", "-10", *extra, "--json"]
        )
        assert result.exit_code == 2, result.stdout
        assert json.loads(result.stderr)["error"]["field"] == field


def test_coin_report_speaks_coin_and_money_prints_in_cents() -> None:
    btc = runner.invoke(
        app, ["options", "analyze", "BTC-21SEP26-70000-C", "--size", "-1", "--entry", "0.12"]
    )
    assert btc.exit_code == 0, btc.stderr
    assert "79545.45" in btc.stdout and "0.12 / 0.88" in btc.stdout
    assert "BTC/day" in btc.stdout
    aapl = runner.invoke(
        app, ["options", "analyze", "AAPL260821P00330000", "--size", "-10", "--entry", "8.50"]
    )
    assert aapl.exit_code == 0, aapl.stderr
    # The 18 Sep calendar nets 3,475 at the mid: in cents, not "3,475.000".
    assert "3,475.00" in aapl.stdout and "3,475.000" not in aapl.stdout
    # The OTM put gets no "in the money ... assigned any day" warning.
    assert "can be assigned any day" not in aapl.stdout
    chain = runner.invoke(app, ["options", "chain", "BTC", "--json"])
    assert chain.exit_code == 0 and json.loads(chain.stdout)["total"] == 6
