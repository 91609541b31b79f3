"""SQL implementation of the governance port: states, plans and governance events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select

from riskdesk.adapters.persistence import tables as t
from riskdesk.adapters.persistence.repositories import _between, _limit, _Repository
from riskdesk.adapters.persistence.statements import upsert
from riskdesk.domain.governance.plan import GovernanceEvent, StoredPlan
from riskdesk.domain.governance.state import GovernanceState, Lifecycle

_OPEN = (Lifecycle.PENDING_ENTRY.value, Lifecycle.ACTIVE.value, Lifecycle.PENDING_CLOSING.value)


def _state_row(state: GovernanceState) -> dict[str, Any]:
    return {
        "intent_id": state.intent_id,
        "position_id": state.position_id,
        "account_id": state.account_id,
        "instrument_key": state.instrument_key,
        "slot": state.slot,
        "profile": state.profile.name,
        "lifecycle": state.lifecycle.value,
        "stop_price": state.stop_price,
        "stop_qty": state.stop_qty,
        "updated_at": state.updated_at,
        "state": state.to_dict(),
    }


class SqlGovernanceRepository(_Repository):
    """``governance_states``, ``governance_plans`` and ``governance_events``."""

    def states(self, open_only: bool = True) -> list[GovernanceState]:
        """Stored states (only the open lifecycles unless ``open_only`` is False), by key."""
        g = t.governance_states
        query = select(g.c.state).order_by(g.c.intent_id)
        if open_only:
            query = query.where(g.c.lifecycle.in_(_OPEN))
        return [GovernanceState.from_dict(row[0]) for row in self._conn.execute(query)]

    def get(self, intent_id: str) -> GovernanceState | None:
        """One state by its intent id."""
        g = t.governance_states
        row = self._conn.execute(select(g.c.state).where(g.c.intent_id == intent_id)).first()
        return None if row is None else GovernanceState.from_dict(row[0])

    def put_states(self, states: Sequence[GovernanceState]) -> None:
        """Insert or replace states (one statement), all at the next revision."""
        if not states:
            return
        revision = self.revision() + 1
        rows = [_state_row(s) for s in states]
        for row in rows:
            row["revision"] = revision
        upsert(self._conn, t.governance_states, rows, ["intent_id"])

    def revision(self) -> int:
        """The revision of the newest write of states (0 when none)."""
        g = t.governance_states
        value = self._conn.execute(select(func.max(g.c.revision))).scalar()
        return int(value or 0)

    def add_plans(self, plans: Sequence[StoredPlan]) -> None:
        """Insert plans; a plan id already stored (a replayed tick) is replaced, not doubled."""
        rows = [
            {
                "plan_id": p.plan_id,
                "ts": p.ts,
                "position_id": p.position_id,
                "intent_id": p.intent_id,
                "account_id": p.account_id,
                "instrument_key": p.instrument_key,
                "profile": p.profile,
                "status": p.status,
                "why": p.why,
                "document": p.document,
                "decisions": list(p.decisions),
            }
            for p in plans
        ]
        upsert(self._conn, t.governance_plans, rows, ["plan_id"])

    def plans(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        position_id: str | None = None,
        limit: int | None = None,
    ) -> list[StoredPlan]:
        """Stored plans oldest first (the newest ``limit`` when given)."""
        g = t.governance_plans
        query = _between(select(g), g.c.ts, since, until)
        if position_id is not None:
            query = query.where(g.c.position_id == position_id)
        if limit is not None:
            query = _limit(query.order_by(g.c.ts.desc(), g.c.plan_id.desc()), limit)
            rows = list(self._conn.execute(query).mappings())[::-1]
        else:
            rows = list(self._conn.execute(query.order_by(g.c.ts, g.c.plan_id)).mappings())
        return [
            StoredPlan(
                plan_id=r["plan_id"],
                ts=r["ts"],
                position_id=r["position_id"],
                intent_id=r["intent_id"],
                account_id=r["account_id"],
                instrument_key=r["instrument_key"],
                profile=r["profile"],
                status=r["status"],
                why=r["why"],
                document=dict(r["document"]),
                decisions=tuple(r["decisions"] or ()),
            )
            for r in rows
        ]

    def add_events(self, events: Sequence[GovernanceEvent]) -> None:
        """Append governance events."""
        if not events:
            return
        self._conn.execute(
            insert(t.governance_events),
            [
                {
                    "ts": e.ts,
                    "kind": e.kind,
                    "intent_id": e.intent_id,
                    "position_id": e.position_id,
                    "message": e.message,
                    "data": e.to_dict()["data"],
                }
                for e in events
            ],
        )

    def events(
        self, since: datetime | None = None, kind: str | None = None, limit: int | None = None
    ) -> list[GovernanceEvent]:
        """Governance events oldest first (the newest ``limit`` when given)."""
        g = t.governance_events
        query = _between(select(g), g.c.ts, since, None)
        if kind is not None:
            query = query.where(g.c.kind == kind)
        if limit is not None:
            query = _limit(query.order_by(g.c.ts.desc(), g.c.id.desc()), limit)
            rows = list(self._conn.execute(query).mappings())[::-1]
        else:
            rows = list(self._conn.execute(query.order_by(g.c.ts, g.c.id)).mappings())
        return [
            GovernanceEvent(
                r["ts"], r["kind"], r["intent_id"], r["position_id"], r["message"], dict(r["data"])
            )
            for r in rows
        ]
