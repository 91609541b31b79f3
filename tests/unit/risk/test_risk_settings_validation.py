"""Risk settings are range-checked and ordered when they load; a bad value is refused with an
error naming the setting and its environment variable. Seed 001's defaults and units; the
settings added for leverage tiers, Kelly, liquidity levels, adjustment sources, the Greek
totals and the margin-block state."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from riskdesk.bootstrap.risk_settings import RiskSettings, settings_error
from riskdesk.bootstrap.settings import Settings
from riskdesk.domain.risk.limits import LeverageTier, RiskLimits, preset

_ENV = "RISKDESK_RISK__"


def _error(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for key in list(__import__("os").environ):
        if key.startswith("RISKDESK_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError) as err:
        Settings()
    converted = settings_error(err.value)
    assert converted.code == "config"
    return f"{converted.field}: {converted.reason}"


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("LIMITS__MAX_LEVERAGE", "-1", ["risk.limits.max_leverage:", "must be > 0, got -1.0"]),
        ("KILL_SWITCH__DRAWDOWN_LIMIT", "-0.5", ["must be > 0 and < 1, got -0.5"]),
        ("LIMITS__RISK_PER_TRADE", "7", ["risk.limits.risk_per_trade:", "< 1, got 7.0"]),
        ("LIMITS__DAILY_LOSS_LIMIT", "0", ["risk.limits.daily_loss_limit:", "must be > 0"]),
        ("LIMITS__MAX_SYMBOL_EXPOSURE", "nan", ["risk.limits.max_symbol_exposure:"]),
        ("LIMITS__ORDER_BURST", "0", ["risk.limits.order_burst:", "must be >= 1"]),
        ("LIMITS__MIN_SECONDS_BETWEEN_ADJUSTMENTS", "-5", ["must be >= 0"]),
        ("LIMITS__KELLY_FRACTION", "1.5", ["risk.limits.kelly_fraction:", "<= 1"]),
        ("LIMITS__ADJUSTMENT_SOURCES", '["hedge:x"]', ["adjustment_sources", "without ':'"]),
        (
            "MONITORS__LIQ_WARNING",
            "0.01",
            ["risk.monitors", "liq_critical (0.05) must be below liq_warning (0.01)"],
        ),
        (
            "MONITORS__MARGIN_CRITICAL",
            "0.5",
            ["margin_critical (0.5) must be above margin_warning (0.8)"],
        ),
        ("MONITORS__LOSS_CRITICAL", "0.05", ["loss_critical (0.05) must be above loss_warning"]),
        ("MONITORS__HEAT_LEVELS", "[0.1, 0.05, 0.15]", ["heat_levels[1] (0.05) must be above"]),
        ("MONITORS__STALE_CRITICAL_SECONDS", "30", ["stale_critical_seconds (30) must be above"]),
        ("MONITORS__DRAWDOWN_ALERT", "0.25", ["must not be above kill_switch.drawdown_limit"]),
        ("KILL_SWITCH__ON_MARGIN_BLOCK", "panic", ["must be active, reducing, halted or flatten"]),
        ("KILL_SWITCH__FLATTEN_ATTEMPTS", "0", ["risk.kill_switch.flatten_attempts:"]),
        (
            "LIMITS__LEVERAGE_TIERS",
            '[{"min_confidence": 0.8, "low": 3, "high": 2}]',
            ["leverage_tiers", "needs 0 < low <= high"],
        ),
        (
            "LIMITS__LEVERAGE_TIERS",
            '[{"min_confidence": 0.5, "low": 1, "high": 2}, {"min_confidence": 0.5, "low": 2, "high": 3}]',
            ["each tier needs its own min_confidence"],
        ),
    ],
)
def test_bad_values_are_refused_naming_the_setting_and_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: list[str]
) -> None:
    message = _error(monkeypatch, **{_ENV + variable: value})
    for word in words:
        assert word in message, message
    assert "environment RISKDESK_RISK" in message


@pytest.mark.parametrize(
    "field",
    ["max_leverage", "daily_loss_limit", "max_symbol_exposure", "max_gamma_total", "max_positions"],
)
def test_off_is_still_allowed(monkeypatch: pytest.MonkeyPatch, field: str) -> None:
    monkeypatch.setenv(_ENV + "LIMITS__" + field.upper(), "off")
    assert getattr(Settings().risk.to_limits(), field) is None


def test_seed_001_defaults_and_units() -> None:
    limits = RiskLimits()
    assert limits.max_adjustments_per_day == 10
    assert limits.min_seconds_between_adjustments == 300.0
    assert limits.max_concentration == 0.30
    assert limits.max_delta_change_per_trade == 5.0  # units of the underlying
    assert limits.max_cost_per_day == 1000.0  # reporting currency
    assert preset("conservative").max_concentration < limits.max_concentration


def test_new_settings_reach_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_ENV + "LIMITS__LIQUIDITY_LEVELS", "5")
    monkeypatch.setenv(_ENV + "LIMITS__KELLY_FRACTION", "0.25")
    monkeypatch.setenv(_ENV + "LIMITS__ADJUSTMENT_SOURCES", '["hedge", "delta"]')
    monkeypatch.setenv(_ENV + "LIMITS__MAX_GAMMA_TOTAL", "0.2")
    monkeypatch.setenv(_ENV + "LIMITS__MAX_VEGA_TOTAL", "0.03")
    monkeypatch.setenv(
        _ENV + "LIMITS__LEVERAGE_TIERS",
        '[{"min_confidence": 0.9, "low": 8, "high": 12}, {"min_confidence": 0, "low": 1, "high": 2}]',
    )
    monkeypatch.setenv(_ENV + "KILL_SWITCH__ON_MARGIN_BLOCK", "halted")
    settings = Settings().risk
    limits = settings.to_limits()
    assert limits.liquidity_levels == 5
    assert limits.kelly_fraction == 0.25
    assert limits.adjustment_sources == ("hedge", "delta")
    assert (limits.max_gamma_total, limits.max_vega_total) == (0.2, 0.03)
    assert limits.leverage_tiers == (LeverageTier(0.9, 8.0, 12.0), LeverageTier(0.0, 1.0, 2.0))
    assert settings.to_policy().on_margin_block == "halted"


def test_the_defaults_validate() -> None:
    assert RiskSettings().to_limits() == RiskLimits()
    for name in ("conservative", "balanced", "aggressive"):
        RiskSettings(preset=name).to_limits()
