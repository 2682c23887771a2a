"""What callers see of a promotion, a member's use of it, and a bonus."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from miles.adapters.db.promotions.campaigns import CampaignFigures, CampaignRecord, MemberProgressRecord
from miles.adapters.db.promotions.documents import (
    audience_json,
    challenge_json,
    conditions_json,
    effect_json,
    limits_json,
)
from miles.domain.promotions.model import Promotion


@dataclass(frozen=True)
class PromotionView:
    code: str
    name: str
    trigger: str
    starts_on: date
    ends_on: date
    registration_required: bool
    audience: dict[str, Any]
    conditions: dict[str, Any]
    effect: dict[str, Any]
    limits: dict[str, Any]
    challenge: dict[str, Any] | None
    stacking_group: str | None
    status: str  # scheduled, running, finished (past ends_on), ended (ended early)
    ended_at: datetime | None
    awarded_miles: int
    members_rewarded: int
    bonuses: int
    budget_left: int | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class MemberPromotionView:
    code: str
    name: str
    trigger: str
    starts_on: date
    ends_on: date
    status: str
    registered_on: date | None
    miles: int  # promotion miles received
    times: int  # bonuses received
    segments: int | None  # challenges: qualifying segments counted
    segments_per_run: int | None
    segments_to_next: int | None  # challenges: segments still to fly for the next bonus (None: no more)


@dataclass(frozen=True)
class MemberPromotionsView:
    member_number: str
    promotions: list[MemberPromotionView]


@dataclass(frozen=True)
class DailyAwards:
    day: date
    miles: int  # net of reversals
    bonuses: int


@dataclass(frozen=True)
class RegistrationView:
    code: str
    member_number: str
    registered_on: date


def status_of(p: Promotion, day: date, now: datetime) -> str:
    if p.ended_at is not None and p.ended_at <= now:
        return "ended"
    if day < p.starts_on:
        return "scheduled"
    return "finished" if day > p.ends_on else "running"


def promotion_view(
    record: CampaignRecord, figures: CampaignFigures, day: date, now: datetime
) -> PromotionView:
    p = record.promotion
    budget = p.limits.budget_miles
    return PromotionView(
        code=p.code,
        name=p.name,
        trigger=p.trigger.value,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        registration_required=p.registration_required,
        audience=audience_json(p.audience),
        conditions=conditions_json(p.conditions),
        effect=effect_json(p.effect),
        limits=limits_json(p.limits),
        challenge=challenge_json(p.challenge),
        stacking_group=p.stacking_group,
        status=status_of(p, day, now),
        ended_at=p.ended_at,
        awarded_miles=figures.awarded_miles,
        members_rewarded=figures.members_rewarded,
        bonuses=figures.bonuses,
        budget_left=None if budget is None else budget - record.budget_spent,
        created_by=record.created_by,
        created_at=record.created_at,
    )


def member_promotion_view(r: MemberProgressRecord, day: date, now: datetime) -> MemberPromotionView:
    p = r.promotion
    per_run = p.challenge.segments if p.challenge else None
    to_next = None
    if p.challenge is not None and (p.challenge.repeat or r.runs == 0):
        to_next = per_run - r.segments % per_run if per_run else None
    return MemberPromotionView(
        code=p.code,
        name=p.name,
        trigger=p.trigger.value,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        status=status_of(p, day, now),
        registered_on=r.registered_on,
        miles=r.miles,
        times=r.times,
        segments=r.segments if p.challenge else None,
        segments_per_run=per_run,
        segments_to_next=to_next,
    )
