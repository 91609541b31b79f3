"""``riskdesk greeks --venue-greeks snapshot`` on the demo book: the bundled AAPL chain's own
Greeks beside ours, scaled to the position like ours."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

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


def test_venue_greeks_from_the_snapshot_are_position_scaled(demo_db: str) -> None:
    code, out, err = run("greeks", "--db", demo_db, "--venue-greeks", "snapshot", "--json")
    assert code == 0, err
    rows = {r["instrument_key"]: r for r in json.loads(out)["positions"]}
    put = rows["broker:AAPL260821P00320000"]
    # The CBOE snapshot sends delta -0.2965 per share; the demo is short the put, so the
    # position's venue delta is -qty × 100 × -0.2965, next to our own delta.
    assert put["venue_per_unit"]["delta"] == pytest.approx(-0.2965)
    assert put["venue"]["delta"] == pytest.approx(put["quantity"] * 100 * -0.2965)
    assert put["venue"]["delta"] == pytest.approx(put["delta"], rel=0.1)
    assert rows["broker:AAPL"]["venue"] is None
    code, out, _ = run("greeks", "--db", demo_db, "--account", "broker-us", "--venue-greeks",
                       "snapshot")  # fmt: skip
    assert code == 0 and "Venue delta" in out and "30.64%" in out


def test_without_the_option_there_are_no_venue_greeks_and_bad_values_are_named(
    demo_db: str,
) -> None:
    code, out, _ = run("greeks", "--db", demo_db, "--json")
    assert code == 0
    assert all(r["venue"] is None for r in json.loads(out)["positions"])
    code, _, err = run("greeks", "--db", demo_db, "--venue-greeks", "live")
    assert code == 2 and "--venue-greeks: expected none or snapshot" in err
