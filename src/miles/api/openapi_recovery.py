"""The service-recovery operation of the OpenAPI table (miles.api.openapi)."""

from __future__ import annotations

from miles.api import recovery_schemas as rs
from miles.api.openapi_table import Operation, keyed

RECOVERY_OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/v1/analytics/service-recovery"): Operation(
        "getServiceRecovery",
        "analytics:read",
        {200: (rs.ServiceRecoveryReport, "the two groups side by side, and their difference")},
        keyed((422, ("invalid_date", "reversed_range", "unknown_parameter"))),
        description="The complaints recorded from `from` to `to` (YYYY-MM-DD, both included, in the "
        "programme's time zone), each member followed for the 12 months after their complaint, cut at "
        "today: members who were compensated (a linked goodwill that was applied) against those who were "
        "not. A date that is not YYYY-MM-DD is a 422 naming it; `to` before `from` a 422 `reversed_range` "
        "naming `to`.",
    ),
}
