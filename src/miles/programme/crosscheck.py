"""The rules of a format-2 file that span its parts: every tier, metric, carrier and band named where it
is used must exist and be in order. Each mistake is reported with its path, all of them at once."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from miles.programme.spec import BandSpec, CarrierSpec, ProgrammeFile, TierSpec, VersionSpec

Problem = tuple[str, str]


def crosscheck(spec: ProgrammeFile) -> list[Problem]:
    problems: list[Problem] = []
    seen_dates: dict[object, int] = {}
    for i, version in enumerate(spec.versions):
        at = f"versions[{i}]"
        if version.effective_from in seen_dates:
            problems.append(
                (f"{at}.effective_from", f"the same date as versions[{seen_dates[version.effective_from]}]")
            )
        seen_dates.setdefault(version.effective_from, i)
        problems += _version(at, version)
        if i > 0:
            problems += _same_identity(at, spec.versions[i - 1], version)
    return problems


def _same_identity(at: str, before: VersionSpec, version: VersionSpec) -> list[Problem]:
    """Stored data names tiers and metrics: a later version keeps the tiers and extends the metrics."""
    problems: list[Problem] = []
    if [t.code for t in version.tiers] != [t.code for t in before.tiers]:
        problems.append((f"{at}.tiers", "every version has the same tier codes in the same order"))
    old = [m.code for m in before.metrics]
    if [m.code for m in version.metrics][: len(old)] != old:
        problems.append((f"{at}.metrics", f"a later version keeps the metrics {old} first, in that order"))
    return problems


def _version(at: str, v: VersionSpec) -> list[Problem]:
    problems: list[Problem] = []
    if v.rates.get(v.currency) != Decimal(1):
        what = "has no rate" if v.currency not in v.rates else "must have the rate 1"
        problems.append((f"{at}.rates", f"the accounting currency {v.currency} {what}"))
    metrics = [m.code for m in v.metrics]
    for j, code in enumerate(metrics):
        if code in metrics[:j]:
            problems.append((f"{at}.metrics[{j}].code", f"metric {code} is listed twice"))
    money = {m.code for m in v.metrics if m.money}
    problems += _tiers(at, v.tiers, set(metrics))
    codes = [t.code for t in v.tiers]
    problems += _qualification(at, v, codes, set(metrics))
    for code, carrier in v.carriers.items():
        problems += _carrier(f"{at}.carriers.{code}", carrier, codes, set(metrics), money)
    for j, promo in enumerate(v.promotions):
        unknown = sorted(set(promo.carriers) - set(v.carriers))
        if unknown:
            problems.append((f"{at}.promotions[{j}].carriers", f"carriers not in the programme: {unknown}"))
    for code, partner in v.partners.items():
        for kind, rule in partner.activities.items():
            for metric in rule.credits:
                if metric not in metrics:
                    problems.append(
                        (
                            f"{at}.partners.{code}.activities.{kind}.credits.{metric}",
                            f"unknown metric {metric}",
                        )
                    )
    problems += bands(f"{at}.awards.bands", v.awards.bands)
    problems += _zones(f"{at}.awards", v)
    return problems


def _zones(at: str, v: VersionSpec) -> list[Problem]:
    """Each country in one zone at most; zone prices between known zones, once per pair, for every
    cabin sold (and bags when the bands price them)."""
    problems: list[Problem] = []
    awards = v.awards
    zones = awards.zones or {}
    seen: dict[str, str] = {}
    for zone, countries in zones.items():
        for k, country in enumerate(countries):
            if country in seen and seen[country] != zone:
                problems.append((f"{at}.zones.{zone}[{k}]", f"{country} is in zone {seen[country]} already"))
            seen.setdefault(country, zone)
    sold = awards.cabins or [
        c for c in ("economy", "premium_economy", "business", "first") if c in awards.bands[0].values()
    ]
    pairs: set[frozenset[str]] = set()
    for k, price in enumerate(awards.zone_prices):
        here = f"{at}.zone_prices[{k}]"
        unknown = [z for z in price.between if z not in zones]
        if unknown:
            problems.append((f"{here}.between", f"unknown zone {', '.join(unknown)}: list it under zones"))
        pair = frozenset(price.between)
        if pair in pairs:
            problems.append((f"{here}.between", "this pair of zones is priced twice"))
        pairs.add(pair)
        missing: list[str] = [c for c in sold if not price.values().get(c)]
        if "bag" in awards.bands[0].values() and "bag" not in price.values():
            missing.append("bag")
        if missing:
            problems.append((here, f"no price for {', '.join(missing)}"))
    return problems


def _tiers(at: str, tiers: Sequence[TierSpec], metrics: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    codes = [t.code for t in tiers]
    for j, tier in enumerate(tiers):
        here = f"{at}.tiers[{j}]"
        if tier.code in codes[:j]:
            problems.append((f"{here}.code", f"tier {tier.code} is listed twice"))
        if j == 0 and tier.qualify:
            problems.append((f"{here}.qualify", "the first tier is the base tier everyone has: no qualify"))
        if j > 0 and not tier.qualify:
            problems.append((f"{here}.qualify", f"tier {tier.code} needs at least one requirement set"))
        for k, requirement in enumerate(tier.qualify):
            for metric in requirement:
                if metric not in metrics:
                    problems.append((f"{here}.qualify[{k}].{metric}", f"unknown metric {metric}"))
        if j > 1 and tier.qualify and tiers[j - 1].qualify:
            for k, requirement in enumerate(tier.qualify):
                if set(requirement) - metrics:
                    continue  # reported as an unknown metric
                if not any(_harder(requirement, lower) for lower in tiers[j - 1].qualify):
                    problems.append(
                        (
                            f"{here}.qualify[{k}]",
                            f"tiers out of order: this set of {tier.code} is no harder than any set of "
                            f"{tiers[j - 1].code}, the tier below (list tiers from the lowest)",
                        )
                    )
    return problems


def _harder(upper: dict[str, Decimal], lower: dict[str, Decimal]) -> bool:
    """Meeting `upper` always meets `lower`, and `upper` asks for more."""
    covers = all(metric in upper and upper[metric] >= value for metric, value in lower.items())
    return covers and upper != lower


def _qualification(at: str, v: VersionSpec, codes: list[str], metrics: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    q = v.qualification
    if q.valid_until is not None:
        start = q.start_month or 1
        # a tier earned in the period starting in year Y is valid to the end of `month` of Y + years_after;
        # the nightly run requalifies it on the next period, so it must hold until that period has ended
        holds_to = (q.valid_until.years_after, q.valid_until.month)
        next_ends = (2, start - 1) if start > 1 else (1, 12)
        if holds_to < next_ends:
            problems.append(
                (
                    f"{at}.qualification.valid_until",
                    "a tier must stay valid until the end of the period after the one it was earned in "
                    f"(at least month {next_ends[1]} of {next_ends[0]} year(s) after)",
                )
            )
    if q.soft_landing > len(codes) - 1:
        problems.append(
            (
                f"{at}.qualification.soft_landing",
                f"at most {len(codes) - 1}: the programme has {len(codes)} tiers",
            )
        )
    if q.lifetime is not None:
        if q.lifetime.metric not in metrics:
            problems.append((f"{at}.qualification.lifetime.metric", f"unknown metric {q.lifetime.metric}"))
        ranks = []
        for k, rule in enumerate(q.lifetime.tiers):
            here = f"{at}.qualification.lifetime.tiers[{k}].tier"
            if rule.tier not in codes[1:]:
                problems.append((here, f"{rule.tier} is not a tier above the base tier"))
            else:
                ranks.append(codes.index(rule.tier))
        if ranks != sorted(set(ranks)):
            problems.append((f"{at}.qualification.lifetime.tiers", "lifetime tiers rise with `at`"))
    return problems


def _carrier(at: str, c: CarrierSpec, codes: list[str], metrics: set[str], money: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    earning = c.earning
    if earning.revenue is not None:
        missing = [t for t in codes if t not in earning.revenue]
        if missing:
            problems.append((f"{at}.earning.revenue", f"a rate for every tier: missing {missing}"))
        for tier in earning.revenue:
            if tier not in codes:
                problems.append((f"{at}.earning.revenue.{tier}", f"unknown tier {tier}"))
    if earning.distance is not None:
        low = earning.distance.minimum_from_tier
        if low is not None and low not in codes:
            problems.append((f"{at}.earning.distance.minimum_from_tier", f"unknown tier {low}"))
    for metric, credit in c.credits.items():
        here = f"{at}.credits.{metric}"
        if metric not in metrics:
            problems.append((here, f"unknown metric {metric}"))
            continue
        if (credit.fare is not None) != (metric in money):
            problems.append(
                (here, "a `fare` credit goes to a money metric, and a money metric takes only `fare`")
            )
        if credit.distance == "qualifying":
            for klass, spec in c.classes.items():
                if spec.qualifying_percent is None:
                    problems.append(
                        (f"{at}.classes.{klass}.qualifying_percent", f"{metric} credits it: required")
                    )
        if credit.bands is not None:
            problems += bands(f"{here}.bands.table", credit.bands.table)
    return problems


def bands(at: str, table: Sequence[BandSpec]) -> list[Problem]:
    """Contiguous from 0: each band starts the mile after the previous one ends; the last is open."""
    problems: list[Problem] = []
    expected = 0
    for k, band in enumerate(table):
        if band.from_miles != expected:
            kind = "a gap" if band.from_miles > expected else "an overlap"
            problems.append((f"{at}[{k}].from_miles", f"{kind}: the band must start at {expected} miles"))
        if k == len(table) - 1:
            if band.to_miles is not None:
                problems.append((f"{at}[{k}].to_miles", "the last band is open-ended: no to_miles"))
        elif band.to_miles is None or band.to_miles < band.from_miles:
            problems.append((f"{at}[{k}].to_miles", "a to_miles at or above from_miles"))
        else:
            expected = band.to_miles + 1
    return problems
