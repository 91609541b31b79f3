"""Typed configuration with documented defaults.

Sources, highest priority first: keyword arguments, environment variables ``RISKDESK_*``
(nested fields with ``__``, e.g. ``RISKDESK_OPTION_MARGIN__EQUITY_BASE=0.25``), a TOML file named
by ``RISKDESK_CONFIG``, then the defaults below. Unknown keys are rejected; every threshold is a
named field with a description (``riskdesk config`` prints them all).
"""

from __future__ import annotations

import os
from dataclasses import asdict, is_dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from riskdesk.bootstrap.governance_settings import GovernanceSettings
from riskdesk.bootstrap.oms_settings import OmsSettings
from riskdesk.bootstrap.options_settings import OptionsSettings
from riskdesk.bootstrap.pricing_settings import PricingSettings
from riskdesk.bootstrap.risk_settings import RiskSettings


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/riskdesk`` or ``~/.local/share/riskdesk``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "riskdesk"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MarginConventionSettings(_Frozen):
    """How a venue computes maintenance margin for liquidation prices."""

    basis: str = Field(
        "mark", description="'mark' (Binance, Deribit) or 'entry' (Bybit's documented examples)"
    )
    close_fee_rate: Decimal = Field(
        Decimal(0),
        description="taker fee to close at bankruptcy counted in maintenance (Bybit 0.00055)",
    )

    @field_validator("basis")
    @classmethod
    def _basis(cls, value: str) -> str:
        if value not in ("mark", "entry"):
            raise ValueError("basis must be 'mark' or 'entry'")
        return value


class OptionMarginSettings(_Frozen):
    """Short-option margin rates (fractions)."""

    equity_base: Decimal = Field(
        Decimal("0.20"), description="Reg-T naked short: fraction of the underlying"
    )
    equity_floor: Decimal = Field(
        Decimal("0.10"), description="Reg-T minimum: fraction of underlying (calls) / strike (puts)"
    )
    crypto_im_base: Decimal = Field(
        Decimal("0.15"), description="Deribit short option initial margin base"
    )
    crypto_im_floor: Decimal = Field(
        Decimal("0.10"), description="Deribit short option initial margin floor"
    )
    crypto_mm_base: Decimal = Field(
        Decimal("0.075"), description="Deribit short option maintenance margin base"
    )


def _default_conventions() -> dict[str, MarginConventionSettings]:
    return {
        "binance": MarginConventionSettings(basis="mark"),
        "deribit": MarginConventionSettings(basis="mark"),
        "bybit": MarginConventionSettings(basis="entry", close_fee_rate=Decimal("0.00055")),
    }


class Settings(BaseSettings):
    """Every riskdesk setting."""

    model_config = SettingsConfigDict(
        env_prefix="RISKDESK_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    data_dir: Path = Field(
        default_factory=default_data_dir, description="where the default database and demo live"
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/riskdesk.db (PostgreSQL: postgresql+psycopg://...)",
    )
    reporting_currency: str = Field("USD", description="currency every view totals in")
    fixed_rates: dict[str, Decimal] = Field(
        default_factory=lambda: {"USD": Decimal(1), "USDT": Decimal(1), "USDC": Decimal(1)},
        description="currency values in the reporting currency used when no price is stored",
    )
    default_leverage: Decimal = Field(
        Decimal(1), description="leverage of a new margined position when the fill gives none"
    )
    margin_conventions: dict[str, MarginConventionSettings] = Field(
        default_factory=_default_conventions,
        description="per venue; venues not listed use the Binance convention",
    )
    option_margin: OptionMarginSettings = Field(default_factory=OptionMarginSettings)
    pricing: PricingSettings = Field(default_factory=PricingSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    options: OptionsSettings = Field(default_factory=OptionsSettings)
    governance: GovernanceSettings = Field(default_factory=GovernanceSettings)
    oms: OmsSettings = Field(default_factory=OmsSettings)

    @field_validator("reporting_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not value.isalnum():
            raise ValueError("must be a currency code such as USD")
        return value.upper()

    @field_validator("default_leverage")
    @classmethod
    def _leverage(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or value <= 0 or value > 1000:
            raise ValueError("must be in (0, 1000]")
        return value

    @property
    def effective_database_url(self) -> str:
        """The database URL to use (the default SQLite file inside ``data_dir``)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'riskdesk.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then environment, then the TOML file in ``RISKDESK_CONFIG``."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("RISKDESK_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def describe(settings: Settings) -> list[tuple[str, Any, str]]:
    """``(name, value, description)`` for every setting, nested ones dotted."""
    rows: list[tuple[str, Any, str]] = []

    def walk(model: BaseModel, prefix: str) -> None:
        for name, info in type(model).model_fields.items():
            value = getattr(model, name)
            if isinstance(value, RiskSettings):  # the active limits, not the unset overrides
                rows.extend(value.describe(f"{prefix}{name}."))
            elif isinstance(value, BaseModel):
                walk(value, f"{prefix}{name}.")
            elif (
                isinstance(value, dict)
                and value
                and all(isinstance(v, BaseModel) for v in value.values())
            ):
                for key, sub in value.items():
                    walk(sub, f"{prefix}{name}.{key}.")
            else:
                rows.append((prefix + name, value, info.description or ""))

    walk(settings, "")
    return rows


def shown(value: object) -> str:
    """A setting's value as plain text (no Python reprs): decimals in plain notation,
    mappings as ``key=value``, sequences comma-separated, models and records field by field."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={shown(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        items = [shown(v) for v in value]
        return "; ".join(items) if any("=" in i for i in items) else ", ".join(items)
    return str(value)
