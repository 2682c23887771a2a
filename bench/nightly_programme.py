"""The nightly benchmark's data for any programme: nightly_data.py's generator (server-side generate_series,
two lanes, indexes built after the load) with the programme's tier codes, metrics, periods and expiry.

Each generated credit is an economy coupon of `miles` flown miles (500 to 4,500) on one of the programme's
carriers in turn, crediting each metric as that carrier's rule says: a distance credit the flown miles
(at least the rule's minimum distance), a band credit the economy value of the distance's band, a segment
credit 1, a fare credit the fare (0.20 of the accounting currency per mile, cents from the credit's id);
its award miles are the flown miles (distance carriers, at least their minimum distance) or the fare times
the base tier's rate (revenue carriers). The reference programme's credits are partner YY's, as
nightly_data.py has always made them, so its data is the same row for row (the recorded figures stay
comparable).

Fixed periods: each credit counts in the period holding its date; a member holds the best tier earned in a
period whose tier is still valid on the morning of the night, valid as the programme says. Rolling periods:
each member's current period starts on a day of the year before the night (by a hash of the id: about
1/366 of them end on the night), the credits count in the member's 12-month periods going back from it, and
the tier is the best earned in the current or the previous period, valid to the current period's end
(simplified: no period restarted at a new tier). Lifetime tiers (where the programme has them): 0.1% of
members get almost the first lifetime threshold in 2010, and half of those who pass it hold that tier.
Expiry: `lots`: a lot expires at the end of the N-th month after the month it was earned, and the credits
span N months (36 at most) so that none is overdue; `inactivity`: the last activity is the member's last
flight, or a partner activity between the night's cutoff and the night where the last flight is older
(members inactive longer would have expired already); `never`: no expiry date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import nightly_data

from miles.domain.calendar import add_months
from miles.domain.expiry import inactivity_cutoff
from miles.domain.programme.carriers import CarrierRule, CreditKind, Earning
from miles.domain.programme.model import ExpiryKind, Programme
from miles.domain.programme.qualification import QualificationRules

REFERENCE_CARRIERS = ("YY",)  # nightly_data.py's credits: the reference programme's partner
ROLLING_NIGHT = dt.date(2028, 3, 1)
FARE = "round(miles * 0.2 + (id % 100) / 100.0, 2)"
HASH = 2654435761


@dataclass(frozen=True)
class Profile:
    """A programme's generated data: the nights it is measured on and the SQL pieces of its plan."""

    programme: Programme
    carriers: tuple[CarrierRule, ...]

    @property
    def rules(self) -> QualificationRules:
        return self.programme.qualification

    @property
    def night(self) -> dt.date:
        """The requalification night: the day after a tier earned in 2026 ends (fixed periods)."""
        if self.rules.rolling:
            return ROLLING_NIGHT
        return self.rules.valid_until(self.rules.fixed_period(dt.date(2026, self.rules.start_month, 1))) + ONE

    @property
    def expiry_night(self) -> dt.date:
        return add_months(self.night, 1)

    @property
    def clock_at(self) -> str:
        """The workers' clock: 03:00 on the expiry night in the programme's time zone (after both nights)."""
        local = dt.datetime.combine(self.expiry_night, dt.time(3), ZoneInfo(self.programme.timezone))
        return local.isoformat()

    @property
    def first_day(self) -> dt.date:
        expiry = self.programme.expiry
        span = min(36, expiry.months) if expiry.kind is ExpiryKind.LOTS else 36
        return add_months(self.night, -span)

    @property
    def days(self) -> int:
        return (self.night - self.first_day).days - 1

    # --- per credit ------------------------------------------------------------------------------

    def _by_carrier(self, pieces: list[str]) -> str:
        if len(set(pieces)) == 1:
            return pieces[0]
        whens = " ".join(f"WHEN {i} THEN {p}" for i, p in enumerate(pieces))
        return f"(CASE id % {len(pieces)} {whens} END)"

    def metric_sql(self, code: str) -> str:
        """SQL (over bench_credits' `id` and `miles`): what a credit adds to a metric."""
        pieces = []
        for carrier in self.carriers:
            terms = []
            for credit in carrier.credits:
                if credit.metric != code:
                    continue
                if credit.kind is CreditKind.DISTANCE:
                    terms.append(_at_least("miles", credit.minimum_distance))
                elif credit.kind is CreditKind.BAND:
                    assert credit.table is not None
                    cases = " ".join(
                        f"WHEN miles <= {b.to_miles} THEN {b.values.get('economy', 0)}"
                        for b in credit.table.bands[:-1]
                    )
                    last = credit.table.bands[-1].values.get("economy", 0)
                    terms.append(f"(CASE {cases} ELSE {last} END)" if cases else str(last))
                elif credit.kind is CreditKind.SEGMENT:
                    terms.append(str(credit.per_segment))
                else:
                    terms.append(FARE)
            pieces.append(" + ".join(terms) or "0")
        return self._by_carrier(pieces)

    def award_sql(self) -> str:
        """SQL: a credit's award miles (and its lot's)."""
        pieces = []
        for carrier in self.carriers:
            if carrier.earning is Earning.REVENUE:
                assert carrier.revenue_rates is not None
                rate = carrier.revenue_rates[self.programme.ladder.base.code]
                pieces.append(f"floor({FARE} * {rate})::int")
            else:
                pieces.append(_at_least("miles", carrier.minimum_distance))
        return self._by_carrier(pieces)

    def metrics_sql(self) -> str:
        return (
            f"ARRAY[{', '.join(self.metric_sql(c) for c in self.programme.metric_codes)}]::numeric(16, 2)[]"
        )

    def member_period_sql(self, member: str) -> str:
        """Rolling periods: the member's current period start, a day of the year before the night."""
        start = add_months(self.night, -12)
        return f"(DATE '{start}' + (({member} * {HASH}) % {(self.night - start).days})::int)"

    def period_sql(self, day: str = "earned_date", member: str = "member_id") -> str:
        """SQL: the first day of the qualification period a credit of `day` counts in."""
        if self.rules.rolling:
            ps = self.member_period_sql(member)
            months = (
                f"((extract(year FROM {day}) - extract(year FROM {ps})) * 12 + extract(month FROM {day}) "
                f"- extract(month FROM {ps}) - CASE WHEN extract(day FROM {day}) < extract(day FROM {ps}) "
                "THEN 1 ELSE 0 END)"
            )
            return f"CAST({ps} + make_interval(months => 12 * floor({months} / 12)::int) AS date)"
        if self.rules.start_month == 1:
            return f"make_date(extract(year FROM {day})::int, 1, 1)"
        shift = f"{day} - interval '{self.rules.start_month - 1} months'"
        return f"make_date(extract(year FROM {shift})::int, {self.rules.start_month}, 1)"

    # --- tiers -----------------------------------------------------------------------------------

    def earned_sql(self, metric: object) -> str:
        """SQL: the tier rank a period's metrics earn; `metric(i)` is the SQL of the i-th metric (0-based)."""
        codes = self.programme.metric_codes
        cases = []
        for tier in reversed(self.programme.ladder.tiers[1:]):
            sets = []
            for requirement in tier.requirements:
                terms = [f"{metric(codes.index(c))} >= {v}" for c, v in requirement.minimums.items()]  # type: ignore[operator]
                sets.append(terms[0] if len(terms) == 1 else "(" + " AND ".join(terms) + ")")
            cases.append(f"WHEN {' OR '.join(sets)} THEN {tier.rank}")
        return f"CASE {' '.join(cases)} ELSE 0 END" if cases else "0"

    def codes_sql(self) -> str:
        return "ARRAY[" + ",".join(f"'{c}'" for c in self.programme.ladder.codes) + "]"

    def first_held(self) -> dt.date:
        """Fixed periods: the first period whose tier still holds on the morning of the night."""
        period = self.rules.fixed_period(self.night)
        while self.rules.valid_until(self.rules.previous(period)) >= self.night - ONE:
            period = self.rules.previous(period)
        return period.start

    def valid_sql(self, year: str) -> str:
        """SQL: the valid-until of a tier earned in the fixed period starting in `year`."""
        month, after = self.rules.valid_month, self.rules.valid_years_after
        if month < 12:
            return f"make_date({year} + {after}, {month + 1}, 1) - 1"
        return f"make_date({year} + {after + 1}, 1, 1) - 1"

    def lifetime(self) -> tuple[int, str, int] | None:
        """(metric index, first lifetime tier, its threshold), or None without lifetime tiers."""
        rules = self.rules
        if rules.lifetime_metric is None or not rules.lifetime:
            return None
        first = rules.lifetime[0]
        return self.programme.metric_codes.index(rules.lifetime_metric), first.tier, int(first.at)


ONE = dt.timedelta(days=1)


def _at_least(column: str, minimum: int) -> str:
    return f"greatest({column}, {minimum})" if minimum else column


def profile(programme: Programme, reference: bool) -> Profile:
    names = REFERENCE_CARRIERS if reference else tuple(programme.carriers)
    return Profile(programme, tuple(programme.carriers[c] for c in names))


def plan(p: Profile) -> nightly_data.Plan:
    """The generator's plan for the programme (see the module's docstring)."""
    from nightly_programme_sql import finish, lanes, staging

    return nightly_data.Plan(nightly_data.TABLES, staging(p), lanes(p), finish(p))


def inactivity_floor(p: Profile) -> tuple[dt.date, int] | None:
    """Inactivity policy: the night's cutoff and the days from it to the night."""
    expiry = p.programme.expiry
    if expiry.kind is not ExpiryKind.INACTIVITY:
        return None
    cutoff = inactivity_cutoff(p.night, expiry.months)
    return cutoff, (p.night - cutoff).days
