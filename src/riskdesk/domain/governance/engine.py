"""The governance rules as one pure ratchet: ``evaluate(state, snapshot, now)``.

Order of evaluation at a tick (each step documented in ``docs/governance.md``):

1. **Lifecycle.** A flat position closes its state; a PENDING_ENTRY state whose position appeared
   becomes ACTIVE; PENDING_CLOSING waits for the close to fill; CLOSED/FAILED never act again.
2. **Size.** If the observed size differs from the last one seen, the position changed (fills of
   earlier plans or outside orders): the expected size becomes the observed one, and increases
   extend the take-profit base.
3. **Stop level.** The protective stop at entry (given level, ``E ∓ k·ATR`` or ``E·(1 ∓ p)``, kept
   inside the liquidation price) defines R. The working level is the best of the current stop,
   the lock-profit tier reached, the chandelier and the percent trail — it never loosens.
4. **Exits** (the first that applies closes at market, reduce-only): guard stop (the trigger
   price is through the stop), invalidation conditions, exit signals, time stop, stagnation
   close. Otherwise a STAGNATED alert when held long with |ROE| small.
5. **Take-profit ladders** (R multiples, then ROE), lot-rounded, remainders carried forward.
6. **Add-on** (only before the first take-profit step), ``Q0·γ^j``.
7. **Stop order**: PLACE_STOP, or MOVE_STOP when the level moved by at least ``min_stop_move`` or
   the size it must cover changed — it always covers exactly what remains after this plan's
   reductions (add-ons are covered once they fill).

Evaluating the same snapshot twice gives no new actions; a CLOSED position never gets any; a stop
never loosens; ladder quantities never exceed the position (all property-tested).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache

from riskdesk.domain.errors import InvalidValue, ValidationError
from riskdesk.domain.governance import levels as lv
from riskdesk.domain.governance.plan import (
    Action,
    ActionKind,
    AddLeg,
    GovernanceEvent,
    ManagePlan,
    ReduceLeg,
    hashed_id,
    stamp,
)
from riskdesk.domain.governance.profile import (
    GovernanceProfile,
    LockTier,
    StopMethod,
    TakeProfitTier,
)
from riskdesk.domain.governance.snapshot import SignalKind, Snapshot
from riskdesk.domain.governance.state import GovernanceState, Lifecycle, check_transition
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.orders import OrderIntent, OrderType, TimeInForce, validate_intent
from riskdesk.domain.values import (
    ACCOUNTING_CONTEXT,
    ONE,
    ZERO,
    PositionSide,
    Side,
    exact,
    fast_init,
    frozen_factory,
)

_C = ACCOUNTING_CONTEXT
_SIGNAL_MEMORY = 64


@lru_cache(maxsize=256)
def _r_step_text(tier: TakeProfitTier) -> tuple[str, str, str]:
    """The fixed parts of an R take-profit step's reason."""
    return (
        f"take-profit {tier.trigger:g}R: ",
        f"{tier.trigger:g} × R ",
        f"{lv.pct(tier.fraction)} of the base ",
    )


@lru_cache(maxsize=256)
def _roe_step_text(tier: TakeProfitTier) -> str:
    """The fixed part of an ROE take-profit step's reason (after the ROE)."""
    return f" ≥ {lv.pct(tier.trigger)}: {lv.pct(tier.fraction)} of what is held"


@lru_cache(maxsize=256)
def _kept_after(ladder: tuple[TakeProfitTier, ...], done: int) -> Decimal:
    """``1 − Σ f_j`` over the first ``done`` steps of an R ladder (exact)."""
    return ONE - sum((_decimal(t.fraction) for t in ladder[:done]), ZERO)


@lru_cache(maxsize=1024)
def _decimal(value: float) -> Decimal:
    """A profile's float (fraction, multiple) as the exact decimal of its shortest repr."""
    return Decimal(repr(value))


_SIDES: dict[str, PositionSide] = {side.value: side for side in PositionSide}
_LADDER_RULES = frozenset({"take_profit:r", "take_profit:roe"})
_RULE_NAMES = {
    "initial_stop": "initial stop",
    "given_stop": "given stop",
    "lock_profit": "lock-profit",
    "trail:chandelier": "chandelier trail",
    "trail:percent": "trailing stop",
}


@fast_init
@dataclass(frozen=True, slots=True)
class Evaluation:
    """The new state, the actions (empty when nothing is to be done), the plan carrying them
    (None when empty) and governance events (lifecycle changes, STAGNATED…)."""

    state: GovernanceState
    actions: tuple[Action, ...]
    plan: ManagePlan | None
    events: tuple[GovernanceEvent, ...]


# One per decided row of a tick (thousands on an hourly tick): the cheap constructor.
@fast_init
@dataclass(frozen=True, slots=True)
class Decided:
    """What the vectorised batch decided for one position (``vector.decide``), so that
    :func:`evaluate_decided` only builds the plan. ``roe`` the position's ROE (a fraction,
    checked far from every threshold and rounding boundary); ``reached`` the lock-profit tiers
    reached; ``winner`` the trailing rule whose level moves the stop (0: none; 1 lock-profit,
    2 chandelier, 3 percent trail; −1: a level within rounding error of a tick, the trailing
    rules run exactly) and ``ticks`` that level in ticks (rounded safely); ``initial_ticks``
    the protective stop at entry in ticks for a position without a stop (−1: computed
    exactly);
    ``r_reached`` / ``roe_reached`` the take-profit steps reached in all on each ladder;
    ``exits`` whether a crossing or the time stop may apply (the exit rules then run);
    ``clamped`` whether the stop at entry is the liquidation bound; ``add`` whether an add-on
    may be due (the add-on rule then runs)."""

    roe: float
    reached: int
    winner: int
    ticks: int
    initial_ticks: int
    r_reached: int
    roe_reached: int
    exits: bool
    clamped: bool
    add: bool


_WINNERS = ("", "lock_profit", "trail:chandelier", "trail:percent")

# The objects of a plan, built the cheap way (``values.frozen_factory``): a tick builds a few per
# acting position, thousands per tick after a large move.
_new_action = frozen_factory(Action)
_new_intent = frozen_factory(OrderIntent)
_new_plan = frozen_factory(ManagePlan)
_new_evaluation = frozen_factory(Evaluation)
_new_leg = frozen_factory(ReduceLeg)


def _held(state: GovernanceState, now: datetime) -> float:
    return 0.0 if state.opened_at is None else (now - state.opened_at).total_seconds()


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds < 172800 else f"{seconds / 86400:.1f} d"


# Reasons (shared by the exact rules and the decided path).


def _uses_atr(p: GovernanceProfile, snap: Snapshot) -> bool:
    return p.stop_method is StopMethod.ATR and snap.atr is not None and snap.atr > 0


def _initial_method(p: GovernanceProfile, s: GovernanceState, snap: Snapshot, long: bool) -> str:
    """How the protective stop at entry is placed (given, ATR or percent), in words."""
    if s.stop_override is not None:
        return (
            f"given stop {lv.money(s.stop_override)} (the trader's level, in place of the "
            f"profile's {p.stop_method.value} rule)"
        )
    sign = "−" if long else "+"
    if _uses_atr(p, snap):
        return (
            f"ATR stop: entry {lv.money(snap.entry)} {sign} "
            f"{p.atr_multiplier:g} × ATR{p.atr_period}({p.atr_timeframe}) {snap.atr:,.2f}"
        )
    why = f"percent stop: entry {lv.money(snap.entry)} {sign} {lv.pct(p.stop_percent)}"
    if p.stop_method is StopMethod.ATR:
        why += f" (no ATR{p.atr_period} from recent {p.atr_timeframe} bars)"
    return why


def _initial_stop(s: GovernanceState, snap: Snapshot, long: bool) -> tuple[Decimal, str]:
    """The protective stop at entry (given, ATR or percent, kept inside a liquidation price on
    the loss side, snapped safely) and why."""
    p = s.profile
    d = 1 if long else -1
    entry = snap.entry
    if s.stop_override is not None:
        raw = s.stop_override
    elif _uses_atr(p, snap):
        assert snap.atr is not None  # noqa: S101
        raw = lv.offset_price(entry, d, p.atr_multiplier * snap.atr)
    else:
        raw = lv.scaled_price(entry, 1.0 - d * p.stop_percent)
    why = _initial_method(p, s, snap, long)
    liq = snap.liquidation
    if liq is not None and liq > 0:
        clamped: bool | None = None
        if d * (snap.mark - liq) > 0:
            safe = lv.scaled_price(liq, 1.0 + d * p.liquidation_buffer)
            clamped = d * (raw - safe) < 0
            if clamped:
                raw = safe
        why += _liquidation_note(p, liq, long, clamped)
    level = snap.instrument.make_stop_price(raw, long)
    return level, _initial_reason(s, snap, why, level)


