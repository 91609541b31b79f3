"""riskdesk package."""
