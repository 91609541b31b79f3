"""``riskdesk demo`` shows the risk engine at work (issue 4 acceptance): at least one warning
alert raised by the monitors during the replay, and a denied order with its reason (and an
approval that says how many checks ran)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskdesk.interfaces.cli.app import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("RISKDESK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RISKDESK_DATA_DIR", str(tmp_path))


def test_demo_shows_a_warning_alert_and_a_denied_order_with_its_reason(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--db", str(tmp_path / "demo.db")])
    assert result.exit_code == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Risk alerts raised during the replay" in out
    assert re.search(
        r"│ warning\s+│ liquidation\s+│ BTC/USDT:USDT .* from its liquidation price", out
    )
    denied = re.search(r"-> DENIED \[(\w+)\] (.+?); suggestion: (.+)", out.replace("\n", " "))
    assert denied is not None, out
    code, reason, suggestion = denied.groups()
    assert code == "symbol_exposure"
    assert "% of equity" in reason and "limit 20.00 %" in reason
    assert "reduce the order to at most" in suggestion
    assert re.search(r"-> APPROVED \(\d+ checks\)", out)


def test_the_demo_alerts_and_decisions_are_stored(tmp_path: Path) -> None:
    db = str(tmp_path / "demo.db")
    assert runner.invoke(app, ["demo", "--db", db]).exit_code == 0
    alerts = json.loads(runner.invoke(app, ["risk", "alerts", "--db", db, "--json"]).stdout)
    assert any(a["level"] == "warning" for a in alerts)
    report = json.loads(
        runner.invoke(
            app, ["risk", "report", "--month", "--on", "2019-10-15", "--db", db, "--json"]
        ).stdout
    )
    assert report["violations_by_code"].get("symbol_exposure", 0) >= 1
    # Partial closes count as trades (the 2R take-profit on 2019-10-01 among them).
    september = json.loads(
        runner.invoke(
            app, ["risk", "report", "--month", "--on", "2019-10-01", "--db", db, "--json"]
        ).stdout
    )
    assert september["trades"] >= 1
