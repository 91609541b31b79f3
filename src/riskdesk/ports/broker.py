"""The broker port: what the order manager needs from a venue (live or paper).

Every call may raise a :class:`~riskdesk.domain.errors.BrokerError` (translated at the adapter
edge): :class:`~riskdesk.domain.errors.BrokerTimeout` and
:class:`~riskdesk.domain.errors.VenueUnavailable` leave the outcome unknown (the order manager
queries by client order id before sending anything again),
:class:`~riskdesk.domain.errors.RateLimited` means nothing was done (wait ``retry_after``),
:class:`~riskdesk.domain.errors.OrderRejected` is final, and
:class:`~riskdesk.domain.errors.OrderNotFound` answers a cancel, amend or query of an unknown id.

Orders are addressed by their client order id (derived from the intent id), never by the
venue's id, so that a restart can find an order it sent but never heard back about.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from riskdesk.domain.errors import BrokerError
from riskdesk.domain.fills import Fill
from riskdesk.domain.matching import Candle, Quote
from riskdesk.domain.order_lifecycle import OrderStatus
from riskdesk.domain.orders import OrderIntent, TriggerPrice
from riskdesk.domain.values import PositionSide


@dataclass(frozen=True, slots=True)
class BrokerCapabilities:
    """What a venue supports natively. What it lacks, the order manager emulates: stops become
    guard stops watched locally, OCO pairs become linked conditional orders, amends become
    cancel-replace. ``stop_edits_per_second`` / ``stop_edit_burst`` budget protective-stop
    edits inside the venue's order rate limit (requests per second, burst in requests)."""

    native_stop: bool = True
    native_take_profit: bool = True
    native_amend: bool = True
    native_oco: bool = False
    reduce_only: bool = True
    post_only: bool = True
    stop_triggers: frozenset[TriggerPrice] = frozenset(TriggerPrice)
    stop_edits_per_second: float = 5.0
    stop_edit_burst: int = 10
    batch_size: int = 20


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """The venue's view of one order: the intent as the venue holds it (the order manager's
    own intent for orders it sent; one built by the adapter for orders it did not), the status
    mapped onto the order state machine, what has filled (contracts, average price in the price
    currency), the venue's id and the OCO group the venue links it to."""

    intent: OrderIntent
    status: OrderStatus
    filled_qty: Decimal
    avg_price: Decimal | None
    venue_order_id: str
    updated_at: datetime
    reason: str = ""
    group: str | None = None

    @property
    def client_order_id(self) -> str:
        """The client order id (from the intent id)."""
        return self.intent.client_order_id


@dataclass(frozen=True, slots=True)
class VenuePosition:
    """An open position at the venue: signed ``qty`` in contracts, average entry (price
    currency), leverage."""

    account_id: str
    venue: str
    symbol: str
    slot: PositionSide
    qty: Decimal
    entry_price: Decimal
    leverage: Decimal

    @property
    def instrument_key(self) -> str:
        """``venue:symbol``."""
        return f"{self.venue}:{self.symbol}"


@dataclass(frozen=True, slots=True)
class VenueBalance:
    """A wallet balance: ``total`` held and ``free`` to trade or transfer (after margin and
    open-order reservations), in ``currency``."""

    currency: str
    total: Decimal
    free: Decimal


@dataclass(frozen=True, slots=True)
class FillPage:
    """Fills after a cursor, oldest first, and the cursor to ask with next time."""

    fills: Sequence[Fill]
    cursor: str


@dataclass(frozen=True, slots=True)
class TransferReceipt:
    """The result of an internal wallet transfer; ``executed`` False with the venue's reason
    when it was refused. Asking again with the same ``transfer_id`` returns the same receipt."""

    transfer_id: str
    executed: bool
    ts: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AmendRequest:
    """One amendment of a batch: the order and its new total quantity, limit or trigger price
    (None: unchanged)."""

    client_order_id: str
    symbol: str
    qty: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """Extra venue instructions for a submit: ``group`` links orders the venue cancels as one
    (native OCO)."""

    group: str | None = None
    tags: tuple[str, ...] = field(default=())


