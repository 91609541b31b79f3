"""Automatic SPOT → FUT margin transfers (seed 003), as a pure decision and a state machine.

The futures wallet should keep at least ``min_free_fut`` free; when it has less::

    need = max(0, min_free_fut − free_fut)

and a transfer of ``need`` is requested only when the spot wallet can spare it and still keep
a buffer: ``free_spot ≥ need + spot_buffer``. Requests are spaced by a minimum interval and
capped per UTC day. The transfer id is derived from the wallets, the currency and the interval
window the request falls in, so evaluating the same moment twice (a replay, a restart) asks for
the same transfer instead of a second one.

Life of a request::

    PENDING ──approve──► APPROVED ──execute──► EXECUTED
       │                     └────────────────► FAILED   (the venue refused; reason kept)
       └──reject──► REJECTED                             (a person declined it)

In auto mode a request is created APPROVED (``approved_by = "auto"``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final

from riskdesk.domain.errors import InvalidValue, StateError
from riskdesk.domain.values import ZERO


class TransferStatus(StrEnum):
    """Where a transfer request is in its life."""

    PENDING = "pending"
    APPROVED = "approved"
    EXECUTED = "executed"
    FAILED = "failed"
    REJECTED = "rejected"

    @property
    def terminal(self) -> bool:
        """No further change."""
        return self in (TransferStatus.EXECUTED, TransferStatus.FAILED, TransferStatus.REJECTED)


_ALLOWED: Final[dict[TransferStatus, frozenset[TransferStatus]]] = {
    TransferStatus.PENDING: frozenset({TransferStatus.APPROVED, TransferStatus.REJECTED}),
    TransferStatus.APPROVED: frozenset({TransferStatus.EXECUTED, TransferStatus.FAILED}),
    TransferStatus.EXECUTED: frozenset(),
    TransferStatus.FAILED: frozenset(),
    TransferStatus.REJECTED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class TransferPolicy:
    """Thresholds in ``currency``: keep ``min_free_fut`` free in the futures wallet, leave
    ``spot_buffer`` in the spot wallet, at most one request per ``min_interval``, at most
    ``daily_cap`` moved per UTC day; ``auto`` skips the approval step."""

    currency: str = "USDT"
    min_free_fut: Decimal = Decimal(1000)
    spot_buffer: Decimal = Decimal(100)
    min_interval: timedelta = timedelta(minutes=5)
    daily_cap: Decimal = Decimal(10000)
    auto: bool = False

    def __post_init__(self) -> None:
        for name in ("min_free_fut", "spot_buffer", "daily_cap"):
            value = getattr(self, name)
            if not value.is_finite() or value < 0:
                raise InvalidValue(f"must be a non-negative amount, got {value}", field=name)
        if self.min_interval <= timedelta(0):
            raise InvalidValue("must be positive", field="min_interval")


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """One SPOT → FUT request: ``amount`` of ``currency`` from ``from_account`` to
    ``to_account``; ``need`` and the balances it was computed from are kept as evidence."""

    transfer_id: str
    from_account: str
    to_account: str
    currency: str
    amount: Decimal
    status: TransferStatus
    created_at: datetime
    updated_at: datetime
    reason: str
    free_fut: Decimal = ZERO
    free_spot: Decimal = ZERO
    approved_by: str | None = None
    error: str = ""


@dataclass(frozen=True, slots=True)
class TransferDecision:
    """What the policy says now: a request to create (or None) and why."""

    request: TransferRequest | None
    need: Decimal
    reason: str


def transfer_id_for(
    from_account: str, to_account: str, currency: str, now: datetime, interval: timedelta
) -> str:
    """``tr-`` + 24 hex characters over the wallets, the currency and the start of the interval
    window holding ``now``: the same window always gives the same id (idempotent requests)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    window = (now - epoch) // interval
    text = f"{from_account}|{to_account}|{currency}|{window}"
    return "tr-" + hashlib.sha256(text.encode()).hexdigest()[:24]


def decide(
    policy: TransferPolicy,
    *,
    from_account: str,
    to_account: str,
    free_fut: Decimal,
    free_spot: Decimal,
    now: datetime,
    last_request_at: datetime | None,
    moved_today: Decimal,
) -> TransferDecision:
    """Apply the seed 003 rule. ``moved_today`` is what was requested (pending, approved or
    executed) since the UTC day began; ``last_request_at`` the newest request's time."""
    need = max(ZERO, policy.min_free_fut - free_fut)
    if need == 0:
        return TransferDecision(
            None,
            need,
            f"free futures balance {free_fut} ≥ the minimum {policy.min_free_fut}: nothing needed",
        )
    if free_spot < need + policy.spot_buffer:
        return TransferDecision(
            None,
            need,
            f"need {need} but free spot {free_spot} < need + buffer {need + policy.spot_buffer}",
        )
    if last_request_at is not None and now - last_request_at < policy.min_interval:
        wait = policy.min_interval - (now - last_request_at)
        return TransferDecision(
            None, need, f"need {need}, but the last request was less than {wait} ago"
        )
    room = policy.daily_cap - moved_today
    if need > room:
        return TransferDecision(
            None,
            need,
            f"need {need} exceeds what the daily cap {policy.daily_cap} still allows ({max(room, ZERO)})",
        )
    status = TransferStatus.APPROVED if policy.auto else TransferStatus.PENDING
    reason = (
        f"free futures {free_fut} < minimum {policy.min_free_fut}: need = {need}; "
        f"free spot {free_spot} ≥ need + buffer {need + policy.spot_buffer}"
    )
    request = TransferRequest(
        transfer_id=transfer_id_for(
            from_account, to_account, policy.currency, now, policy.min_interval
        ),
        from_account=from_account,
        to_account=to_account,
        currency=policy.currency,
        amount=need,
        status=status,
        created_at=now,
        updated_at=now,
        reason=reason,
        free_fut=free_fut,
        free_spot=free_spot,
        approved_by="auto" if policy.auto else None,
    )
    return TransferDecision(request, need, reason)


def move(
    request: TransferRequest,
    target: TransferStatus,
    now: datetime,
    *,
    by: str | None = None,
    error: str = "",
) -> TransferRequest:
    """Advance a request (``StateError`` on an illegal move, e.g. executing a PENDING one)."""
    if target not in _ALLOWED[request.status]:
        raise StateError(
            f"transfer {request.transfer_id} cannot go from {request.status.value} to {target.value}",
            field="status",
        )
    if target is TransferStatus.APPROVED and not by:
        raise InvalidValue("an approval needs who approved it", field="by")
    return replace(
        request,
        status=target,
        updated_at=now,
        approved_by=by if target is TransferStatus.APPROVED else request.approved_by,
        error=error or request.error,
    )


__all__ = [
    "TransferDecision",
    "TransferPolicy",
    "TransferRequest",
    "TransferStatus",
    "decide",
    "move",
    "transfer_id_for",
]
