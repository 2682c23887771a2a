"""A validated format-2 file, mapped to the domain's rules (miles.domain.programme)."""

from __future__ import annotations

from collections.abc import Sequence

from miles.domain.partners.contracts import ActivityRule, PartnerContract
from miles.domain.programme.bands import BandTable, DistanceBand
from miles.domain.programme.carriers import (
    CarrierRule,
    ClassRule,
    CreditKind,
    Earning,
    MetricCredit,
    PercentOf,
    TierBonusOn,
)
from miles.domain.programme.model import (
    DEFAULT_ACTIVITIES,
    AwardRules,
    ExpiryKind,
    ExpiryPolicy,
    FinanceRules,
    MetricDef,
    Programme,
    Promotion,
)
from miles.domain.programme.qualification import LifetimeRule, PeriodKind, QualificationRules
from miles.domain.programme.tiers import Perk, Requirement, TierDef, TierLadder
from miles.programme.spec import (
    BandSpec,
    BandTableSpec,
    CarrierSpec,
    CreditSpec,
    PartnerEarningSpec,
    PartnerSpec,
    VersionSpec,
)


def build_version(v: VersionSpec, name: str) -> Programme:
    ladder = TierLadder(
        tuple(
            TierDef(
                code=t.code,
                name=t.name,
                rank=rank,
                requirements=tuple(Requirement(dict(r)) for r in t.qualify),
                bonus_percent=t.bonus_percent,
                perks=frozenset(Perk(p) for p in t.perks),
            )
            for rank, t in enumerate(v.tiers)
        )
    )
    q = v.qualification
    qualification = QualificationRules(
        period=PeriodKind(q.period),
        start_month=q.start_month or 1,
        valid_month=q.valid_until.month if q.valid_until else 12,
        valid_years_after=q.valid_until.years_after if q.valid_until else 1,
        soft_landing=q.soft_landing,
        lifetime_metric=q.lifetime.metric if q.lifetime else None,
        lifetime=tuple(LifetimeRule(t.at, t.tier) for t in q.lifetime.tiers) if q.lifetime else (),
    )
    awards = v.awards
    cabins = tuple(
        awards.cabins
        or [c for c in ("economy", "premium_economy", "business", "first") if c in awards.bands[0].values()]
    )
    return Programme(
        name=name,
        effective_from=v.effective_from,
        timezone=v.timezone,
        currency=v.currency,
        rates=dict(v.rates),
        metrics=tuple(MetricDef(m.code, m.name, m.money) for m in v.metrics),
        ladder=ladder,
        qualification=qualification,
        carriers={code: _carrier(code, c, ladder) for code, c in v.carriers.items()},
        expiry=ExpiryPolicy(
            kind=ExpiryKind(v.expiry.policy),
            months=v.expiry.months or 0,
            warning_days=v.expiry.warning_days,
            exempt_tiers=ladder.with_perk(Perk.MILES_NEVER_EXPIRE),
            activities=frozenset(v.expiry.activities or DEFAULT_ACTIVITIES),
        ),
        awards=AwardRules(
            cabins=cabins,
            bands=band_table(awards.bands),
            standard_multiplier=awards.standard_multiplier,
            hotel_night_by_category=dict(awards.hotel_night_by_category)
            if awards.hotel_night_by_category
            else None,
            cancel_fee_miles=awards.cancel_fee_miles,
            cancel_fee_waived_tiers=ladder.with_perk(Perk.CANCEL_FEE_WAIVED),
            cancel_cutoff_hours=awards.cancel_cutoff_hours,
            booking_horizon_days=awards.booking_horizon_days,
            zones={
                country: zone for zone, countries in (awards.zones or {}).items() for country in countries
            },
            zone_prices={frozenset(p.between): p.values() for p in awards.zone_prices},
        ),
        goodwill_agent_limit=v.goodwill_agent_limit,
        claim_min_days=v.claims.min_days,
        claim_max_months=v.claims.max_months,
        promotions=tuple(
            Promotion(
                code=p.code,
                carriers=frozenset(p.carriers),
                from_date=p.from_date,
                to_date=p.to_date,
                bonus_percent=p.bonus_percent,
                fixed_miles=p.fixed_miles,
                origins=frozenset(p.origins),
                destinations=frozenset(p.destinations),
            )
            for p in v.promotions
        ),
        goodwill_member_daily_limit=v.goodwill_member_daily_limit,
        fare_ceiling=v.fare_ceiling,
        promotion_ceiling_miles=v.promotion_ceiling_miles,
        promotion_ceiling_metric=v.promotion_ceiling_metric,
        claim_agent_limit=v.claims.agent_limit,
        partners={code: _partner(code, p, v) for code, p in v.partners.items()},
        finance=FinanceRules(
            value_per_mile=v.finance.value_per_mile,
            breakage_override=v.finance.breakage_override,
            breakage_maturity_months=v.finance.breakage_maturity_months,
        ),
    )