class Broker(Protocol):
    """A venue (or the paper venue). See the module docstring for the error contract."""

    @property
    def venue(self) -> str:
        """The venue name instruments are keyed with (``venue:symbol``)."""
        ...

    def capabilities(self) -> BrokerCapabilities:
        """What the venue supports natively."""
        ...

    def submit(self, intent: OrderIntent, request: OrderRequest | None = None) -> VenueOrder:
        """Send an order under ``intent.client_order_id``; a client id the venue already holds
        is refused (:class:`~riskdesk.domain.errors.OrderRejected`)."""
        ...

    def cancel(self, client_order_id: str, symbol: str) -> VenueOrder:
        """Cancel a working order; returns its final state (it may have filled meanwhile)."""
        ...

    def amend(
        self,
        client_order_id: str,
        symbol: str,
        *,
        qty: Decimal | None = None,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> VenueOrder:
        """Change a working order in place (only when ``capabilities().native_amend``)."""
        ...

    def submit_batch(self, intents: Sequence[OrderIntent]) -> list[VenueOrder | BrokerError]:
        """Send several orders in one request (a venue's batch endpoint): one result per order
        in order, the accepted order or the error that refused it. A failure of the whole
        request (timeout, 5xx, rate limit) raises, as for one order."""
        ...

    def cancel_batch(self, refs: Sequence[tuple[str, str]]) -> list[VenueOrder | BrokerError]:
        """Cancel several orders ``(client_order_id, symbol)`` in one request."""
        ...

    def amend_batch(self, changes: Sequence[AmendRequest]) -> list[VenueOrder | BrokerError]:
        """Amend several orders in one request."""
        ...

    def query(self, client_order_id: str, symbol: str) -> VenueOrder | None:
        """The order with that client id, or None when the venue never received it."""
        ...

    def open_orders(self, account_id: str | None = None) -> list[VenueOrder]:
        """Working orders (OPEN / PARTIALLY_FILLED), of one account or all."""
        ...

    def fills_since(self, cursor: str | None, limit: int | None = None) -> FillPage:
        """Fills after ``cursor`` (None: from the start), oldest first."""
        ...

    def positions(self, account_id: str | None = None) -> list[VenuePosition]:
        """Open positions, of one account or all."""
        ...

    def balances(self, account_id: str) -> list[VenueBalance]:
        """Wallet balances of an account."""
        ...

    def transfer(
        self,
        transfer_id: str,
        from_account: str,
        to_account: str,
        currency: str,
        amount: Decimal,
    ) -> TransferReceipt:
        """Move ``amount`` of ``currency`` between two wallets of the same owner (spot →
        futures); idempotent by ``transfer_id``."""
        ...


class SimulatedVenue(Protocol):
    """A venue driven by market data the application feeds it (the paper venue in replays and
    backtests): it matches its working orders on every update it is given."""

    def on_quote(self, instrument_key: str, quote: Quote) -> int:
        """Match working orders of one instrument against a quote; returns executions made."""
        ...

    def on_candle(self, instrument_key: str, candle: Candle) -> int:
        """Match working orders of one instrument against a bar; returns executions made. A bar
        not newer than the last one seen for the instrument is ignored (replays may repeat)."""
        ...


class Sleeper(Protocol):
    """Waits between retries (a real sleep live; a no-op that advances a manual clock in tests
    and replays). Logic never calls ``time.sleep`` directly."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


__all__ = [
    "AmendRequest",
    "Broker",
    "BrokerCapabilities",
    "FillPage",
    "OrderRequest",
    "SimulatedVenue",
    "Sleeper",
    "TransferReceipt",
    "VenueBalance",
    "VenueOrder",
    "VenuePosition",
]
