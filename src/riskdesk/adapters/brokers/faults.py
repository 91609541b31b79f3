"""Fault injection for the paper venue: make chosen calls time out, fail with a 5xx, hit the rate
limit or be rejected, so tests can prove the order manager survives what real venues do.

A rule is written ``operation:kind[:order_type][:count]``:

* ``operation``: ``submit``, ``cancel``, ``amend``, ``query``, ``open_orders``, ``fills``,
  ``positions``, ``balances``, ``transfer`` or ``*``;
* ``kind``:
  ``timeout`` (no answer, nothing done), ``timeout_after`` (the venue acted, the answer was
  lost — the dangerous one), ``unavailable`` (5xx, nothing done), ``unavailable_after`` (5xx
  after acting), ``rate_limited`` (refused for rate, nothing done), ``reject`` (refused);
* ``order_type``: only orders of that type (``stop_market``…; empty: any);
* ``count``: how many times the rule fires (default 1; ``*`` forever).

Example: ``submit:reject:stop_market:*`` — the venue refuses every stop order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from riskdesk.domain.errors import (
    BrokerError,
    BrokerTimeout,
    ConfigError,
    OrderRejected,
    RateLimited,
    VenueUnavailable,
)

OPERATIONS: Final = frozenset(
    {
        "submit",
        "cancel",
        "amend",
        "query",
        "open_orders",
        "fills",
        "positions",
        "balances",
        "transfer",
        "*",
    }
)
_BEFORE: Final = frozenset({"timeout", "unavailable", "rate_limited", "reject"})
_AFTER: Final = frozenset({"timeout_after", "unavailable_after"})


@dataclass(slots=True)
class FaultRule:
    """One injected fault; ``remaining`` None fires forever."""

    operation: str
    kind: str
    order_type: str | None = None
    remaining: int | None = 1

    def matches(self, operation: str, order_type: str | None) -> bool:
        """Does this rule apply to the call?"""
        if self.remaining == 0:
            return False
        if self.operation not in ("*", operation):
            return False
        return self.order_type is None or self.order_type == order_type

    def error(self, operation: str) -> BrokerError:
        """The error the venue answers with."""
        what = f"injected fault on {operation}"
        if self.kind.startswith("timeout"):
            return BrokerTimeout(f"{what}: the venue did not answer in time")
        if self.kind.startswith("unavailable"):
            return VenueUnavailable(f"{what}: HTTP 503 service unavailable")
        if self.kind == "rate_limited":
            return RateLimited(f"{what}: too many requests", retry_after=1.0)
        return OrderRejected(f"{what}: the venue refused the request")


def parse_rule(text: str) -> FaultRule:
    """Parse ``operation:kind[:order_type][:count]`` (see the module docstring)."""
    parts = text.strip().split(":")
    if len(parts) < 2 or len(parts) > 4:
        raise ConfigError(
            f"fault {text!r}: expected operation:kind[:order_type][:count]", field="faults"
        )
    operation, kind = parts[0], parts[1]
    if operation not in OPERATIONS:
        raise ConfigError(
            f"fault {text!r}: unknown operation {operation!r} ({', '.join(sorted(OPERATIONS))})",
            field="faults",
        )
    if kind not in _BEFORE | _AFTER:
        raise ConfigError(
            f"fault {text!r}: unknown kind {kind!r} ({', '.join(sorted(_BEFORE | _AFTER))})",
            field="faults",
        )
    order_type = parts[2] if len(parts) > 2 and parts[2] else None
    remaining: int | None = 1
    if len(parts) == 4:
        if parts[3] == "*":
            remaining = None
        elif parts[3].isdigit() and int(parts[3]) > 0:
            remaining = int(parts[3])
        else:
            raise ConfigError(
                f"fault {text!r}: count must be a positive integer or *", field="faults"
            )
    return FaultRule(operation, kind, order_type, remaining)


class FaultInjector:
    """Holds the rules; the paper venue asks it before acting (``before``) and after acting
    (``after``) on every call."""

    def __init__(self, rules: list[FaultRule] | None = None) -> None:
        self.rules: list[FaultRule] = list(rules or [])
        self.fired: list[tuple[str, str]] = []

    @classmethod
    def parse(cls, specs: list[str] | tuple[str, ...]) -> FaultInjector:
        """Rules from their text form."""
        return cls([parse_rule(s) for s in specs if s.strip()])

    def add(self, spec: str) -> None:
        """Add a rule in text form."""
        self.rules.append(parse_rule(spec))

    def _take(self, operation: str, order_type: str | None, kinds: frozenset[str]) -> None:
        for rule in self.rules:
            if rule.kind in kinds and rule.matches(operation, order_type):
                if rule.remaining is not None:
                    rule.remaining -= 1
                self.fired.append((operation, rule.kind))
                raise rule.error(operation)

    def before(self, operation: str, order_type: str | None = None) -> None:
        """Raise a fault that strikes before the venue acts, if one applies."""
        if self.rules:
            self._take(operation, order_type, _BEFORE)

    def after(self, operation: str, order_type: str | None = None) -> None:
        """Raise a fault that strikes after the venue acted (the answer is lost)."""
        if self.rules:
            self._take(operation, order_type, _AFTER)


__all__ = ["OPERATIONS", "FaultInjector", "FaultRule", "parse_rule"]
