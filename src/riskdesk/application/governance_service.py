"""Governance use cases: the management tick, entry registration, profile attachment and the
views behind ``riskdesk governance show`` and ``riskdesk manage``.

A tick reads the book at the stored marks, attaches a governance state (and its profile) to
every governed position it has not seen, computes the market analytics in NumPy — ATR with
TA-Lib on closed bars (no look-ahead), the extremes and close statistics since each entry, the
revaluation (P&L, ROE, liquidation distance) — and runs the pure rules through the vectorised
batch. Every order of every plan then goes through pre-trade risk (``RiskService.check``, the
decision stored unless it is a dry run); refused orders have their effects undone in the state.
Plans (with when and why), states and governance events are stored in one unit of work.
Plans are not sent anywhere yet: handing them to the order manager is the next issue.
"""

from __future__ import annotations

import gc
import math
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Protocol

import numpy as np
import talib
from numpy.typing import NDArray

from riskdesk.application.book_service import BookService
from riskdesk.application.risk_service import RiskService
from riskdesk.domain.accounting.portfolio import PositionView
from riskdesk.domain.accounting.position_table import PositionTable
from riskdesk.domain.errors import ConfigError, InvalidValue, NotFound, UnknownAccount
from riskdesk.domain.governance import levels as lv
from riskdesk.domain.governance.batch import (
    GovernanceBook,
    PositionColumns,
    manage_batch,
    signal_may_act,
)
from riskdesk.domain.governance.engine import Evaluation, settle_denials
from riskdesk.domain.governance.plan import (
    GovernanceEvent,
    ManagePlan,
    StoredPlan,
)
from riskdesk.domain.governance.profile import (
    GovernanceProfile,
    InvalidationCondition,
    timeframe_seconds,
)
from riskdesk.domain.governance.snapshot import CloseStats, Signal, Snapshot, checked_snapshot
from riskdesk.domain.governance.state import GovernanceState, Lifecycle, new_state
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.orders import OrderIntent
from riskdesk.domain.protection import Protection
from riskdesk.domain.risk.aggregates import RiskBook
from riskdesk.domain.risk.decisions import Denied
from riskdesk.domain.values import frozen_factory
from riskdesk.ports.clock import Clock
from riskdesk.ports.store import UnitOfWork, UnitOfWorkFactory

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Bars:
    """OHLC bars of one instrument and timeframe, oldest first. ``ts`` is each bar's open time
    in epoch seconds; prices are in the instrument's price currency."""

    timeframe: str
    ts: NDArray[np.int64]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def closed_by(self, until: datetime) -> Bars:
        """Only the bars whose close time (open + length) is at or before ``until``."""
        end = int(until.timestamp()) - timeframe_seconds(self.timeframe)
        n = int(np.searchsorted(self.ts, end, side="right"))
        return Bars(
            self.timeframe, self.ts[:n], self.open[:n], self.high[:n], self.low[:n], self.close[:n]
        )


def resample(bars: Bars, timeframe: str) -> Bars:
    """Aggregate bars into a coarser ``timeframe`` aligned on UTC epoch multiples (open of the
    first, max high, min low, close of the last). An incomplete last group is dropped."""
    step = timeframe_seconds(timeframe)
    base = timeframe_seconds(bars.timeframe)
    if step == base:
        return bars
    if step < base or step % base:
        raise InvalidValue(
            f"cannot build {timeframe} bars from {bars.timeframe} bars", field="timeframe"
        )
    if not len(bars):
        return Bars(timeframe, bars.ts, bars.open, bars.high, bars.low, bars.close)
    group = bars.ts // step
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[starts[1:], len(bars)]
    complete = (ends - starts) == step // base
    starts, ends = starts[complete], ends[complete]
    return Bars(
        timeframe,
        group[starts] * step,
        bars.open[starts],
        np.maximum.reduceat(bars.high, starts)[: len(starts)] if len(starts) else bars.high[:0],
        np.minimum.reduceat(bars.low, starts)[: len(starts)] if len(starts) else bars.low[:0],
        bars.close[ends - 1],
    )


class BarSource(Protocol):
    """Where bars come from (bundled files, a feed's candle store…)."""

    def bars(self, instrument_key: str, timeframe: str, until: datetime) -> Bars | None:
        """Bars of ``timeframe`` for the instrument that closed by ``until``; None if unknown."""
        ...


def wilder_atr(bars: Bars, period: int) -> float | None:
    """ATR(``period``) of the last closed bar with TA-Lib (Wilder smoothing), price units; None
    with fewer than ``period + 1`` bars."""
    if len(bars) < period + 1:
        return None
    values = talib.ATR(bars.high, bars.low, bars.close, timeperiod=period)
    last = float(values[-1])
    return last if np.isfinite(last) else None


