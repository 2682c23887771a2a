"""The OpenAPI document, told truthfully in one table: each operation's short id, scope, success statuses
with their bodies, error statuses with the `{"error": ...}` body and their codes, and its
`Idempotency-Key`. `document()` builds FastAPI's document and rewrites it from the table; a route
missing from the table is an error, so the document cannot silently fall behind the routes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from miles.api import analytics_schemas as a
from miles.api import promotion_schemas as p
from miles.api import response_schemas as r
from miles.api.openapi_analytics import ANALYTICS_OPERATIONS
from miles.api.openapi_finance import FINANCE_OPERATIONS
from miles.api.openapi_partners import PARTNER_OPERATIONS
from miles.api.openapi_recovery import RECOVERY_OPERATIONS
from miles.api.openapi_retention import RETENTION_OPERATIONS
from miles.api.openapi_table import (
    MEMBER_404,
    REPLAYED,
    Operation,
    keyed,
)
from miles.domain.goodwill import REASONS

ACCRUAL_422 = (
    422,
    (
        "invalid_member_number",
        "unknown_airport",
        "carrier_not_in_programme",
        "fare_required",
        "fare_above_ceiling",
        "unknown_currency",
        "coupon_too_old",
        "date_in_past",
    ),
)
IDEMPOTENCY_409 = (409, ("idempotency_key_reused", "idempotency_key_in_flight"))
PROMOTION_404 = (404, ("promotion_not_found",))
PROMOTION_422 = (
    422,
    (
        "unknown_tiers",
        "unknown_carriers",
        "unknown_cabins",
        "unknown_airports",
        "unknown_booking_classes",
        "unknown_partners",
        "unknown_activity_kinds",
        "unknown_metric",
        "invalid_date",
        "invalid_text",
    ),
)

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/healthz"): Operation("health", None, {200: (r.Health, "the process is alive")}),
    ("GET", "/readyz"): Operation(
        "readiness",
        None,
        {200: (r.Readiness, "the database (at this code's migration, or a newer one) and the broker answer")},
        {503: ()},
        description="503 with the same body (`status: not ready`) when a dependency does not answer, or "
        "while the database is behind the code's migration (`checks.schema`: `behind: ...`).",
    ),
    ("GET", "/metrics"): Operation(
        "metrics",
        None,
        {200: (None, "Prometheus text exposition")},
        {401: ("metrics_token_required",)},
        description="No API key. When the server sets MILES_METRICS_TOKEN, the scraper sends it as "
        "`Authorization: Bearer TOKEN` (401 `metrics_token_required` otherwise).",
    ),
    ("POST", "/v1/members"): Operation(
        "enrolMember",
        "member:write",
        {201: (r.Member, "enrolled"), 200: (r.Member, REPLAYED)},
        keyed(IDEMPOTENCY_409),
        "optional",
    ),
    ("GET", "/v1/members/{member_number}"): Operation(
        "getMember",
        "member:read",
        {200: (a.MemberRead, "the member's tier, balances, current qualification period and segment")},
        keyed(MEMBER_404, (422, ("invalid_member_number",))),
    ),
    ("POST", "/v1/members/{member_number}/tier"): Operation(
        "grantTier",
        "admin",
        {200: (r.Member, "the tier is set; the member as they stand now (a replay answers the same)")},
        keyed(
            MEMBER_404,
            IDEMPOTENCY_409,
            (
                422,
                (
                    "invalid_member_number",
                    "unknown_tier",
                    "invalid_reason",
                    "invalid_date",
                    "below_lifetime_tier",
                    "invalid_text",
                ),
            ),
        ),
        "optional",
        "A status match or another grant: the tier applies at once, valid until `valid_until` (by "
        "default as long as a tier earned today would be; the base tier has none), recorded in the "
        "member's tier history with its reason and in the audit trail.",
    ),
    ("GET", "/v1/members/{member_number}/statement"): Operation(
        "getStatement",
        "member:read",
        {200: (r.Statement, "a page of transfers, newest first")},
        keyed(MEMBER_404, (422, ("invalid_member_number",))),
        description="Page with `cursor`: pass the `next_cursor` of a page to get the next one. "
        "`from` and `to` bound the days (the programme's time zone); a bound beyond the calendar "
        "(`to=9999-12-31`) means no bound.",
    ),
    ("POST", "/v1/promotions"): Operation(
        "createPromotion",
        "promotion:write",
        {201: (p.PromotionAnswer, "created"), 200: (p.PromotionAnswer, REPLAYED)},
        keyed(IDEMPOTENCY_409, (409, ("promotion_exists",)), PROMOTION_422),
        "optional",
        "A campaign, checked against the programme in force (its tiers, metrics, carriers, cabins, "
        "airports and ceilings). The same code again with the same body answers the campaign (200); "
        "with another body a 409 `promotion_exists`.",
    ),
    ("GET", "/v1/promotions"): Operation(
        "listPromotions", "member:read", {200: (p.PromotionList, "the promotions, newest first")}, keyed()
    ),
    ("GET", "/v1/promotions/{code}"): Operation(
        "getPromotion",
        "member:read",
        {200: (p.PromotionAnswer, "the promotion with its awarded miles, members rewarded and budget left")},
        keyed(PROMOTION_404),
    ),
    ("POST", "/v1/promotions/{code}/end"): Operation(
        "endPromotion",
        "promotion:write",
        {200: (p.PromotionAnswer, "ended (again: answers the same)")},
        keyed(PROMOTION_404),
        description="Coupons posted from now on earn it no more; what it gave stays (history is never rewritten).",
    ),
    ("POST", "/v1/promotions/{code}/registrations"): Operation(
        "registerForPromotion",
        "member:write",
        {
            201: (p.Registration, "registered"),
            200: (p.Registration, "already registered: the first registration"),
        },
        keyed(
            PROMOTION_404,
            MEMBER_404,
            (422, ("registration_not_required", "promotion_ended", "invalid_member_number")),
        ),
    ),
    ("GET", "/v1/members/{member_number}/promotions"): Operation(
        "getMemberPromotions",
        "member:read",
        {200: (p.MemberPromotions, "the member's registrations and challenge progress")},
        keyed(MEMBER_404, (422, ("invalid_member_number",))),
    ),
    ("POST", "/v1/accruals/flights"): Operation(
        "accrueFlight",
        "accrual:write",
        {201: (r.Accrual, "accrued"), 200: (r.Accrual, REPLAYED)},
        keyed(MEMBER_404, (409, ("coupon_already_accrued",)), ACCRUAL_422),
        description="A coupon is unique on (ticket_number, coupon_number): sending it again with the same "
        "body is a replay (200, the first answer); with another body a 409 `coupon_already_accrued`.",
    ),
    ("POST", "/v1/accruals/flights/quote"): Operation(
        "quoteFlight",
        "accrual:write",
        {200: (r.AccrualQuote, "what the coupon would earn if it were accrued now")},
        keyed(MEMBER_404, (409, ("coupon_already_accrued",)), ACCRUAL_422),
        description="Writes nothing and locks nothing: the miles, the promotions, the qualifying credits "
        "and the tier after, at the member's standing and the promotions running now. The departure may "
        "be up to 366 days ahead (booking systems quote at sale).",
    ),
    ("POST", "/v1/accruals/flights/batch"): Operation(
        "accrueFlights",
        "accrual:write",
        {200: (r.BatchResults, "one result per item, in order: created, replayed, conflict or rejected")},
        keyed(),
        description="A bad item is that item's `rejected` (with its error), never the batch's failure.",
    ),
    ("POST", "/v1/accruals/{accrual_id}/reversal"): Operation(
        "reverseAccrual",
        "accrual:write",
        {201: (r.Reversal, "reversed"), 200: (r.Reversal, REPLAYED)},
        keyed((404, ("accrual_not_found",)), (409, ("already_reversed",))),
    ),
    ("POST", "/v1/redemptions"): Operation(
        "requestRedemption",
        "redemption:write",
        {202: (r.RedemptionAccepted, "accepted: the miles are held, the booking goes on in the background")},
        keyed(
            MEMBER_404,
            IDEMPOTENCY_409,
            (
                422,
                (
                    "missing_idempotency_key",
                    "insufficient_miles",
                    "unknown_cabin",
                    "unknown_hotel_category",
                    "beyond_booking_horizon",
                ),
            ),
            (503, ("supplier_unavailable", "supplier_timeout")),
        ),
        "required",
        description="Answers 202 at once with `status: PENDING`; poll `GET /v1/redemptions/{redemption_id}` "
        "until it is CONFIRMED or FAILED. A retry with the same Idempotency-Key and body answers the "
        "same 202 without booking twice.",
    ),
    ("GET", "/v1/redemptions/{redemption_id}"): Operation(
        "getRedemption",
        "member:read",
        {200: (r.Redemption, "the redemption's state, items and history")},
        keyed((404, ("redemption_not_found",))),
        description="Poll this after a 202: `status` goes from PENDING to CONFIRMED or FAILED.",
    ),
    ("POST", "/v1/redemptions/{redemption_id}/cancel"): Operation(
        "cancelRedemption",
        "redemption:write",
        {200: (r.Cancellation, "cancelled (or a replay): the miles back, less the fee")},
        keyed(
            (404, ("redemption_not_found",)),
            (409, ("not_cancellable", "cancellation_too_late", *IDEMPOTENCY_409[1])),
            (503, ("supplier_unavailable", "supplier_timeout")),
        ),
        "optional",
    ),
    ("POST", "/v1/awards/quote"): Operation(
        "quoteAward",
        "member:read",
        {200: (r.Quote, "the price in miles with the suppliers' current fares; nothing is held")},
        keyed(
            MEMBER_404,
            (422, ("unknown_cabin", "unknown_hotel_category", "beyond_booking_horizon")),
            (503, ("supplier_unavailable", "supplier_timeout")),
        ),
    ),
    ("GET", "/v1/nightly-runs/{run_date}"): Operation(
        "getNightlyRun",
        "member:read",
        {200: (r.NightlyRun, "the night's report; `status` is running until its last chunk is done")},
        keyed((404, ("nightly_run_not_found",))),
    ),
    ("POST", "/v1/adjustments"): Operation(
        "grantGoodwill",
        "adjustment:write",
        {201: (r.Adjustment, "applied, or queued for a supervisor"), 200: (r.Adjustment, REPLAYED)},
        keyed(MEMBER_404, IDEMPOTENCY_409),
        "optional",
    ),
    ("GET", "/v1/adjustments/{adjustment_id}"): Operation(
        "getAdjustment",
        "member:read",
        {200: (r.Adjustment, "the adjustment and its decision")},
        keyed((404, ("adjustment_not_found",))),
    ),
    ("POST", "/v1/claims"): Operation(
        "fileClaim",
        "adjustment:write",
        {201: (r.Claim, "filed and earned (or waiting for a supervisor)"), 200: (r.Claim, REPLAYED)},
        keyed(
            MEMBER_404,
            (409, ("coupon_already_accrued", *IDEMPOTENCY_409[1])),
            (*ACCRUAL_422[:1], (*ACCRUAL_422[1], "claim_too_early", "claim_too_late")),
        ),
        "optional",
    ),
}
OPERATIONS |= PARTNER_OPERATIONS
OPERATIONS |= RECOVERY_OPERATIONS
OPERATIONS |= FINANCE_OPERATIONS
OPERATIONS |= RETENTION_OPERATIONS
OPERATIONS |= ANALYTICS_OPERATIONS


STATUS_TEXT = {
    401: "no key, or a key that is unknown, expired or revoked",
    403: "the key lacks the scope",
    404: "not found",
    409: "conflicts with what is recorded",
    413: "the body is over the size limit",
    422: "the request breaks a rule: `field` names the field",
    503: "a dependency did not answer; nothing was changed, retry",
}


def _error_response(status: int, codes: tuple[str, ...]) -> dict[str, Any]:
    listed = ", ".join(f"`{c}`" for c in dict.fromkeys(codes))
    return {
        "description": STATUS_TEXT.get(status, "error") + (f". Codes: {listed}" if listed else ""),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _success(model: type[BaseModel] | None, description: str, metrics: bool) -> dict[str, Any]:
    if metrics:
        return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}
    assert model is not None
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
    }


IDEMPOTENCY_TEXT = (
    "Any unique string (a UUID will do), at most 200 printable characters. A retry with the same key "
    "and body is answered as the first request was, without doing it again; the same key with another "
    "body is a 409 `idempotency_key_reused`."
)


def _rewrite(path: str, method: str, operation: dict[str, Any], spec: Operation) -> None:
    operation["operationId"] = spec.id
    metrics = path == "/metrics"
    responses: dict[str, Any] = {
        str(s): _success(model, text, metrics) for s, (model, text) in sorted(spec.ok.items())
    }
    errors = dict(spec.errors)
    if method in ("POST", "PUT", "PATCH"):
        errors.setdefault(413, ())
    for status, codes in sorted(errors.items()):
        responses[str(status)] = _error_response(status, codes)
    if path == "/readyz":
        responses["503"] = _success(r.Readiness, "a dependency does not answer", False)
    operation["responses"] = responses
    if spec.scope is None:
        operation["security"] = []
    else:
        operation["security"] = [{"bearer": []}]
        operation["x-scope"] = spec.scope
        scope = f"Scope: `{spec.scope}` (or `admin`)."
        operation["description"] = " ".join(x for x in (spec.description, scope) if x)
    if spec.description and spec.scope is None:
        operation["description"] = spec.description
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header" and parameter["name"].lower() == "idempotency-key":
            parameter["name"] = "Idempotency-Key"
            parameter["required"] = spec.idempotency == "required"
            parameter["description"] = IDEMPOTENCY_TEXT


def _components(models: list[type[BaseModel]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in models:
        body = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(body.pop("$defs", {}))
        out[model.__name__] = body
    return out


def _enums(schemas: dict[str, Any], cabins: tuple[str, ...] | None) -> None:
    """Reason codes (the domain's) and cabins (the programme in force's) as enums."""
    # the batch validates each item on its own (a bad one is that item's `rejected`), but each is a coupon
    schemas["BatchAccrualRequest"]["properties"]["items"]["items"] = {
        "$ref": "#/components/schemas/FlightAccrualRequest"
    }
    schemas["PartnerBatchRequest"]["properties"]["items"]["items"] = {
        "$ref": "#/components/schemas/PartnerActivityRequest"
    }
    reason = schemas["AdjustmentRequest"]["properties"]["reason_code"]
    reason["enum"] = list(REASONS)
    if cabins:
        schemas["FlightItem"]["properties"]["cabin"]["enum"] = list(cabins)


def document(
    app: FastAPI, requests: tuple[type[BaseModel], ...], cabins: tuple[str, ...] | None
) -> dict[str, Any]:
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    answers = sorted({m for op in OPERATIONS.values() for m, _ in op.ok.values() if m is not None}, key=str)
    schemas.update(_components([*requests, *answers, r.Error]))
    _enums(schemas, cabins)
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            key = (method.upper(), path)
            if key not in OPERATIONS:
                raise LookupError(f"{key} is not described in miles.api.openapi.OPERATIONS")
            _rewrite(path, key[0], operation, OPERATIONS[key])
    schema["components"]["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "an API key made with `miles apikey create NAME --scope S`",
        }
    }
    schema["security"] = [{"bearer": []}]
    return schema
