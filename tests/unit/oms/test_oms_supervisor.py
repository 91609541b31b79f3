"""The protective-stop supervisor and the emulated conditional / linked orders."""

from __future__ import annotations

from decimal import Decimal

from oms_unit_kit import ETH, PERP, Desk, intent, make_desk

from riskdesk.application.conditionals import ConditionalEngine
from riskdesk.application.supervisor import SupervisorConfig
from riskdesk.domain.conditional import ConditionalOrder, ConditionKind, ConditionStatus, LinkType
from riskdesk.domain.matching import MatchingModel, Quote
from riskdesk.domain.order_lifecycle import OrderRole, OrderStatus
from riskdesk.domain.orders import OrderType, TriggerPrice
from riskdesk.domain.protection import ProtectionMode
from riskdesk.domain.values import PositionSide
from riskdesk.ports.broker import BrokerCapabilities

D = Decimal
S = OrderStatus
KEY = f"acct|{PERP.key}|net"


def _desk(**kw) -> Desk:  # type: ignore[no-untyped-def]
    desk = make_desk(**kw)
    desk.bar("8000", "8000", "8000", "8000")
    return desk


def _stop(desk: Desk):  # type: ignore[no-untyped-def]
    p = desk.sup.get(KEY)
    assert p is not None
    return p, (desk.oms.get(p.order_id) if p.order_id else None)


def test_an_entry_is_protected_at_once_at_its_named_stop_or_the_default() -> None:
    desk = _desk()
    desk.oms.submit(intent("e", qty="2", protective_stop="7800"))
    [report] = desk.sup.review()
    assert report.action == "placed native stop"
    p, order = _stop(desk)
    assert (p.level, p.qty, p.mode) == (D(7800), D(2), ProtectionMode.NATIVE)
    assert order is not None and order.role is OrderRole.PROTECTIVE_STOP
    i = order.intent
    assert (i.order_type, i.reduce_only, i.trigger.value, i.side.value) == (
        OrderType.STOP_MARKET,
        True,
        "mark",
        "sell",
    )
    view = desk.broker.query(order.client_order_id, PERP.symbol)
    assert view is not None and view.status is S.OPEN  # read back from the venue
    assert desk.sup.review() == []
    short = _desk(supervisor=SupervisorConfig(default_stop_fraction=D("0.05")))
    short.oms.submit(intent("s", "sell", "1"))
    short.sup.review()
    assert _stop(short)[0].level == D("8400.0")  # 8000 × 1.05, rounded down for a short


def test_stops_follow_the_position_resize_rearm_release() -> None:
    desk = _desk()
    desk.oms.submit(intent("e", qty="2", protective_stop="7800"))
    desk.sup.review()
    desk.oms.submit(intent("tp", "sell", "0.5", reduce_only=True))  # a take-profit
    [resize] = desk.sup.review()
    assert resize.action == "resized" and _stop(desk)[0].qty == D("1.5")
    desk.oms.submit(intent("add", "buy", "1"))  # an add-on
    desk.sup.review()
    p, order = _stop(desk)
    assert p.qty == D("2.5") and order is not None and order.intent.qty == D("2.5")
    desk.broker.cancel(order.client_order_id, PERP.symbol)  # someone cancels it at the venue
    desk.oms.sync()
    [rearm] = desk.sup.review()
    assert rearm.action == "re-armed native stop"
    assert any(a.kind == "protection_rearmed" for a in desk.alerts)
    assert all(desk.sup.covered().values())
    desk.oms.submit(intent("x", "sell", "2.5", reduce_only=True))
    desk.sup.review()
    assert desk.sup.protections() == [] and desk.broker.open_orders() == []


def test_a_refused_stop_falls_back_to_a_guard_that_closes_the_position() -> None:
    desk = _desk(faults=["submit:reject:stop_market:*"])
    desk.oms.submit(intent("e", qty="1", protective_stop="7900"))
    desk.sup.review()
    p, _ = _stop(desk)
    assert p.mode is ProtectionMode.GUARD and p.cond_id is not None
    assert [a.kind for a in desk.alerts] == ["guard_stop"]
    assert "refused" in desk.alerts[0].message or "did not take" in desk.alerts[0].message
    assert desk.sup.covered() == {KEY: True}
    desk.bar("8000", "8010", "7880", "7890")  # the mark crosses 7900
    assert desk.position() == 0
    desk.sup.review()
    assert desk.sup.protections() == []
    assert desk.ledger_equals_venue()


