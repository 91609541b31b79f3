"""Shared CLI plumbing: consoles, common options, and the error guard every command uses."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

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


class GuardedGroup(TyperGroup):
    """The root command group: a domain error that escapes a command's own :func:`guard` (for
    instance a missing database, found while the application is built) still becomes the clear
    message and exit status 2, in JSON when the command line asks for ``--json``."""

    _JSON = "riskdesk.json"

    # ``ctx`` is Typer's (vendored) click context; typed loosely to stay off its private module.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Note whether the command line asks for JSON, then parse as usual."""
        ctx.meta[self._JSON] = "--json" in args
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        """Invoke the subcommand, translating an escaped :class:`RiskdeskError`."""
        try:
            return super().invoke(ctx)
        except RiskdeskError as exc:
            fail(exc, bool(ctx.meta.get(self._JSON)))