@dataclass(frozen=True, slots=True)
class GovernanceConfig:
    """Plain governance configuration (built by bootstrap from the typed settings).

    ``assignments`` map ``account/venue:symbol``, ``venue:symbol``, ``account`` or ``venue`` to
    a profile name (most specific first); ``managed_kinds`` are the instrument kinds governance
    adopts on its own (``perpetual``, ``future``, ``spot``); options are left to the option
    rebalancer; ``accounts`` limits governance to those accounts (empty: every account)."""

    profiles: Mapping[str, GovernanceProfile]
    default_profile: str = "standard"
    assignments: Mapping[str, str] = field(default_factory=dict)
    managed_kinds: frozenset[str] = frozenset({"perpetual", "future"})
    accounts: frozenset[str] = frozenset()

    def governs(self, account_id: str) -> bool:
        """Whether positions of ``account_id`` are governed (every account when ``accounts`` is
        empty)."""
        return not self.accounts or account_id in self.accounts

    def __post_init__(self) -> None:
        for name in (self.default_profile, *self.assignments.values()):
            if name not in self.profiles:
                raise ConfigError(
                    f"unknown profile {name!r} (known: {', '.join(sorted(self.profiles))})",
                    field="governance.profiles",
                )

    def profile(self, name: str) -> GovernanceProfile:
        """A profile by name (a clear error naming the known ones)."""
        try:
            return self.profiles[name]
        except KeyError:
            raise InvalidValue(
                f"unknown profile {name!r} (known: {', '.join(sorted(self.profiles))})",
                field="profile",
            ) from None

    def profile_for(self, account_id: str, venue: str, symbol: str) -> GovernanceProfile:
        """The profile a newly seen position gets."""
        for key in (f"{account_id}/{venue}:{symbol}", f"{venue}:{symbol}", account_id, venue):
            if key in self.assignments:
                return self.profiles[self.assignments[key]]
        return self.profiles[self.default_profile]


