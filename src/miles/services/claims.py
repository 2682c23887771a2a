"""Missing-miles claims: an agent enters a flown coupon the booking system never sent. Accepted from
claim_min_days to claim_max_months after departure, then earned through the very same accrual use case
(channel "claim") under the coupon's own idempotency key and with the digest the accrual API computes:
when the booking system sends the coupon later, it gets the claim's accrual back as a replay.

A claim that would earn more award miles than the programme's agent limit is not credited: it waits
(PENDING, keeping its coupon) until a supervisor other than the filer approves it, which earns it then
through the same accrual use case under the same key, or rejects it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from miles.adapters.db.claims import ClaimRecord
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.accrual import FlightCoupon
from miles.domain.agents import Actor
from miles.domain.approvals import check_decider, decision_note
from miles.domain.claims import APPLIED, APPROVED, PENDING, REJECTED, check_claim_window
from miles.domain.errors import Conflict, InvalidInput, NotFound
from miles.domain.member_numbers import validate_member_number
from miles.domain.validation import check_text
from miles.services import audit
from miles.services.accrual_requests import CouponRequest
from miles.services.accruals import CREATED, HELD, earn_coupons, retry_raced
from miles.services.accruals import REJECTED as ITEM_REJECTED
from miles.services.clock import Clock, today
from miles.services.programmes import ProgrammeCatalog
from miles.services.runtime import Runtime

MAX_COMMENT = 500


@dataclass(frozen=True)
class ClaimView:
    claim_id: int
    member_number: str
    accrual_id: int | None  # None while the claim waits for a supervisor, or once rejected
    status: str  # APPLIED | PENDING | APPROVED | REJECTED
    ticket_number: str
    coupon_number: int
    flight: str
    origin: str
    destination: str
    departure_date: str
    award_miles: int  # earned; while it waits, what it would earn when filed
    filed_by: str
    comment: str | None
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None

    @property
    def credited(self) -> bool:
        return self.status in (APPLIED, APPROVED)


def claim_view(record: ClaimRecord) -> ClaimView:
    return ClaimView(
        claim_id=record.id,
        member_number=record.member_number,
        accrual_id=record.accrual_id,
        status=record.status,
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
        decided_by=record.decided_by,
        decided_at=record.decided_at,
        decision_note=record.decision_note,
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


def coupon_from_body(body: dict[str, Any]) -> FlightCoupon:
    """The coupon a waiting claim keeps (`accrual_body`), back as a domain value."""
    fare = body.get("fare")
    return FlightCoupon(
        member_number=body["member_number"],
        ticket_number=body["ticket_number"],
        coupon_number=int(body["coupon_number"]),
        marketing_carrier=body["marketing_carrier"],
        operating_carrier=body["operating_carrier"],
        flight_number=body["flight_number"],
        origin=body["origin"],
        destination=body["destination"],
        departure_date=date.fromisoformat(body["departure_date"]),
        booking_class=body["booking_class"],
        fare_amount=Decimal(fare["amount"]) if fare else None,
        fare_currency=fare["currency"] if fare else None,
    )


# the console's claim form names the fare's fields otherwise than the API (errors name the API's)
FORM_FIELDS = {"fare.amount": "fare_amount", "fare.currency": "fare_currency", "fare": "fare_amount"}


def file_claim(
    uow: UnitOfWork,
    catalog: ProgrammeCatalog,
    clock: Clock,
    actor: Actor,
    coupon: FlightCoupon,
    comment: str | None,
) -> ClaimView:
    """The claim (once per key: see services.adjustment_requests.file_missing_miles): credited at once (APPLIED) or, above the agent limit, waits for a supervisor (PENDING).
    May raise CouponRaced (a concurrent request recorded the coupon meanwhile): see `retry_raced`."""
    validate_member_number(coupon.member_number)
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise InvalidInput(f"a comment is at most {MAX_COMMENT} characters", field="comment")
    if comment is not None:
        check_text(comment, "comment", multiline=True)
    digest = accrual_digest(coupon)
    programme = catalog.current(uow).in_force(coupon.departure_date)
    check_claim_window(coupon.departure_date, today(clock, programme.timezone), programme)
    uow.claims.lock_coupon(coupon.ticket_number, coupon.coupon_number)
    waiting = uow.claims.waiting_for_coupon(coupon.ticket_number, coupon.coupon_number)
    if waiting is not None:
        raise Conflict(
            f"coupon {coupon.ticket_number}/{coupon.coupon_number} already has a claim waiting for a "
            f"supervisor (claim {waiting.id}, filed by {waiting.filed_by})",
            field="ticket_number",
            code="claim_waiting",
        )
    [result] = earn_coupons(
        uow,
        catalog,
        clock,
        [CouponRequest(0, coupon, digest)],
        "claim",
        hold_above=programme.claim_approval_above,
    )
    if result.status == ITEM_REJECTED:
        assert result.error is not None
        raise result.error
    if result.status == HELD:
        assert result.held_miles is not None
        return _file_waiting(uow, clock, actor, coupon, digest, result.held_miles, comment)
    if result.status != CREATED:
        raise _already_credited(uow, coupon)
    assert result.accrual is not None
    accrual = result.accrual
    member = uow.members.get(coupon.member_number)
    assert member is not None
    claim_id = uow.claims.add(member.id, accrual.accrual_id, actor.name, actor.agent_id, comment, clock.now())
    audit.record(
        uow,
        clock,
        actor,
        "claim.posted",
        member_id=member.id,
        subject=f"claim:{claim_id}",
        reason=comment or "missing miles",
        details=_details(coupon)
        | {
            "accrual_id": accrual.accrual_id,
            "award_miles": accrual.award_miles,
            "status_miles": accrual.status_miles,
        },
    )
    record = uow.claims.get(claim_id)
    assert record is not None
    return claim_view(record)


def _details(coupon: FlightCoupon) -> dict[str, Any]:
    return {
        "coupon": f"{coupon.ticket_number}/{coupon.coupon_number}",
        "flight": f"{coupon.marketing_carrier}{coupon.flight_number} {coupon.origin}-{coupon.destination}",
        "departure_date": coupon.departure_date.isoformat(),
    }


def _already_credited(uow: UnitOfWork, coupon: FlightCoupon) -> Conflict:
    recorded = uow.accruals.find(coupon.ticket_number, coupon.coupon_number)
    assert recorded is not None
    return Conflict(
        f"coupon {coupon.ticket_number}/{coupon.coupon_number} was already credited "
        f"on {recorded.created_at.date().isoformat()} to member {recorded.member_number} "
        f"({recorded.award_miles:,} miles, accrual {recorded.id}): nothing to claim",
        field="ticket_number",
        code="coupon_already_accrued",
    )


def _file_waiting(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    coupon: FlightCoupon,
    digest: str,
    miles: int,
    comment: str | None,
) -> ClaimView:
    member = uow.members.get(coupon.member_number)
    assert member is not None  # the accrual use case found (and locked) it
    claim_id = uow.claims.add_waiting(
        member.id,
        accrual_body(coupon),
        digest,
        miles,
        actor.name,
        actor.agent_id,
        comment,
        clock.now(),
    )
    audit.record(
        uow,
        clock,
        actor,
        "claim.requested",
        member_id=member.id,
        subject=f"claim:{claim_id}",
        reason=comment or "missing miles",
        details=_details(coupon) | {"award_miles": miles, "waits": "above the agent limit"},
    )
    record = uow.claims.get(claim_id)
    assert record is not None
    return claim_view(record)


def _waiting_for_decision(uow: UnitOfWork, actor: Actor, claim_id: int) -> ClaimRecord:
    actor.require_supervisor()  # before anything about the claim is told
    record = uow.claims.get(claim_id, lock=True)
    if record is None:
        raise NotFound(f"no claim {claim_id}", code="claim_not_found")
    if record.status != PENDING:
        raise Conflict(
            f"claim {claim_id} was already {record.status.lower()} by {record.decided_by or record.filed_by}",
            code="already_decided",
        )
    check_decider(record.filed_by_agent_id, actor, "claim")
    return record


def approve_claim(runtime: Runtime, actor: Actor, claim_id: int, note: str | None) -> ClaimView:
    """A supervisor credits a waiting claim: earned now by the accrual use case, under the coupon's own
    key and digest, as a claim filed within the limit is; in one transaction, run again from the start
    when a concurrent request recorded the coupon meanwhile (see `retry_raced`)."""
    return retry_raced(
        runtime.uow, lambda uow: _approve(uow, runtime.catalog, runtime.clock, actor, claim_id, note)
    )


def _approve(
    uow: UnitOfWork, catalog: ProgrammeCatalog, clock: Clock, actor: Actor, claim_id: int, note: str | None
) -> ClaimView:
    record = _waiting_for_decision(uow, actor, claim_id)
    text = decision_note(note, required=False, what="claim")
    assert record.coupon is not None
    coupon = coupon_from_body(record.coupon)
    [result] = earn_coupons(uow, catalog, clock, [CouponRequest(0, coupon, record.request_digest)], "claim")
    if result.status == ITEM_REJECTED:
        assert result.error is not None
        raise result.error
    if result.status != CREATED:
        raise _already_credited(uow, coupon)
    assert result.accrual is not None
    uow.claims.decide(
        claim_id, APPROVED, result.accrual.accrual_id, actor.name, actor.agent_id, clock.now(), text
    )
    audit.record(
        uow,
        clock,
        actor,
        "claim.approved",
        member_id=record.member_id,
        subject=f"claim:{claim_id}",
        reason=text or f"approved the claim of {record.filed_by}",
        details=_details(coupon)
        | {
            "accrual_id": result.accrual.accrual_id,
            "award_miles": result.accrual.award_miles,
            "filed_by": record.filed_by,
        },
    )
    decided = uow.claims.get(claim_id)
    assert decided is not None
    return claim_view(decided)


def reject_claim(runtime: Runtime, actor: Actor, claim_id: int, note: str | None) -> ClaimView:
    """A supervisor rejects a waiting claim, with a note: nothing is credited."""
    with runtime.uow() as uow:
        return _reject(uow, runtime.clock, actor, claim_id, note)


def _reject(uow: UnitOfWork, clock: Clock, actor: Actor, claim_id: int, note: str | None) -> ClaimView:
    record = _waiting_for_decision(uow, actor, claim_id)
    text = decision_note(note, required=True, what="claim")
    uow.claims.decide(claim_id, REJECTED, None, actor.name, actor.agent_id, clock.now(), text)
    audit.record(
        uow,
        clock,
        actor,
        "claim.rejected",
        member_id=record.member_id,
        subject=f"claim:{claim_id}",
        reason=text,
        details={"award_miles": record.award_miles, "filed_by": record.filed_by},
    )
    decided = uow.claims.get(claim_id)
    assert decided is not None
    return claim_view(decided)


def claim_queue(runtime: Runtime, actor: Actor, limit: int = 100) -> list[ClaimView]:
    """The claims waiting for a supervisor (supervisors only)."""
    actor.require_supervisor()
    with runtime.uow() as uow:
        return [claim_view(r) for r in uow.claims.pending(limit)]


def member_claims(uow: UnitOfWork, member_number: str, limit: int = 20) -> list[ClaimView]:
    return [claim_view(r) for r in uow.claims.for_member(member_number, limit)]
