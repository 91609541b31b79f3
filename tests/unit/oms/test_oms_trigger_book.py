"""The vectorised trigger book and the link helpers (pure)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oms_unit_kit import ETH, PERP, T0, intent

from riskdesk.domain.conditional import (
    ConditionalOrder,
    ConditionKind,
    ConditionStatus,
    LinkType,
    TriggerBook,
    children_to_arm,
    linked_cancels,
    ouo_reductions,
    trigger_condition,
)
from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.orders import TriggerPrice

D = Decimal
K = PERP.key
MARK = TriggerPrice.MARK


def cond(
    cid: str,
    kind: ConditionKind,
    side: str = "sell",
    level: str | None = "100",
    *,
    callback: str | None = None,
    activation: str | None = None,
    watch: str = K,
    **kw: object,
) -> ConditionalOrder:
    return ConditionalOrder(
        cid,
        intent(cid, side, reduce_only=True),
        watch,
        kind,
        level=None if level is None else D(level),
        callback=None if callback is None else D(callback),
        activation=None if activation is None else D(activation),
        **kw,  # type: ignore[arg-type]
    )


def test_stops_and_take_profits_fire_on_the_right_side() -> None:
    book = TriggerBook()
    book.add_many(
        [
            cond("long-sl", ConditionKind.STOP_LOSS, "sell", "95"),
            cond("long-tp", ConditionKind.TAKE_PROFIT, "sell", "110"),
            cond("short-sl", ConditionKind.STOP_LOSS, "buy", "105"),
            cond("short-tp", ConditionKind.TAKE_PROFIT, "buy", "90"),
            cond("above", ConditionKind.PRICE_ABOVE, "buy", "120"),
            cond("below", ConditionKind.PRICE_BELOW, "buy", "80"),
        ]
    )
    assert book.on_price(K, MARK, 100.0) == []
    assert book.on_price(K, TriggerPrice.LAST, 1.0) == []  # another price source: nothing armed
    assert book.on_price(K, MARK, 95.0) == ["long-sl"]  # at the level fires
    assert book.on_price(K, MARK, 106.0) == ["short-sl"]
    assert sorted(book.on_price(K, MARK, 125.0)) == ["above", "long-tp"]
    assert sorted(book.on_price(K, MARK, 75.0)) == ["below", "short-tp"]
    assert len(book) == 0


def test_a_condition_can_watch_another_instrument() -> None:
    book = TriggerBook()
    buy_eth = ConditionalOrder(
        "eth-if-btc",
        intent("eth-if-btc", "buy", symbol=ETH.symbol),
        K,
        ConditionKind.PRICE_ABOVE,
        level=D(100000),
    )
    book.add(buy_eth)
    assert book.on_price(ETH.key, MARK, 1e9) == []
    assert book.on_price(K, MARK, 100000.0) == ["eth-if-btc"]


def test_trailing_stops_activate_then_trail_and_fire_on_the_callback() -> None:
    book = TriggerBook()
    book.add(
        cond("trail", ConditionKind.TRAILING_STOP, "sell", None, callback="0.05", activation="110")
    )
    book.add(cond("trail-short", ConditionKind.TRAILING_STOP, "buy", None, callback="0.25"))
    assert book.on_price(K, MARK, 100.0) == []
    assert book.extreme("trail") is None  # not active below the activation price
    assert book.extreme("trail-short") == 100.0
    assert book.on_price(K, MARK, 112.0) == []
    assert book.extreme("trail") == 112.0
    assert book.on_price(K, MARK, 120.0) == []
    assert book.on_price(K, MARK, 114.0) == ["trail"]  # 120 × 0.95 = 114
    assert book.on_price(K, MARK, 80.0) == []  # the short's trail follows the low
    assert book.on_price(K, MARK, 99.0) == []
    assert book.on_price(K, MARK, 100.0) == ["trail-short"]  # 80 × 1.25


def test_a_rearmed_trailing_stop_resumes_from_its_stored_extreme() -> None:
    book = TriggerBook()
    book.add(cond("t", ConditionKind.TRAILING_STOP, "sell", None, callback="0.10", extreme="200"))
    assert book.on_price(K, MARK, 181.0) == []
    assert book.on_price(K, MARK, 180.0) == ["t"]


def test_on_path_fires_in_the_order_the_path_visits() -> None:
    book = TriggerBook()
    book.add_many(
        [
            cond("sl", ConditionKind.STOP_LOSS, "sell", "95"),
            cond("tp", ConditionKind.TAKE_PROFIT, "sell", "105"),
        ]
    )
    assert book.on_path(K, MARK, [100.0, 94.0, 106.0, 100.0]) == ["sl", "tp"]


def test_remove_add_and_compaction_keep_ids_consistent() -> None:
    book = TriggerBook()
    book.add_many([cond(f"c{i}", ConditionKind.STOP_LOSS, "sell", str(100 - i)) for i in range(10)])
    for i in range(8):
        assert book.remove(f"c{i}")
    assert not book.remove("c0")
    assert sorted(book.ids()) == ["c8", "c9"]
    book.add(cond("c9", ConditionKind.STOP_LOSS, "sell", "50"))  # replaces
    assert book.on_price(K, MARK, 92.0) == ["c8"]
    assert book.on_price(K, MARK, 50.0) == ["c9"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(1, 200)), min_size=1, max_size=40),
    st.lists(st.integers(1, 200), max_size=20),
)
def test_the_vector_evaluation_matches_a_scalar_one(
    levels: list[tuple[bool, int]], prices: list[int]
) -> None:
    book = TriggerBook()
    conds = [
        cond(
            f"c{i}",
            ConditionKind.STOP_LOSS if stop else ConditionKind.TAKE_PROFIT,
            "sell",
            str(level),
        )
        for i, (stop, level) in enumerate(levels)
    ]
    book.add_many(conds)
    alive = {c.cond_id: c for c in conds}
    for price in prices:
        expected = sorted(
            cid
            for cid, c in alive.items()
            if (price <= c.level if c.kind is ConditionKind.STOP_LOSS else price >= c.level)  # type: ignore[operator]
        )
        assert sorted(book.on_price(K, MARK, float(price))) == expected
        for cid in expected:
            del alive[cid]
    assert np.isfinite(len(book))


def test_conditions_validate_their_inputs() -> None:
    with pytest.raises(InvalidValue) as error:
        cond("x", ConditionKind.STOP_LOSS, level=None)
    assert error.value.field == "level"
    with pytest.raises(InvalidValue) as error:
        cond("x", ConditionKind.TRAILING_STOP, level=None, callback="1.5")
    assert error.value.field == "callback"
    done = trigger_condition(cond("x", ConditionKind.STOP_LOSS), T0)
    assert done.status is ConditionStatus.TRIGGERED
    with pytest.raises(InvalidValue):
        trigger_condition(done, T0)


def test_link_helpers() -> None:
    sl = cond("sl", ConditionKind.STOP_LOSS, group="g", link=LinkType.OCO)
    tp = cond("tp", ConditionKind.TAKE_PROFIT, level="110", group="g", link=LinkType.OCO)
    other = cond("o", ConditionKind.TAKE_PROFIT, level="120", group="h", link=LinkType.OCO)
    assert linked_cancels(sl, [sl, tp, other]) == ["tp"]
    assert linked_cancels(replace(sl, link=LinkType.NONE), [sl, tp]) == []
    child = cond("c", ConditionKind.STOP_LOSS, parent="entry", status=ConditionStatus.WAITING)
    assert children_to_arm("entry", [child, sl]) == ["c"]
    a = cond("a", ConditionKind.TAKE_PROFIT, level="110", group="u", link=LinkType.OUO)
    b = cond("b", ConditionKind.TAKE_PROFIT, level="120", group="u", link=LinkType.OUO)
    assert ouo_reductions(a, D("0.4"), [a, b]) == {"b": D("0.6")}
    assert ouo_reductions(a, D(2), [a, b]) == {"b": D(0)}
    assert ouo_reductions(sl, D(1), [sl, tp]) == {}
