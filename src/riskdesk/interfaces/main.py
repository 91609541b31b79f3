"""Console entry point: the CLI, plus (in later issues) the API and MCP launchers.

This module composes the independent interface packages; they never import each other.
"""

from __future__ import annotations

from riskdesk.interfaces.cli.app import app


def main() -> None:
    """Run the riskdesk command line."""
    app()


if __name__ == "__main__":
    main()
