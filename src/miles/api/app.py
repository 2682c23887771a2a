"""The FastAPI application: routers, error mapping, middleware, OpenAPI."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from miles import __version__
from miles.api import errors
from miles.api.adjustment_schemas import AdjustmentRequest, ClaimRequest
from miles.api.metrics import metrics_registry
from miles.api.middleware import EdgeMiddleware
from miles.api.operations_metrics import DatabaseCollector
from miles.api.redemption_schemas import RedemptionRequest
from miles.api.routers import accruals, adjustments, health, members, nightly, redemptions
from miles.api.schemas import BatchAccrualRequest, FlightAccrualRequest, NewMemberRequest, ReversalRequest
from miles.bootstrap import Container
from miles.console import install as install_console
from miles.services.operations import probe

DOCUMENTED_BODIES = (
    FlightAccrualRequest,
    BatchAccrualRequest,
    NewMemberRequest,
    ReversalRequest,
    RedemptionRequest,
    AdjustmentRequest,
    ClaimRequest,
)


def create_app(container: Container, max_body_bytes: int = 16 * 1024 * 1024) -> FastAPI:
    app = FastAPI(
        title="miles",
        version=__version__,
        description="The mileage engine of an airline frequent-flyer programme: accrual API.",
    )
    app.state.container = container
    database_url = container.engine.url.render_as_string(hide_password=False)
    app.state.metrics = metrics_registry(DatabaseCollector(probe(database_url), container.clock))
    errors.install(app)
    app.add_middleware(EdgeMiddleware, max_body_bytes=max_body_bytes)
    app.include_router(health.router)
    app.include_router(members.router)
    app.include_router(accruals.router)
    app.include_router(redemptions.router)
    app.include_router(redemptions.awards)
    app.include_router(nightly.router)
    app.include_router(adjustments.router)
    install_console(app)  # the agents' console under /console

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in DOCUMENTED_BODIES:
                body = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(body.pop("$defs", {}))
                components[model.__name__] = body
            schema["components"].setdefault("securitySchemes", {})["bearer"] = {
                "type": "http",
                "scheme": "bearer",
            }
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
