"""Shared CLI plumbing: consoles, common options, and the error guard every command uses."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from riskdesk.domain.errors import RiskdeskError

T = TypeVar("T")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="database URL or SQLite file path (default: the configured database)"
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]
AccountOption = Annotated[str | None, typer.Option("--account", "-a", help="limit to one account")]


def make_console(stderr: bool = False) -> Console:
    """A console; piped output gets 160 columns (Rich would assume 80 and truncate wide tables)."""
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=160)


console = make_console()
err_console = make_console(stderr=True)


def fail(exc: RiskdeskError, as_json: bool) -> NoReturn:
    """Print a domain error (code, field, reason) and exit with status 2."""
    if as_json:
        print(json.dumps({"error": exc.to_json()}), file=sys.stderr)
    else:
        field = f" {exc.field}:" if exc.field else ""
        err_console.print(
            f"[bold red]error[/] {escape(f'[{exc.code}]{field} {exc.reason}')}",
            highlight=False,
            soft_wrap=True,
        )
    raise typer.Exit(2)


def guard(as_json: bool, action: Callable[[], T]) -> T:
    """Run ``action``; a domain error becomes a clear message and exit status 2."""
    try:
        return action()
    except RiskdeskError as exc:
        fail(exc, as_json)
