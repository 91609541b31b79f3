"""Automatic SPOT → FUT margin transfers (seed 003) over the broker and the journal.

:meth:`TransferService.check` reads the free balances of the spot and futures wallets from the
venue, applies :func:`riskdesk.domain.transfers.decide` and journals a request (PENDING, or
APPROVED in auto mode, which is then executed at once). A person approves or rejects pending
requests (``riskdesk transfer approve|reject``); an approved request is executed through the
broker with its idempotent transfer id, so a retry after a crash never moves money twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from riskdesk.application.oms import Checkpoint, no_checkpoint
from riskdesk.domain.errors import BrokerError, InvalidValue, NotFound, OrderRejected
from riskdesk.domain.transfers import (
    TransferDecision,
    TransferPolicy,
    TransferRequest,
    TransferStatus,
    decide,
    move,
    transfer_id_for,
)
from riskdesk.domain.values import ZERO
from riskdesk.ports.broker import Broker
from riskdesk.ports.clock import Clock
from riskdesk.ports.store import OmsUnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class TransferAccounts:
    """The two wallets: ``spot_account`` pays, ``fut_account`` receives. ``spot_setting`` and
    ``fut_setting`` name where each is configured (an error about a wallet says what to fix)."""

    spot_account: str
    fut_account: str
    spot_setting: str = "spot_account"
    fut_setting: str = "fut_account"


#: Crash point (see ``docs/oms.md``): both legs booked in the ledger, the request not yet
#: marked EXECUTED — the next check (or ``retry_approved``) finishes it without moving twice.
TRANSFER_BOOKED = "transfer_booked"

#: Books a cash movement in the ledger: (account, currency, amount, ts, reason, reference);
#: idempotent by reference (``BookService.move_cash``).
CashBooking = Callable[[str, str, Decimal, datetime, str, str], object]


class TransferService:
    """SPOT → FUT transfers: decide, journal, approve, execute (and book both legs in the
    ledger, idempotently, so the ledger keeps equal to the venue)."""

    def __init__(
        self,
        journal: OmsUnitOfWorkFactory,
        broker: Broker,
        clock: Clock,
        policy: TransferPolicy,
        accounts: TransferAccounts,
        book_cash: CashBooking | None = None,
        checkpoint: Checkpoint = no_checkpoint,
    ) -> None:
        self._journal = journal
        self.checkpoint = checkpoint
        self._broker = broker
        self._clock = clock
        self.policy = policy
        self.accounts = accounts
        self._book_cash = book_cash

    def _save(self, request: TransferRequest) -> TransferRequest:
        with self._journal() as uow:
            uow.oms.put_transfers([request])
            uow.commit()
        return request

    def requests(self, status: TransferStatus | None = None) -> list[TransferRequest]:
        """Journaled requests, oldest first."""
        with self._journal() as uow:
            return uow.oms.transfers(status)

    def get(self, transfer_id: str) -> TransferRequest:
        """One request (a clear error when unknown)."""
        found = next((t for t in self.requests() if t.transfer_id == transfer_id), None)
        if found is None:
            raise NotFound(f"no transfer {transfer_id!r}", field="transfer_id")
        return found

    def _free(self, account_id: str, setting: str) -> Decimal:
        try:
            balances = self._broker.balances(account_id)
        except OrderRejected as exc:
            if exc.field != "account_id":
                raise
            raise InvalidValue(
                f"the wallet {account_id!r} is not an account on the {self._broker.venue} venue "
                f"({exc.reason}): set {setting} to one of its accounts, or open "
                f"{account_id!r} there",
                field=setting,
            ) from None
        for balance in balances:
            if balance.currency == self.policy.currency:
                return balance.free
        return ZERO

    def check(self, now: datetime | None = None) -> TransferDecision:
        """Evaluate the rule now; journal (and in auto mode execute) a request when one is due.
        Asking twice in the same interval window returns the request already made."""
        now = now or self._clock.now()
        a = self.accounts
        free_fut = self._free(a.fut_account, a.fut_setting)
        free_spot = self._free(a.spot_account, a.spot_setting)
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        with self._journal() as uow:
            history = uow.oms.transfers()
        today = [
            t
            for t in history
            if t.created_at >= day
            and t.status
            in (TransferStatus.PENDING, TransferStatus.APPROVED, TransferStatus.EXECUTED)
        ]
        moved = sum((t.amount for t in today), ZERO)
        last = max((t.created_at for t in history), default=None)
        window = transfer_id_for(
            a.spot_account, a.fut_account, self.policy.currency, now, self.policy.min_interval
        )
        asked = next((t for t in history if t.transfer_id == window), None)
        if asked is not None:
            need = max(ZERO, self.policy.min_free_fut - free_fut)
            return TransferDecision(asked, need, "already requested in this interval window")
        decision = decide(
            self.policy,
            from_account=a.spot_account,
            to_account=a.fut_account,
            free_fut=free_fut,
            free_spot=free_spot,
            now=now,
            last_request_at=last,
            moved_today=moved,
        )
        request = decision.request
        if request is None:
            return decision
        self._save(request)
        if request.status is TransferStatus.APPROVED:
            request = self.execute(request.transfer_id, now)
        return TransferDecision(request, decision.need, decision.reason)

    def approve(self, transfer_id: str, by: str, now: datetime | None = None) -> TransferRequest:
        """Approve a pending request and execute it."""
        if not by.strip():
            raise InvalidValue("an approval needs who approved it", field="by")
        now = now or self._clock.now()
        request = self._save(move(self.get(transfer_id), TransferStatus.APPROVED, now, by=by))
        return self.execute(request.transfer_id, now)

    def reject(
        self, transfer_id: str, by: str, reason: str, now: datetime | None = None
    ) -> TransferRequest:
        """Decline a pending request."""
        if not reason.strip():
            raise InvalidValue("a rejection needs a reason", field="reason")
        now = now or self._clock.now()
        return self._save(
            move(
                self.get(transfer_id),
                TransferStatus.REJECTED,
                now,
                error=f"rejected by {by}: {reason}",
            )
        )

    def execute(self, transfer_id: str, now: datetime | None = None) -> TransferRequest:
        """Execute an approved request through the venue (idempotent by transfer id)."""
        now = now or self._clock.now()
        request = self.get(transfer_id)
        if request.status is not TransferStatus.APPROVED:
            return request
        try:
            receipt = self._broker.transfer(
                request.transfer_id,
                request.from_account,
                request.to_account,
                request.currency,
                request.amount,
            )
        except BrokerError as exc:
            if exc.outcome_unknown or exc.retryable:
                return request  # still APPROVED: the next check or approval retries, same id
            return self._save(move(request, TransferStatus.FAILED, now, error=exc.reason))
        if receipt.executed:
            if self._book_cash is not None:
                tid = request.transfer_id
                self._book_cash(
                    request.from_account,
                    request.currency,
                    -request.amount,
                    now,
                    "transfer to futures",
                    f"{tid}:out",
                )
                self._book_cash(
                    request.to_account,
                    request.currency,
                    request.amount,
                    now,
                    "transfer from spot",
                    f"{tid}:in",
                )
                self.checkpoint(TRANSFER_BOOKED)
            return self._save(move(request, TransferStatus.EXECUTED, now))
        return self._save(move(request, TransferStatus.FAILED, now, error=receipt.reason))

    def retry_approved(self, now: datetime | None = None) -> list[TransferRequest]:
        """Execute approved requests left over (a crash or a timeout between approval and
        execution)."""
        return [self.execute(t.transfer_id, now) for t in self.requests(TransferStatus.APPROVED)]


__all__ = ["TRANSFER_BOOKED", "CashBooking", "TransferAccounts", "TransferService"]
