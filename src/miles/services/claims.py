"""Missing-miles claims: an agent enters a flown coupon the booking system never sent. Accepted from
claim_min_days to claim_max_months after departure, then earned through the very same accrual use case
(channel "claim") under the coupon's own idempotency key and with the digest the accrual API computes:
when the booking system sends the coupon later, it gets the claim's accrual back as a replay."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from miles.adapters.db.claims import ClaimRecord
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.accrual import FlightCoupon
from miles.domain.agents import Actor
from miles.domain.claims import check_claim_window
from miles.domain.errors import Conflict, InvalidInput, MilesError
from miles.domain.member_numbers import validate_member_number
from miles.services import audit
from miles.services.accruals import CREATED, REJECTED, CouponRequest, accrue_coupons
from miles.services.clock import Clock, today
from miles.services.programmes import ProgrammeCatalog

MAX_COMMENT = 500


@dataclass(frozen=True)
class ClaimView:
    claim_id: int
    member_number: str
    accrual_id: int
    ticket_number: str
    coupon_number: int
    flight: str
    origin: str
    destination: str
    departure_date: str
    award_miles: int
    filed_by: str
    comment: str | None
    created_at: datetime


def claim_view(record: ClaimRecord) -> ClaimView:
    return ClaimView(
        claim_id=record.id,
        member_number=record.member_number,
        accrual_id=record.accrual_id,
        ticket_number=record.ticket_number,
        coupon_number=record.coupon_number,
        flight=record.flight,
        origin=record.origin,
        destination=record.destination,
        departure_date=record.departure_date.isoformat(),
        award_miles=record.award_miles,
        filed_by=record.filed_by,
        comment=record.comment,
        created_at=record.created_at,
    )


def accrual_digest(coupon: FlightCoupon) -> str:
    """The fingerprint the accrual API gives the same coupon (FlightAccrualRequest.digest(): SHA-256 of
    the body as compact JSON, fields in the API's order, no nulls), so that a claim and the booking
    system's later request for the same coupon match; a test holds the two together."""
    text = json.dumps(accrual_body(coupon), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def accrual_body(coupon: FlightCoupon) -> dict[str, Any]:
    """The coupon as the accrual API's request body."""
    body: dict[str, Any] = {
        "member_number": coupon.member_number,
        "ticket_number": coupon.ticket_number,
        "coupon_number": coupon.coupon_number,
        "marketing_carrier": coupon.marketing_carrier,
        "operating_carrier": coupon.operating_carrier,
        "flight_number": coupon.flight_number,
        "origin": coupon.origin,
        "destination": coupon.destination,
        "departure_date": coupon.departure_date.isoformat(),
        "booking_class": coupon.booking_class,
    }
    if coupon.fare_amount is not None:
        body["fare"] = {"amount": str(coupon.fare_amount), "currency": coupon.fare_currency}
    return body


FORM_FIELDS = {"fare.amount": "fare_amount", "fare.currency": "fare_currency", "fare": "fare_amount"}


def _form_error(error: MilesError) -> MilesError:
    if error.field in FORM_FIELDS:
        error.field = FORM_FIELDS[error.field]
    return error


def file_claim(
    uow: UnitOfWork,
    catalog: ProgrammeCatalog,
    clock: Clock,
    actor: Actor,
    coupon: FlightCoupon,
    comment: str | None,
    request_key: str | None = None,
) -> tuple[ClaimView, bool]:
    """(the claim, True when posted now / False when `request_key` replays an earlier submission).
    May raise CouponRaced (a concurrent request recorded the coupon meanwhile): run it again."""
    validate_member_number(coupon.member_number)
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise InvalidInput(f"a comment is at most {MAX_COMMENT} characters", field="comment")
    digest = accrual_digest(coupon)
    if request_key:
        uow.claims.lock_request_key(request_key)
        earlier = uow.claims.by_request_key(request_key)
        if earlier is not None:
            credited = uow.accruals.get(earlier.accrual_id)
            if credited is None or credited.request_digest != digest:
                raise Conflict("this request key was used for another claim", code="idempotency_key_reused")
            return claim_view(earlier), False
    programme = catalog.current(uow).in_force(coupon.departure_date)
    check_claim_window(coupon.departure_date, today(clock, programme.timezone), programme)
    [result] = accrue_coupons(uow, catalog, clock, [CouponRequest(0, coupon, digest)], "claim")
    if result.status == REJECTED:
        assert result.error is not None
        raise _form_error(result.error)
    if result.status != CREATED:
        recorded = uow.accruals.find(coupon.ticket_number, coupon.coupon_number)
        assert recorded is not None
        raise Conflict(
            f"coupon {coupon.ticket_number}/{coupon.coupon_number} was already credited "
            f"on {recorded.created_at.date().isoformat()} to member {recorded.member_number} "
            f"({recorded.award_miles:,} miles, accrual {recorded.id}): nothing to claim",
            field="ticket_number",
            code="coupon_already_accrued",
        )
    assert result.accrual is not None
    accrual = result.accrual
    member = uow.members.get(coupon.member_number, 0)
    assert member is not None
    claim_id = uow.claims.add(
        member.id, accrual.accrual_id, actor.name, actor.agent_id, comment, request_key, clock.now()
    )
    audit.record(
        uow,
        clock,
        actor,
        "claim.posted",
        member_id=member.id,
        subject=f"claim:{claim_id}",
        reason=comment or "missing miles",
        details={
            "accrual_id": accrual.accrual_id,
            "coupon": f"{coupon.ticket_number}/{coupon.coupon_number}",
            "flight": f"{coupon.marketing_carrier}{coupon.flight_number} {coupon.origin}-{coupon.destination}",
            "departure_date": coupon.departure_date.isoformat(),
            "award_miles": accrual.award_miles,
            "status_miles": accrual.status_miles,
        },
    )
    record = uow.claims.get(claim_id)
    assert record is not None
    return claim_view(record), True


def member_claims(uow: UnitOfWork, member_number: str, limit: int = 20) -> list[ClaimView]:
    return [claim_view(r) for r in uow.claims.for_member(member_number, limit)]
