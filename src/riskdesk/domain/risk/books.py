"""The desk's risk books: paper trading and real money are judged apart.

With a paper venue configured (``oms.paper.venue``), the accounts on that venue form the
**paper** book and every other account the **real** book. Each book has its own pre-trade
checks (an order is judged against the book of its account: a paper order never meets the real
positions' concentration), its own equity, day start and high-water mark, its own monitors and
its own kill-switch state (a paper drawdown does not halt real trading), and its own reports.
Without a paper venue the desk is one book, ``*``.

Storage keys: equity marks, snapshots and trading states are keyed by scope, a namespace shared
with account ids, so a book is stored under ``*`` followed by its name (``*real``,
``*paper``): ``*`` is the desk itself and no account id starts with it. A trading state stored
under ``*`` before the books were split still applies to both books until each is reset.
"""

from __future__ import annotations

from dataclasses import dataclass

from riskdesk.domain.errors import InvalidValue

#: The whole desk (one book when no paper venue is configured).
DESK = "*"
#: Every account not on the paper venue.
REAL = "real"
#: The accounts on the paper venue.
PAPER = "paper"


@dataclass(frozen=True, slots=True)
class BookSplit:
    """Which book an account belongs to: ``paper_venue`` names the paper venue (None: one
    book for the whole desk)."""

    paper_venue: str | None = None

    @property
    def books(self) -> tuple[str, ...]:
        """The books, real first."""
        return (DESK,) if self.paper_venue is None else (REAL, PAPER)

    @property
    def primary(self) -> str:
        """The book of the venue the order manager trades on (the paper venue): what a caller
        that names no book gets."""
        return DESK if self.paper_venue is None else PAPER

    def book_of(self, venue: str) -> str:
        """The book of an account on ``venue``."""
        if self.paper_venue is None:
            return DESK
        return PAPER if venue == self.paper_venue else REAL

    def parse(self, text: str, field: str = "book") -> str:
        """A book name as a user types it (``real``/``paper``; ``*`` or ``desk`` without a
        paper venue), or an error naming the field and the choices."""
        name = text.strip().lower()
        if name == "desk":
            name = DESK
        if name in self.books:
            return name
        raise InvalidValue(
            f"expected {' or '.join(self.books)}, got {text!r}"
            if self.paper_venue is not None
            else f"the desk is one book (no paper venue is configured), got {text!r}",
            field=field,
        )


def storage_key(book: str) -> str:
    """The scope a book's equity marks, snapshots and trading state are stored under."""
    return DESK if book == DESK else f"{DESK}{book}"


def book_label(book: str) -> str:
    """``real book``, ``paper book``, or ``desk``."""
    return "desk" if book == DESK else f"{book} book"


__all__ = ["DESK", "PAPER", "REAL", "BookSplit", "book_label", "storage_key"]
