"""The one error tree of riskdesk, with stable codes.

Every error a user can see carries a stable ``code`` (for programs and tests), the ``field``
it concerns (when there is one) and a plain ``reason``. Interfaces print them verbatim.

Tree (code in brackets)::

    RiskdeskError                       [error]
    ├── ValidationError                 [invalid]          bad input; nothing was changed
    │   ├── InvalidValue                [invalid_value]    NaN, infinity, negative, not a number
    │   ├── InvalidSymbol               [invalid_symbol]   names the part of the symbol that is wrong
    │   ├── OffGrid                     [off_grid]         price/qty not on the instrument's tick/lot
    │   └── CurrencyMismatch            [currency_mismatch]
    ├── NotFound                        [not_found]
    │   ├── UnknownInstrument           [unknown_instrument]
    │   └── UnknownAccount              [unknown_account]
    ├── AccountingError                 [accounting]
    │   ├── InsufficientPosition        [insufficient_position]  sell more than held (spot, hedge mode)
    │   └── PositionModeMismatch        [position_mode]    hedge-mode side on a netting account or v.v.
    ├── StateError                      [illegal_state]    illegal state-machine transition
    └── ConfigError                     [config]
"""

from __future__ import annotations


class RiskdeskError(Exception):
    """Base of every riskdesk error: a stable code, an optional field and a plain reason."""

    code = "error"

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"{field}: {reason}" if field else reason)

    def to_dict(self) -> dict[str, str | None]:
        """Machine-readable form used by every interface (CLI --json, REST, MCP)."""
        return {"code": self.code, "field": self.field, "reason": self.reason}


class ValidationError(RiskdeskError):
    """Input was rejected; no state was changed."""

    code = "invalid"


class InvalidValue(ValidationError):
    """A number is NaN, infinite, negative where it must not be, or not a number at all."""

    code = "invalid_value"


class InvalidSymbol(ValidationError):
    """A symbol could not be parsed; ``field`` names the part that is wrong (e.g. ``expiry``)."""

    code = "invalid_symbol"

    def __init__(self, symbol: str, part: str, reason: str) -> None:
        self.symbol = symbol
        self.part = part
        super().__init__(f"{reason} in symbol {symbol!r}", field=part)


class OffGrid(ValidationError):
    """A price or quantity is not a multiple of the instrument's tick or lot size."""

    code = "off_grid"


class CurrencyMismatch(ValidationError):
    """Two amounts in different currencies were combined."""

    code = "currency_mismatch"


class NotFound(RiskdeskError):
    """Something referenced does not exist."""

    code = "not_found"


class UnknownInstrument(NotFound):
    """A fill, order or query named an instrument the catalog does not hold."""

    code = "unknown_instrument"


class UnknownAccount(NotFound):
    """An account id that does not exist."""

    code = "unknown_account"


class AccountingError(RiskdeskError):
    """A fill or cash movement that the book cannot accept."""

    code = "accounting"


class InsufficientPosition(AccountingError):
    """Selling more than is held where going short is impossible (spot, a hedge-mode side)."""

    code = "insufficient_position"


class PositionModeMismatch(AccountingError):
    """A fill's position side does not fit the account's position mode."""

    code = "position_mode"


class StateError(RiskdeskError):
    """An illegal state-machine transition."""

    code = "illegal_state"


class ConfigError(RiskdeskError):
    """Configuration that cannot be used."""

    code = "config"
