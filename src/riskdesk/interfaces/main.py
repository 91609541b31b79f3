"""Console entry point placeholder."""


def main() -> None:
    """Run the riskdesk command line."""
    print("riskdesk")