def _activity(spec: PartnerEarningSpec) -> ActivityRule:
    return ActivityRule(
        per_night=spec.per_night,
        per_day=spec.per_day,
        per_unit=spec.per_unit,
        categories=dict(spec.categories),
        fixed=spec.fixed,
        amount_ceiling=spec.amount_ceiling,
        credits=dict(spec.credits),
    )


def _partner(code: str, p: PartnerSpec, v: VersionSpec) -> PartnerContract:
    return PartnerContract(
        code=code,
        name=p.name,
        kind=p.kind,
        activities={kind: _activity(rule) for kind, rule in p.activities.items()},
        pending_days=p.pending_days,
        price_per_mile=p.price_per_mile,
        price_currency=p.price_currency or v.currency,
        timezone=p.timezone or v.timezone,
        member_daily_limit=p.member_daily_limit,
    )


def band_table(bands: Sequence[BandSpec], domestic: dict[str, int] | None = None) -> BandTable:
    return BandTable(
        tuple(DistanceBand(b.from_miles, b.to_miles, b.values()) for b in bands),
        domestic=dict(domestic) if domestic is not None else None,
    )


def _table(spec: BandTableSpec) -> BandTable:
    domestic = (
        {str(cabin): miles for cabin, miles in spec.domestic.items()} if spec.domestic is not None else None
    )
    return band_table(spec.table, domestic)


def _credit(metric: str, c: CreditSpec) -> MetricCredit:
    if c.distance is not None:
        return MetricCredit(
            metric, CreditKind.DISTANCE, percent_of=PercentOf(c.distance), minimum_distance=c.minimum_distance
        )
    if c.bands is not None:
        return MetricCredit(metric, CreditKind.BAND, table=_table(c.bands))
    if c.per_segment is not None:
        return MetricCredit(metric, CreditKind.SEGMENT, per_segment=c.per_segment)
    return MetricCredit(metric, CreditKind.FARE)


def _carrier(code: str, c: CarrierSpec, ladder: TierLadder) -> CarrierRule:
    classes = {
        k: ClassRule(
            cabin=s.cabin,
            earn_percent=s.earn_percent,
            bonus_percent=s.bonus_percent,
            qualifying_percent=s.qualifying_percent,
        )
        for k, s in c.classes.items()
    }
    credits = tuple(_credit(metric, credit) for metric, credit in c.credits.items())
    if c.earning.revenue is not None:
        return CarrierRule(
            code=code,
            name=c.name,
            earning=Earning.REVENUE,
            classes=classes,
            credits=credits,
            revenue_rates=dict(c.earning.revenue),
            cap_per_ticket=c.earning.cap_per_ticket,
        )
    distance = c.earning.distance
    assert distance is not None
    low = distance.minimum_from_tier
    return CarrierRule(
        code=code,
        name=c.name,
        earning=Earning.DISTANCE,
        classes=classes,
        credits=credits,
        tier_bonus=TierBonusOn(distance.tier_bonus),
        minimum_miles=distance.minimum_miles,
        minimum_from_rank=ladder.rank(low) if low is not None else 0,
        minimum_distance=distance.minimum_distance,
    )
