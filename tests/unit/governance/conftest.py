"""Expected values in these tests are computed with plain Decimal operators; run them in the
ledger's 50-digit context so the expectations are as exact as the ledger (the library itself
sets its own context, whatever the caller's)."""

from __future__ import annotations

import decimal
from collections.abc import Iterator

import pytest

from riskdesk.domain.values import ACCOUNTING_CONTEXT


@pytest.fixture(autouse=True)
def _accounting_precision() -> Iterator[None]:
    with decimal.localcontext(ACCOUNTING_CONTEXT):
        yield
