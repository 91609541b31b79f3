"""Governance: one state per governed position (keyed by the entry intent id), stored plans with
their pre-trade decisions, and governance events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Column types are spelled out (as in 0001 and 0002) so this revision keeps creating the same
schema whatever ``tables.py`` becomes later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG = "postgresql"


def _dec(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text().with_variant(postgresql.NUMERIC(), _PG), nullable=nullable)


def _ts(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(
        name, sa.Text().with_variant(postgresql.TIMESTAMP(timezone=True), _PG), nullable=nullable
    )


def _str(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(), nullable=nullable)


def _json(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), _PG), nullable=False)


def upgrade() -> None:
    """Create governance_states, governance_plans and governance_events."""
    op.create_table(
        "governance_states",
        _str("intent_id"),
        _str("position_id", nullable=True),
        _str("account_id"),
        _str("instrument_key"),
        _str("slot"),
        _str("profile"),
        _str("lifecycle"),
        _dec("stop_price", nullable=True),
        _dec("stop_qty"),
        _ts("updated_at", nullable=True),
        _json("state"),
        sa.PrimaryKeyConstraint("intent_id", name="pk_governance_states"),
    )
    op.create_index("ix_governance_states_lifecycle", "governance_states", ["lifecycle"])
    op.create_index("ix_governance_states_position_id", "governance_states", ["position_id"])
    op.create_table(
        "governance_plans",
        _str("plan_id"),
        _ts("ts"),
        _str("position_id"),
        _str("intent_id"),
        _str("account_id"),
        _str("instrument_key"),
        _str("profile"),
        _str("status"),
        _str("why"),
        _json("document"),
        _json("decisions"),
        sa.PrimaryKeyConstraint("plan_id", name="pk_governance_plans"),
    )
    op.create_index("ix_governance_plans_ts", "governance_plans", ["ts"])
    op.create_index("ix_governance_plans_position_id_ts", "governance_plans", ["position_id", "ts"])
    op.create_table(
        "governance_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        _ts("ts"),
        _str("kind"),
        _str("intent_id"),
        _str("position_id", nullable=True),
        _str("message"),
        _json("data"),
        sa.PrimaryKeyConstraint("id", name="pk_governance_events"),
    )
    op.create_index("ix_governance_events_ts", "governance_events", ["ts"])
    op.create_index("ix_governance_events_kind_ts", "governance_events", ["kind", "ts"])


def downgrade() -> None:
    """Drop the governance tables."""
    op.drop_table("governance_events")
    op.drop_table("governance_plans")
    op.drop_table("governance_states")
