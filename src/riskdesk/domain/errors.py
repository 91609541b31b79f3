"""The one error tree of riskdesk, with stable codes.

Every error a user can see carries a stable ``code`` (for programs and tests), the ``field``
it concerns (when there is one) and a plain ``reason``. Interfaces print them verbatim.

Tree (code in brackets)::

    RiskdeskError                       [error]
    ├── ValidationError                 [invalid]          bad input; nothing was changed
    │   ├── InvalidValue                [invalid_value]    NaN, infinity, negative, not a number
    │   ├── InvalidSymbol               [invalid_symbol]   names the part of the symbol that is wrong
    │   ├── OffGrid                     [off_grid]         price/qty not on the instrument's tick/lot
    │   ├── CurrencyMismatch            [currency_mismatch]
    │   └── ExpiredOption               [expired_option]   the option expired at the valuation time
    ├── NotFound                        [not_found]
    │   ├── UnknownInstrument           [unknown_instrument]
    │   ├── UnknownAccount              [unknown_account]
    │   └── DatabaseMissing             [database_missing] no database there: run riskdesk init
    ├── AccountingError                 [accounting]
    │   ├── InsufficientPosition        [insufficient_position]  sell more than held (spot, hedge mode)
    │   └── PositionModeMismatch        [position_mode]    hedge-mode side on a netting account or v.v.
    ├── StateError                      [illegal_state]    illegal state-machine transition
    ├── ConfigError                     [config]
    ├── MarketDataError                 [market_data]      option market data unavailable or unusable
    └── BrokerError                     [broker]           a venue call failed (translated at the adapter edge)
        ├── BrokerTimeout               [broker_timeout]   no answer in time: the outcome is unknown
        ├── VenueUnavailable            [venue_unavailable] venue 5xx / maintenance: the outcome is unknown
        ├── RateLimited                 [rate_limited]     the venue refused for rate; nothing was done
        ├── OrderRejected               [order_rejected]   the venue refused the order (margin, post-only, …)
        └── OrderNotFound               [order_not_found]  cancel / amend / query of an order the venue lacks

Only the two "outcome unknown" broker errors (timeout, 5xx) and rate limits are retried, and an
order whose submit ended in an unknown outcome is looked up by its client order id before it is
ever sent again.
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

    def to_json(self) -> dict[str, object]:
        """:meth:`to_dict` plus whatever structured detail a subclass carries (e.g. the
        rejected rows of an import, each with its line, field and reason)."""
        return dict(self.to_dict())


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


class Conflict(ValidationError):
    """What was given contradicts what is already recorded under the same key (a reused cash
    reference, an existing instrument or account re-added with other settings)."""

    code = "conflict"


class NotFound(RiskdeskError):
    """Something referenced does not exist."""

    code = "not_found"


class UnknownInstrument(NotFound):
    """A fill, order or query named an instrument the catalog does not hold."""

    code = "unknown_instrument"


class UnknownAccount(NotFound):
    """An account id that does not exist."""

    code = "unknown_account"


class DatabaseMissing(NotFound):
    """A command that reads or changes the book was pointed at a database that does not exist
    (only ``riskdesk init`` and the commands documented to create one do)."""

    code = "database_missing"


class AccountingError(RiskdeskError):
    """A fill or cash movement that the book cannot accept."""

    code = "accounting"


class InsufficientPosition(AccountingError):
    """Selling more than is held where going short is impossible (spot, a hedge-mode side)."""

    code = "insufficient_position"


class PositionModeMismatch(AccountingError):
    """A fill's position side does not fit the account's position mode."""

    code = "position_mode"


class ExpiredOption(ValidationError):
    """The option expired at or before the valuation time."""

    code = "expired_option"


class MarketDataError(RiskdeskError):
    """Market data could not be obtained or is unusable (venue error, bad response).

    Adapters translate venue and HTTP errors into it."""

    code = "market_data"


class StateError(RiskdeskError):
    """An illegal state-machine transition."""

    code = "illegal_state"


class ConfigError(RiskdeskError):
    """Configuration that cannot be used."""

    code = "config"


class BrokerError(RiskdeskError):
    """A venue call failed. ``retryable`` says whether the same call may be repeated;
    ``outcome_unknown`` that the venue may have acted (query before repeating a submit)."""

    code = "broker"
    retryable = False
    outcome_unknown = False

    def __init__(
        self, reason: str, *, field: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason, field=field)
        self.retry_after = retry_after


class BrokerTimeout(BrokerError):
    """The venue did not answer in time; it may or may not have acted."""

    code = "broker_timeout"
    retryable = True
    outcome_unknown = True


class VenueUnavailable(BrokerError):
    """A 5xx answer or maintenance; the venue may or may not have acted."""

    code = "venue_unavailable"
    retryable = True
    outcome_unknown = True


class RateLimited(BrokerError):
    """The venue refused the call because of its rate limit (``retry_after`` seconds); nothing
    was done."""

    code = "rate_limited"
    retryable = True


class OrderRejected(BrokerError):
    """The venue refused the order (insufficient margin, post-only would take, stops not
    accepted, duplicate client order id…); nothing was done."""

    code = "order_rejected"


class OrderNotFound(BrokerError):
    """The venue has no order with that id (cancel, amend or query)."""

    code = "order_not_found"
