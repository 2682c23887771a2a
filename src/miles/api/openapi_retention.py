"""The retention reports of the OpenAPI table (miles.api.openapi)."""

from __future__ import annotations

from miles.api import retention_schemas as rs
from miles.api.openapi_table import Operation, keyed

RANGE_422 = (422, ("invalid_month", "reversed_range", "range_too_long", "out_of_range", "unknown_parameter"))
RANGE = "`from` and `to` are months (YYYY-MM); by default the last twelve, this one included."

RETENTION_OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/v1/analytics/segments/history"): Operation(
        "getSegmentHistory",
        "analytics:read",
        {200: (rs.SegmentHistory, "each month's last night with segments, oldest first")},
        keyed(RANGE_422),
        description=RANGE,
    ),
    ("GET", "/v1/analytics/lost"): Operation(
        "getLostMembers",
        "analytics:read",
        {200: (rs.LostMembers, "every month of the range")},
        keyed(RANGE_422),
        description="A member is lost on the night their segment becomes `lost`; what preceded it is the latest "
        "complaint, tier downgrade or expiry in the 12 months before (on one day: complaint, downgrade, "
        "expiry). " + RANGE,
    ),
    ("GET", "/v1/analytics/won-back"): Operation(
        "getWonBackMembers",
        "analytics:read",
        {200: (rs.WonBack, "every month of the range")},
        keyed(RANGE_422),
        description="Won back: from lapsed or lost to new or active; the promotions are those the latest flight "
        "credited by then earned. " + RANGE,
    ),
    ("GET", "/v1/analytics/cohorts"): Operation(
        "getCohortRetention",
        "analytics:read",
        {200: (rs.CohortRetentionAnswer, "each enrolment month of the range")},
        keyed(RANGE_422),
        description="Retained: new, active or at risk at the month's end. " + RANGE,
    ),
    ("GET", "/v1/analytics/promotions"): Operation(
        "getPromotionReturns",
        "analytics:read",
        {
            200: (
                rs.PromotionReturns,
                "the promotions that awarded miles or brought members back in the range",
            )
        },
        keyed(RANGE_422),
        description=RANGE,
    ),
}