@dataclass(frozen=True, slots=True)
class OrderCheck:
    """The pre-trade decision on one planned order."""

    intent_id: str
    approved: bool
    code: str
    reason: str
    suggestion: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form."""
        return {
            "intent_id": self.intent_id,
            "approved": self.approved,
            "code": self.code,
            "reason": self.reason,
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True, slots=True)
class CheckedPlan:
    """A plan, the symbol it is for, and the pre-trade decision on each of its orders."""

    plan: ManagePlan
    symbol: str
    side: str
    checks: tuple[OrderCheck, ...]
    status: str

    def check_of(self, intent_id: str | None) -> OrderCheck | None:
        """The decision on the order with ``intent_id``."""
        return next((c for c in self.checks if c.intent_id == intent_id), None)

    def to_dict(self) -> dict[str, object]:
        """The seed 003 response plus ``checks`` and ``status``."""
        return {
            **self.plan.to_dict(),
            "symbol": self.symbol,
            "side": self.side,
            "status": self.status,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass(frozen=True, slots=True)
class TickResult:
    """One management tick."""

    as_of: datetime
    dry_run: bool
    positions: int
    screened: int
    plans: tuple[CheckedPlan, ...]
    events: tuple[GovernanceEvent, ...]
    elapsed_seconds: float


@dataclass(frozen=True, slots=True)
class LadderStep:
    """One take-profit step as the trader reads it: trigger (price for R steps, ROE for ROE
    steps), the share it closes, and whether it is done."""

    ladder: str
    label: str
    trigger: str
    fraction: float
    done: bool


@dataclass(frozen=True, slots=True)
class GovernanceView:
    """A governed position: its state, profile and where the stop and ladders stand."""

    state: GovernanceState
    symbol: str
    side: str
    qty: Decimal | None
    entry: Decimal | None
    mark: Decimal | None
    roe: Decimal | None
    steps: tuple[LadderStep, ...]
    next_lock: str
    add_ons: str
    #: The stop working at the venue for this position (the protection supervisor's record;
    #: None: none), which can differ from the governed ``state.stop_price`` while a
    #: replacement is pending, was refused, or before the engine executed the plan.
    venue_stop: Protection | None = None

    @property
    def stop_differs(self) -> bool:
        """Whether what protects the position at the venue is not the governed stop (level or
        size), or a change of it is still pending there."""
        s, w = self.state, self.venue_stop
        if s.stop_price is None or s.lifecycle.terminal:
            return False
        return w is None or w.pending is not None or (w.level, w.qty) != (s.stop_price, s.stop_qty)


@dataclass(frozen=True, slots=True)
class _Kept:
    """The governance states kept in memory between ticks, as of a store revision."""

    revision: int
    book: GovernanceBook


_TERMINAL = 3  # batch lifecycle code of CLOSED (FAILED is 4)


@dataclass(frozen=True, slots=True)
class _Pairing:
    """The kept rows paired with the book's positions, and what is kept per row with them:
    ``adopted`` the states of positions governance has not seen (new rows after the kept
    ones); ``rows`` the position row of each state row (-1: none) and ``state_of`` the inverse;
    ``instruments`` per state row, ``which`` their number in ``keys`` and ``constants``
    (contract size, tick, taker fee, inverse, lot, minimum quantity) per state row. Valid for
    the kept rows it was made from (``layout``), the same position ids and the same catalog."""

    layout: object
    ids: tuple[str, ...]
    known: tuple[str, ...]
    adopted: tuple[GovernanceState, ...]
    rows: NDArray[np.int64]
    state_of: NDArray[np.int64]
    instruments: tuple[Instrument, ...]
    keys: tuple[str, ...]
    which: NDArray[np.int64]
    constants: FloatArray

    @classmethod
    def of(
        cls,
        kept: GovernanceBook,
        book: GovernanceBook,
        table: PositionTable,
        known: tuple[str, ...],
        rows: NDArray[np.int64],
        catalog: Mapping[str, Instrument],
    ) -> _Pairing:
        numbers: dict[str, int] = {}
        which = np.array(
            [numbers.setdefault(s.instrument_key, len(numbers)) for s in book.states],
            dtype=np.int64,
        )
        keys = tuple(numbers)
        per = np.array(
            [
                (
                    float(i.contract_size),
                    float(i.tick_size),
                    float(i.taker_fee_rate),
                    float(i.inverse),
                    float(i.lot_size),
                    float(i.min_qty),
                )
                for i in (catalog[k] for k in keys)
            ],
            dtype=float,
        ).reshape(len(keys), 6)
        state_of = np.full(table.n, -1, dtype=np.int64)
        have = rows >= 0
        state_of[rows[have]] = np.flatnonzero(have)
        return cls(
            kept.layout,
            table.position_id,
            known,
            tuple(book.states[len(kept.states) :]),
            rows,
            state_of,
            tuple(catalog[s.instrument_key] for s in book.states),
            keys,
            which,
            per[which].T.copy(),
        )

    def matches(self, kept: GovernanceBook, table: PositionTable, known: tuple[str, ...]) -> bool:
        """Whether this pairing holds for ``kept`` and ``table``."""
        return kept.layout is self.layout and known == self.known and table.position_id == self.ids

    def book(self, kept: GovernanceBook) -> GovernanceBook:
        """The rows to govern: ``kept`` and the adopted states."""
        return kept.extended(self.adopted)

    def rebound(self, kept: GovernanceBook) -> _Pairing:
        """This pairing for ``kept``, the book a tick that adopted states kept: its rows are
        the extended rows, the adopted states bound to their positions now."""
        return _Pairing(
            kept.layout,
            self.ids,
            self.known,
            (),
            self.rows,
            self.state_of,
            self.instruments,
            self.keys,
            self.which,
            self.constants,
        )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a tick over thousands of positions allocates
    hundreds of thousands of small acyclic objects, and every collection would traverse the
    whole kept book. Reference counting frees them; collection resumes after the tick."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class GovernanceService:
    """The governance use cases."""

    def __init__(
        self,
        book: BookService,
        risk: RiskService,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        config: GovernanceConfig,
        bars: BarSource | None = None,
    ) -> None:
        self._book = book
        self._risk = risk
        self._uow = uow_factory
        self._clock = clock
        self.config = config
        self._bars = bars
        self._kept: _Kept | None = None
        # The last pairings of kept rows with the book's positions (see ``_paired``).
        self._pairings: deque[_Pairing] = deque(maxlen=2)

    # ------------------------------------------------------------------ registration

    def register_entry(
        self,
        intent: OrderIntent,
        profile: str | None = None,
        *,
        stop: Decimal | None = None,
        activation_price: Decimal | None = None,
        invalidation: Sequence[Mapping[str, object]] = (),
        now: datetime | None = None,
    ) -> GovernanceState:
        """Govern the position an entry intent will open (PENDING_ENTRY until it appears).
        ``stop`` is a given protective stop level; ``invalidation`` structured conditions such
        as ``{"timeframe": "1h", "close_below": 41500}``."""
        now = now or self._clock.now()
        chosen = (
            self.config.profile(profile)
            if profile
            else self.config.profile_for(intent.account_id, intent.venue, intent.symbol)
        )
        state = new_state(
            intent.intent_id,
            intent.account_id,
            intent.instrument_key,
            intent.position_side.value,
            chosen,
            stop_override=stop if stop is not None else intent.protective_stop,
            activation_price=activation_price,
            invalidation=tuple(InvalidationCondition.parse(c) for c in invalidation),
            now=now,
        )
        with self._uow() as uow:
            if uow.governance.get(intent.intent_id) is not None:
                raise InvalidValue(
                    f"intent {intent.intent_id!r} is already governed", field="intent_id"
                )
            uow.governance.put_states([state])
            uow.commit()
        return state

    def govern_entry(
        self, intent: OrderIntent, *, now: datetime | None = None
    ) -> GovernanceState | None:
        """Register a hand-submitted entry with a protective stop (``riskdesk orders submit
        --stop``) before it is sent, so the position it opens is governed with the trader's
        stop as its initial stop — and R (``|entry − stop|``) measured from it — instead of
        being adopted later with the profile's own stop rule.

        Nothing is registered (None) for an order that is not an entry with a stop
        (reduce-only, no ``protective_stop``), on an account or instrument kind governance does
        not manage, when the intent is already registered (a resubmission), or when the slot
        already holds a position or a governed state: adding to a position keeps the stop it
        has (``riskdesk governance attach --stop`` tightens it). Call :meth:`entry_ended` when
        the order ends without a fill."""
        if intent.reduce_only or intent.protective_stop is None:
            return None
        if not self.config.governs(intent.account_id):
            return None
        now = now or self._clock.now()
        key = intent.instrument_key
        slot = intent.position_side.value
        with self._uow() as uow:
            inst = uow.instruments.get(key)
            if inst is None or inst.kind.value not in self.config.managed_kinds:
                return None
            if uow.governance.get(intent.intent_id) is not None:
                return None
            if any(
                s.account_id == intent.account_id and s.instrument_key == key and s.slot == slot
                for s in uow.governance.states()
            ):
                return None
        try:
            views = self._book.positions([intent.account_id], now)
        except UnknownAccount:
            return None  # an unknown account: the order path refuses the order itself
        if any(f"{v.venue}:{v.symbol}" == key and v.slot == slot and v.qty for v in views):
            return None
        return self.register_entry(intent, now=now)

    def attach(
        self,
        position_id: str,
        profile: str,
        *,
        stop: Decimal | None = None,
        activation_price: Decimal | None = None,
        invalidation: Sequence[Mapping[str, object]] | None = None,
        now: datetime | None = None,
    ) -> GovernanceState:
        """Attach ``profile`` (and optional per-position settings) to an open position; the
        working stop and ladder progress are kept. Takes effect at the next tick.

        ``stop`` (price currency) is snapped to the tick in the safe direction. It is refused
        (``InvalidValue`` naming ``stop``, nothing changed) when it is at or through the mark —
        it would close the position at once — or, on a position whose stop is placed, when it
        is looser than that stop or the one working at the venue: a stop only tightens. A
        tighter one replaces the stop at the next tick; R stays what the initial stop set."""
        now = now or self._clock.now()
        chosen = self.config.profile(profile)
        conditions = (
            None
            if invalidation is None
            else tuple(InvalidationCondition.parse(c) for c in invalidation)
        )
        with self._uow() as uow:
            state = next((s for s in uow.governance.states() if s.position_id == position_id), None)
            working = _working_stops(uow)
            catalog = {i.key: i for i in uow.instruments.all()}
        view = next(
            (v for v in self._book.positions(None, now) if v.position_id == position_id),
            None,
        )
        if state is None:
            if view is None:
                raise NotFound(f"no open position {position_id!r}", field="position_id")
            state = new_state(
                f"adopt:{position_id}",
                view.account_id,
                f"{view.venue}:{view.symbol}",
                view.slot,
                chosen,
                now=now,
            )
        changes: dict[str, object] = {"profile": chosen, "updated_at": now}
        if stop is not None:
            inst = catalog.get(state.instrument_key)
            changes["stop_override"] = (
                stop
                if view is None or inst is None
                else _given_stop(state, view, inst, stop, working.get(_slot_key(state)))
            )
        if activation_price is not None:
            changes["activation_price"] = activation_price
        if conditions is not None:
            changes["invalidation"] = conditions
        state = state.evolve(**changes)
        with self._uow() as uow:
            uow.governance.put_states([state])
            uow.commit()
        return state

    def entry_ended(
        self, intent_id: str, reason: str, now: datetime | None = None
    ) -> GovernanceState | None:
        """The entry order of a governed intent ended without opening its position (rejected,
        cancelled, expired): a state still waiting for it (PENDING_ENTRY) → FAILED. Nothing
        happens to an unknown intent or a state that has moved on; returns the failed state."""
        with self._uow() as uow:
            state = uow.governance.get(intent_id)
        if state is None or state.lifecycle is not Lifecycle.PENDING_ENTRY:
            return None
        return self.mark_failed(intent_id, reason, now)

    def mark_failed(
        self, intent_id: str, reason: str, now: datetime | None = None
    ) -> GovernanceState:
        """An entry that never filled, or a close that cannot be done: → FAILED (``StateError``
        from any lifecycle but PENDING_ENTRY and PENDING_CLOSING)."""
        now = now or self._clock.now()
        with self._uow() as uow:
            state = uow.governance.get(intent_id)
            if state is None:
                raise NotFound(f"no governed intent {intent_id!r}", field="intent_id")
            new = state.transition(Lifecycle.FAILED, reason, now)
            uow.governance.put_states([new])
            uow.governance.add_events(
                [
                    GovernanceEvent(
                        now,
                        "LIFECYCLE",
                        intent_id,
                        state.position_id,
                        f"{state.lifecycle.value} → failed: {reason}",
                    )
                ]
            )
            uow.commit()
        return new

    def _accounts(self) -> list[str] | None:
        """The governed accounts that exist (None: every account)."""
        if not self.config.accounts:
            return None
        known = {a.account_id for a in self._book.accounts()}
        return sorted(self.config.accounts & known)

    # ------------------------------------------------------------------ tick

    def tick(
        self,
        now: datetime | None = None,
        *,
        dry_run: bool = False,
        signals: Mapping[str, Sequence[Signal]] | None = None,
    ) -> TickResult:
        """One management tick over every governed position (see the module docstring).
        ``signals`` by position id; ``dry_run`` plans and checks without storing anything."""
        started = time.perf_counter()
        now = now or self._clock.now()
        if now.tzinfo is None:
            raise InvalidValue("must be timezone-aware (UTC)", field="now")
        with _gc_paused():
            return self._tick(now, dry_run, signals or {}, started)

    def _tick(
        self,
        now: datetime,
        dry_run: bool,
        signals: Mapping[str, Sequence[Signal]],
        started: float,
    ) -> TickResult:
        table = self._book.position_table(self._accounts(), now)
        with self._uow() as uow:
            catalog = {i.key: i for i in uow.instruments.all()}
            kept = self._keep(uow, catalog)
            marks = uow.prices.marks()
        paired = self._paired(kept.book, table, catalog)
        book = paired.book(kept.book)
        states = book.states
        instruments = paired.instruments
        rows = paired.rows.tolist()
        views = table.views
        market = _Market(self._bars, now)
        cols = self._columns(book, paired, table, market, signals)

        def snapshot_of(i: int) -> Snapshot:
            row = rows[i]
            view = views[row] if row >= 0 else None
            return self._snapshot(states[i], view, instruments[i], cols, i, market, signals, marks)

        def facts_of(i: int) -> Snapshot:
            row = rows[i]
            if row < 0:
                return snapshot_of(i)
            return _facts(views[row], instruments[i], cols, i)

        result = manage_batch(book, cols, snapshot_of, now, facts_of=facts_of)
        checked, settled, events = self._check(result.evaluations, book, now, dry_run)
        final = result.book.with_states(settled)
        if dry_run:
            # Nothing stored: the kept copy stays what the store holds.
            self._kept = kept
        else:
            changed = [s for s, old in zip(final.states, states, strict=True) if s is not old]
            if changed or checked or events:
                with self._uow() as uow:
                    current = uow.governance.revision()
                    uow.governance.put_states(changed)
                    uow.governance.add_plans([_stored(c) for c in checked])
                    uow.governance.add_events(events)
                    revision = uow.governance.revision()
                    uow.commit()
                # Someone else wrote since the copy was taken: reload at the next tick.
                self._kept = _Kept(revision, final) if current == kept.revision else None
            else:
                self._kept = _Kept(kept.revision, final)
            if paired.adopted:
                # The adopted rows are bound to their positions now: the pairing holds for the
                # kept book too.
                self._pairings.append(paired.rebound(final))
        return TickResult(
            now,
            dry_run,
            int(np.count_nonzero(book.table[:, 0] < _TERMINAL)),
            result.screened,
            tuple(checked),
            tuple(events),
            time.perf_counter() - started,
        )

    def _keep(self, uow: UnitOfWork, catalog: Mapping[str, Instrument]) -> _Kept:
        """The governed states as a kept book, reloaded only when the store has changed since
        it was taken (a revision check: one indexed query)."""
        revision = uow.governance.revision()
        kept = self._kept
        if kept is None or kept.revision != revision:
            states = [
                s
                for s in uow.governance.states()
                if self.config.governs(s.account_id) and s.instrument_key in catalog
            ]
            kept = _Kept(revision, GovernanceBook.of(states))
        elif np.count_nonzero(kept.book.table[:, 0] >= _TERMINAL) > len(kept.book.states) // 10:
            kept = _Kept(revision, kept.book.compacted()[0])
        self._kept = kept
        return kept

    def _paired(
        self, book: GovernanceBook, table: PositionTable, catalog: Mapping[str, Instrument]
    ) -> _Pairing:
        """The kept book paired with the book's positions: reused while neither the kept rows
        (``GovernanceBook.layout``), the positions nor the catalog changed."""
        known = tuple(sorted(catalog))
        for pairing in self._pairings:
            if pairing.matches(book, table, known):
                return pairing
        pairing = self._pair(book, table, catalog, known)
        self._pairings.append(pairing)
        return pairing

    def _pair(
        self,
        book: GovernanceBook,
        table: PositionTable,
        catalog: Mapping[str, Instrument],
        known: tuple[str, ...],
    ) -> _Pairing:
        """Pair every governed state with its position's row (-1: the position is gone, or
        the entry has not filled) and adopt managed positions that have no state yet (new
        rows)."""
        accounts = self.config.accounts
        by_position = {
            pid: row
            for row, (pid, key, account) in enumerate(
                zip(table.position_id, table.instrument_key, table.account_id, strict=True)
            )
            if key in catalog and (not accounts or account in accounts)
        }
        paired = [-1] * len(book.states)
        pending: dict[tuple[str, str, str], int] = {}
        for i, state in enumerate(book.states):
            if state.position_id:
                paired[i] = by_position.pop(state.position_id, -1)
            elif state.lifecycle is Lifecycle.PENDING_ENTRY:
                pending.setdefault((state.account_id, state.instrument_key, state.slot), i)
        adopted: list[GovernanceState] = []
        for pid, row in by_position.items():
            account, key, slot = table.account_id[row], table.instrument_key[row], table.slot[row]
            bound = pending.pop((account, key, slot), None)
            if bound is not None:
                # A registered entry binds to the position that appeared in its slot.
                paired[bound] = row
                continue
            if table.kind[row].split("/")[0] not in self.config.managed_kinds:
                continue
            venue, symbol = key.split(":", 1)
            adopted.append(
                new_state(
                    f"adopt:{pid}",
                    account,
                    key,
                    slot,
                    self.config.profile_for(account, venue, symbol),
                )
            )
            paired.append(row)
        extended = book.extended(adopted)
        return _Pairing.of(book, extended, table, known, np.array(paired, dtype=np.int64), catalog)

    def _columns(
        self,
        book: GovernanceBook,
        paired: _Pairing,
        table: PositionTable,
        market: _Market,
        signals: Mapping[str, Sequence[Signal]],
    ) -> PositionColumns:
        """Market columns of the paired rows: the book's columns gathered by row, instrument
        constants, signals, and ATR, extremes and close statistics from the bars."""
        n = len(book.states)
        rows = paired.rows
        have = rows >= 0
        at = np.where(have, rows, 0)

        def gather(values: FloatArray, missing: float) -> FloatArray:
            return np.where(have, values[at], missing) if table.n else np.full(n, missing)

        nan = math.nan
        qty = gather(table.qty, 0.0)
        opened = gather(table.opened, nan)
        has_signal = np.zeros(n, dtype=bool)
        for pid, got in signals.items():
            # Only signals that can act: the others would send their rows to the rules for
            # nothing.
            row = table.index.get(pid, -1) if got else -1
            i = int(paired.state_of[row]) if row >= 0 else -1
            if i >= 0:
                direction = 1 if table.qty[row] > 0 else -1
                state = book.states[i]
                has_signal[i] = any(signal_may_act(state, sig, direction) for sig in got)
        atr = np.full(n, nan)
        high = np.full(n, nan)
        low = np.full(n, nan)
        timeframes = {tf for tf, _ in book.conditions.groups}
        close_low = {tf: np.full(n, nan) for tf in timeframes}
        close_high = {tf: np.full(n, nan) for tf in timeframes}
        # Rows by instrument and by the ATR their profile asks for, as index arrays.
        atr_keys = [(p.atr_timeframe, p.atr_period) for p in book.profiles.items]
        kinds = sorted(set(atr_keys)) or [("1h", 14)]
        atr_kind = np.array([kinds.index(k) for k in atr_keys], dtype=np.int64)
        profile_rows = book.column("profile").astype(np.int64)
        which = paired.which
        live = ~np.isnan(opened)
        group = np.where(live, which * len(kinds) + atr_kind[profile_rows], -1)
        order = np.argsort(group, kind="stable")
        bounds = np.flatnonzero(np.diff(group[order])) + 1
        keys = paired.keys
        for rows_ in np.split(order, bounds) if n else []:
            g = int(group[rows_[0]])
            if g < 0:
                continue
            key = keys[g // len(kinds)]
            tf, period = kinds[g % len(kinds)]
            bars = market.bars(key, tf)
            if bars is None:
                continue
            value = market.atr(key, tf, period)
            if value is not None:
                atr[rows_] = value
            stats = market.extremes(key, tf)
            if stats is not None:
                pos = np.searchsorted(bars.ts, opened[rows_], side="left")
                ok = pos < len(bars)
                high[rows_[ok]] = stats.high[pos[ok]]
                low[rows_[ok]] = stats.low[pos[ok]]
        for number, key in enumerate(keys):
            idx = np.flatnonzero(live & (which == number))
            if not idx.size:
                continue
            for tf in timeframes:
                bars = market.bars(key, tf)
                stats = market.extremes(key, tf)
                if bars is None or stats is None:
                    continue
                pos = np.searchsorted(bars.ts, opened[idx], side="left")
                ok = pos < len(bars)
                close_low[tf][idx[ok]] = stats.close_low[pos[ok]]
                close_high[tf][idx[ok]] = stats.close_high[pos[ok]]
        per = paired.constants
        return PositionColumns(
            qty=qty,
            entry=gather(table.entry, 0.0),
            margin=gather(table.margin, 0.0),
            mark=gather(table.mark, 1.0),
            contract_size=per[0],
            inverse=per[3] > 0,
            tick=per[1],
            fee_rate=per[2],
            high=high,
            low=low,
            atr=atr,
            liquidation=gather(table.liquidation, nan),
            liq_distance=gather(table.liq_distance, nan),
            has_signal=has_signal,
            lot=per[4],
            min_qty=per[5],
            opened=opened,
            close_low=close_low,
            close_high=close_high,
        )

    def _snapshot(
        self,
        state: GovernanceState,
        view: PositionView | None,
        inst: Instrument,
        cols: PositionColumns,
        i: int,
        market: _Market,
        signals: Mapping[str, Sequence[Signal]],
        marks: Mapping[str, tuple[Decimal, datetime]],
    ) -> Snapshot:
        if view is None:
            mark = marks.get(inst.key, (Decimal(1), market.now))[0]
            return Snapshot(
                inst,
                state.position_id or "",
                Decimal(0),
                Decimal(0),
                Decimal(0),
                state.opened_at or market.now,
                mark if mark > 0 else Decimal(1),
            )
        closes: dict[str, CloseStats] = {}
        for tf in cols.close_low:
            stats = market.close_stats(inst.key, tf, view.opened_at)
            if stats is not None:
                closes[tf] = stats
        return Snapshot(
            instrument=inst,
            position_id=view.position_id,
            qty=view.qty,
            entry=view.entry_price,
            margin=view.margin_ccy,
            opened_at=view.opened_at,
            mark=view.mark_price,
            leverage=view.leverage,
            atr=_opt(cols.atr, i),
            high=_opt(cols.high, i),
            low=_opt(cols.low, i),
            liquidation=view.liquidation_price,
            closes=closes,
            signals=tuple(signals.get(view.position_id, ())),
        )

    def _check(
        self,
        evaluations: Mapping[int, Evaluation],
        book: GovernanceBook,
        now: datetime,
        dry_run: bool,
    ) -> tuple[list[CheckedPlan], dict[int, GovernanceState], list[GovernanceEvent]]:
        """Pre-trade risk on every planned order (one risk book per tick); the states with
        refused orders settled, by row."""
        checked: list[CheckedPlan] = []
        states: dict[int, GovernanceState] = {}
        events: list[GovernanceEvent] = []
        risk_book: RiskBook | None = None
        check = self._risk.check
        for i in sorted(evaluations):
            evaluation = evaluations[i]
            events.extend(evaluation.events)
            plan = evaluation.plan
            if plan is None:
                continue
            checks: list[OrderCheck] = []
            denied: set[str] = set()
            for order in plan.orders:
                if risk_book is None:
                    risk_book = self._risk.risk_book(now)
                decision = check(order, risk_book, now, what_if=dry_run).decision
                if isinstance(decision, Denied):
                    denied.add(order.intent_id)
                    checks.append(
                        _order_check(
                            order.intent_id,
                            False,
                            decision.code.value,
                            decision.reason,
                            decision.suggestion,
                        )
                    )
                else:
                    note = "; ".join(decision.warnings) or _passed(decision.checks)
                    checks.append(_order_check(order.intent_id, True, "approved", note, ""))
            if denied:
                states[i] = settle_denials(book.states[i], evaluation, denied, now)
                events.extend(_denial_events(plan, checks, now))
            if not checks:
                status = "no_orders"
            elif not denied:
                status = "approved"
            else:
                status = "denied" if len(denied) == len(checks) else "partly_denied"
            symbol = plan.instrument_key.split(":", 1)[1]
            side = "long" if evaluation.state.direction > 0 else "short"
            checked.append(_checked_plan(plan, symbol, side, tuple(checks), status))
        return checked, states, events

    # ------------------------------------------------------------------ views

    def overview(
        self, now: datetime | None = None, *, include_closed: bool = False
    ) -> list[GovernanceView]:
        """Every open governed position (with ``include_closed`` the closed and failed ones
        too) with its stop, lock tier, take-profit ladders and add-ons (``riskdesk governance
        show``)."""
        positions = self._book.positions(self._accounts(), now)
        with self._uow() as uow:
            states = uow.governance.states(open_only=not include_closed)
            catalog = {i.key: i for i in uow.instruments.all()}
            working = _working_stops(uow)
        views = {v.position_id: v for v in positions}
        out: list[GovernanceView] = []
        for state in states:
            view = views.get(state.position_id or "")
            shown = _overview(state, view, catalog.get(state.instrument_key))
            protection = working.get(_slot_key(state))
            if (
                protection is not None
                and not state.lifecycle.terminal
                and protection.direction == (state.direction or protection.direction)
            ):
                shown = replace(shown, venue_stop=protection)
            out.append(shown)
        return out

    def states(self, open_only: bool = True) -> list[GovernanceState]:
        """Stored governance states (only PENDING_ENTRY, ACTIVE and PENDING_CLOSING unless
        ``open_only`` is False), by intent id."""
        with self._uow() as uow:
            return uow.governance.states(open_only)

    def plans(
        self,
        since: datetime | None = None,
        position_id: str | None = None,
        limit: int | None = None,
    ) -> list[StoredPlan]:
        """Stored plans, oldest first."""
        with self._uow() as uow:
            return uow.governance.plans(since, None, position_id, limit)

    def events(
        self, since: datetime | None = None, kind: str | None = None, limit: int | None = None
    ) -> list[GovernanceEvent]:
        """Stored governance events, oldest first."""
        with self._uow() as uow:
            return uow.governance.events(since, kind, limit)


# A tick checks an order per planned order: build the results the cheap way.
_order_check = frozen_factory(OrderCheck)
_checked_plan = frozen_factory(CheckedPlan)


@lru_cache(maxsize=64)
def _passed(checks: int) -> str:
    return f"passed {checks} checks"


def _denial_events(
    plan: ManagePlan, checks: Sequence[OrderCheck], now: datetime
) -> list[GovernanceEvent]:
    """An ORDER_DENIED event per refused action of ``plan``."""
    refused = {c.intent_id: c for c in checks if not c.approved}
    out = []
    for action in plan.actions:
        found = refused.get(action.intent_id or "")
        if found is not None:
            out.append(
                GovernanceEvent(
                    now,
                    "ORDER_DENIED",
                    plan.intent_id,
                    plan.position_id,
                    f"{action.kind.value} ({action.rule}) refused by pre-trade risk: "
                    f"[{found.code}] {found.reason}",
                    {"intent_id": found.intent_id, "code": found.code},
                )
            )
    return out


def _opt(values: FloatArray | None, i: int) -> float | None:
    if values is None:
        return None
    value = float(values[i])
    return None if math.isnan(value) else value


def _facts(view: PositionView, inst: Instrument, cols: PositionColumns, i: int) -> Snapshot:
    """The snapshot of a row whose plan the batch decides in NumPy: no close statistics and
    no signals (such a row has none that matter), values as the book holds them."""
    return checked_snapshot(
        inst,
        view.position_id,
        view.qty,
        view.entry_price,
        view.margin_ccy,
        view.opened_at,
        view.mark_price,
        view.leverage,
        _opt(cols.atr, i),
        _opt(cols.high, i),
        _opt(cols.low, i),
        view.liquidation_price,
    )


@dataclass(frozen=True, slots=True)
class _Suffix:
    """Suffix extremes of a bar series: element i covers bars i…end."""

    high: FloatArray
    low: FloatArray
    close_low: FloatArray
    close_high: FloatArray
    close_low_at: NDArray[np.int64]
    close_high_at: NDArray[np.int64]


class _Market:
    """Bars, ATR and suffix extremes per (instrument, timeframe), computed once per tick."""

    def __init__(self, source: BarSource | None, now: datetime) -> None:
        self.source = source
        self.now = now
        self._bars: dict[tuple[str, str], Bars | None] = {}
        self._suffix: dict[tuple[str, str], _Suffix | None] = {}
        self._atr: dict[tuple[str, str, int], float | None] = {}

    def bars(self, key: str, timeframe: str) -> Bars | None:
        """Closed bars, or None when there are none or the newest closed more than two bar
        lengths ago (stale history must not set today's ATR)."""
        if (key, timeframe) not in self._bars:
            found = None if self.source is None else self.source.bars(key, timeframe, self.now)
            bars = found.closed_by(self.now) if found is not None else None
            length = timeframe_seconds(timeframe)
            fresh = (
                bars is not None
                and len(bars) > 0
                and int(bars.ts[-1]) + 3 * length >= self.now.timestamp()
            )
            self._bars[(key, timeframe)] = bars if fresh else None
        return self._bars[(key, timeframe)]

    def atr(self, key: str, timeframe: str, period: int) -> float | None:
        if (key, timeframe, period) not in self._atr:
            bars = self.bars(key, timeframe)
            self._atr[(key, timeframe, period)] = None if bars is None else wilder_atr(bars, period)
        return self._atr[(key, timeframe, period)]

    def extremes(self, key: str, timeframe: str) -> _Suffix | None:
        if (key, timeframe) not in self._suffix:
            bars = self.bars(key, timeframe)
            self._suffix[(key, timeframe)] = (
                None
                if bars is None or not len(bars)
                else _Suffix(
                    np.maximum.accumulate(bars.high[::-1])[::-1],
                    np.minimum.accumulate(bars.low[::-1])[::-1],
                    np.minimum.accumulate(bars.close[::-1])[::-1],
                    np.maximum.accumulate(bars.close[::-1])[::-1],
                    _suffix_arg(bars.close, lowest=True),
                    _suffix_arg(bars.close, lowest=False),
                )
            )
        return self._suffix[(key, timeframe)]

    def close_stats(self, key: str, timeframe: str, since: datetime) -> CloseStats | None:
        bars = self.bars(key, timeframe)
        stats = self.extremes(key, timeframe)
        if bars is None or stats is None:
            return None
        start = int(np.searchsorted(bars.ts, since.timestamp(), side="left"))
        if start >= len(bars):
            return None
        lo = int(stats.close_low_at[start])
        hi = int(stats.close_high_at[start])
        return CloseStats(
            float(bars.close[lo]),
            datetime.fromtimestamp(int(bars.ts[lo]), UTC),
            float(bars.close[hi]),
            datetime.fromtimestamp(int(bars.ts[hi]), UTC),
        )


def _suffix_arg(values: FloatArray, *, lowest: bool) -> NDArray[np.int64]:
    """Element i: the index of the lowest (highest) of ``values[i:]``, the first one on ties
    (what ``argmin`` of the slice gives), for every i at once."""
    n = values.shape[0]
    rev = values[::-1]
    best = np.minimum.accumulate(rev) if lowest else np.maximum.accumulate(rev)
    # In reverse order a value equal to the running extreme is an earlier bar: it wins ties.
    better = rev[1:] <= best[:-1] if lowest else rev[1:] >= best[:-1]
    update = np.r_[True, better]
    last = np.maximum.accumulate(np.where(update, np.arange(n), 0))
    return np.asarray((n - 1 - last)[::-1], dtype=np.int64)


def _stored(c: CheckedPlan) -> StoredPlan:
    p = c.plan
    return StoredPlan(
        plan_id=p.plan_id,
        ts=p.created_at,
        position_id=p.position_id,
        intent_id=p.intent_id,
        account_id=p.account_id,
        instrument_key=p.instrument_key,
        profile=p.profile,
        status=c.status,
        why=p.why,
        document=p.to_dict(),
        decisions=tuple(ch.to_dict() for ch in c.checks),
    )


def _slot_key(state: GovernanceState) -> tuple[str, str, str]:
    return state.account_id, state.instrument_key, state.slot


def _working_stops(uow: UnitOfWork) -> dict[tuple[str, str, str], Protection]:
    """The stops working at the venue (the protection supervisor's records), by account,
    instrument and slot."""
    return {(p.account_id, p.instrument_key, p.slot.value): p for p in uow.oms.protections()}


def _given_stop(
    state: GovernanceState,
    view: PositionView,
    inst: Instrument,
    stop: Decimal,
    working: Protection | None,
) -> Decimal:
    """A stop given for an open position (``governance attach --stop``), snapped to the tick in
    the safe direction (a long's up, a short's down); ``InvalidValue`` naming ``stop`` when it
    is at or through the mark, or looser than the stop already protecting the position (the
    governed one or the one working at the venue: a stop only tightens)."""
    long = view.qty > 0
    d = 1 if long else -1
    level = inst.make_stop_price(stop, long)
    side = "long" if long else "short"
    if d * (view.mark_price - level) <= 0:
        raise InvalidValue(
            f"{lv.money(level)} is {'at or above' if long else 'at or below'} the mark "
            f"{lv.money(view.mark_price)} of the {side}: it would close the position at once "
            f"(a {side}'s stop must be {'below' if long else 'above'} the mark)",
            field="stop",
        )
    if state.stop_price is None:
        return level  # the initial stop: it sets R
    held = [("governed", state.stop_price)]
    if working is not None and working.direction == d:
        held.append(("working at the venue", working.level))
    for what, current in held:
        if d * (level - current) < 0:
            raise InvalidValue(
                f"{lv.money(level)} would loosen the {side}'s stop {what} at "
                f"{lv.money(current)}: a placed stop only tightens (give a level "
                f"{'above' if long else 'below'} {lv.money(current)}); nothing was changed",
                field="stop",
            )
    return level


def _overview(
    state: GovernanceState, view: PositionView | None, inst: Instrument | None
) -> GovernanceView:
    p = state.profile
    d = state.direction or (1 if view is None or view.qty > 0 else -1)
    entry = view.entry_price if view is not None else None
    steps: list[LadderStep] = []
    for i, tier in enumerate(p.r_ladder):
        trigger = "—"
        if entry is not None and state.risk_per_unit:
            level = lv.r_level(entry, d, tier.trigger, state.risk_per_unit)
            # Shown on the tick grid (the rule compares the exact level).
            trigger = lv.money(inst.make_price(level) if inst is not None else level)
        steps.append(
            LadderStep("R", f"{tier.trigger:g}R", trigger, tier.fraction, i < state.tp_r_done)
        )
    for i, tier in enumerate(p.roe_ladder):
        steps.append(
            LadderStep(
                "ROE",
                f"ROE {lv.pct(tier.trigger)}",
                f"ROE ≥ {lv.pct(tier.trigger)}",
                tier.fraction,
                i < state.tp_roe_done,
            )
        )
    if state.lock_tier < len(p.lock_tiers):
        nxt = p.lock_tiers[state.lock_tier]
        what = "breakeven" if nxt.lock_roe == 0 else f"lock {lv.pct(nxt.lock_roe)}"
        next_lock = f"tier {state.lock_tier + 1}: ROE ≥ {lv.pct(nxt.trigger_roe)} → {what}"
    else:
        next_lock = "all tiers reached" if p.lock_tiers else "—"
    if p.add_on_cap:
        add_ons = f"{state.add_count}/{p.add_on_cap}"
        if state.add_count < p.add_on_cap and p.add_on_roe_tiers:
            tier_roe = p.add_on_roe_tiers[min(state.add_count, len(p.add_on_roe_tiers) - 1)]
            add_ons += f", next at ROE ≥ {lv.pct(tier_roe)}"
    else:
        add_ons = "off"
    return GovernanceView(
        state=state,
        symbol=state.instrument_key.split(":", 1)[1],
        side="long" if d > 0 else "short",
        qty=view.qty if view is not None else None,
        entry=entry,
        mark=view.mark_price if view is not None else None,
        roe=view.pnl_ratio if view is not None else None,
        steps=tuple(steps),
        next_lock=next_lock,
        add_ons=add_ons,
    )


__all__ = [
    "BarSource",
    "Bars",
    "CheckedPlan",
    "GovernanceConfig",
    "GovernanceService",
    "GovernanceView",
    "LadderStep",
    "OrderCheck",
    "TickResult",
    "resample",
    "wilder_atr",
]
