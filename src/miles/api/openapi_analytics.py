"""The analytics operations of the OpenAPI table (miles.api.openapi)."""

from __future__ import annotations

from miles.api import analytics_schemas as a
from miles.api.openapi_table import Operation, keyed

ANALYTICS_OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/v1/analytics/segments"): Operation(
        "getSegmentCounts",
        "analytics:read",
        {200: (a.SegmentCounts, "the segment sizes and flag counts of the latest night on or before `date`")},
        keyed((404, ("no_segments",)), (422, ("unknown_parameter",))),
        description="Every member has one segment (new, active, at_risk, lapsed, lost) and any of the flags "
        "repeat and vip, as the nightly run gave them (DESIGN.md, retention). A 404 `no_segments` when no "
        "night was counted on or before `date`; a date that is not YYYY-MM-DD is a 422 naming `date`.",
    ),
}
