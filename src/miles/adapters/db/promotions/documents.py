"""A promotion as the JSON columns store it, both ways: the one mapping between the domain's values and
the rows."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from miles.domain.promotions.model import (
    Audience,
    Challenge,
    Conditions,
    Effect,
    EffectKind,
    Limits,
    Promotion,
    Trigger,
)


def audience_json(a: Audience) -> dict[str, Any]:
    return {
        "tiers": sorted(a.tiers),
        "inactive_for_months": a.inactive_for_months,
        "enrolled_within_days": a.enrolled_within_days,
    }


def conditions_json(c: Conditions) -> dict[str, Any]:
    partner = {"partners": sorted(c.partners), "activity_kinds": sorted(c.activity_kinds)}
    return {
        "carriers": sorted(c.carriers),
        "routes": sorted(f"{o}-{d}" for o, d in c.routes),
        "origins": sorted(c.origins),
        "destinations": sorted(c.destinations),
        "cabins": sorted(c.cabins),
        "booking_classes": sorted(c.booking_classes),
        "min_distance": c.min_distance,
    } | {name: values for name, values in partner.items() if values}


def effect_json(e: Effect) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": e.kind.value}
    if e.value is not None:
        out["value"] = str(e.value)
    if e.miles is not None:
        out["miles"] = e.miles
    if e.metric is not None:
        out["metric"] = e.metric
    if e.amount is not None:
        out["amount"] = str(e.amount)
    return out


def limits_json(lim: Limits) -> dict[str, Any]:
    return {
        "per_member_miles": lim.per_member_miles,
        "per_member_times": lim.per_member_times,
        "budget_miles": lim.budget_miles,
    }


def challenge_json(c: Challenge | None) -> dict[str, Any] | None:
    return None if c is None else {"segments": c.segments, "repeat": c.repeat}


def _route(text: str) -> tuple[str, str]:
    origin, _, destination = text.partition("-")
    return origin, destination


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def promotion_of(
    *,
    id: int,
    code: str,
    name: str,
    trigger: str,
    starts_on: date,
    ends_on: date,
    registration_required: bool,
    audience: dict[str, Any],
    conditions: dict[str, Any],
    effect: dict[str, Any],
    limits: dict[str, Any],
    challenge: dict[str, Any] | None,
    stacking_group: str | None,
    ended_at: datetime | None,
    **_: Any,
) -> Promotion:
    """The domain's promotion from a `promotions` row (its JSON columns decoded)."""
    return Promotion(
        id=id,
        code=code,
        name=name,
        trigger=Trigger(trigger),
        starts_on=starts_on,
        ends_on=ends_on,
        registration_required=registration_required,
        audience=Audience(
            tiers=frozenset(audience.get("tiers") or ()),
            inactive_for_months=audience.get("inactive_for_months"),
            enrolled_within_days=audience.get("enrolled_within_days"),
        ),
        conditions=Conditions(
            carriers=frozenset(conditions.get("carriers") or ()),
            routes=frozenset(_route(r) for r in conditions.get("routes") or ()),
            origins=frozenset(conditions.get("origins") or ()),
            destinations=frozenset(conditions.get("destinations") or ()),
            cabins=frozenset(conditions.get("cabins") or ()),
            booking_classes=frozenset(conditions.get("booking_classes") or ()),
            min_distance=conditions.get("min_distance"),
            partners=frozenset(conditions.get("partners") or ()),
            activity_kinds=frozenset(conditions.get("activity_kinds") or ()),
        ),
        effect=Effect(
            kind=EffectKind(effect["kind"]),
            value=_decimal(effect.get("value")),
            miles=effect.get("miles"),
            metric=effect.get("metric"),
            amount=_decimal(effect.get("amount")),
        ),
        limits=Limits(
            per_member_miles=limits.get("per_member_miles"),
            per_member_times=limits.get("per_member_times"),
            budget_miles=limits.get("budget_miles"),
        ),
        challenge=None
        if challenge is None
        else Challenge(challenge["segments"], bool(challenge.get("repeat"))),
        stacking_group=stacking_group,
        ended_at=ended_at,
    )
