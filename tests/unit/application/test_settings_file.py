"""The TOML settings file named by RISKDESK_CONFIG: a missing file, malformed TOML and a bad key
are clear errors naming the file and the TOML key (exit status 2), never ignored or a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskdesk.bootstrap.settings import Settings
from riskdesk.domain.errors import ConfigError
from riskdesk.interfaces.main import app

runner = CliRunner()


def _config(path: Path, **env: str) -> tuple[int, str]:
    result = runner.invoke(app, ["config"], env={"RISKDESK_CONFIG": str(path), **env})
    return result.exit_code, result.stdout + result.stderr


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nonexist.toml"
    code, out = _config(missing)
    assert code == 2
    assert "RISKDESK_CONFIG" in out and "nonexist.toml" in out and "not a file" in out


def test_malformed_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[risk.limits]\nmax_leverage = 3\n[risk\n")
    code, out = _config(bad)
    assert code == 2
    assert "bad.toml is not valid TOML" in out and "line 3" in out
    assert "Traceback" not in out


def test_an_unknown_key_is_reported_as_the_toml_key_in_that_file(tmp_path: Path) -> None:
    bogus = tmp_path / "c2.toml"
    bogus.write_text("bogus = 1\n")
    code, out = _config(bogus)
    assert code == 2
    assert "key bogus in" in out and "c2.toml" in out and "unknown setting" in out
    assert "RISKDESK_BOGUS" not in out


def test_a_bad_nested_value_names_its_dotted_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[margin_conventions.okx]\nbasis = "last"\n')
    monkeypatch.setenv("RISKDESK_CONFIG", str(path))
    with pytest.raises(ConfigError) as caught:
        Settings()
    assert caught.value.field == "margin_conventions.okx.basis"
    assert "c.toml" in caught.value.reason and "'mark' or 'entry'" in caught.value.reason


def test_a_good_file_applies_and_the_environment_still_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ok.toml"
    path.write_text('reporting_currency = "usd"\ndefault_leverage = 3\n')
    monkeypatch.setenv("RISKDESK_CONFIG", str(path))
    assert Settings().default_leverage == 3
    assert Settings().reporting_currency == "USD"
    monkeypatch.setenv("RISKDESK_DEFAULT_LEVERAGE", "5")
    assert Settings().default_leverage == 5
    # A bad file value the environment overrides is the environment's business.
    path.write_text("default_leverage = -1\n")
    assert Settings().default_leverage == 5
