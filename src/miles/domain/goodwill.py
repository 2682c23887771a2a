"""Goodwill miles: reason codes, limits, who may approve, and the earn lot they open."""

from __future__ import annotations

from datetime import date

from miles.domain.calendar import end_of_month_after
from miles.domain.lots import check_not_born_expired
from miles.domain.programme.model import ExpiryKind, Programme
from miles.domain.validation import Problems, check_text

REASONS: dict[str, str] = {
    "service_recovery": "Service recovery",
    "delay": "Delay",
    "baggage": "Baggage",
    "complaint": "Complaint",
    "birthday": "Birthday",
    "other": "Other",
}
MAX_MILES = 1_000_000  # no single adjustment above this, whoever approves it
MAX_COMMENT = 500

APPLIED, PENDING, APPROVED, REJECTED = "APPLIED", "PENDING", "APPROVED", "REJECTED"


def validate_goodwill(miles: int, reason_code: str, comment: str) -> None:
    """Raises InvalidFields naming each bad field."""
    problems = Problems()
    if not 1 <= miles <= MAX_MILES:
        problems.add(f"goodwill is 1 to {MAX_MILES:,} miles", field="miles")
    if reason_code not in REASONS:
        problems.add(f"choose a reason: {', '.join(REASONS)}", field="reason_code")
    if not comment.strip():
        problems.add("say what happened (a comment is required)", field="comment")
    elif len(comment) > MAX_COMMENT:
        problems.add(f"a comment is at most {MAX_COMMENT} characters", field="comment")
    else:
        problems.check(lambda: check_text(comment, "comment", multiline=True))
    problems.raise_any()


def needs_approval(miles: int, programme: Programme, granted_today: int = 0) -> bool:
    """Up to the programme's agent limit (inclusive) applies at once, as long as the member's goodwill
    applied this programme day (`granted_today`) plus this grant stays within the per-member daily
    limit; anything more waits for a supervisor."""
    return (
        miles > programme.goodwill_agent_limit
        or granted_today + miles > programme.goodwill_member_daily_limit
    )


def approval_reason(miles: int, programme: Programme, granted_today: int) -> str:
    """Why a grant waits, in a sentence (for the audit trail)."""
    if miles > programme.goodwill_agent_limit:
        return f"above the agent limit of {programme.goodwill_agent_limit:,} miles"
    return (
        f"past the member's daily limit of {programme.goodwill_member_daily_limit:,} miles "
        f"({granted_today:,} already granted today)"
    )


def lot_expiry(programme: Programme, earned: date) -> date | None:
    """The expiry of a lot earned on `earned` under the programme's policy (inactivity: no per-lot date);
    never one already past on the day it is earned."""
    if programme.expiry.kind is ExpiryKind.LOTS:
        expires = end_of_month_after(earned, programme.expiry.months)
        check_not_born_expired(expires, earned, field="miles")
        return expires
    return None


def memo(reason_code: str, comment: str) -> str:
    return f"{REASONS.get(reason_code, reason_code)}: {comment.strip()}"
