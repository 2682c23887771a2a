"""Loading a rules file: parse YAML, validate every field with its path, map to domain rules."""

from __future__ import annotations

import bisect
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from miles.domain.errors import ProgrammeError
from miles.domain.rules import (
    AwardBand,
    AwardRules,
    CarrierRule,
    ClassRule,
    Earning,
    ExpiryKind,
    ExpiryPolicy,
    LifetimeRule,
    Programme,
    Promotion,
    TierRule,
)
from miles.domain.tiers import Tier
from miles.programme.schema import ProgrammeFile, VersionSpec

REFERENCE_FILE = "aurora.yaml"


@dataclass(frozen=True)
class ProgrammeBook:
    """Every version of one programme, in effective-date order."""

    name: str
    versions: tuple[Programme, ...]
    document: dict[str, Any]  # the validated file, JSON-ready, as stored in the database
    digest: str

    def in_force(self, on: date) -> Programme:
        starts = [v.effective_from for v in self.versions]
        index = bisect.bisect_right(starts, on) - 1
        if index < 0:
            return self.versions[0]
        return self.versions[index]


def reference_text() -> str:
    return resources.files("miles.programme").joinpath(REFERENCE_FILE).read_text(encoding="utf-8")


def load_reference() -> ProgrammeBook:
    return parse_text(reference_text(), source=REFERENCE_FILE)


def load_file(path: str | Path) -> ProgrammeBook:
    text = Path(path).read_text(encoding="utf-8")
    return parse_text(text, source=str(path))


def parse_text(text: str, source: str = "<rules>") -> ProgrammeBook:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else source
        raise ProgrammeError([(where, f"not valid YAML: {exc}")]) from exc
    return parse_document(raw)


def parse_document(raw: Any) -> ProgrammeBook:
    try:
        spec = ProgrammeFile.model_validate(raw)
    except ValidationError as exc:
        problems = [(_path(err["loc"]), err["msg"]) for err in exc.errors()]
        raise ProgrammeError(problems) from exc
    document = spec.model_dump(mode="json", exclude={"versions": {"__all__": {"booking_classes"}}})
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    versions = tuple(
        sorted((_version(v, spec.programme) for v in spec.versions), key=lambda p: p.effective_from)
    )
    return ProgrammeBook(name=spec.programme, versions=versions, document=document, digest=digest)


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def _tiers(names: list[str]) -> frozenset[Tier]:
    return frozenset(Tier.parse(n) for n in names)


def _version(v: VersionSpec, name: str) -> Programme:
    carriers = {
        code: CarrierRule(
            code=code,
            name=c.name,
            earning=Earning(c.earning),
            classes={
                k: ClassRule(cabin=s.cabin, earn_percent=s.earn_percent, status_percent=s.status_percent)
                for k, s in c.classes.items()
            },
            revenue_rates={Tier.parse(t): r for t, r in c.revenue_rates.items()},
        )
        for code, c in v.carriers.items()
    }
    bands = []
    low = 0
    for b in v.awards.bands:
        prices = {"economy": b.economy, "business": b.business, "first": b.first, "bag": b.bag}
        bands.append(AwardBand(min_miles=low, max_miles=b.max_miles, prices=prices))
        low = (b.max_miles or 0) + 1
    return Programme(
        name=name,
        effective_from=v.effective_from,
        timezone=v.timezone,
        currencies=dict(v.currencies),
        carriers=carriers,
        tiers=tuple(
            TierRule(Tier.parse(t.tier), t.status_miles, t.segments, t.bonus_percent) for t in v.tiers
        ),
        elite_minimum_miles=v.elite_minimum.miles,
        elite_minimum_from=Tier.parse(v.elite_minimum.from_tier),
        lifetime=tuple(
            sorted(
                (LifetimeRule(x.status_miles, Tier.parse(x.tier)) for x in v.lifetime),
                key=lambda r: r.status_miles,
            )
        ),
        expiry=ExpiryPolicy(
            kind=ExpiryKind(v.expiry.policy),
            months=v.expiry.months,
            exempt_tiers=_tiers(list(v.expiry.exempt_tiers)),
            warning_days=v.expiry.warning_days,
        ),
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
        awards=AwardRules(
            bands=tuple(bands),
            standard_multiplier=v.awards.standard_multiplier,
            hotel_night_by_category=dict(v.awards.hotel_night_by_category),
            cancel_fee_miles=v.awards.cancel_fee_miles,
            cancel_fee_waived_tiers=_tiers(list(v.awards.cancel_fee_waived_tiers)),
            cancel_cutoff_hours=v.awards.cancel_cutoff_hours,
            booking_horizon_days=v.awards.booking_horizon_days,
        ),
        goodwill_agent_limit=v.goodwill_agent_limit,
        claim_min_days=v.claims.min_days,
        claim_max_months=v.claims.max_months,
        goodwill_member_daily_limit=v.goodwill_member_daily_limit,
        fare_ceiling_usd=v.fare_ceiling_usd,
        claim_agent_limit=v.claims.agent_limit,
    )