def test_a_venue_without_stops_gets_guards_and_a_crossed_stop_closes_at_market() -> None:
    desk = _desk(capabilities=BrokerCapabilities(native_stop=False, native_amend=False))
    desk.oms.submit(intent("e", protective_stop="7900"))
    desk.sup.review()
    assert _stop(desk)[0].mode is ProtectionMode.GUARD
    crossed = _desk()
    crossed.oms.submit(intent("e", protective_stop="8100"))  # above the price: already hit
    crossed.sup.review()
    assert crossed.position() == 0
    assert [a.kind for a in crossed.alerts] == ["stop_crossed"]


def test_moves_never_leave_a_gap_amend_or_new_first() -> None:
    desk = _desk()
    desk.oms.submit(intent("e", protective_stop="7800"))
    desk.sup.review()
    _, first = _stop(desk)
    desk.sup.set_stop("acct", PERP.key, PositionSide.NET, D(7850))
    _, order = _stop(desk)
    assert order is not None and first is not None
    assert order.client_order_id == first.client_order_id and order.intent.stop_price == D(
        7850
    )  # amended
    plain = _desk(capabilities=BrokerCapabilities(native_amend=False))
    plain.oms.submit(intent("e", protective_stop="7800"))
    plain.sup.review()
    _, old = _stop(plain)
    plain.sup.modify_stops(D(7900))  # the batch stop modify
    _, new = _stop(plain)
    assert old is not None and new is not None and new.client_order_id != old.client_order_id
    assert plain.oms.require(old.client_order_id).status is S.CANCELED
    assert [v.intent.stop_price for v in plain.broker.open_orders()] == [D(7900)]
    # A replacement the venue refuses keeps the old stop.
    plain.broker.faults.add("submit:reject:stop_market")
    plain.sup.set_stop("acct", PERP.key, PositionSide.NET, D(7950))
    assert [v.intent.stop_price for v in plain.broker.open_orders()] == [D(7900)]
    assert any(a.kind == "stop_replace_failed" for a in plain.alerts)


def test_the_stop_edit_budget_defers_tightening_but_never_protection() -> None:
    desk = _desk(capabilities=BrokerCapabilities(stop_edits_per_second=0.001, stop_edit_burst=1))
    desk.oms.submit(intent("e", protective_stop="7800"))
    desk.sup.review()  # spends the only token; placing never waits
    p = desk.sup.set_stop("acct", PERP.key, PositionSide.NET, D(7850))
    assert p.level == D(7800) and desk.sup.deferred == 1
    assert p.pending is not None and p.pending.deferred and p.pending.level == D(7850)
    desk.oms.submit(intent("add", qty="1"))
    desk.sup.review()  # growing the stop is protection: it goes, the deferred move with it
    p, order = _stop(desk)
    assert (p.qty, p.level, p.pending) == (D(2), D(7850), None)
    assert order is not None and order.intent.stop_price == D(7850)


def test_orphaned_stops_from_an_interrupted_replacement_are_cancelled() -> None:
    desk = _desk()
    desk.oms.submit(intent("e", protective_stop="7800"))
    desk.sup.review()
    desk.oms.submit(
        intent("stray", "sell", kind=OrderType.STOP_MARKET, stop="7700", reduce_only=True),
        role=OrderRole.PROTECTIVE_STOP,
        group=KEY,
    )
    [report] = desk.sup.review()
    assert report.action == "cancelled orphan"
    assert len(desk.broker.open_orders()) == 1


# ---------------------------------------------------------------------------- conditionals


def _cond(cid: str, kind: ConditionKind, level: str, side: str = "sell", **kw) -> ConditionalOrder:  # type: ignore[no-untyped-def]
    return ConditionalOrder(
        cid, intent(cid, side, reduce_only=side == "sell"), PERP.key, kind, level=D(level), **kw
    )


def test_emulated_oco_releases_one_leg_through_risk_and_cancels_the_other() -> None:
    desk = _desk()
    desk.oms.submit(intent("long"))
    desk.cond.oco(
        "g",
        [
            _cond("sl", ConditionKind.STOP_LOSS, "7900"),
            _cond("tp", ConditionKind.TAKE_PROFIT, "8100"),
        ],
    )
    desk.quote("8099", "8100", mark="8100")
    status = {c.cond_id: c.status for c in desk.cond.all()}
    assert status == {"sl": ConditionStatus.CANCELED, "tp": ConditionStatus.TRIGGERED}
    assert desk.oms.require("tp").status is S.FILLED
    assert desk.position() == 0


