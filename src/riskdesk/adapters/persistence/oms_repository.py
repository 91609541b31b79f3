"""SQL implementation of the order-journal port: orders and their events, fills applied to
orders, emulated conditional orders, protective stops, transfer requests and cursors."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select

from riskdesk.adapters.persistence import tables as t
from riskdesk.adapters.persistence.repositories import _limit, _Repository
from riskdesk.adapters.persistence.statements import chunks, upsert
from riskdesk.domain.conditional import ConditionalOrder, ConditionKind, ConditionStatus, LinkType
from riskdesk.domain.events import Event
from riskdesk.domain.order_lifecycle import (
    Order,
    OrderRole,
    OrderStatus,
    intent_from_dict,
    intent_to_dict,
)
from riskdesk.domain.orders import TriggerPrice
from riskdesk.domain.protection import PendingStop, Protection, ProtectionMode
from riskdesk.domain.transfers import TransferRequest, TransferStatus
from riskdesk.domain.values import ZERO, PositionSide


def _order_row(o: Order) -> dict[str, Any]:
    i = o.intent
    return {
        "order_id": o.client_order_id,
        "intent_id": i.intent_id,
        "client_order_id": o.client_order_id,
        "account_id": i.account_id,
        "venue": i.venue,
        "symbol": i.symbol,
        "side": i.side.value,
        "type": i.order_type.value,
        "qty": i.qty,
        "price": i.price,
        "stop_price": i.stop_price,
        "status": o.status.value,
        "reduce_only": i.reduce_only,
        "created_at": o.created_at,
        "updated_at": o.updated_at,
        "payload": intent_to_dict(i),
        "filled_qty": o.filled_qty,
        "avg_price": o.avg_price,
        "venue_order_id": o.venue_order_id,
        "version": o.version,
        "reason": o.reason,
        "role": o.role.value,
        "group_id": o.group,
    }


def _order_from(r: Any) -> Order:
    return Order(
        intent=intent_from_dict(r["payload"]),
        status=OrderStatus(r["status"]),
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        filled_qty=r["filled_qty"] if r["filled_qty"] is not None else ZERO,
        avg_price=r["avg_price"],
        venue_order_id=r["venue_order_id"],
        reason=r["reason"] or "",
        version=r["version"] or 0,
        role=OrderRole(r["role"] or "other"),
        group=r["group_id"],
    )


def _cond_row(c: ConditionalOrder) -> dict[str, Any]:
    return {
        "cond_id": c.cond_id,
        "status": c.status.value,
        "account_id": c.intent.account_id,
        "watch": c.watch,
        "kind": c.kind.value,
        "level": c.level,
        "source": c.source.value,
        "activation": c.activation,
        "callback": c.callback,
        "extreme": c.extreme,
        "group_id": c.group,
        "link": c.link.value,
        "parent": c.parent,
        "role": c.role,
        "reason": c.reason,
        "expires_at": c.expires_at,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "intent": intent_to_dict(c.intent),
    }


def _cond_from(r: Any) -> ConditionalOrder:
    return ConditionalOrder(
        cond_id=r["cond_id"],
        intent=intent_from_dict(r["intent"]),
        watch=r["watch"],
        kind=ConditionKind(r["kind"]),
        level=r["level"],
        source=TriggerPrice(r["source"]),
        activation=r["activation"],
        callback=r["callback"],
        group=r["group_id"],
        link=LinkType(r["link"]),
        parent=r["parent"],
        status=ConditionStatus(r["status"]),
        extreme=r["extreme"],
        expires_at=r["expires_at"],
        role=r["role"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        reason=r["reason"],
    )


def _protection_row(p: Protection) -> dict[str, Any]:
    return {
        "key": p.key,
        "account_id": p.account_id,
        "instrument_key": p.instrument_key,
        "slot": p.slot.value,
        "direction": p.direction,
        "level": p.level,
        "qty": p.qty,
        "trigger": p.trigger.value,
        "mode": p.mode.value,
        "order_id": p.order_id,
        "cond_id": p.cond_id,
        "generation": p.generation,
        "updated_at": p.updated_at,
        "reason": p.reason,
        "pending": None if p.pending is None else p.pending.to_dict(),
    }


def _protection_from(r: Any) -> Protection:
    venue, _, symbol = r["instrument_key"].partition(":")
    return Protection(
        account_id=r["account_id"],
        venue=venue,
        symbol=symbol,
        slot=PositionSide(r["slot"]),
        direction=r["direction"],
        level=r["level"],
        qty=r["qty"],
        trigger=TriggerPrice(r["trigger"]),
        mode=ProtectionMode(r["mode"]),
        updated_at=r["updated_at"],
        order_id=r["order_id"],
        cond_id=r["cond_id"],
        generation=r["generation"],
        reason=r["reason"],
        pending=None if r["pending"] is None else PendingStop.from_dict(r["pending"]),
    )


def _transfer_row(x: TransferRequest) -> dict[str, Any]:
    return {
        "transfer_id": x.transfer_id,
        "from_account": x.from_account,
        "to_account": x.to_account,
        "currency": x.currency,
        "amount": x.amount,
        "status": x.status.value,
        "created_at": x.created_at,
        "updated_at": x.updated_at,
        "reason": x.reason,
        "free_fut": x.free_fut,
        "free_spot": x.free_spot,
        "approved_by": x.approved_by,
        "error": x.error,
    }


def _transfer_from(r: Any) -> TransferRequest:
    return TransferRequest(
        transfer_id=r["transfer_id"],
        from_account=r["from_account"],
        to_account=r["to_account"],
        currency=r["currency"],
        amount=r["amount"],
        status=TransferStatus(r["status"]),
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        reason=r["reason"],
        free_fut=r["free_fut"],
        free_spot=r["free_spot"],
        approved_by=r["approved_by"],
        error=r["error"],
    )


class SqlOmsRepository(_Repository):
    """``orders``, ``order_events``, ``order_fills``, ``conditional_orders``,
    ``protections``, ``transfers`` and ``oms_cursors``."""

    # ------------------------------------------------------------------ orders

    def put_orders(self, orders: Sequence[Order]) -> None:
        """Upsert orders by client order id (one statement)."""
        upsert(self._conn, t.orders, [_order_row(o) for o in orders], ["order_id"])

    def get_order(self, client_order_id: str) -> Order | None:
        """One order by client order id."""
        row = (
            self._conn.execute(select(t.orders).where(t.orders.c.order_id == client_order_id))
            .mappings()
            .first()
        )
        return None if row is None else _order_from(row)

    def orders(
        self,
        statuses: Collection[OrderStatus] | None = None,
        account_id: str | None = None,
        symbol: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Order]:
        """Orders oldest first (the newest ``limit``)."""
        o = t.orders
        query = select(o)
        if statuses is not None:
            query = query.where(o.c.status.in_([s.value for s in statuses]))
        if account_id is not None:
            query = query.where(o.c.account_id == account_id)
        if symbol is not None:
            query = query.where(o.c.symbol == symbol)
        if since is not None:
            query = query.where(o.c.updated_at >= since)
        if limit is not None:
            query = _limit(query.order_by(o.c.created_at.desc(), o.c.order_id.desc()), limit)
            rows = list(self._conn.execute(query).mappings())[::-1]
        else:
            rows = list(self._conn.execute(query.order_by(o.c.created_at, o.c.order_id)).mappings())
        return [_order_from(r) for r in rows]

    def add_order_events(self, events: Sequence[Event]) -> None:
        """Append order events."""
        if not events:
            return
        rows = []
        for e in events:
            data = e.to_dict()
            rows.append(
                {
                    "ts": e.ts,
                    "client_order_id": str(data.get("client_order_id", "")),
                    "intent_id": str(data.get("intent_id", "")),
                    "kind": e.kind,
                    "old": None if data.get("old") is None else str(data["old"]),
                    "new": None if data.get("new") is None else str(data["new"]),
                    "payload": data,
                }
            )
        self._conn.execute(insert(t.order_events), rows)

    def order_events(
        self, client_order_id: str | None = None, limit: int | None = None
    ) -> list[dict[str, object]]:
        """Stored events oldest first (the newest ``limit``)."""
        e = t.order_events
        query = select(e.c.payload)
        if client_order_id is not None:
            query = query.where(e.c.client_order_id == client_order_id)
        if limit is not None:
            query = _limit(query.order_by(e.c.id.desc()), limit)
            return [dict(r[0]) for r in self._conn.execute(query)][::-1]
        return [dict(r[0]) for r in self._conn.execute(query.order_by(e.c.id))]

    def add_order_fills(
        self, rows: Sequence[tuple[str, str, str, Decimal, Decimal, datetime]]
    ) -> None:
        """Record fills applied to orders."""
        if not rows:
            return
        self._conn.execute(
            insert(t.order_fills),
            [
                {
                    "venue": venue,
                    "fill_id": fill_id,
                    "client_order_id": cid,
                    "qty": qty,
                    "price": price,
                    "ts": ts,
                }
                for venue, fill_id, cid, qty, price, ts in rows
            ],
        )

    def order_fill_keys(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which fills were already applied to an order."""
        wanted = list(dict.fromkeys(keys))
        found: set[tuple[str, str]] = set()
        f = t.order_fills
        for part in chunks([k[1] for k in wanted]):
            rows = self._conn.execute(select(f.c.venue, f.c.fill_id).where(f.c.fill_id.in_(part)))
            found.update((r[0], r[1]) for r in rows)
        return found & set(wanted)

    # ------------------------------------------------------------------ conditionals

    def put_conditionals(self, conds: Sequence[ConditionalOrder]) -> None:
        """Upsert conditional orders."""
        upsert(self._conn, t.conditional_orders, [_cond_row(c) for c in conds], ["cond_id"])

    def conditionals(
        self, statuses: Collection[ConditionStatus] | None = None
    ) -> list[ConditionalOrder]:
        """Conditional orders by creation time."""
        c = t.conditional_orders
        query = select(c).order_by(c.c.created_at, c.c.cond_id)
        if statuses is not None:
            query = query.where(c.c.status.in_([s.value for s in statuses]))
        return [_cond_from(r) for r in self._conn.execute(query).mappings()]

    # ------------------------------------------------------------------ protections

    def put_protections(self, items: Sequence[Protection]) -> None:
        """Upsert protections by key."""
        upsert(self._conn, t.protections, [_protection_row(p) for p in items], ["key"])

    def delete_protections(self, keys: Sequence[str]) -> None:
        """Delete protections by key."""
        if keys:
            self._conn.execute(delete(t.protections).where(t.protections.c.key.in_(list(keys))))

    def protections(self) -> list[Protection]:
        """Every protection by key."""
        p = t.protections
        return [
            _protection_from(r) for r in self._conn.execute(select(p).order_by(p.c.key)).mappings()
        ]

    # ------------------------------------------------------------------ transfers

    def put_transfers(self, items: Sequence[TransferRequest]) -> None:
        """Upsert transfer requests."""
        upsert(self._conn, t.transfers, [_transfer_row(x) for x in items], ["transfer_id"])

    def transfers(
        self, status: TransferStatus | None = None, since: datetime | None = None
    ) -> list[TransferRequest]:
        """Transfer requests oldest first."""
        x = t.transfers
        query = select(x).order_by(x.c.created_at, x.c.transfer_id)
        if status is not None:
            query = query.where(x.c.status == status.value)
        if since is not None:
            query = query.where(x.c.created_at >= since)
        return [_transfer_from(r) for r in self._conn.execute(query).mappings()]

    # ------------------------------------------------------------------ cursors

    def cursor(self, name: str) -> str | None:
        """A named cursor."""
        c = t.oms_cursors
        row = self._conn.execute(select(c.c.value).where(c.c.name == name)).first()
        return None if row is None else str(row[0])

    def set_cursor(self, name: str, value: str, ts: datetime) -> None:
        """Set a named cursor."""
        upsert(
            self._conn, t.oms_cursors, [{"name": name, "value": value, "updated_at": ts}], ["name"]
        )

    def last_activity(self) -> datetime | None:
        """The latest time anything was journaled (None for an empty journal)."""
        latest = [
            self._conn.execute(select(func.max(column))).scalar()
            for column in (
                t.order_events.c.ts,
                t.oms_cursors.c.updated_at,
                t.conditional_orders.c.updated_at,
                t.protections.c.updated_at,
                t.transfers.c.updated_at,
            )
        ]
        found = [ts for ts in latest if ts is not None]
        return max(found) if found else None


__all__ = ["SqlOmsRepository"]
