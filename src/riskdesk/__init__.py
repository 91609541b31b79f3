"""riskdesk: a position & risk engine for crypto and options traders."""

__version__ = "0.1.0"