def test_bracket_children_arm_when_the_entry_fills_sized_to_it() -> None:
    desk = _desk()
    desk.sup.config = SupervisorConfig(protect_kinds=frozenset())  # look at the bracket alone
    order, legs = desk.cond.bracket(intent("entry", qty="2"), D(7900), D(8200))
    assert order.status is S.FILLED
    live = {c.cond_id: (c.status, c.intent.qty) for c in desk.cond.live()}
    assert live == {
        "entry:sl": (ConditionStatus.ARMED, D(2)),
        "entry:tp": (ConditionStatus.ARMED, D(2)),
    }
    desk.bar("8000", "8010", "7850", "7860")
    assert desk.position() == 0
    assert {c.cond_id: c.status for c in desk.cond.all()}["entry:tp"] is ConditionStatus.CANCELED
    rejected = _desk(deposit="10")
    _, legs = rejected.cond.bracket(intent("entry", qty="2"), D(7900), D(8200))
    assert {c.status for c in legs} == {ConditionStatus.CANCELED}


def test_ouo_a_fill_on_one_leg_reduces_the_other() -> None:
    desk = _desk(model=MatchingModel(max_fill_fraction=D("0.5")))
    desk.oms.submit(intent("long", qty="2"))
    legs = [
        ConditionalOrder(
            cid,
            intent(cid, "sell", "2", reduce_only=True),
            PERP.key,
            ConditionKind.TAKE_PROFIT,
            level=D(level),
            group="u",
            link=LinkType.OUO,
        )
        for cid, level in (("a", "8100"), ("b", "8200"))
    ]
    desk.cond.arm(legs)

    def quote(price: str) -> None:
        p = D(price)
        desk.broker.on_quote(PERP.key, Quote(desk.clock.now(), p, p, D(2), D(2), mark=p))
        desk.oms.sync()
        desk.cond.on_price(PERP.key, TriggerPrice.MARK, p)
        desk.oms.sync()

    quote("8100")  # a fires; its market order fills 1 of 2 (half the displayed size)
    b = desk.cond.get("b")
    assert b is not None and (b.status, b.intent.qty) == (ConditionStatus.ARMED, D(1))
    quote("8100")  # the rest of a fills: b has nothing left
    assert desk.cond.get("b") is None
    assert {c.cond_id: c.status for c in desk.cond.all()}["b"] is ConditionStatus.CANCELED
    assert desk.position() == 0


def test_conditions_on_another_symbol_and_trailing_stops_survive_a_restart() -> None:
    desk = _desk()
    desk.bar("3000", "3000", "3000", "3000", key=ETH.key)
    desk.oms.submit(intent("long"))
    eth_if_btc = ConditionalOrder(
        "eth",
        intent("eth", "buy", "1", symbol=ETH.symbol),
        PERP.key,
        ConditionKind.PRICE_ABOVE,
        level=D(8500),
    )
    trail = ConditionalOrder(
        "trail",
        intent("trail", "sell", reduce_only=True),
        PERP.key,
        ConditionKind.TRAILING_STOP,
        callback=D("0.02"),
    )
    desk.cond.arm([eth_if_btc, trail])
    desk.quote("8399", "8400", mark="8400")
    assert desk.cond.persist_extremes() == 1
    # A restart: a new engine re-arms from the journal and trails from the stored extreme.
    again = ConditionalEngine(desk.journal, desk.oms, desk.clock)
    assert sorted(c.cond_id for c in again.live()) == ["eth", "trail"]
    desk.cond = again
    desk.quote("8231", "8233", mark="8232")  # 8400 × 0.98 = 8232
    assert desk.oms.require("trail").status is S.FILLED
    desk.quote("8599", "8600", mark="8600")
    assert desk.oms.require("eth").status is S.FILLED
    assert desk.position(ETH.key) == D(1)


def _grown_on_a_venue_that_refuses_stops(caps: BrokerCapabilities) -> Desk:
    """A 1 BTC long with a working native stop, then the venue starts refusing stop orders
    (and amendments), then an add-on grows the position to 3 BTC."""
    desk = _desk(capabilities=caps)
    desk.oms.submit(intent("e", qty="1", protective_stop="7800"))
    desk.sup.review()
    assert _stop(desk)[0].mode is ProtectionMode.NATIVE
    desk.broker.faults.add("submit:reject:stop_market:*")
    desk.broker.faults.add("amend:reject::*")
    desk.oms.submit(intent("add", qty="2"))
    desk.sup.review()
    return desk


