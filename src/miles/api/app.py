"""The FastAPI application: routers, error mapping, middleware, OpenAPI."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from miles import __version__
from miles.api import errors
from miles.api.adjustment_schemas import AdjustmentRequest, ClaimRequest
from miles.api.docs import install as install_docs
from miles.api.metrics import metrics_registry
from miles.api.middleware import EdgeMiddleware
from miles.api.openapi import document
from miles.api.operations_metrics import DatabaseCollector
from miles.api.partner_schemas import PartnerActivityRequest, PartnerBatchRequest, PartnerReversalRequest
from miles.api.promotion_schemas import PromotionRequest, RegistrationRequest
from miles.api.redemption_schemas import RedemptionRequest
from miles.api.routers import (
    accruals,
    adjustments,
    analytics,
    finance,
    health,
    members,
    nightly,
    partners,
    promotions,
    recovery,
    redemptions,
    retention,
)
from miles.api.schemas import (
    BatchAccrualRequest,
    FlightAccrualRequest,
    NewMemberRequest,
    ReversalRequest,
    TierGrantRequest,
)
from miles.bootstrap import Container
from miles.console import install as install_console
from miles.domain.awards import cabins as award_cabins
from miles.services.operations import probe
from miles.services.programmes import programme_in_force

DOCUMENTED_BODIES = (
    FlightAccrualRequest,
    BatchAccrualRequest,
    NewMemberRequest,
    ReversalRequest,
    RedemptionRequest,
    AdjustmentRequest,
    ClaimRequest,
    TierGrantRequest,
    PromotionRequest,
    RegistrationRequest,
    PartnerActivityRequest,
    PartnerBatchRequest,
    PartnerReversalRequest,
)


def create_app(
    container: Container, max_body_bytes: int = 16 * 1024 * 1024, probe_database_url: str | None = None
) -> FastAPI:
    """The API and the console on `container`; health checks and metrics read through a pool of their own,
    on `probe_database_url` when given (a PgBouncer database entry of their own), else the container's."""
    app = FastAPI(
        title="miles",
        version=__version__,
        description="The mileage engine of an airline frequent-flyer programme: accrual API.",
        docs_url=None,  # served from vendored files by miles.api.docs
        redoc_url=None,
    )
    app.state.container = container
    database_url = container.engine.url.render_as_string(hide_password=False)
    # health checks and metrics read on a small pool of their own, never the requests' connections
    probe_url = probe_database_url or database_url
    app.state.probe = probe(probe_url, container.clock, server_prepares=container.server_prepares)
    app.state.metrics = metrics_registry(DatabaseCollector(app.state.probe))
    errors.install(app)
    app.add_middleware(EdgeMiddleware, max_body_bytes=max_body_bytes)
    app.include_router(health.router)
    app.include_router(members.router)
    app.include_router(accruals.router)
    app.include_router(redemptions.router)
    app.include_router(redemptions.awards)
    app.include_router(nightly.router)
    app.include_router(adjustments.router)
    app.include_router(promotions.router)
    app.include_router(promotions.members)
    app.include_router(partners.router)
    app.include_router(finance.router)
    app.include_router(retention.router)
    app.include_router(analytics.router)
    app.include_router(recovery.router)
    install_console(app)  # the agents' console under /console
    install_docs(app)

    def cabins() -> tuple[str, ...] | None:
        """The award cabins of the programme in force (None when the database does not answer)."""
        try:
            programme = programme_in_force(container)
        except SQLAlchemyError:
            return None
        return award_cabins(programme.awards)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app, DOCUMENTED_BODIES, cabins())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
