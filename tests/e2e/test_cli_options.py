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
    assert "2026-07-24 19:59:59 UTC" in out and "ROLL" in out
    assert "BTC 3 AAPL260807P00300000" in out and "LMT NET CREDIT" in out
    assert "Factors" in out and "expiry_near" in out


def test_analyze_json_and_errors() -> None:
    result = runner.invoke(
        app, ["options", "analyze", "AAPL260821P00300000", "-n", "-3", "-e", "5", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["decision"]["action"] == "CLOSE"
    assert report["as_of"] == "2026-07-24T19:59:59Z"
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