def _initial_reason(s: GovernanceState, snap: Snapshot, why: str, level: Decimal) -> str:
    """``why`` with the level the stop at entry lands on; a given stop also says the R it sets
    (the trader chose the risk: the take-profit ladder counts in multiples of it)."""
    text = f"{why} = {lv.money(level)}"
    if s.stop_override is not None:
        text += (
            f"; 1R = |entry {lv.money(snap.entry)} − stop {lv.money(level)}| = "
            f"{lv.money(abs(snap.entry - level))}"
        )
    return text


def _fee_rate(p: GovernanceProfile, inst: Instrument) -> Decimal:
    """The round-trip fee rate lock levels are net of (per side)."""
    if not p.lock_net_of_fees:
        return ZERO
    if p.fee_rate is not None:
        return _decimal(p.fee_rate)
    return inst.taker_fee_rate


def _extreme(snap: Snapshot, trig: float, long: bool) -> float:
    """The extreme since entry including the trigger price (high for a long, low for a short)."""
    if long:
        return max(trig, snap.high) if snap.high is not None else trig
    return min(trig, snap.low) if snap.low is not None else trig


def _winner_why(
    winner: int, reached: int, s: GovernanceState, snap: Snapshot, long: bool, roe: float
) -> str:
    """The reason of a decided trailing level (``Decided.winner``: 1 lock-profit tier
    ``reached``, 2 chandelier, 3 percent trail)."""
    p = s.profile
    if winner == 1:
        return _lock_why(p.lock_tiers[reached - 1], reached, roe, _fee_rate(p, snap.instrument))
    extreme = _extreme(snap, float(snap.price(p.trigger)), long)
    if winner == 2:
        assert p.chandelier_multiplier is not None and snap.atr is not None  # noqa: S101
        return _chandelier_why(long, extreme, p.chandelier_multiplier, snap.atr)
    assert p.trail_percent is not None  # noqa: S101
    given = s.activation_price
    d = 1 if long else -1
    factor = (
        1.0 + d * p.trail_activation if given is None and p.trail_activation is not None else None
    )
    return _trail_why(
        p.trail_percent, extreme, "high" if long else "low", given, factor, snap.entry
    )


def _liquidation_note(p: GovernanceProfile, liq: Decimal, long: bool, clamped: bool | None) -> str:
    """What the liquidation price did to the stop at entry: kept it inside (``clamped``),
    nothing, or nothing because it lies on the position's profitable side (``None``: a hedge
    leg of a cross-margin group; a stop clamped to it would sit beyond the market)."""
    if clamped is None:
        return (
            f" (the margin group's liquidation price {lv.money(liq)} is on the "
            f"{'long' if long else 'short'}'s profitable side: not a stop bound)"
        )
    if clamped:
        return f", kept {lv.pct(p.liquidation_buffer)} inside the liquidation price {lv.money(liq)}"
    return ""


def _lock_why(tier: LockTier, reached: int, roe: float, fee: Decimal) -> str:
    head, tail = _lock_why_parts(tier, reached, fee)
    return f"{head}{lv.pct(roe)}{tail}"


@lru_cache(maxsize=1024)
def _lock_why_parts(tier: LockTier, reached: int, fee: Decimal) -> tuple[str, str]:
    # The parts of a lock-profit reason around the ROE (the same for every position of a tier).
    what = "breakeven" if tier.lock_roe == 0 else f"lock {lv.pct(tier.lock_roe)} of margin"
    fees = f" net of {lv.pct(float(fee))} fees per side" if fee else ""
    return f"lock-profit tier {reached}: ROE ", f" ≥ {lv.pct(tier.trigger_roe)} → {what}{fees}"


@lru_cache(maxsize=4096)
def _chandelier_why(long: bool, extreme: float, m: float, atr: float) -> str:
    side = "high" if long else "low"
    return (
        f"chandelier trail: {side} since entry {extreme:,.2f} "
        f"{'−' if long else '+'} {m:g} × ATR {atr:,.2f}"
    )


@lru_cache(maxsize=4096)
def _trail_why(
    callback: float,
    extreme: float,
    side: str,
    given: Decimal | None,
    factor: float | None,
    entry: Decimal,
) -> str:
    activation = given
    if activation is None and factor is not None:
        activation = lv.scaled_price(entry, factor)
    armed = "" if activation is None else f" (armed at {lv.money(activation)})"
    return f"trailing stop: {lv.pct(callback)} callback from the {side} {extreme:,.2f}{armed}"


