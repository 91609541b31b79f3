"""Typed configuration with documented defaults.

Sources, highest priority first: keyword arguments, environment variables ``RISKDESK_*``
(nested fields with ``__``, e.g. ``RISKDESK_OPTION_MARGIN__EQUITY_BASE=0.25``), a TOML file named
by ``RISKDESK_CONFIG``, then the defaults below. Unknown keys are rejected; every threshold is a
named field with a description (``riskdesk config`` prints them all).

The TOML file is checked when it is read: a missing file, malformed TOML (with the line and the
parser's reason) and a key or value the settings refuse are each a :class:`ConfigError` naming
the file and the TOML key (not an environment variable), raised while ``Settings()`` is built.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import asdict, is_dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError
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
from riskdesk.domain.errors import ConfigError

#: The environment variable naming the TOML settings file.
CONFIG_ENV = "RISKDESK_CONFIG"


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

    @field_validator("margin_conventions", mode="before")
    @classmethod
    def _over_default_conventions(cls, value: object) -> object:
        """An entry overrides only the fields it names of the venue's default (setting
        ``RISKDESK_MARGIN_CONVENTIONS__BYBIT__CLOSE_FEE_RATE=0`` keeps Bybit on the entry basis
        and the other venues' conventions)."""
        if not isinstance(value, Mapping):
            return value
        merged: dict[str, object] = {
            venue: c.model_dump() for venue, c in _default_conventions().items()
        }
        for venue, given in value.items():
            base = merged.get(str(venue).lower())
            if isinstance(given, Mapping) and isinstance(base, dict):
                merged[str(venue).lower()] = {**base, **given}
            else:
                merged[str(venue).lower()] = given
        return merged

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
        if _CHECKING_FILE.get():
            return (init_settings,)  # checking the file's own values: nothing else
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_ENV)
        if config_file:
            sources.append(CheckedTomlSource(settings_cls, Path(config_file)))
        return tuple(sources)


#: Set while the TOML file's own values are validated (no other source takes part).
_CHECKING_FILE: ContextVar[bool] = ContextVar("riskdesk_checking_config_file", default=False)


def _env_name(loc: tuple[str, ...]) -> str:
    return "RISKDESK_" + "__".join(part.upper() for part in loc)


def _in_toml(data: Mapping[str, Any], loc: tuple[str, ...]) -> bool:
    node: Any = data
    for part in loc:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


class CheckedTomlSource(TomlConfigSettingsSource):
    """The ``RISKDESK_CONFIG`` TOML file, checked as it is read: a missing file, malformed TOML
    and keys or values the settings refuse are :class:`ConfigError` naming the file, the TOML key
    and the reason (a setting the environment overrides is left to the environment's check)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        """Read and check ``path``; raise :class:`ConfigError` on any problem."""
        if not path.is_file():
            raise ConfigError(
                f"{CONFIG_ENV} names {path}, which is not a file (fix the path or unset "
                f"{CONFIG_ENV})",
                field=CONFIG_ENV,
            )
        self._path = path
        super().__init__(settings_cls, toml_file=path)
        self._check(settings_cls, self.toml_data)

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        try:
            with open(file_path, "rb") as handle:
                return tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            # The parser's message ends with "(at line L, column C)".
            raise ConfigError(f"{file_path} is not valid TOML: {exc}", field=CONFIG_ENV) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {file_path}: {exc}", field=CONFIG_ENV) from None

    def _check(self, settings_cls: type[BaseSettings], data: Mapping[str, Any]) -> None:
        """Validate the file's own values (the other sources left out) and report what is
        wrong with a key the file sets, by that key."""
        token = _CHECKING_FILE.set(True)
        try:
            settings_cls(**data)
        except PydanticValidationError as exc:
            problems: list[tuple[str, str]] = []
            for err in exc.errors():
                loc = tuple(str(x) for x in err.get("loc", ()) if not isinstance(x, int))
                if not loc or not _in_toml(data, loc) or _env_name(loc) in os.environ:
                    continue  # a cross-field check or an overridden key: the full check reports
                message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
                if err.get("type") == "extra_forbidden":
                    message = "unknown setting (riskdesk config lists every setting)"
                problems.append((".".join(loc), message))
            if problems:
                name, first = problems[0]
                more = "".join(f"; key {n}: {m}" for n, m in problems[1:])
                raise ConfigError(
                    f"key {name} in {self._path}: {first}{more}", field=name
                ) from None
        finally:
            _CHECKING_FILE.reset(token)


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
