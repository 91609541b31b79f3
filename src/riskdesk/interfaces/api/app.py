"""A minimal FastAPI app factory (the full API service comes in a later issue)."""

from __future__ import annotations

from fastapi import FastAPI

from riskdesk.application.facade import Application
from riskdesk.interfaces.api.rebalance import router as rebalance_router


def create_app(application: Application) -> FastAPI:
    """A FastAPI app over ``application`` with the option rebalancer routes."""
    app = FastAPI(
        title="riskdesk",
        summary="Position & risk engine: option rebalancer API",
        version="0.1.0",
    )
    app.state.application = application
    app.include_router(rebalance_router)
    return app


__all__ = ["create_app"]