class _Tick:
    """The working memory of one evaluation. ``roe`` is the position's ROE when the caller has
    it (the vectorised batch, checked far from every threshold and rounding boundary it is
    compared with or printed at); ``prevalidated`` says its orders were checked against the
    instrument's grid already (quantities in whole lots ≥ the minimum, stop prices on ticks)."""

    __slots__ = (
        "_plan_id",
        "add_legs",
        "adds",
        "alert_keys",
        "alerts",
        "aq",
        "cancels",
        "changes",
        "consumed",
        "d",
        "dropped",
        "events",
        "exit",
        "exit_rule",
        "inst",
        "key",
        "long",
        "new_pending",
        "now",
        "orders",
        "p",
        "prevalidated",
        "reduce_legs",
        "reduces",
        "retry_actions",
        "roe",
        "seq",
        "snap",
        "state",
        "stop_action",
        "trig",
    )

    def __init__(
        self,
        state: GovernanceState,
        snap: Snapshot,
        now: datetime,
        roe: float | None = None,
        prevalidated: bool = False,
    ) -> None:
        self.state = state
        self.snap = snap
        self.now = now
        self.p: GovernanceProfile = state.profile
        self.inst = snap.instrument
        self.d = 1 if snap.qty > 0 else -1
        self.long = self.d > 0
        self.aq = abs(snap.qty)
        self.trig = snap.price(self.p.trigger)
        self.roe = (
            lv.roe(self.inst, snap.qty, snap.entry, snap.mark, snap.margin) if roe is None else roe
        )
        self.prevalidated = prevalidated
        self.key = state.position_id or state.intent_id
        self._plan_id: str | None = None
        self.seq = 0
        self.exit: Action | None = None
        self.stop_action: Action | None = None
        self.reduces: list[Action] = []
        self.adds: list[Action] = []
        self.alerts: list[Action] = []
        self.orders: list[tuple[Action, OrderIntent]] = []
        self.reduce_legs: list[ReduceLeg] = []
        self.add_legs: list[AddLeg] = []
        self.cancels: list[str] = []
        self.retry_actions: list[Action] = []
        self.dropped = False
        self.new_pending: list[str] = []
        self.events: list[GovernanceEvent] = []
        self.changes: dict[str, object] = {}
        self.consumed: list[str] = []
        self.alert_keys: set[str] = set(state.alerts)
        self.exit_rule = ""

    def set(self, name: str, value: object) -> None:
        """Record the final value of a state field (dropped when it equals the input state's)."""
        if getattr(self.state, name) != value:
            self.changes[name] = value
        else:
            self.changes.pop(name, None)

    def get(self, name: str) -> object:
        """A state field as changed so far in this evaluation."""
        return self.changes.get(name, getattr(self.state, name))

    # ------------------------------------------------------------------ helpers

    @property
    def plan_id(self) -> str:
        """Deterministic plan id (position, tick time), made only when a plan is."""
        if self._plan_id is None:
            self._plan_id = hashed_id("plan", f"{self.key}|{stamp(self.now)}")
        return self._plan_id

    def _intent_id(self, kind: ActionKind) -> str:
        # governance_id("gov", key, now, seq, kind), with the parts joined here.
        self.seq += 1
        return hashed_id("gov", f"{self.key}|{stamp(self.now)}|{self.seq}|{kind.value}")

    def _action(
        self,
        kind: ActionKind,
        rule: str,
        reason: str,
        old: Decimal | None,
        new: Decimal | None,
        qty: Decimal | None,
    ) -> Action:
        """An action that an order carries out (its intent id is the next of the plan)."""
        return _new_action(kind, rule, reason, old, new, qty, self._intent_id(kind), None)

    def _order(
        self,
        action: Action,
        side: Side,
        qty: Decimal,
        *,
        order_type: OrderType = OrderType.MARKET,
        stop_price: Decimal | None = None,
        reduce_only: bool = True,
        protective_stop: Decimal | None = None,
    ) -> Action | None:
        """Attach an order to ``action``; an order the instrument refuses becomes an ALERT."""
        assert action.intent_id is not None  # noqa: S101 - every order action has an id
        inst = self.inst
        derivative = inst.is_derivative
        intent = _new_intent(
            action.intent_id,
            self.state.account_id,
            inst.venue,
            inst.symbol,
            side,
            qty,
            order_type,
            None,
            stop_price,
            reduce_only and derivative,
            False,
            TimeInForce.GTC,
            _SIDES[self.state.slot],
            self.p.trigger,
            self.snap.leverage if not reduce_only and derivative else None,
            protective_stop,
            f"governance:{self.plan_id}",
            self.now,
        )
        try:
            if not self.prevalidated:
                validate_intent(intent, self.inst)
        except ValidationError as exc:
            self._alert(
                f"order_invalid:{action.rule}",
                "order_invalid",
                f"{action.kind.value} not planned: the order is invalid ({exc})",
            )
            return None
        self.orders.append((action, intent))
        return action

    def _alert(self, key: str, rule: str, reason: str, event: str | None = None) -> bool:
        """An ALERT raised once per ``key`` for the life of the position."""
        if key in self.alert_keys:
            return False
        self.alert_keys.add(key)
        self.alerts.append(Action(ActionKind.ALERT, rule, reason, event=event))
        return True

    def _event(self, kind: str, message: str, **data: object) -> None:
        self.events.append(
            GovernanceEvent(
                self.now, kind, self.state.intent_id, self.state.position_id, message, dict(data)
            )
        )

    # ------------------------------------------------------------------ steps

    def sync_size(self) -> Decimal:
        """Take the observed size and settle governance's outstanding market orders against it;
        returns the size expected once the orders still outstanding fill.

        A move toward the expected size is a (partial) fill of those orders; whatever goes
        beyond it, or the other way, was done outside governance. Every increase extends the
        take-profit base."""
        s = self.state
        aq, seen = self.aq, s.seen_qty
        if aq == seen:
            return s.expected_qty
        pending = s.expected_qty - seen
        delta = aq - seen
        if pending != 0 and (delta > 0) == (pending > 0):
            step = min(abs(delta), abs(pending))
            rest = pending - step if pending > 0 else pending + step
        else:
            rest = pending
        expected = max(aq + rest, ZERO)
        self.set("seen_qty", aq)
        self.set("expected_qty", expected)
        if delta > 0:
            self.set("ladder_base", s.ladder_base + delta)
        if expected == aq:
            self._settled()
        elif rest != pending:
            # A fill: the orders are alive, their timeout starts again.
            self.set("pending_since", self.now)
        return expected

    def _settled(self) -> None:
        self.set("pending_since", None)
        self.set("pending_intents", ())
        self.set("retries", 0)

    def _timed_out(self) -> tuple[bool, float]:
        """Whether the outstanding orders have waited ``fill_timeout_seconds`` (and how long).
        Outstanding orders without a time (a state stored before it was kept) count as late."""
        since = self.get("pending_since")
        if since is None:
            return True, math.inf
        assert isinstance(since, datetime)  # noqa: S101
        waited = (self.now - since).total_seconds()
        return waited >= self.p.fill_timeout_seconds, waited

    def _unfilled(self, what: str, expected: Decimal | None, waited: float) -> str:
        """``the take-profit planned at … has not filled after …: 2 held, 1 expected``
        (``expected`` None: a close, which expects nothing)."""
        since = self.get("pending_since")
        when = f" at {since:%Y-%m-%d %H:%M}" if isinstance(since, datetime) else ""
        age = f"after {_hours(waited)}" if math.isfinite(waited) else "in time"
        held = f"{lv.qty(self.aq)} held"
        if expected is None:
            return f"{what} planned{when} has not filled {age}: {held}"
        return f"{what} planned{when} has not filled {age}: {held}, {lv.qty(expected)} expected"

    def retry(self, expected: Decimal) -> Decimal:
        """ACTIVE: outstanding orders that did not fill in time. A reduction is planned again
        (the old order cancelled), an add-on dropped; either raises an ALERT. Returns the
        expected size."""
        rest = expected - self.aq
        if rest == 0:
            return expected
        late, waited = self._timed_out()
        if not late:
            return expected
        pending = self.get("pending_intents")
        assert isinstance(pending, tuple)  # noqa: S101
        self.cancels.extend(pending)
        retries = self.state.retries + 1
        self.set("retries", retries)
        if rest > 0:
            text = self._unfilled("the add-on", expected, waited) + "; dropped (order cancelled)"
            self.alerts.append(Action(ActionKind.ALERT, "unfilled", text, event="UNFILLED"))
            self._event("UNFILLED", text)
            self.set("expected_qty", self.aq)
            self._settled()
            # The next add-on waits its interval from now (and never comes in this tick).
            self.set("last_add_at", self.now)
            self.dropped = True
            return self.aq
        qty = min(-rest, self.aq)
        text = self._unfilled("the take-profit", expected, waited)
        self.alerts.append(Action(ActionKind.ALERT, "unfilled", text, event="UNFILLED"))
        self._event("UNFILLED", text, retries=retries)
        self.set("pending_intents", ())
        reason = f"retry {retries}: {text}; close {lv.qty(qty)} at market again"
        action = self._market_reduce("retry", qty, reason)
        if action is None:
            return expected
        self.retry_actions.append(action)
        self.set("expected_qty", self.aq - qty)
        if qty == self.aq:
            self.exit = action
        return self.aq - qty

    def closing(self, expected: Decimal) -> None:
        """PENDING_CLOSING: the close has not completed. Fills outside governance that grew the
        position are closed too; a close that has not filled in time is planned again for the
        whole position (old orders cancelled, ALERT). The stop keeps covering what is held."""
        late, waited = self._timed_out()
        if late:
            pending = self.get("pending_intents")
            assert isinstance(pending, tuple)  # noqa: S101
            self.cancels.extend(pending)
            retries = self.state.retries + 1
            self.set("retries", retries)
            self.set("pending_intents", ())
            text = self._unfilled("the close", None, waited)
            self.alerts.append(Action(ActionKind.ALERT, "unfilled", text, event="UNFILLED"))
            self._event("UNFILLED", text, retries=retries)
            reason = (
                f"retry {retries}: {text}; close {lv.qty(self.aq)} at market again "
                f"(closing because: {self.state.exit_reason})"
            )
            qty = self.aq
        elif expected > 0:
            reason = (
                f"the position grew to {lv.qty(self.aq)} while closing (fills outside governance): "
                f"close the {lv.qty(expected)} the pending close does not cover"
            )
            qty = expected
        else:
            return
        action = self._market_reduce("retry", qty, reason, kind=ActionKind.CLOSE)
        if action is not None:
            self.retry_actions.append(action)
            self.set("expected_qty", ZERO)

    def initial_level(self) -> tuple[Decimal, str]:
        """The protective stop at entry and why (before any ratchet)."""
        return _initial_stop(self.state, self.snap, self.long)

    def ratchet(self, current: Decimal) -> tuple[Decimal, str, str]:
        """Best stop among the current level and every trailing rule: ``(level, rule, why)``.

        Candidates are compared as floats first; only the winner — or every candidate within
        a relative 1e-9 of it, where float rounding could decide — is computed exactly, and
        only the winner's reason is formatted. Snapping is monotone (up for a long's stop,
        down for a short's) and the current stop is on the grid, so the snapped winner moves
        the stop exactly when the raw winner is beyond it."""
        p, snap = self.p, self.snap
        d = self.d
        # (float level, rule, exact level, reason)
        candidates: list[tuple[float, str, Callable[[], Decimal], Callable[[], str]]] = []
        reached = 0
        for tier in p.lock_tiers:
            if self.roe < tier.trigger_roe:
                break
            reached += 1
        if reached > self.state.lock_tier:
            self.set("lock_tier", reached)
        if reached:
            lock = self._lock_candidate(p.lock_tiers[reached - 1], reached)
            if lock is not None:
                candidates.append(lock)
        extreme = self._extreme()
        side = "high" if self.long else "low"
        atr = snap.atr
        if p.chandelier_multiplier is not None and atr is not None and atr > 0:
            m = p.chandelier_multiplier
            chandelier = extreme - d * m * atr
            if chandelier > 0:
                candidates.append(
                    (
                        chandelier,
                        "trail:chandelier",
                        lambda: Decimal(repr(chandelier)),
                        lambda: _chandelier_why(self.long, extreme, m, atr),
                    )
                )
        if p.trail_percent is not None:
            trail = self._trail_candidate(p.trail_percent, extreme, side)
            if trail is not None:
                candidates.append(trail)
        if not candidates:
            return current, self.state.stop_rule, ""
        best = max(candidates, key=lambda c: d * c[0])
        tol = 1e-9 * abs(best[0])
        if d * (best[0] - float(current)) < -tol:
            return current, self.state.stop_rule, ""
        close = [c for c in candidates if d * (best[0] - c[0]) <= tol]
        if len(close) == 1:
            raw_level, name, why = close[0][2](), close[0][1], close[0][3]
        else:
            exact_values = [(c[2](), c[1], c[3]) for c in close]
            raw_level, name, why = max(exact_values, key=lambda c: d * c[0])
        if d * (raw_level - current) <= 0:
            return current, self.state.stop_rule, ""
        level = self.inst.make_stop_price(raw_level, self.long)
        return level, name, why()

    def _lock_candidate(
        self, tier: LockTier, reached: int
    ) -> tuple[float, str, Callable[[], Decimal], Callable[[], str]] | None:
        """The lock-profit level of the tier reached (see ``levels.price_for_net_pnl``), as a
        float and, on demand, exactly."""
        snap, inst = self.snap, self.inst
        fee = self._fee_rate()
        r = float(fee)
        s = float(snap.qty) * float(inst.contract_size)
        a = abs(s)
        entry = float(snap.entry)
        target = tier.lock_roe * float(snap.margin)
        if not inst.inverse:
            den = s - r * a
            approx = (target + entry * (s + r * a)) / den if den else 0.0
        else:
            den = (s - r * a) / entry - target
            approx = (s + r * a) / den if den else 0.0
        if approx <= 0 or not math.isfinite(approx):
            # Degenerate or close to it: decide exactly.
            exact = self._lock_level(tier, fee)
            if exact is None:
                return None
            approx = float(exact)

        def level() -> Decimal:
            found = self._lock_level(tier, fee)
            assert found is not None  # noqa: S101 - the float level is positive and finite
            return found

        def why() -> str:
            return _lock_why(tier, reached, self.roe, fee)

        return approx, "lock_profit", level, why

    def _lock_level(self, tier: LockTier, fee: Decimal) -> Decimal | None:
        snap = self.snap
        target = _C.multiply(_decimal(tier.lock_roe), snap.margin)
        return lv.price_for_net_pnl(self.inst, snap.qty, snap.entry, target, fee)

    def _trail_candidate(
        self, callback: float, extreme: float, side: str
    ) -> tuple[float, str, Callable[[], Decimal], Callable[[], str]] | None:
        """The percent trail once armed (a position's activation price, or the profile's
        activation move from entry; always armed without either)."""
        p, snap, d = self.p, self.snap, self.d
        given = self.state.activation_price
        factor: float | None = None
        if given is not None:
            if d * (extreme - float(given)) < 0:
                return None
        elif p.trail_activation is not None:
            factor = 1.0 + d * p.trail_activation
            approx = float(snap.entry) * factor
            if abs(extreme - approx) <= 1e-9 * approx:
                # Float rounding could decide: compare with the exact activation price.
                exact = float(lv.scaled_price(snap.entry, factor))
                if d * (extreme - exact) < 0:
                    return None
            elif d * (extreme - approx) < 0:
                return None
        raw = extreme * (1.0 - d * callback)

        def why() -> str:
            return _trail_why(callback, extreme, side, given, factor, snap.entry)

        return raw, "trail:percent", lambda: Decimal(repr(raw)), why

    def why_of(self, winner: int, reached: int) -> str:
        """The reason of a decided trailing level (``Decided.winner``)."""
        return _winner_why(winner, reached, self.state, self.snap, self.long, self.roe)

    def _fee_rate(self) -> Decimal:
        return _fee_rate(self.p, self.inst)

    def _extreme(self) -> float:
        return _extreme(self.snap, float(self.trig), self.long)

    def exits(self, level: Decimal, rule: str) -> str | None:
        """The first exit that applies (its reason, others appended), or None."""
        reasons = [
            *self._crossing(level, rule),
            *self._invalidation(),
            *self._signal_exits(),
            *self._time_exits(),
        ]
        if not reasons:
            return None
        first_rule, first = reasons[0]
        also = "; ".join(r for _, r in reasons[1:])
        self.exit_rule = first_rule
        return first + (f" (also: {also})" if also else "")

    def _crossing(self, level: Decimal, rule: str) -> list[tuple[str, str]]:
        """Guard stop: the trigger price is through the working stop, or through the level the
        stop should move to (a trail the price has already retraced through)."""
        p, current = self.p, self.state.stop_price
        crossed_current = current is not None and self.d * (self.trig - current) <= 0
        if not crossed_current and self.d * (self.trig - level) > 0:
            return []
        price_name = f"{p.trigger.value} price {lv.money(self.trig)}"
        if crossed_current and current is not None:
            text = f"{price_name} is through the working stop {lv.money(current)}"
        else:
            name = _RULE_NAMES.get(rule, rule or "initial stop")
            text = f"the {name} level {lv.money(level)} is already through the {price_name}"
        if p.guard_stop:
            return [("guard_stop", f"guard stop: {text}; close at market")]
        if self._alert("stop_crossed", "stop_crossed", f"stop crossed: {text}"):
            self._event("STOP_CROSSED", text)
        return []

    def _invalidation(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for condition in (*self.state.invalidation, *self.p.invalidation):
            stats = self.snap.closes.get(condition.timeframe)
            if stats is None:
                continue
            below = condition.close_below
            above = condition.close_above
            if below is not None and stats.low < float(below):
                close, ts, side = stats.low, stats.low_ts, "below"
            elif above is not None and stats.high > float(above):
                close, ts, side = stats.high, stats.high_ts, "above"
            else:
                continue
            out.append(
                (
                    "invalidation",
                    f"invalidated: the {condition.timeframe} candle of {ts:%Y-%m-%d %H:%M} "
                    f"closed at {close:,.2f}, {side} {lv.money(condition.level)}",
                )
            )
        return out

    def _signal_exits(self) -> list[tuple[str, str]]:
        p, s = self.p, self.state
        out: list[tuple[str, str]] = []
        for signal in self.snap.signals:
            if signal.signal_id in s.consumed_signals:
                continue
            if signal.kind is SignalKind.EXIT and p.exit_on_signal:
                what = "exit signal"
            elif (
                signal.kind is SignalKind.ENTRY
                and signal.direction == -self.d
                and p.exit_on_opposite_signal
            ):
                what = "opposite entry signal"
            else:
                continue
            self.consumed.append(signal.signal_id)
            out.append(("signal_exit", f"{what} {signal.signal_id} {signal.note}".strip()))
        return out

    def _time_exits(self) -> list[tuple[str, str]]:
        """Time stop; stagnation (STAGNATED once, and a close when the profile says so)."""
        p, s = self.p, self.state
        out: list[tuple[str, str]] = []
        held = _held(s, self.now)
        if p.max_holding_seconds is not None and held >= p.max_holding_seconds:
            out.append(
                (
                    "time_stop",
                    f"time stop: held {_hours(held)} ≥ the maximum {_hours(p.max_holding_seconds)}",
                )
            )
        if (
            p.stagnation_seconds is not None
            and not s.stagnated
            and held > p.stagnation_seconds
            and abs(self.roe) < p.stagnation_roe
        ):
            text = (
                f"stagnated: held {_hours(held)} > {_hours(p.stagnation_seconds)} with |ROE| "
                f"{lv.pct(abs(self.roe))} < {lv.pct(p.stagnation_roe)}"
            )
            self.set("stagnated", True)
            self.alerts.append(Action(ActionKind.ALERT, "stagnation", text, event="STAGNATED"))
            self._event("STAGNATED", text, roe=self.roe, held_seconds=held)
            if p.stagnation_close:
                out.append(("stagnation", text))
        return out

    def close(self, rule: str, reason: str) -> None:
        """CLOSE everything at market (reduce-only). Outstanding orders are cancelled; the
        working stop stays until the position is flat (a close that does not fill must not
        leave it unprotected)."""
        pending = self.get("pending_intents")
        assert isinstance(pending, tuple)  # noqa: S101
        action = self._market_reduce(rule, self.aq, reason, kind=ActionKind.CLOSE)
        if action is None:
            return
        self.cancels.extend(pending)
        self.set("pending_intents", ())
        self.set("expected_qty", ZERO)
        self.exit = action

    def _market_reduce(
        self, rule: str, qty: Decimal, reason: str, kind: ActionKind | None = None
    ) -> Action | None:
        """A reduce-only market order of ``qty`` (CLOSE when it is everything held), recorded as
        outstanding; None when the instrument refuses it (an ALERT says why)."""
        kind = kind or (ActionKind.CLOSE if qty == self.aq else ActionKind.REDUCE)
        action = self._action(kind, rule, reason, self.aq, self.aq - qty, qty)
        if self._order(action, self.d_side_close, qty) is None:
            return None
        assert action.intent_id is not None  # noqa: S101
        self.new_pending.append(action.intent_id)
        return action

    @property
    def d_side_close(self) -> Side:
        return Side.SELL if self.long else Side.BUY

    def take_profits(self, remaining: Decimal, reached: tuple[int, int] | None = None) -> Decimal:
        """Run both ladders; returns what remains after this plan's reductions. ``reached``
        (decided by the vectorised batch): how many steps of the R and the ROE ladder the
        price has reached in all, so no level is tested here."""
        s, p, snap = self.state, self.p, self.snap
        base = self.get("ladder_base")
        assert isinstance(base, Decimal)  # noqa: S101
        risk = self.get("risk_per_unit")
        if p.r_ladder and isinstance(risk, Decimal) and risk > 0:
            i = s.tp_r_done
            keep = _kept_after(p.r_ladder, i)
            trig = float(self.trig)
            end = len(p.r_ladder) if reached is None else reached[0]
            # The parts of the reason every step shares.
            price = f"{p.trigger.value} price {lv.money(self.trig)} {'≥' if self.long else '≤'} "
            origin = f" (entry {lv.money(snap.entry)} {'+' if self.long else '−'} "
            base_text = lv.qty(base)
            risk_text = lv.money(risk)
            while i < end and remaining > 0:
                tier = p.r_ladder[i]
                if reached is None:
                    # Far from the level (beyond float rounding): not reached, nothing exact to
                    # do.
                    approx = float(snap.entry) + self.d * tier.trigger * float(risk)
                    if self.d * (trig - approx) < -1e-9 * abs(approx):
                        break
                level = lv.r_level(snap.entry, self.d, tier.trigger, risk)
                if reached is None and self.d * (self.trig - level) < 0:
                    break
                keep -= _decimal(tier.fraction)
                i += 1
                head, step, share = _r_step_text(tier)
                why = (
                    f"{head}{price}{lv.money(level)}{origin}{step}{risk_text}); {share}{base_text}"
                )
                remaining = self._reduce("take_profit:r", i, remaining, base * keep, level, why)
            self.set("tp_r_done", i)
        if p.roe_ladder:
            i = s.tp_roe_done
            keep = ONE
            for t in p.roe_ladder[:i]:
                keep *= ONE - _decimal(t.fraction)
            end = len(p.roe_ladder) if reached is None else reached[1]
            while i < end and remaining > 0:
                tier = p.roe_ladder[i]
                if reached is None and self.roe < tier.trigger:
                    break
                keep *= ONE - _decimal(tier.fraction)
                i += 1
                why = f"take-profit at ROE {lv.pct(self.roe)}{_roe_step_text(tier)}"
                remaining = self._reduce("take_profit:roe", i, remaining, base * keep, None, why)
            self.set("tp_roe_done", i)
        return remaining

    def _reduce(
        self,
        rule: str,
        tier: int,
        remaining: Decimal,
        keep: Decimal,
        trigger: Decimal | None,
        why: str,
    ) -> Decimal:
        """Close down to ``keep`` (rounded up to the lot: never close more than the tier asks);
        dust below the minimum size closes with it; too small a slice carries to the next tier."""
        inst = self.inst
        target = inst.make_qty(max(keep, ZERO), ROUND_CEILING) if keep > 0 else ZERO
        close = remaining - target
        if close <= 0:
            return remaining
        smallest = max(inst.lot_size, inst.min_qty)
        if target > 0 and target < smallest:
            close = remaining
        elif close < smallest and close != remaining:
            return remaining
        after = remaining - close
        kind = ActionKind.CLOSE if after == 0 else ActionKind.REDUCE
        reason = f"{why}: close {lv.qty(close)}, {lv.qty(after)} remain"
        action = self._action(kind, rule, reason, remaining, after, close)
        if self._order(action, self.d_side_close, close) is None:
            return remaining
        self.reduces.append(action)
        assert action.intent_id is not None  # noqa: S101
        self.new_pending.append(action.intent_id)
        self.reduce_legs.append(
            _new_leg(rule, tier, close, after, trigger, reason, action.intent_id)
        )
        if after == 0:
            self.exit = action
        return after

    def add_on(self, stop_level: Decimal) -> None:
        s, p, snap = self.state, self.p, self.snap
        # Pyramiding adds to a winner before it is scaled out: once a take-profit step has
        # been taken, adding back would undo it.
        if p.add_on_cap <= s.add_count or s.tp_r_done or s.tp_roe_done:
            return
        j = s.add_count + 1
        tier_roe = (
            p.add_on_roe_tiers[min(j, len(p.add_on_roe_tiers)) - 1] if p.add_on_roe_tiers else None
        )
        if tier_roe is not None and self.roe < tier_roe:
            return
        since = s.last_add_at or s.opened_at
        if since is not None and (self.now - since).total_seconds() < p.add_on_min_interval:
            return
        if s.last_add_at is not None and self.now <= s.last_add_at:
            return
        signal = None
        if p.add_on_requires_signal:
            signal = next(
                (
                    sig
                    for sig in snap.signals
                    if sig.kind is SignalKind.ENTRY
                    and sig.direction == self.d
                    and sig.signal_id not in s.consumed_signals
                    and sig.signal_id not in self.consumed
                ),
                None,
            )
            if signal is None:
                return
        gamma = Decimal(repr(p.add_on_gamma))
        size = self.inst.make_qty(s.initial_qty * gamma**j)
        if size < max(self.inst.lot_size, self.inst.min_qty):
            self._alert(
                f"add_on_too_small:{j}",
                "add_on",
                f"add-on {j} skipped: Q0·γ^{j} = {lv.qty(s.initial_qty)}·{p.add_on_gamma:g}^{j} rounds "
                f"below the minimum size {max(self.inst.lot_size, self.inst.min_qty)}",
            )
            return
        new_qty = self.aq + size
        new_entry = lv.average_entry_after_add(
            self.inst, snap.qty, snap.entry, self.d * size, snap.mark
        )
        new_margin = snap.margin + lv.margin_for(self.inst, size, snap.mark, snap.leverage)
        trigger = "" if tier_roe is None else f"ROE {lv.pct(self.roe)} ≥ {lv.pct(tier_roe)}"
        if signal is not None:
            trigger = f"{trigger} and " if trigger else ""
            trigger += f"signal {signal.signal_id}"
        reason = (
            f"add-on {j}/{p.add_on_cap} ({trigger}): Q0·γ^{j} = {lv.qty(s.initial_qty)}·"
            f"{p.add_on_gamma:g}^{j} → {lv.qty(size)}; average entry {lv.money(snap.entry)} → "
            f"{lv.money(new_entry.quantize(Decimal('1e-8')))} at {lv.money(snap.mark)}, margin "
            f"{lv.money(snap.margin.quantize(Decimal('1e-8')))} → "
            f"{lv.money(new_margin.quantize(Decimal('1e-8')))}"
        )
        action = Action(
            ActionKind.ADD,
            "add_on",
            reason,
            old_value=self.aq,
            new_value=new_qty,
            qty=size,
            intent_id=self._intent_id(ActionKind.ADD),
        )
        side = Side.BUY if self.long else Side.SELL
        if self._order(action, side, size, reduce_only=False, protective_stop=stop_level) is None:
            return
        self.adds.append(action)
        assert action.intent_id is not None  # noqa: S101
        self.new_pending.append(action.intent_id)
        self.set("expected_qty", new_qty)
        self.add_legs.append(
            AddLeg(j, size, new_qty, new_entry, new_margin, reason, action.intent_id)
        )
        self.set("add_count", j)
        self.set("last_add_at", self.now)
        if signal is not None:
            self.consumed.append(signal.signal_id)

    def stop(
        self, level: Decimal, rule: str, why: str, qty: Decimal, initial_why: str | None
    ) -> None:
        s, p = self.state, self.p
        current = s.stop_price
        if current is None:
            reason = f"protective stop at entry: {initial_why}"
            if why:
                reason += f"; raised by {why} → {lv.money(level)}"
            kind = ActionKind.PLACE_STOP
        else:
            moved = self.d * (level - current) > 0
            # A stop the trader gave is placed however small the move.
            big = rule == "given_stop" or (
                float(abs(level - current)) >= p.min_stop_move * float(self.trig)
            )
            resize = qty != s.stop_qty
            if not ((moved and big) or resize):
                return
            if not moved:
                level, rule = current, s.stop_rule
            parts = []
            if moved:
                parts.append(f"{why} → {lv.money(level)} (was {lv.money(current)})")
            if resize:
                parts.append(
                    f"resized from {lv.qty(s.stop_qty)} to {lv.qty(qty)}: it covers exactly "
                    "the position held"
                )
            reason = "; ".join(parts)
            kind = ActionKind.MOVE_STOP
        action = self._action(kind, rule or "initial_stop", reason, current, level, qty)
        if (
            self._order(
                action, self.d_side_close, qty, order_type=OrderType.STOP_MARKET, stop_price=level
            )
            is None
        ):
            return
        self.stop_action = action
        if s.stop_intent_id and kind is ActionKind.MOVE_STOP:
            self.cancels.append(s.stop_intent_id)
        self.set("stop_price", level)
        self.set("stop_qty", qty)
        self.set("stop_rule", rule or "initial_stop")
        self.set("stop_intent_id", action.intent_id)
        if current is not None and self.d * (level - current) > 0:
            # A new level re-arms the crossing alert.
            self.alert_keys.discard("stop_crossed")

    # ------------------------------------------------------------------ result

    def result(self) -> Evaluation:
        state = self.state
        if self.new_pending:
            pending = self.get("pending_intents")
            assert isinstance(pending, tuple)  # noqa: S101
            self.set("pending_intents", (*pending, *self.new_pending))
            self.set("pending_since", self.now)
        if self.consumed:
            memory = (*state.consumed_signals, *self.consumed)[-_SIGNAL_MEMORY:]
            self.changes["consumed_signals"] = memory
        if self.alert_keys != state.alerts:
            self.changes["alerts"] = frozenset(self.alert_keys)
        actions: list[Action] = []
        if self.exit is not None and self.exit.rule not in _LADDER_RULES:
            actions.append(self.exit)
        if self.retry_actions:
            actions.extend(a for a in self.retry_actions if a is not self.exit)
        if self.stop_action is not None:
            actions.append(self.stop_action)
        actions.extend(self.reduces)
        actions.extend(self.adds)
        actions.extend(self.alerts)
        if self.exit is not None and state.lifecycle is Lifecycle.ACTIVE:
            check_transition(state.lifecycle, Lifecycle.PENDING_CLOSING, state.intent_id)
            self.changes["lifecycle"] = Lifecycle.PENDING_CLOSING
            self.changes["exit_reason"] = self.exit.reason
            self._event(
                "LIFECYCLE",
                f"{Lifecycle.ACTIVE.value} → {Lifecycle.PENDING_CLOSING.value}: {self.exit.reason}",
            )
        if self.changes or actions:
            self.changes["updated_at"] = self.now
            state = state.evolve(**self.changes)
        plan = None
        if actions:
            if len(self.orders) > 1:
                # The orders in the order of their actions.
                of = {id(a): o for a, o in self.orders}
                orders = tuple(of[id(a)] for a in actions if id(a) in of)
            else:
                orders = tuple(o for _, o in self.orders)
            plan = _new_plan(
                self.plan_id,
                state.position_id or "",
                state.intent_id,
                state.account_id,
                state.instrument_key,
                self.p.name,
                self.now,
                tuple(actions),
                tuple(self.reduce_legs),
                tuple(self.add_legs),
                orders,
                tuple(dict.fromkeys(self.cancels)),
            )
        return _new_evaluation(state, tuple(actions), plan, tuple(self.events))

    def cover(self) -> None:
        """Resize the working stop (at its level) to the size held, if it covers anything else."""
        s = self.state
        if s.stop_price is not None and s.stop_qty != self.aq:
            self.stop(s.stop_price, s.stop_rule, "", self.aq, None)


def _check(state: GovernanceState, snap: Snapshot, now: datetime) -> None:
    if now.tzinfo is None:
        raise InvalidValue("must be timezone-aware (UTC)", field="now")
    if snap.instrument.key != state.instrument_key:
        raise InvalidValue(
            f"snapshot is for {snap.instrument.key}, the state for {state.instrument_key}",
            field="instrument",
        )


@exact
def evaluate(state: GovernanceState, snap: Snapshot, now: datetime) -> Evaluation:
    """Run every rule of the state's profile on one position (see the module docstring).

    ``state`` is the governance memory, ``snap`` the position and its market at ``now``.
    Returns the new state and the actions; the input state is never modified."""
    _check(state, snap, now)
    if state.lifecycle.terminal:
        return Evaluation(state, (), None, ())
    events: list[GovernanceEvent] = []
    aq = abs(snap.qty)
    direction = 0 if aq == 0 else (1 if snap.qty > 0 else -1)
    if state.lifecycle is Lifecycle.PENDING_ENTRY:
        if aq == 0:
            return _entry_timeout(state, now)
        state, event = _activate(state, snap, now, direction)
        events.append(event)
    elif aq == 0 or direction != state.direction:
        why = "the position is flat (a stop or close filled, or it was closed outside governance)"
        new = state.transition(Lifecycle.CLOSED, why, now).evolve(
            seen_qty=ZERO, expected_qty=ZERO, pending_since=None, pending_intents=()
        )
        event = GovernanceEvent(
            now,
            "LIFECYCLE",
            state.intent_id,
            state.position_id,
            f"{state.lifecycle.value} → {Lifecycle.CLOSED.value}: {why}",
        )
        return Evaluation(new, (), None, (event,))
    tick = _Tick(state, snap, now)
    tick.events.extend(events)
    expected = tick.sync_size()
    if state.lifecycle is Lifecycle.PENDING_CLOSING:
        tick.closing(expected)
        tick.cover()
        return tick.result()
    return _active(tick, expected)


def _active(tick: _Tick, expected: Decimal) -> Evaluation:
    """Steps 3–7 of the module docstring on an ACTIVE position."""
    snap = tick.snap
    initial_why: str | None = None
    current = tick.state.stop_price
    if current is None:
        current, initial_why = tick.initial_level()
        risk = abs(snap.entry - current)
        tick.set("initial_stop", current)
        tick.set("risk_per_unit", risk if risk > 0 else None)
    level, rule, why = tick.ratchet(current)
    if initial_why is not None and not why:
        rule = "initial_stop"
    elif initial_why is None:
        level, rule, why = _given_later(tick, level, rule, why)
    exit_reason = tick.exits(level, rule)
    if exit_reason is not None:
        tick.close(tick.exit_rule, exit_reason)
        if tick.exit is not None:
            tick.cover()
            return tick.result()
    expected = tick.retry(expected)
    if tick.exit is not None:
        tick.cover()
        return tick.result()
    crossed = tick.d * (tick.trig - level) <= 0
    if crossed:
        # Without a guard stop a level through the price cannot be placed: keep the old one.
        if tick.state.stop_price is None:
            return tick.result()
        level, rule, why = tick.state.stop_price, tick.state.stop_rule, ""
    if expected <= tick.aq:
        # Take-profits wait while an add-on is outstanding (they act on what is held).
        expected = tick.take_profits(expected)
        tick.set("expected_qty", expected)
    if tick.exit is not None:
        tick.cover()
        return tick.result()
    if not (tick.reduces or tick.retry_actions or tick.dropped) and expected == tick.aq:
        tick.add_on(level)
    # The stop covers exactly what is held: a reduction planned now is covered until it fills.
    tick.stop(level, rule, why, tick.aq, initial_why)
    return tick.result()


def _given_later(tick: _Tick, level: Decimal, rule: str, why: str) -> tuple[Decimal, str, str]:
    """A stop the trader gave after the stop was placed (``governance attach --stop``): it
    replaces ``level`` (the trailing rules' best) when it is tighter — a stop only tightens,
    and a looser one was refused when it was given. R stays what the initial stop set."""
    given = tick.state.stop_override
    if given is None:
        return level, rule, why
    given = tick.inst.make_stop_price(given, tick.long)
    if tick.d * (given - level) <= 0:
        return level, rule, why
    return given, "given_stop", "given stop (set by the trader with governance attach --stop)"


def evaluate_decided(
    state: GovernanceState, snap: Snapshot, now: datetime, decided: Decided
) -> Evaluation | None:
    """:func:`evaluate` for a position whose decisions the vectorised batch made (an ACTIVE
    one, or an entry whose position appeared, with nothing outstanding once the size is taken,
    no signal, the stop triggering on the mark): the same steps and the same code build the
    plan, the state and the events, with the decisions taken from ``decided``. Exact values
    come from the snapshot (a decided level is ``ticks · tick``); the exit rules run exactly
    when a crossing or the time stop may apply. None when the instrument's grid is not
    constant or the protective stop at entry is not the decided one: run :func:`evaluate`.

    Must run in the accounting decimal context (the batch enters it once)."""
    inst = snap.instrument
    if type(inst).tick_at is not Instrument.tick_at:
        return None
    given, current = state.stop_override, state.stop_price
    if given is not None and current is not None and state.direction * (given - current) > 0:
        return None  # a given stop to apply: the exact rules (``vector`` routes it there too)
    if (
        not decided.exits
        and not decided.add
        and decided.winner >= 0
        and decided.r_reached <= state.tp_r_done
        and decided.roe_reached <= state.tp_roe_done
    ):
        return _stop_plan(state, snap, now, decided)
    tick, current, initial_why = _decided_start(state, snap, now, decided)
    if tick is None:
        return None
    state = tick.state
    expected = tick.get("expected_qty")
    assert isinstance(expected, Decimal)  # noqa: S101
    level, rule, why = _decided_level(tick, current, decided)
    if initial_why is not None and not why:
        rule = "initial_stop"
    if decided.exits:
        exit_reason = tick.exits(level, rule)
        if exit_reason is not None:
            tick.close(tick.exit_rule, exit_reason)
            if tick.exit is not None:
                tick.cover()
                return tick.result()
    if tick.d * (tick.trig - level) <= 0:
        if state.stop_price is None:
            return tick.result()
        level, rule, why = state.stop_price, state.stop_rule, ""
    if decided.r_reached > state.tp_r_done or decided.roe_reached > state.tp_roe_done:
        expected = tick.take_profits(expected, (decided.r_reached, decided.roe_reached))
        tick.set("expected_qty", expected)
        if tick.exit is not None:
            tick.cover()
            return tick.result()
    if decided.add and not tick.reduces and expected == tick.aq:
        tick.add_on(level)
    tick.stop(level, rule, why, tick.aq, initial_why)
    return tick.result()


def _decided_level(tick: _Tick, current: Decimal, decided: Decided) -> tuple[Decimal, str, str]:
    """The stop level after the trailing rules, as decided: ``(level, rule, why)``."""
    state = tick.state
    if decided.winner < 0:
        # A level within rounding error of a tick: the trailing rules run exactly.
        return tick.ratchet(current)
    if decided.reached > state.lock_tier:
        tick.set("lock_tier", decided.reached)
    if decided.winner:
        level = _C.multiply(Decimal(decided.ticks), tick.inst.tick_size)
        return level, _WINNERS[decided.winner], tick.why_of(decided.winner, decided.reached)
    return current, state.stop_rule, ""


def _decided_start(
    state: GovernanceState, snap: Snapshot, now: datetime, decided: Decided
) -> tuple[_Tick | None, Decimal, str | None]:
    """:func:`evaluate_decided`'s first steps: activation, the size taken, the protective stop
    at entry (checked against the decided one: no tick when they differ)."""
    events: list[GovernanceEvent] = []
    if state.lifecycle is Lifecycle.PENDING_ENTRY:
        state, event = _activate(state, snap, now, 1 if snap.qty > 0 else -1)
        events.append(event)
    tick = _Tick(state, snap, now, decided.roe, prevalidated=True)
    tick.events = events
    tick.sync_size()
    current = state.stop_price
    if current is not None:
        return tick, current, None
    current, initial_why = tick.initial_level()
    if decided.initial_ticks >= 0 and current != _C.multiply(
        Decimal(decided.initial_ticks), snap.instrument.tick_size
    ):
        return None, current, None
    risk = abs(snap.entry - current)
    tick.set("initial_stop", current)
    tick.set("risk_per_unit", risk if risk > 0 else None)
    return tick, current, initial_why


def _stop_plan(
    state: GovernanceState, snap: Snapshot, now: datetime, decided: Decided
) -> Evaluation:
    """:func:`evaluate_decided` when at most the stop acts (no exit can apply, no take-profit
    step is reached): the steps of :func:`evaluate` that can act then are activation, taking
    the observed size (everything outstanding filled), the protective stop at entry, the lock
    tier and the PLACE_STOP / MOVE_STOP — built here directly, as ``_Tick`` would build them
    (the batch's property tests hold the two to the same result)."""
    inst = snap.instrument
    p = state.profile
    qty = snap.qty
    long = qty > 0
    d = 1 if long else -1
    aq = qty if long else -qty
    changes: dict[str, object] = {}
    events: tuple[GovernanceEvent, ...] = ()
    if state.lifecycle is Lifecycle.PENDING_ENTRY:
        events = (_activation(state, snap, now, d, aq, changes),)
        key = snap.position_id or state.intent_id
    else:
        if aq != state.seen_qty:
            _take_size(state, aq, changes)
        key = state.position_id or state.intent_id
    size = inst.tick_size
    current = state.stop_price
    initial_why: str | None = None
    if current is None:
        current, initial_why = _decided_initial(state, snap, decided, long)
        risk = abs(snap.entry - current)
        changes["initial_stop"] = current
        changes["risk_per_unit"] = risk if risk > 0 else None
    if decided.reached > state.lock_tier:
        changes["lock_tier"] = decided.reached
    if decided.winner:
        level = _C.multiply(Decimal(decided.ticks), size)
        rule = _WINNERS[decided.winner]
        why = _winner_why(decided.winner, decided.reached, state, snap, long, decided.roe)
    else:
        level, rule, why = current, state.stop_rule, ""
    if initial_why is not None:
        if not why:
            rule = "initial_stop"
        reason = f"protective stop at entry: {initial_why}"
        if why:
            reason += f"; raised by {why} → {lv.money(level)}"
        kind = ActionKind.PLACE_STOP
        old: Decimal | None = None
    else:
        moved = level > current if long else level < current
        resize = aq != state.stop_qty
        if not (
            (moved and float(abs(level - current)) >= p.min_stop_move * float(snap.mark)) or resize
        ):
            return _unplanned(state, changes, events, now)
        if not moved:
            level, rule = current, state.stop_rule
        parts = []
        if moved:
            parts.append(f"{why} → {lv.money(level)} (was {lv.money(current)})")
            if "stop_crossed" in state.alerts:
                # A new level re-arms the crossing alert.
                changes["alerts"] = state.alerts - {"stop_crossed"}
        if resize:
            parts.append(
                f"resized from {lv.qty(state.stop_qty)} to {lv.qty(aq)}: it covers exactly "
                "the position held"
            )
        reason = "; ".join(parts)
        kind = ActionKind.MOVE_STOP
        old = current
    rule = rule or "initial_stop"
    when = stamp(now)
    plan_id = hashed_id("plan", f"{key}|{when}")
    intent_id = hashed_id("gov", f"{key}|{when}|1|{kind.value}")
    action = _new_action(kind, rule, reason, old, level, aq, intent_id, None)
    order = _new_intent(
        intent_id,
        state.account_id,
        inst.venue,
        inst.symbol,
        Side.SELL if long else Side.BUY,
        aq,
        OrderType.STOP_MARKET,
        None,
        level,
        inst.is_derivative,
        False,
        TimeInForce.GTC,
        _SIDES[state.slot],
        p.trigger,
        None,
        None,
        f"governance:{plan_id}",
        now,
    )
    changes["stop_price"] = level
    changes["stop_qty"] = aq
    changes["stop_rule"] = rule
    changes["stop_intent_id"] = intent_id
    changes["updated_at"] = now
    new = state.evolve(**changes)
    cancels = (
        (state.stop_intent_id,) if state.stop_intent_id and kind is ActionKind.MOVE_STOP else ()
    )
    actions = (action,)
    plan = _new_plan(
        plan_id,
        new.position_id or "",
        new.intent_id,
        new.account_id,
        new.instrument_key,
        p.name,
        now,
        actions,
        (),
        (),
        (order,),
        cancels,
    )
    return _new_evaluation(new, actions, plan, events)


def _decided_initial(
    state: GovernanceState, snap: Snapshot, decided: Decided, long: bool
) -> tuple[Decimal, str]:
    """The protective stop at entry as decided (``_initial_stop`` when it was in doubt)."""
    if decided.initial_ticks < 0:
        # Within rounding error of a tick: computed exactly.
        return _initial_stop(state, snap, long)
    p = state.profile
    level = _C.multiply(Decimal(decided.initial_ticks), snap.instrument.tick_size)
    why = _initial_method(p, state, snap, long)
    liq = snap.liquidation
    if liq is not None and liq > 0:
        loss_side = snap.mark > liq if long else snap.mark < liq
        why += _liquidation_note(p, liq, long, decided.clamped if loss_side else None)
    return level, _initial_reason(state, snap, why, level)


def _activation(
    state: GovernanceState,
    snap: Snapshot,
    now: datetime,
    d: int,
    aq: Decimal,
    changes: dict[str, object],
) -> GovernanceEvent:
    """``_activate`` as changes made with the plan's (one copy of the state)."""
    check_transition(state.lifecycle, Lifecycle.ACTIVE, state.intent_id)
    changes.update(
        lifecycle=Lifecycle.ACTIVE,
        exit_reason="",
        position_id=snap.position_id,
        opened_at=snap.opened_at,
        direction=d,
        seen_qty=aq,
        expected_qty=aq,
        ladder_base=aq,
        initial_qty=aq,
    )
    return _activation_event(state, snap, now, snap.position_id, aq)


def _take_size(state: GovernanceState, aq: Decimal, changes: dict[str, object]) -> None:
    """``_Tick.sync_size`` when everything outstanding has filled (the observed size ``aq``
    differs from the one seen last)."""
    seen = state.seen_qty
    pending = state.expected_qty - seen
    delta = aq - seen
    if pending != 0 and (delta > 0) == (pending > 0):
        step = min(abs(delta), abs(pending))
        rest = pending - step if pending > 0 else pending + step
    else:
        rest = pending
    changes["seen_qty"] = aq
    changes["expected_qty"] = max(aq + rest, ZERO)
    if delta > 0:
        changes["ladder_base"] = state.ladder_base + delta
    changes["pending_since"] = None
    changes["pending_intents"] = ()
    changes["retries"] = 0


def _unplanned(
    state: GovernanceState,
    changes: dict[str, object],
    events: tuple[GovernanceEvent, ...],
    now: datetime,
) -> Evaluation:
    """No action: the state with what changed (stamped), or the state itself."""
    if changes:
        changes["updated_at"] = now
        state = state.evolve(**changes)
    return _new_evaluation(state, (), None, events)


def _activate(
    state: GovernanceState, snap: Snapshot, now: datetime, direction: int
) -> tuple[GovernanceState, GovernanceEvent]:
    """PENDING_ENTRY → ACTIVE: the entry's position appeared."""
    aq = abs(snap.qty)
    state = state.transition(Lifecycle.ACTIVE, "entry filled", now).evolve(
        position_id=snap.position_id,
        opened_at=snap.opened_at,
        direction=direction,
        seen_qty=aq,
        expected_qty=aq,
        ladder_base=aq,
        initial_qty=aq,
    )
    return state, _activation_event(state, snap, now, state.position_id, aq)


def _activation_event(
    state: GovernanceState, snap: Snapshot, now: datetime, position_id: str | None, aq: Decimal
) -> GovernanceEvent:
    return GovernanceEvent(
        now,
        "LIFECYCLE",
        state.intent_id,
        position_id,
        f"{Lifecycle.PENDING_ENTRY.value} → {Lifecycle.ACTIVE.value}: {aq} open at "
        f"{lv.money(snap.entry)} under profile {state.profile.name}",
    )


def _entry_timeout(state: GovernanceState, now: datetime) -> Evaluation:
    """PENDING_ENTRY without a position: FAILED once ``entry_timeout_seconds`` have passed
    since the entry was registered."""
    timeout = state.profile.entry_timeout_seconds
    since = state.registered_at or state.updated_at
    if timeout is None or since is None or (now - since).total_seconds() < timeout:
        return Evaluation(state, (), None, ())
    why = f"the entry has not opened a position {_hours(timeout)} after it was registered"
    new = state.transition(Lifecycle.FAILED, why, now)
    event = GovernanceEvent(
        now,
        "LIFECYCLE",
        state.intent_id,
        state.position_id,
        f"{Lifecycle.PENDING_ENTRY.value} → {Lifecycle.FAILED.value}: {why}",
    )
    return Evaluation(new, (), None, (event,))


def settle_denials(
    before: GovernanceState, evaluation: Evaluation, denied: Collection[str], now: datetime
) -> GovernanceState:
    """The state after a plan whose orders in ``denied`` (intent ids) were refused by pre-trade
    risk: the effects of each refused action are undone (a refused stop leaves the old stop, a
    refused take-profit re-arms its tier, a refused add does not count, a refused close returns
    the position to ACTIVE). Everything else of the evaluation stands."""
    plan = evaluation.plan
    state = evaluation.state
    if plan is None or not denied:
        return state
    changes: dict[str, object] = {}
    expected = state.expected_qty
    for action in plan.actions:
        if action.intent_id not in denied:
            continue
        if action.kind in (ActionKind.PLACE_STOP, ActionKind.MOVE_STOP):
            changes.update(
                stop_price=before.stop_price,
                stop_qty=before.stop_qty,
                stop_rule=before.stop_rule,
                stop_intent_id=before.stop_intent_id,
            )
            if before.stop_price is None:
                changes.update(initial_stop=None, risk_per_unit=None)
        elif action.kind is ActionKind.ADD:
            changes.update(add_count=before.add_count, last_add_at=before.last_add_at)
            if action.qty is not None:
                expected -= action.qty
        elif action.kind in (ActionKind.REDUCE, ActionKind.CLOSE):
            if action.qty is not None:
                expected += action.qty
            for leg in plan.reduce:
                if leg.intent_id != action.intent_id:
                    continue
                name = "tp_r_done" if leg.rule == "take_profit:r" else "tp_roe_done"
                current = changes.get(name, getattr(state, name))
                assert isinstance(current, int)  # noqa: S101
                changes[name] = min(current, leg.tier - 1)
            if (
                state.lifecycle is Lifecycle.PENDING_CLOSING
                and before.lifecycle is Lifecycle.ACTIVE
            ):
                state = state.transition(Lifecycle.ACTIVE, "", now)
    pending = tuple(i for i in state.pending_intents if i not in denied)
    changes["pending_intents"] = pending
    changes["expected_qty"] = max(ZERO, expected)
    if not pending:
        changes["expected_qty"] = state.seen_qty
        changes["pending_since"] = None
    return state.evolve(**changes)


__all__ = ["Decided", "Evaluation", "evaluate", "evaluate_decided", "settle_denials"]
