"""The order journal on SQLite and PostgreSQL: every record round-trips exactly."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from riskdesk.adapters.persistence import SqlStore
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.conditional import ConditionalOrder, ConditionKind, ConditionStatus, LinkType
from riskdesk.domain.order_lifecycle import (
    OrderRole,
    OrderStatus,
    advance,
    amend,
    created_event,
    fill,
    new_order,
)
from riskdesk.domain.orders import OrderIntent, OrderType, TriggerPrice
from riskdesk.domain.protection import Protection, ProtectionMode
from riskdesk.domain.transfers import TransferPolicy, TransferStatus, decide, move
from riskdesk.domain.values import PositionSide, Side

T0 = datetime(2019, 10, 7, tzinfo=UTC)
D = Decimal


def _intent(iid: str, **kw: object) -> OrderIntent:
    base = dict(
        intent_id=iid,
        account_id="acct",
        venue="paper",
        symbol="BTC/USDT:USDT",
        side=Side.SELL,
        qty=D("0.123456789012345678"),
        order_type=OrderType.STOP_LIMIT,
        price=D("98765432.98765432"),
        stop_price=D("98765433.1"),
        reduce_only=True,
        trigger=TriggerPrice.INDEX,
        protective_stop=D("1.5"),
        created_at=T0,
    )
    base.update(kw)
    return OrderIntent(**base)  # type: ignore[arg-type]


def test_the_journal_round_trips(store_url: str) -> None:
    with SqlStore(store_url) as store:
        with store() as uow:
            uow.accounts.put(Account("acct", "paper"))
            uow.commit()
        order = new_order(
            _intent("i1"), T0, OrderRole.PROTECTIVE_STOP, "acct|paper:BTC/USDT:USDT|net"
        )
        events = [created_event(order)]
        order, moved = advance(order, OrderStatus.OPEN, T0 + timedelta(seconds=1))
        events += moved
        order, amended = amend(order, T0, qty=D(2))
        order, filled = fill(order, D("0.5"), D("98765432.98765432"), T0)
        order = replace(order, venue_order_id="V9", reason="why")
        events += [amended, filled]
        cond = ConditionalOrder(
            "c1",
            _intent("c1", order_type=OrderType.MARKET, price=None, stop_price=None),
            "paper:BTC/USDT:USDT",
            ConditionKind.TRAILING_STOP,
            callback=D("0.015"),
            activation=D(8100),
            extreme=D("8123.4"),
            group="g",
            link=LinkType.OCO,
            parent="p",
            role="guard_stop",
            created_at=T0,
            updated_at=T0,
            expires_at=T0 + timedelta(days=1),
        )
        protection = Protection(
            "acct",
            "paper",
            "BTC/USDT:USDT",
            PositionSide.LONG,
            1,
            D("7749.6"),
            D("0.2"),
            TriggerPrice.MARK,
            ProtectionMode.GUARD,
            T0,
            None,
            "c1",
            3,
            "refused",
        )
        request = decide(
            TransferPolicy(),
            from_account="spot",
            to_account="fut",
            free_fut=D("10.5"),
            free_spot=D(5000),
            now=T0,
            last_request_at=None,
            moved_today=D(0),
        ).request
        assert request is not None
        with store() as uow:
            uow.oms.put_orders([order])
            uow.oms.add_order_events(events)
            uow.oms.add_order_fills(
                [("paper", "paper-1", order.client_order_id, D("0.5"), D(1), T0)]
            )
            uow.oms.put_conditionals([cond])
            uow.oms.put_protections([protection])
            uow.oms.put_transfers([request])
            uow.oms.set_cursor("fills", "41", T0)
            uow.commit()
        with store() as uow:
            assert uow.oms.get_order(order.client_order_id) == order
            assert uow.oms.orders([OrderStatus.PARTIALLY_FILLED]) == [order]
            assert uow.oms.orders([OrderStatus.OPEN]) == []
            assert uow.oms.orders(account_id="acct", symbol="BTC/USDT:USDT", limit=1) == [order]
            stored = uow.oms.order_events(order.client_order_id)
            assert [e["kind"] for e in stored] == [
                "order_transitioned",
                "order_transitioned",
                "order_transitioned",
                "order_amended",
                "order_transitioned",
            ]
            assert uow.oms.order_events(limit=1)[0]["new"] == "partially_filled"
            assert uow.oms.order_fill_keys([("paper", "paper-1"), ("paper", "paper-2")]) == {
                ("paper", "paper-1")
            }
            assert uow.oms.conditionals([ConditionStatus.ARMED]) == [cond]
            assert uow.oms.protections() == [protection]
            assert uow.oms.transfers() == [request]
            assert uow.oms.cursor("fills") == "41"
            assert uow.oms.cursor("nothing") is None
        approved = move(request, TransferStatus.APPROVED, T0, by="alice")
        with store() as uow:
            uow.oms.put_transfers([approved])
            uow.oms.put_conditionals([replace(cond, status=ConditionStatus.CANCELED)])
            uow.oms.delete_protections([protection.key])
            uow.oms.set_cursor("fills", "42", T0)
            uow.commit()
        with store() as uow:
            assert uow.oms.transfers(TransferStatus.APPROVED) == [approved]
            assert uow.oms.transfers(since=T0 + timedelta(days=1)) == []
            assert uow.oms.conditionals([ConditionStatus.ARMED]) == []
            assert uow.oms.protections() == []
            assert uow.oms.cursor("fills") == "42"
