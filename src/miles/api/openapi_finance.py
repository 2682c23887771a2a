"""The finance operations of the OpenAPI table (miles.api.openapi)."""

from __future__ import annotations

from miles.api import finance_schemas as fs
from miles.api.openapi_table import Operation, keyed

MONTH_422 = (422, ("invalid_month", "future_month", "out_of_range", "unknown_parameter"))

FINANCE_OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/v1/finance/periods"): Operation(
        "listFinancePeriods",
        "finance:read",
        {200: (fs.FinancePeriods, "every closed month, oldest first (none yet: an empty list)")},
        keyed((422, ("unknown_parameter",))),
    ),
    ("GET", "/v1/finance/periods/{month}"): Operation(
        "getFinancePeriod",
        "finance:read",
        {200: (fs.FinancePeriod, "the month as closed, or measured as it stands (`closed: false`)")},
        keyed(MONTH_422, (409, ("liability_mismatch",))),
        description="Miles issued in the month by source (by the dates they were posted, net of reversals), "
        "redeemed, expired, outstanding at its end, the breakage rate, and the deferred revenue rolled "
        "forward by the cumulative catch-up method (docs/finance.md). A month is closed with `miles finance "
        "close --month YYYY-MM`; a closed month never changes. A month not begun yet is a 422 `future_month`.",
    ),
    ("GET", "/v1/finance/liability"): Operation(
        "getFinanceLiability",
        "finance:read",
        {200: (fs.FinanceLiability, "the liability at the end of the date, checked against the balances")},
        keyed((422, ("future_date", "unknown_parameter")), (409, ("liability_mismatch",))),
        description="The lots' remaining miles at the end of the date (by the instants miles were posted), by "
        "earn-month cohort and by source, the debts no lot carries and the miles held for awards in progress; "
        "the lots less the debts are the members' balances (a 409 `liability_mismatch` otherwise).",
    ),
}
