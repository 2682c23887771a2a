"""Tier grants: a tier set at once by the programme (a status match, a challenge won, service
recovery, a correction), recorded in the tier history with its reason and in the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from miles.adapters.db.standing import StandingUpdate
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.agents import Actor
from miles.domain.errors import InvalidInput, NotFound
from miles.domain.member_numbers import validate_member_number
from miles.domain.programme.model import Programme
from miles.domain.validation import check_text
from miles.services import audit
from miles.services.clock import Clock, today
from miles.services.idempotency import Outcome, keyed_request, once
from miles.services.ledger_views import MemberView
from miles.services.members import summary_of
from miles.services.programmes import ProgrammeCatalog
from miles.services.runtime import Runtime

GRANT = "member.tier"
REASONS = ("status_match", "challenge", "service_recovery", "correction")
LONGEST = timedelta(days=3660)  # a granted tier is valid for at most ten years


@dataclass(frozen=True)
class TierGrant:
    member_number: str
    tier: str
    reason: str
    valid_until: date | None = None  # None: as long as a tier earned today would hold
    comment: str | None = None


def grant_tier(
    runtime: Runtime, actor: Actor, owner: str, key: str | None, grant: TierGrant
) -> Outcome[MemberView]:
    """Set a member's tier at once, once per `owner`'s `key`; the member as they stand after it."""
    valid = grant.valid_until.isoformat() if grant.valid_until else None
    keyed = keyed_request(
        owner, GRANT, key, [grant.member_number, grant.tier, grant.reason, valid, grant.comment]
    )
    with runtime.uow() as uow:
        return once(uow, keyed, MemberView, lambda: _grant(uow, runtime.catalog, runtime.clock, actor, grant))


def granted_validity(programme: Programme, tier: str, day: date, asked: date | None) -> date | None:
    """The valid-until of a tier granted on `day`: the base tier has none; by default, as long as a
    tier earned that day would hold; when asked, from `day` to ten years ahead."""
    if programme.ladder.rank(tier) == 0:
        if asked is not None:
            raise InvalidInput(f"{tier} is the base tier: it has no valid-until", field="valid_until")
        return None
    if asked is None:
        rules = programme.qualification
        period = rules.rolling_period(day) if rules.rolling else rules.fixed_period(day)
        return rules.valid_until(period)
    if not day <= asked <= day + LONGEST:
        raise InvalidInput(
            f"valid_until is from today ({day}) to ten years ahead", field="valid_until", code="invalid_date"
        )
    return asked


def _grant(
    uow: UnitOfWork, catalog: ProgrammeCatalog, clock: Clock, actor: Actor, grant: TierGrant
) -> MemberView:
    validate_member_number(grant.member_number)
    if grant.reason not in REASONS:
        raise InvalidInput(
            f"the reason is one of {', '.join(REASONS)}", field="reason", code="invalid_reason"
        )
    comment = check_text(grant.comment.strip(), "comment", multiline=True) if grant.comment else None
    if comment is not None and len(comment) > 500:
        raise InvalidInput("a comment is at most 500 characters", field="comment")
    book = catalog.current(uow)
    programme = book.in_force(clock.now().date())
    day = today(clock, programme.timezone)
    if grant.tier not in programme.ladder:
        raise InvalidInput(
            f"the programme has no tier {grant.tier!r}; its tiers are {', '.join(programme.ladder.codes)}",
            field="tier",
            code="unknown_tier",
        )
    valid = granted_validity(programme, grant.tier, day, grant.valid_until)
    member = uow.members.lock(grant.member_number)
    if member is None:
        raise NotFound(f"no member {grant.member_number}", field="member_number", code="member_not_found")
    s = member.standing
    if programme.ladder.rank(grant.tier) < programme.ladder.rank(s.lifetime_tier):
        raise InvalidInput(
            f"the member holds {s.lifetime_tier} for life: no tier below it",
            field="tier",
            code="below_lifetime_tier",
        )
    rolling = programme.qualification.rolling and programme.ladder.rank(grant.tier) > programme.ladder.rank(
        s.tier
    )
    uow.standing.update(
        [
            StandingUpdate(
                member.id, grant.tier, valid, s.lifetime_tier, Decimal(0), None, day if rolling else None
            )
        ]
    )
    note = f"{grant.reason.replace('_', ' ')}: granted by {actor.name}" + (f" ({comment})" if comment else "")
    uow.standing.record_change(member.id, s.tier, grant.tier, valid, note)
    audit.record(
        uow,
        clock,
        actor,
        "member.tier_granted",
        member_id=member.id,
        subject=grant.member_number,
        reason=grant.reason,
        details={
            "from": s.tier,
            "to": grant.tier,
            "valid_until": valid.isoformat() if valid else None,
            "comment": comment,
        },
    )
    return summary_of(uow, catalog, clock, grant.member_number)
