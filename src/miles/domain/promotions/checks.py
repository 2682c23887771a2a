"""What a promotion may say, against the programme it runs in: every tier, metric, carrier, cabin and
airport it names exists; effects and limits are positive and within the programme's ceilings; a birthday
has no flight conditions, a partner bonus names partners and activity kinds the programme has. The first mistake is raised as InvalidInput naming its field."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from miles.domain.errors import InvalidInput
from miles.domain.promotions.model import EffectKind, Promotion, Trigger

LONGEST_DAYS = 3660  # a promotion runs at most ten years
MOST_SEGMENTS = 1000
MOST_MONTHS = 240
MOST_DAYS = 3660


@dataclass(frozen=True)
class ProgrammeTerms:
    """What the programme has, for a promotion to name."""

    tiers: frozenset[str]
    metrics: frozenset[str]
    carriers: frozenset[str]
    cabins: frozenset[str]
    booking_classes: frozenset[str]
    ceiling_miles: int
    ceiling_metric: Decimal
    is_airport: Callable[[str], bool]
    partners: Mapping[str, frozenset[str]] = field(default_factory=dict)  # partner code -> its activity kinds


def _unknown(values: Iterable[str], known: Callable[[str], bool], field: str, what: str) -> None:
    missing = sorted(v for v in values if not known(v))
    if missing:
        raise InvalidInput(
            f"{what} the programme does not have: {', '.join(missing)}",
            field=field,
            code="unknown_" + what.replace(" ", "_"),
        )


def _positive(value: int | None, field: str, most: int) -> None:
    if value is not None and not 1 <= value <= most:
        raise InvalidInput(f"{field.rsplit('.', 1)[-1]} is 1 to {most:,} when given", field=field)


def check_promotion(p: Promotion, terms: ProgrammeTerms) -> None:
    """Raise InvalidInput for the first thing the promotion gets wrong."""
    if p.ends_on < p.starts_on:
        raise InvalidInput("ends_on is before starts_on", field="ends_on", code="invalid_date")
    if (p.ends_on - p.starts_on).days > LONGEST_DAYS:
        raise InvalidInput("a promotion runs at most ten years", field="ends_on", code="invalid_date")
    _check_audience(p, terms)
    _check_conditions(p, terms)
    _check_effect(p, terms)
    lim = p.limits
    _positive(lim.per_member_miles, "limits.per_member_miles", 10**12)
    _positive(lim.per_member_times, "limits.per_member_times", 10**6)
    _positive(lim.budget_miles, "limits.budget_miles", 10**12)
    if p.trigger is Trigger.CHALLENGE:
        if p.challenge is None:
            raise InvalidInput("a challenge trigger needs `challenge`: {segments, repeat}", field="challenge")
        _positive(p.challenge.segments, "challenge.segments", MOST_SEGMENTS)
    elif p.challenge is not None:
        raise InvalidInput("`challenge` goes with the challenge trigger only", field="challenge")
    if p.trigger is Trigger.ENROLMENT and p.audience.enrolled_within_days is None:
        raise InvalidInput(
            "an enrolment promotion says within how many days of enrolment (audience.enrolled_within_days)",
            field="audience.enrolled_within_days",
        )


def _check_audience(p: Promotion, terms: ProgrammeTerms) -> None:
    a = p.audience
    _unknown(a.tiers, terms.tiers.__contains__, "audience.tiers", "tiers")
    if a.inactive_for_months is not None and not 1 <= a.inactive_for_months <= MOST_MONTHS:
        raise InvalidInput(f"inactive_for_months is 1 to {MOST_MONTHS}", field="audience.inactive_for_months")
    if a.enrolled_within_days is not None and not 0 <= a.enrolled_within_days <= MOST_DAYS:
        raise InvalidInput(f"enrolled_within_days is 0 to {MOST_DAYS}", field="audience.enrolled_within_days")


def _check_conditions(p: Promotion, terms: ProgrammeTerms) -> None:
    c = p.conditions
    if p.trigger in (Trigger.BIRTHDAY, Trigger.PARTNER) and c.any_flight_condition:
        raise InvalidInput(
            f"a {p.trigger.value} bonus is not earned by a flight: it takes no flight conditions",
            field="conditions",
        )
    if p.trigger is not Trigger.PARTNER and c.any_partner_condition:
        raise InvalidInput(
            "partners and activity_kinds go with the partner trigger only", field="conditions.partners"
        )
    _unknown(c.partners, terms.partners.__contains__, "conditions.partners", "partners")
    kinds = set().union(*(terms.partners[code] for code in (c.partners or terms.partners)))
    _unknown(c.activity_kinds, kinds.__contains__, "conditions.activity_kinds", "activity kinds")
    _unknown(c.carriers, terms.carriers.__contains__, "conditions.carriers", "carriers")
    _unknown(c.cabins, terms.cabins.__contains__, "conditions.cabins", "cabins")
    _unknown(
        c.booking_classes, terms.booking_classes.__contains__, "conditions.booking_classes", "booking classes"
    )
    _unknown(c.origins, terms.is_airport, "conditions.origins", "airports")
    _unknown(c.destinations, terms.is_airport, "conditions.destinations", "airports")
    _unknown([a for route in c.routes for a in route], terms.is_airport, "conditions.routes", "airports")
    if any(o == d for o, d in c.routes):
        raise InvalidInput("a route goes between two different airports", field="conditions.routes")
    if c.min_distance is not None and not 1 <= c.min_distance <= 30_000:
        raise InvalidInput("min_distance is 1 to 30,000 miles", field="conditions.min_distance")


def _check_effect(p: Promotion, terms: ProgrammeTerms) -> None:
    e = p.effect
    if e.kind is EffectKind.MULTIPLIER and (e.value is None or not Decimal(1) < e.value <= 100):
        raise InvalidInput("a multiplier is above 1 (at most 100)", field="effect.value")
    if e.kind is EffectKind.PERCENT and (e.value is None or not Decimal(0) < e.value <= 10_000):
        raise InvalidInput("a percent is above 0 (at most 10,000)", field="effect.value")
    if e.kind is EffectKind.FIXED and (e.miles is None or not 1 <= e.miles <= terms.ceiling_miles):
        raise InvalidInput(
            f"fixed miles are 1 to the programme's ceiling of {terms.ceiling_miles:,}", field="effect.miles"
        )
    if e.kind is EffectKind.METRIC:
        if e.metric is None or e.metric not in terms.metrics:
            raise InvalidInput(
                f"the metric is one of the programme's: {', '.join(sorted(terms.metrics))}",
                field="effect.metric",
                code="unknown_metric",
            )
        if e.amount is None or not Decimal(0) < e.amount <= terms.ceiling_metric:
            raise InvalidInput(
                f"a metric bonus is above 0, at most the programme's ceiling of {terms.ceiling_metric:,}",
                field="effect.amount",
            )
    if p.trigger is Trigger.PARTNER and e.kind is EffectKind.METRIC:
        raise InvalidInput("a partner bonus gives miles, not a qualifying metric", field="effect.kind")
    if p.trigger is Trigger.BIRTHDAY and e.kind is not EffectKind.FIXED:
        raise InvalidInput("a birthday bonus is a fixed number of miles", field="effect.kind")
