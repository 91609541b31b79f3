"""SQL implementation of the risk port: decisions, trading state (+ history), alerts and equity
marks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from riskdesk.adapters.persistence import tables as t
from riskdesk.adapters.persistence.repositories import _between, _limit, _Repository
from riskdesk.adapters.persistence.statements import upsert
from riskdesk.domain.risk.decisions import RiskRecord
from riskdesk.domain.risk.equity import EquityMark
from riskdesk.domain.risk.monitors import Alert, AlertLevel
from riskdesk.domain.risk.trading_state import StateChange, TradingState, TradingStatus


def _dec(value: float) -> Decimal | None:
    # Check values are float analytics; the column is exact, so store their shortest repr.
    if value != value or value in (float("inf"), float("-inf")):  # noqa: PLR0124 - NaN test
        return None
    return Decimal(repr(float(value)))


def _float(value: Any) -> float:
    return float(value) if value is not None else 0.0


class SqlRiskRepository(_Repository):
    """``risk_violations``, ``trading_states``, ``trading_state_history``, ``alerts`` and
    ``risk_equity_marks``."""

    def add_decisions(self, records: Sequence[RiskRecord]) -> None:
        """Append decisions in one statement."""
        if not records:
            return
        rows = [
            {
                "ts": r.ts,
                "account_id": r.account_id,
                "code": r.code,
                "reason": r.reason,
                "value": _dec(r.value),
                "limit": _dec(r.limit),
                "payload": {"details": list(r.details)},
                "intent_id": r.intent_id,
                "outcome": r.outcome,
                "venue": r.venue,
                "symbol": r.symbol,
                "side": r.side,
                "qty": r.qty,
                "suggestion": r.suggestion,
                "source": r.source,
                "severity": r.severity,
            }
            for r in records
        ]
        self._conn.execute(insert(t.risk_violations), rows)

    def decisions(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        account_id: str | None = None,
        outcome: str | None = None,
    ) -> list[RiskRecord]:
        """Stored decisions in time order."""
        v = t.risk_violations
        query = _between(select(v), v.c.ts, since, until).order_by(v.c.ts, v.c.id)
        if account_id is not None:
            query = query.where(v.c.account_id == account_id)
        if outcome is not None:
            query = query.where(v.c.outcome == outcome)
        return [
            RiskRecord(
                ts=r["ts"],
                intent_id=r["intent_id"] or "",
                account_id=r["account_id"],
                venue=r["venue"] or "",
                symbol=r["symbol"] or "",
                side=r["side"] or "",
                qty=r["qty"] if r["qty"] is not None else Decimal(0),
                source=r["source"] or "",
                outcome=r["outcome"] or "denied",
                code=r["code"],
                reason=r["reason"],
                suggestion=r["suggestion"] or "",
                value=_float(r["value"]),
                limit=_float(r["limit"]),
                severity=r["severity"] or "",
                details=tuple((r["payload"] or {}).get("details", ())),
            )
            for r in self._conn.execute(query).mappings()
        ]

    def status(self, scope: str) -> TradingStatus | None:
        """Persisted status of a scope."""
        s = t.trading_states
        row = self._conn.execute(select(s).where(s.c.scope == scope)).mappings().first()
        if row is None:
            return None
        return TradingStatus(
            TradingState.parse(row["state"]), row["since"], row["trigger"], row["reason"], row["by"]
        )

    def set_status(self, scope: str, status: TradingStatus, change: StateChange) -> None:
        """Upsert the status and append the transition."""
        upsert(
            self._conn,
            t.trading_states,
            [
                {
                    "scope": scope,
                    "state": status.state.label,
                    "since": status.since,
                    "trigger": status.trigger,
                    "reason": status.reason,
                    "by": status.by,
                }
            ],
            ["scope"],
        )
        self._conn.execute(
            insert(t.trading_state_history),
            [
                {
                    "scope": scope,
                    "ts": change.ts,
                    "old_state": change.old.label,
                    "new_state": change.new.label,
                    "trigger": change.trigger,
                    "reason": change.reason,
                    "by": change.by,
                }
            ],
        )

    def history(self, scope: str) -> list[StateChange]:
        """Transitions of a scope, oldest first."""
        h = t.trading_state_history
        rows = self._conn.execute(
            select(h).where(h.c.scope == scope).order_by(h.c.ts, h.c.id)
        ).mappings()
        return [
            StateChange(
                TradingState.parse(r["old_state"]),
                TradingState.parse(r["new_state"]),
                r["ts"],
                r["trigger"],
                r["reason"],
                r["by"],
            )
            for r in rows
        ]

    def add_alerts(self, alerts: Sequence[Alert]) -> None:
        """Append alerts."""
        if not alerts:
            return
        self._conn.execute(
            insert(t.alerts),
            [
                {
                    "ts": a.ts,
                    "key": a.key,
                    "kind": a.kind,
                    "level": a.level.label,
                    "message": a.message,
                    "value": float(a.value),
                    "threshold": float(a.threshold),
                }
                for a in alerts
            ],
        )

    def alerts(self, since: datetime | None = None, limit: int | None = None) -> list[Alert]:
        """Alerts oldest first; with ``limit`` the newest ``limit`` of them."""
        a = t.alerts
        query = _between(select(a), a.c.ts, since, None)
        if limit is not None:
            query = _limit(query.order_by(a.c.ts.desc(), a.c.id.desc()), limit)
            rows = list(self._conn.execute(query).mappings())[::-1]
        else:
            rows = list(self._conn.execute(query.order_by(a.c.ts, a.c.id)).mappings())
        return [
            Alert(
                r["key"],
                r["kind"],
                AlertLevel[r["level"].upper()],
                r["message"],
                r["value"],
                r["threshold"],
                r["ts"],
            )
            for r in rows
        ]

    def equity_marks(self) -> dict[str, EquityMark]:
        """Every scope's equity mark."""
        m = t.risk_equity_marks
        return {
            r["scope"]: EquityMark(
                r["scope"],
                r["ts"],
                r["equity"],
                r["gross"],
                r["net"],
                r["peak"],
                r["peak_ts"],
                {k: Decimal(v) for k, v in (r["flows"] or {}).items()},
            )
            for r in self._conn.execute(select(m)).mappings()
        }

    def put_equity_marks(self, marks: Sequence[EquityMark]) -> None:
        """Insert or replace equity marks (by scope) in one statement."""
        upsert(
            self._conn,
            t.risk_equity_marks,
            [
                {
                    "scope": k.scope,
                    "ts": k.ts,
                    "equity": k.equity,
                    "gross": k.gross,
                    "net": k.net,
                    "peak": k.peak,
                    "peak_ts": k.peak_ts,
                    "flows": {c: str(v) for c, v in sorted(k.flows.items())},
                }
                for k in marks
            ],
            ["scope"],
        )
