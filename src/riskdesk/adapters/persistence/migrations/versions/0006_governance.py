"""Governance: a revision number on every stored state, so a long-running management tick can
keep its states in memory and reload them only when someone else has written.

Revision ID: 0006_governance
Revises: 0005_oms
Create Date: 2026-12-07

Column types are spelled out (as in the earlier revisions) so this revision keeps creating the
same schema whatever ``tables.py`` becomes later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_governance"
down_revision: str | Sequence[str] | None = "0005_oms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add governance_states.revision (0 for the states stored before) and its index."""
    with op.batch_alter_table("governance_states") as batch:
        batch.add_column(sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0"))
        batch.create_index("ix_governance_states_revision", ["revision"])


def downgrade() -> None:
    """Drop the revision column."""
    with op.batch_alter_table("governance_states") as batch:
        batch.drop_index("ix_governance_states_revision")
        batch.drop_column("revision")
