"""OptionsSettings: documented fields, secrets refuse placeholders, mapping to the engine."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from riskdesk.bootstrap.options_settings import OptionsSettings, build_options_service
from riskdesk.bootstrap.settings import Settings, describe
from riskdesk.domain.accounting.margin import OptionMarginRates
from riskdesk.domain.rebalance import RiskTolerance, RollType


@pytest.mark.parametrize("token", ["changeme", "your-token", "YOUR_TOKEN", "<token>", "xxxxxxxx"])
def test_placeholder_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValidationError) as info:
        OptionsSettings(tradier_token=token)  # type: ignore[arg-type]
    assert "placeholder" in str(info.value)


def test_token_is_secret_and_required_for_tradier() -> None:
    settings = OptionsSettings(tradier_token="a1B2c3D4e5", equity_source="tradier")  # type: ignore[arg-type]  # noqa: S106 - a fake token
    assert "a1B2c3D4e5" not in repr(settings)
    with pytest.raises(ValidationError):
        OptionsSettings(equity_source="tradier")
    with pytest.raises(ValidationError):
        OptionsSettings(roll_min_days_out=70, roll_max_days_out=60)
    with pytest.raises(ValidationError):
        OptionsSettings(preferred_roll_types=("butterfly",))
    with pytest.raises(ValidationError):
        OptionsSettings(unknown_key=1)  # type: ignore[call-arg]


def test_every_field_is_documented() -> None:
    rows = [r for r in describe(Settings()) if r[0].startswith("options.")]
    assert len(rows) > 50
    assert all(description for _, _, description in rows)
    assert ("options.tolerances.moderate.assignment_probability", 0.8) in {
        (n, v) for n, v, _ in rows
    }


def test_mapping_to_the_engine() -> None:
    opts = OptionsSettings(
        target_days_to_roll=14,
        max_additional_capital=Decimal(500),
        preferred_roll_types=("calendar", "triple_strike_resize"),
        tolerances={"aggressive": {"assignment_probability": 0.9, "defensive_delta": 0.5,
                                   "target_delta": 0.3, "target_otm": 0.05,
                                   "max_new_assignment_probability": 0.5}},
    )  # type: ignore[arg-type]  # fmt: skip
    config = opts.to_config(
        rate=0.05,
        carry_yields={"AAPL": 0.005},
        coin_rate=0.0,
        margin_rates=OptionMarginRates(),
    )  # type: ignore[arg-type]
    assert config.defaults.target_days_to_roll == 14
    assert config.defaults.max_additional_capital == Decimal(500)
    assert config.defaults.preferred_roll_types == frozenset({RollType.CALENDAR, RollType.RESIZE})
    assert config.engine.thresholds(RiskTolerance.AGGRESSIVE).assignment_probability == 0.9
    assert config.engine.thresholds(RiskTolerance.MODERATE).assignment_probability == 0.8
    assert config.engine.rate == 0.05 and config.engine.carry_yields == {"AAPL": 0.005}


def test_service_without_a_database() -> None:
    service = build_options_service(Settings())
    assert service.sources() == {"equity": "cboe-snapshot", "crypto": "deribit-snapshot"}
