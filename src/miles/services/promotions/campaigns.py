"""The loyalty team's campaigns: create one (checked against the programme), read it with its figures,
end it from now on, register members, and a member's promotions with their challenge progress."""

from __future__ import annotations

import re
from typing import Any

from miles.adapters.db.promotions.campaigns import CampaignRecord
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.agents import Actor
from miles.domain.distance import is_airport
from miles.domain.errors import Conflict, InvalidInput, NotFound
from miles.domain.member_numbers import validate_member_number
from miles.domain.programme.carriers import CABINS
from miles.domain.programme.model import Programme
from miles.domain.promotions.checks import ProgrammeTerms, check_promotion
from miles.domain.promotions.model import Promotion
from miles.domain.validation import check_text
from miles.services import audit
from miles.services.clock import today
from miles.services.digest import request_digest
from miles.services.idempotency import IdempotencyKey, Outcome, once
from miles.services.members import find_member
from miles.services.promotions.views import (
    DailyAwards,
    MemberPromotionsView,
    PromotionView,
    RegistrationView,
    member_promotion_view,
    promotion_view,
)
from miles.services.runtime import Runtime

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,39}$")
CREATE = "promotion.create"
END = "promotion.end"
REGISTER = "promotion.register"


def programme_terms(programme: Programme) -> ProgrammeTerms:
    classes = {c for rule in programme.carriers.values() for c in rule.classes}
    return ProgrammeTerms(
        tiers=frozenset(programme.ladder.codes),
        metrics=frozenset(programme.metric_codes),
        carriers=frozenset(programme.carriers),
        cabins=frozenset(CABINS),
        booking_classes=frozenset(classes),
        ceiling_miles=programme.promotion_ceiling_miles,
        ceiling_metric=programme.promotion_ceiling_metric,
        is_airport=is_airport,
        partners={code: frozenset(c.activities) for code, c in programme.partners.items()},
    )


def create_promotion(
    runtime: Runtime, actor: Actor, key: IdempotencyKey | None, promotion: Promotion, body: Any
) -> Outcome[PromotionView]:
    """Create a campaign. The same code again with the same body answers the campaign (replayed); with
    another body, a 409."""
    digest = request_digest(body)
    with runtime.uow() as uow:
        replay: list[bool] = []
        outcome = once(
            uow, key, PromotionView, lambda: _create(uow, runtime, actor, promotion, digest, replay)
        )
        return Outcome(outcome.value, outcome.replayed or bool(replay))


def _create(
    uow: UnitOfWork, runtime: Runtime, actor: Actor, p: Promotion, digest: str, replay: list[bool]
) -> PromotionView:
    check_text(p.name, "name")
    if p.stacking_group is not None:
        check_text(p.stacking_group, "stacking_group")
    book = runtime.catalog.current(uow)
    programme = book.in_force(today(runtime.clock, book.timezone))
    check_promotion(p, programme_terms(programme))
    new_id = uow.campaigns.create(p, digest, actor.name)
    if new_id is None:
        existing = uow.campaigns.by_code(p.code)
        assert existing is not None
        if existing.request_digest != digest:
            raise Conflict(
                f"promotion {p.code} exists with another definition", field="code", code="promotion_exists"
            )
        replay.append(True)
    else:
        audit.record(uow, runtime.clock, actor, CREATE, subject=p.code)
    return _view(uow, runtime, p.code)


def _find(uow: UnitOfWork, code: str, lock: bool = False) -> CampaignRecord:
    """The campaign with this code; 404 when there is none (422 for what could be no code at all)."""
    if not CODE.match(code):
        raise InvalidInput(
            "a promotion code is 1 to 40 capital letters, digits, dashes or underscores", field="code"
        )
    record = uow.campaigns.by_code(code, lock)
    if record is None:
        raise NotFound(f"no promotion {code}", field="code", code="promotion_not_found")
    return record


def _view(uow: UnitOfWork, runtime: Runtime, code: str) -> PromotionView:
    record = _find(uow, code)
    now = runtime.clock.now()
    tz = runtime.catalog.current(uow).timezone
    return promotion_view(record, uow.campaigns.figures(record.promotion.id), today(runtime.clock, tz), now)


def read_promotion(runtime: Runtime, code: str) -> PromotionView:
    with runtime.uow() as uow:
        return _view(uow, runtime, code)


def awarded_per_day(runtime: Runtime, code: str) -> list[DailyAwards]:
    """A promotion's miles awarded (net of reversals) and bonuses, per day (the programme's days)."""
    with runtime.uow() as uow:
        record = _find(uow, code)
        tz = runtime.catalog.current(uow).timezone
        return [DailyAwards(*row) for row in uow.campaigns.awarded_per_day(record.promotion.id, tz)]


def list_promotions(runtime: Runtime) -> list[PromotionView]:
    with runtime.uow() as uow:
        return [_view(uow, runtime, r.promotion.code) for r in uow.campaigns.listing()]


def end_promotion(runtime: Runtime, actor: Actor, code: str) -> PromotionView:
    """End a campaign from now on: coupons posted from now earn it no more; what it gave stays."""
    with runtime.uow() as uow:
        record = _find(uow, code, lock=True)
        if record.promotion.ended_at is None:
            uow.campaigns.end(record.promotion.id, runtime.clock.now())
            audit.record(uow, runtime.clock, actor, END, subject=code)
        return _view(uow, runtime, code)


def register_member(
    runtime: Runtime, actor: Actor, code: str, member_number: str
) -> Outcome[RegistrationView]:
    """Register a member for a campaign that asks for registration (once: again answers the first)."""
    with runtime.uow() as uow:
        record = _find(uow, code)
        p = record.promotion
        tz = runtime.catalog.current(uow).timezone
        day, now = today(runtime.clock, tz), runtime.clock.now()
        if not p.registration_required:
            raise InvalidInput(
                f"promotion {code} needs no registration: every member in its audience earns it",
                field="code",
                code="registration_not_required",
            )
        if (p.ended_at is not None and p.ended_at <= now) or day > p.ends_on:
            raise InvalidInput(f"promotion {code} has ended", field="code", code="promotion_ended")
        validate_member_number(member_number)
        member = uow.members.lock(member_number)
        if member is None:
            raise NotFound(f"no member {member_number}", field="member_number", code="member_not_found")
        use = uow.promotion_awards.use([member.id], [p.id]).get((member.id, p.id))
        if use is not None and use.registered_on is not None:
            return Outcome(RegistrationView(code, member.member_number, use.registered_on), True)
        registered = uow.campaigns.register(p.id, member.id, day)
        audit.record(uow, runtime.clock, actor, REGISTER, member_id=member.id, subject=code)
        return Outcome(RegistrationView(code, member.member_number, registered), False)


def member_promotions(runtime: Runtime, member_number: str) -> MemberPromotionsView:
    with runtime.uow() as uow:
        member = find_member(uow, member_number)
        tz = runtime.catalog.current(uow).timezone
        day, now = today(runtime.clock, tz), runtime.clock.now()
        return MemberPromotionsView(
            member.member_number,
            [member_promotion_view(r, day, now) for r in uow.campaigns.of_member(member.id)],
        )
