"""Console entry point: composes the independent interfaces (CLI, MCP; the API comes later).

``interfaces.cli``, ``.api`` and ``.mcp`` never import each other (import-linter checks it);
this module joins them: ``riskdesk mcp`` is registered here on the CLI's Typer app.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer
from pydantic import ValidationError as SettingsValidationError

from riskdesk.bootstrap.risk_settings import settings_error
from riskdesk.interfaces.cli.app import app
from riskdesk.interfaces.cli.common import DbOption, fail


class Transport(StrEnum):
    """MCP transports."""

    STDIO = "stdio"
    HTTP = "http"


@app.command("mcp")
def mcp(
    transport: Annotated[
        Transport, typer.Option(help="stdio (spawned by an MCP client) or http (streamable HTTP)")
    ] = Transport.STDIO,
    host: Annotated[str, typer.Option(help="HTTP bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port")] = 8765,
    path: Annotated[str, typer.Option(help="HTTP endpoint path")] = "/mcp",
    db: DbOption = None,
) -> None:
    """Run riskdesk's MCP server: option tools, the rebalancer prompt, book and plan resources.

    stdio writes only MCP messages to stdout; logs go to stderr.
    """
    # Imported on use: the MCP SDK and the application stack are not needed by other commands.
    from riskdesk.bootstrap.settings import Settings  # noqa: PLC0415
    from riskdesk.bootstrap.wiring import build  # noqa: PLC0415
    from riskdesk.interfaces.mcp.server import run_server  # noqa: PLC0415

    application = build(Settings(), db).app
    run_server(
        application,
        "stdio" if transport is Transport.STDIO else "http",
        host=host,
        port=port,
        path=path,
    )


def main() -> None:
    """Run the riskdesk command line. A setting that fails validation is reported by its name
    and environment variable (exit status 2), not as a traceback."""
    try:
        app()
    except SettingsValidationError as exc:
        try:
            fail(settings_error(exc), "--json" in sys.argv)
        except typer.Exit as done:
            raise SystemExit(done.exit_code) from None


if __name__ == "__main__":
    main()
