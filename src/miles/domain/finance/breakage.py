"""Breakage: the share of issued miles expected never to be redeemed, per earn-month cohort
(docs/finance.md, "Breakage").

A cohort is the miles earned in one month (its lots). Once it is *old enough to tell* - every mile of it
is settled (none outstanding), or it is past the maturity (the last day of the `maturity_months`-th month
after its earn month has passed) - its breakage is what history shows:

    breakage = expired / (expired + redeemed)

Miles taken back (reversals) are neither: they were never the member's to redeem. Miles a mature cohort
still holds (a tier whose miles never expire) are assumed to go the same way as the rest.

A young cohort cannot tell yet: it takes the mature cohorts' miles-weighted average, each mature cohort's
rate weighted by its settled miles (expired + redeemed), which is sum(expired) / sum(expired + redeemed) over
the mature cohorts. A mature cohort with nothing settled takes it too. With no mature cohort at all the rate
is 0: every mile is expected to be redeemed, and revenue waits for redemptions.

An override in the rules file (`finance.breakage_override`) wins over all of this: every cohort takes it.
The estimate is made at each month's close, as of the month's last day, and applies from that month on;
closed months keep the rate they were closed with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from miles.domain.errors import InvalidInput
from miles.domain.finance.months import mature_on, month_label

RATE_QUANTUM = Decimal("0.000001")  # rates are kept to six decimal places
ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True)
class CohortHistory:
    """The miles of the lots earned in one month, as of the estimate's date. The parts add up to `issued`."""

    earn_month: date  # the month's first day
    issued: int  # the lots' amounts
    redeemed: int  # drawn by redemptions and cancellation fees, less refunds
    expired: int  # drawn by expiry
    outstanding: int  # still in the lots
    reversed: int = 0  # taken back by reversals (a flight refunded, an activity reversed)

    def __post_init__(self) -> None:
        label = month_label(self.earn_month)
        if self.earn_month.day != 1:
            raise InvalidInput(
                f"cohort {self.earn_month} is not a month's first day", field="earn_month", code="not_a_month"
            )
        for name in ("issued", "redeemed", "expired", "outstanding", "reversed"):
            if getattr(self, name) < 0:
                raise InvalidInput(f"cohort {label}: {name} is negative", field=name, code="negative")
        if self.redeemed + self.expired + self.outstanding + self.reversed != self.issued:
            raise InvalidInput(
                f"cohort {label}: redeemed + expired + outstanding + reversed is not the {self.issued} issued",
                field="issued",
                code="cohort_does_not_add_up",
            )

    @property
    def settled(self) -> int:
        """Miles whose fate is known: redeemed or expired."""
        return self.redeemed + self.expired


class RateBasis(StrEnum):
    OBSERVED = "observed"  # a mature cohort's own history
    MATURE_AVERAGE = "mature_average"  # the mature cohorts' miles-weighted average
    NO_HISTORY = "no_history"  # no mature cohort settled anything: 0
    OVERRIDE = "override"  # the rules file's fixed rate


@dataclass(frozen=True)
class CohortBreakage:
    earn_month: date
    rate: Decimal  # 0..1, six decimal places
    basis: RateBasis


@dataclass(frozen=True)
class BreakageEstimate:
    as_of: date
    mature_rate: Decimal  # the rate a young cohort takes (the override when there is one)
    mature_basis: RateBasis
    cohorts: Mapping[date, CohortBreakage]  # by earn month

    def rate(self, earn_month: date) -> Decimal:
        """The rate of a cohort; a month with no history yet (a new cohort) takes the young cohorts' rate."""
        cohort = self.cohorts.get(earn_month)
        return self.mature_rate if cohort is None else cohort.rate


def _rate(expired: int, settled: int) -> Decimal:
    return (Decimal(expired) / Decimal(settled)).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)


def check_rate(rate: Decimal | None, field: str = "breakage_override") -> None:
    """A breakage rate (when there is one) is between 0 and 1."""
    if rate is not None and not ZERO <= rate <= ONE:
        raise InvalidInput(
            f"a breakage rate is between 0 and 1, not {rate}", field=field, code="out_of_range"
        )


def is_mature(cohort: CohortHistory, as_of: date, maturity_months: int) -> bool:
    """Old enough to tell: nothing outstanding, or past the maturity."""
    return cohort.outstanding == 0 or mature_on(cohort.earn_month, as_of, maturity_months)


def estimate_breakage(
    cohorts: Iterable[CohortHistory],
    as_of: date,
    maturity_months: int,
    override: Decimal | None = None,
) -> BreakageEstimate:
    """Each cohort's breakage rate as of `as_of` (module docstring). Only cohorts earned by `as_of` count."""
    if maturity_months < 1:
        raise InvalidInput(
            "the maturity is at least one month", field="breakage_maturity_months", code="out_of_range"
        )
    check_rate(override)
    known = [c for c in cohorts if c.earn_month <= as_of]
    if len({c.earn_month for c in known}) != len(known):
        raise InvalidInput("a month has more than one cohort", field="earn_month", code="duplicate_cohort")
    if override is not None:
        rate = override.quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)
        return BreakageEstimate(
            as_of=as_of,
            mature_rate=rate,
            mature_basis=RateBasis.OVERRIDE,
            cohorts={c.earn_month: CohortBreakage(c.earn_month, rate, RateBasis.OVERRIDE) for c in known},
        )
    mature = [c for c in known if is_mature(c, as_of, maturity_months) and c.settled > 0]
    settled = sum(c.settled for c in mature)
    if settled:
        average, basis = _rate(sum(c.expired for c in mature), settled), RateBasis.MATURE_AVERAGE
    else:
        average, basis = ZERO.quantize(RATE_QUANTUM), RateBasis.NO_HISTORY
    observed = {c.earn_month for c in mature}
    return BreakageEstimate(
        as_of=as_of,
        mature_rate=average,
        mature_basis=basis,
        cohorts={
            c.earn_month: CohortBreakage(c.earn_month, _rate(c.expired, c.settled), RateBasis.OBSERVED)
            if c.earn_month in observed
            else CohortBreakage(c.earn_month, average, basis)
            for c in known
        },
    )


def expected_to_redeem(issued: int, rate: Decimal) -> int:
    """Miles expected to be redeemed: issued x (1 - breakage), rounded half up to a whole mile."""
    check_rate(rate, "rate")
    return int((issued * (ONE - rate)).quantize(ONE, rounding=ROUND_HALF_UP))
