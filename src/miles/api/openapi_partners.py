"""The partner operations of the OpenAPI table (miles.api.openapi)."""

from __future__ import annotations

from miles.api import partner_schemas as ps
from miles.api.openapi_table import MEMBER_404, REPLAYED, Operation, keyed

PARTNER_403 = (403, ("wrong_partner",))
PARTNER_404 = (404, ("partner_not_found",))
ACTIVITY_404 = (404, ("partner_not_found", "activity_not_found"))
ACTIVITY_422 = (
    422,
    (
        "invalid_member_number",
        "unknown_kind",
        "unknown_category",
        "not_in_contract",
        "required",
        "out_of_range",
        "unknown_currency",
        "future_date",
        "too_old",
        "coupon_too_old",
        "daily_limit_reached",
    ),
)
PARTNER_OPERATIONS: dict[tuple[str, str], Operation] = {
    ("POST", "/v1/partners/{partner}/activities"): Operation(
        "recordPartnerActivity",
        "partner:write",
        {
            201: (ps.PartnerActivityAnswer, "recorded: pending until `posts_on`, or posted at once"),
            200: (ps.PartnerActivityAnswer, REPLAYED + "; as the activity stands now"),
        },
        keyed(PARTNER_403, PARTNER_404, MEMBER_404, (409, ("activity_conflict",)), ACTIVITY_422),
        description="An activity is unique on the partner's `activity_id`: sent again with the same body it "
        "is a replay (200, as it stands now: a pending one may have posted since); with another body a 409 "
        "`activity_conflict`. A key bound to another partner gets 403 `wrong_partner`.",
    ),
    ("POST", "/v1/partners/{partner}/activities/batch"): Operation(
        "recordPartnerActivities",
        "partner:write",
        {200: (ps.PartnerBatchAnswer, "one result per item, in order: created, replayed or error")},
        keyed(PARTNER_403, PARTNER_404),
        description="A bad item is that item's `error`, never the batch's failure.",
    ),
    ("GET", "/v1/partners/{partner}/activities/{activity_id}"): Operation(
        "getPartnerActivity",
        "partner:write",
        {
            200: (
                ps.PartnerActivityAnswer,
                "the activity as it stands: pending, posted, cancelled or reversed",
            )
        },
        keyed(PARTNER_403, ACTIVITY_404),
    ),
    ("POST", "/v1/partners/{partner}/activities/{activity_id}/reversal"): Operation(
        "reversePartnerActivity",
        "partner:write",
        {
            201: (ps.PartnerActivityAnswer, "reversed: `cancelled` when it was pending, else `reversed`"),
            200: (ps.PartnerActivityAnswer, REPLAYED),
        },
        keyed(PARTNER_403, ACTIVITY_404, (409, ("already_reversed",)), (422, ("invalid_text",))),
        description="Pending miles are cancelled and never post; posted miles are taken back by a reversing "
        "transfer (which may leave the member in debt, as a reversed flight does).",
    ),
    ("GET", "/v1/partners/{partner}/settlements/{month}"): Operation(
        "getPartnerSettlement",
        "partner:write",
        {200: (ps.SettlementAnswer, "the month as closed, or as it stands so far (`closed: false`)")},
        keyed(PARTNER_403, PARTNER_404),
        description="Miles posted in the month and reversed (after posting) in it; a closed month never "
        "changes, later reversals count in the month they happen in.",
    ),
}
