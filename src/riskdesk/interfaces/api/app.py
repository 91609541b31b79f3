"""A minimal FastAPI app factory (the full API service comes in a later issue)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from riskdesk.application.facade import Application
from riskdesk.interfaces.api.rebalance import request_validation_response
from riskdesk.interfaces.api.rebalance import router as rebalance_router


def create_app(application: Application) -> FastAPI:
    """A FastAPI app over ``application`` with the option rebalancer routes; request
    validation errors use riskdesk's ``{"error": {code, field, reason}}`` shape."""
    app = FastAPI(
        title="riskdesk",
        summary="Position & risk engine: option rebalancer API",
        version="0.1.0",
    )
    app.state.application = application

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return request_validation_response(exc)

    app.include_router(rebalance_router)
    return app


__all__ = ["create_app"]
