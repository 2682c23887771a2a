"""Rules format 1 (the first rules files, and the documents stored by databases that loaded them), read
as format 2: the same programme, every number kept. Format 1 fixed what format 2 makes data: the
metrics status miles, segments and spend; the calendar year; validity to the end of February of year + 2;
a soft landing of one tier; USD as the accounting currency; the tier bonus on base miles (its tiers, currency
and metrics: format1.yaml)."""

from __future__ import annotations

from typing import Any

from miles.programme.format1_fixed import (
    BASE_TIER,
    CURRENCY,
    DISTANCE_METRIC,
    FARE_METRIC,
    METRICS,
    SEGMENT_METRIC,
)
from miles.programme.format1_spec import ProgrammeFile as Format1File
from miles.programme.format1_spec import VersionSpec as Format1Version


def as_format2(spec: Format1File) -> dict[str, Any]:
    """A validated format-1 file as a format-2 document (JSON-ready)."""
    return {"format": 2, "programme": spec.programme, "versions": [_version(v) for v in spec.versions]}


def _tiers(v: Format1Version) -> list[dict[str, Any]]:
    exempt = set(v.expiry.exempt_tiers)
    waived = set(v.awards.cancel_fee_waived_tiers)

    def perks(code: str) -> list[str]:
        return [
            p
            for p, holds in (("miles_never_expire", code in exempt), ("cancel_fee_waived", code in waived))
            if holds
        ]

    tiers: list[dict[str, Any]] = [{"code": BASE_TIER, "name": BASE_TIER.title(), "perks": perks(BASE_TIER)}]
    for t in v.tiers:
        tiers.append(
            {
                "code": t.tier,
                "name": t.tier.title(),
                "qualify": [{DISTANCE_METRIC: t.status_miles}, {SEGMENT_METRIC: t.segments}],
                "bonus_percent": t.bonus_percent,
                "perks": perks(t.tier),
            }
        )
    return tiers


def _version(v: Format1Version) -> dict[str, Any]:
    tiers = _tiers(v)
    codes = [t["code"] for t in tiers]
    carriers: dict[str, Any] = {}
    for code, c in v.carriers.items():
        classes = {
            k: {"cabin": s.cabin, "earn_percent": s.earn_percent, "qualifying_percent": s.status_percent}
            for k, s in c.classes.items()
        }
        credits: dict[str, Any] = {
            DISTANCE_METRIC: {"distance": "qualifying"},
            SEGMENT_METRIC: {"per_segment": 1},
        }
        if c.earning == "revenue":
            earning: dict[str, Any] = {
                "revenue": {t: str(r) for t, r in c.revenue_rates.items() if t in codes}
            }
            credits[FARE_METRIC] = {"fare": True}
        else:
            minimum = {"minimum_miles": v.elite_minimum.miles, "minimum_from_tier": v.elite_minimum.from_tier}
            if v.elite_minimum.from_tier not in codes:
                minimum = {}
            earning = {"distance": {"tier_bonus": "base", **minimum}}
        carriers[code] = {"name": c.name, "classes": classes, "earning": earning, "credits": credits}
    bands, low = [], 0
    for b in v.awards.bands:
        band: dict[str, Any] = {
            "from_miles": low,
            "economy": b.economy,
            "business": b.business,
            "first": b.first,
        }
        band["bag"] = b.bag
        if b.max_miles is not None:
            band["to_miles"] = b.max_miles
            low = b.max_miles + 1
        bands.append(band)
    lifetime = None
    if v.lifetime:
        lifetime = {
            "metric": DISTANCE_METRIC,
            "tiers": [
                {"at": x.status_miles, "tier": x.tier}
                for x in sorted(v.lifetime, key=lambda x: x.status_miles)
            ],
        }
    return {
        "effective_from": v.effective_from.isoformat(),
        "timezone": v.timezone,
        "currency": CURRENCY,
        "rates": {k: str(r) for k, r in v.currencies.items()},
        "metrics": METRICS,
        "tiers": tiers,
        "qualification": {
            "period": "calendar_year",
            "valid_until": {"month": 2, "years_after": 2},
            "soft_landing": 1,
            **({"lifetime": lifetime} if lifetime else {}),
        },
        "carriers": carriers,
        "promotions": [p.model_dump(mode="json") for p in v.promotions],
        "expiry": {
            "policy": v.expiry.policy,
            "months": v.expiry.months,
            "warning_days": v.expiry.warning_days,
        },
        "awards": {
            "cabins": ["economy", "business", "first"],
            "bands": bands,
            "standard_multiplier": str(v.awards.standard_multiplier),
            "hotel_night_by_category": dict(v.awards.hotel_night_by_category),
            "cancel_fee_miles": v.awards.cancel_fee_miles,
            "cancel_cutoff_hours": v.awards.cancel_cutoff_hours,
            "booking_horizon_days": v.awards.booking_horizon_days,
        },
        "goodwill_agent_limit": v.goodwill_agent_limit,
        "goodwill_member_daily_limit": v.goodwill_member_daily_limit,
        "fare_ceiling": str(v.fare_ceiling_usd),
        "claims": v.claims.model_dump(mode="json"),
    }