def test_growth_on_a_venue_that_refuses_the_replacement_stop_is_guarded_in_full() -> None:
    for caps in (BrokerCapabilities(native_amend=False), BrokerCapabilities(native_amend=True)):
        desk = _grown_on_a_venue_that_refuses_stops(caps)
        assert desk.position() == D(3)
        p, _ = _stop(desk)
        # Every unit of the grown position is protected: a guard for the whole 3 BTC at the
        # stop's level, and the old 1 BTC native stop gone (nothing points at it any more).
        assert (p.mode, p.qty, p.level) == (ProtectionMode.GUARD, D(3), D(7800))
        assert p.cond_id is not None
        guard = desk.cond.get(p.cond_id)
        assert guard is not None and guard.intent.qty == D(3)
        assert desk.sup.covered() == {KEY: True}
        assert [v for v in desk.broker.open_orders() if v.intent.reduce_only] == []
        assert any(a.kind == "guard_stop" for a in desk.alerts)
        assert desk.sup.review() == []  # settled: nothing left to do on the next pass
        desk.bar("8000", "8010", "7790", "7795")  # the mark crosses 7800
        assert desk.position() == 0
        desk.sup.review()
        assert desk.sup.protections() == [] and desk.ledger_equals_venue()


def test_a_move_that_also_grows_falls_back_to_a_guard_at_the_new_level() -> None:
    desk = _desk(capabilities=BrokerCapabilities(native_amend=False))
    desk.oms.submit(intent("e", qty="1", protective_stop="7800"))
    desk.sup.review()
    desk.broker.faults.add("submit:reject:stop_market:*")
    desk.oms.submit(intent("add", qty="1"))  # grown; the supervisor has not seen it yet
    desk.sup.set_stop("acct", PERP.key, PositionSide.NET, D(7850))
    p, _ = _stop(desk)
    assert (p.mode, p.qty, p.level) == (ProtectionMode.GUARD, D(2), D(7850))
    assert desk.sup.covered() == {KEY: True}


def test_growth_on_a_venue_without_stop_orders_grows_the_guard() -> None:
    desk = _desk(capabilities=BrokerCapabilities(native_stop=False, native_amend=False))
    desk.oms.submit(intent("e", qty="1", protective_stop="7800"))
    desk.sup.review()
    desk.oms.submit(intent("add", qty="2"))
    desk.sup.review()
    p, _ = _stop(desk)
    assert (p.mode, p.qty) == (ProtectionMode.GUARD, D(3))
    assert p.cond_id is not None
    guard = desk.cond.get(p.cond_id)
    assert guard is not None and guard.intent.qty == D(3)
    assert desk.sup.covered() == {KEY: True}


def test_disarmed_conditions_are_told_with_their_reason() -> None:
    desk = _desk(capabilities=BrokerCapabilities(native_stop=False, native_amend=False))
    told: list[ConditionalOrder] = []
    desk.cond.disarm_listeners.append(told.extend)
    desk.oms.submit(intent("e", qty="1", protective_stop="7800"))
    desk.sup.review()  # a guard stop: the venue has no stop orders
    assert told == []
    desk.oms.submit(intent("x", "sell", "1", reduce_only=True))  # closed by hand
    desk.sup.review()  # the guard is released with its position
    assert [(c.role, c.status, c.reason) for c in told] == [
        ("guard_stop", ConditionStatus.CANCELED, "position closed")
    ]


def test_reduce_only_conditions_expire_with_their_position_and_never_cut_the_next_one() -> None:
    desk = _desk()
    desk.oms.submit(intent("e", qty="1", protective_stop="7800"))
    desk.sup.review()
    desk.cond.arm([_cond("tp", ConditionKind.TAKE_PROFIT, "8200")])  # a take-profit armed by hand
    other = ConditionalOrder(
        "eth-tp",
        intent("eth-tp", "sell", reduce_only=True, symbol=ETH.symbol),
        ETH.key,
        ConditionKind.TAKE_PROFIT,
        level=D("3000"),
    )
    desk.cond.arm([other])  # another instrument's: not this position's business
    desk.oms.submit(intent("x", "sell", "1", reduce_only=True))  # closed by hand
    desk.sup.review()
    ended = {c.cond_id: (c.status, c.reason) for c in desk.cond.all()}
    assert ended["tp"] == (ConditionStatus.EXPIRED, "reduce-only: the position is closed")
    assert ended["eth-tp"][0] is ConditionStatus.ARMED
    desk.oms.submit(intent("again", qty="1", protective_stop="7800"))  # a new long
    desk.bar("8000", "8250", "7990", "8240")  # through the old take-profit's level
    assert desk.position() == D(1)  # the old take-profit did not cut the new position
