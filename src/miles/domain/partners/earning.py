"""What a partner activity earns, and when its miles post.

An activity's miles are the sum of its rule's parts: nights x per_night, days x per_day, the spend in the
accounting currency x per_unit x its category's multiplier (rounded down, once, at the end of the spend
part), and a fixed part. They post when `activity_date + pending_days <= today`; until then they are
pending. Every refusal names the field of the request it is about."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

from miles.domain.calendar import add_months
from miles.domain.errors import InvalidInput
from miles.domain.partners.contracts import ActivityRule, PartnerContract
from miles.domain.validation import Problems

MAX_UNITS = 365  # nights or days in one activity


@dataclass(frozen=True)
class PartnerActivity:
    """An activity as the partner reports it (API item or file line)."""

    member_number: str
    activity_id: str
    activity_date: date
    kind: str | None = None
    category: str | None = None
    nights: int | None = None
    days: int | None = None
    amount: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True)
class PartnerEarning:
    kind: str
    miles: int
    credits: Mapping[str, Decimal]  # qualifying credit by metric (empty for most contracts)
    amount_value: Decimal | None  # the spend in the accounting currency
    posts_on: date

    def pending_on(self, today: date) -> bool:
        return self.posts_on > today


def _units(value: int | None, per: int | None, field: str, what: str, problems: Problems) -> int:
    if per is None:
        if value is not None:
            problems.add(f"this activity does not count {what}: leave {field} out", field, "not_in_contract")
        return 0
    if value is None:
        problems.add(f"this activity earns per {what[:-1]}: give {field}", field, "required")
        return 0
    if not 1 <= value <= MAX_UNITS:
        problems.add(f"{field} is 1 to {MAX_UNITS}", field, "out_of_range")
        return 0
    return value * per


def _spend(
    activity: PartnerActivity,
    rule: ActivityRule,
    rates: Mapping[str, Decimal],
    currency: str,
    problems: Problems,
) -> tuple[int, Decimal | None]:
    """The spend part's miles, and the spend in the accounting currency."""
    if rule.per_unit is None:
        if activity.amount is not None or activity.currency is not None:
            problems.add(
                "this activity does not earn on spend: leave amount out", "amount", "not_in_contract"
            )
        if activity.category is not None:
            problems.add("this activity has no categories: leave category out", "category", "not_in_contract")
        return 0, None
    multiplier = Decimal(1)
    if activity.category is not None:
        if activity.category not in rule.categories:
            known = ", ".join(sorted(rule.categories)) or "none"
            problems.add(
                f"unknown category {activity.category!r} (the contract has: {known})",
                "category",
                "unknown_category",
            )
            return 0, None
        multiplier = rule.categories[activity.category]
    if activity.amount is None:
        problems.add("this activity earns on spend: give amount", "amount.amount", "required")
        return 0, None
    if activity.amount <= 0:
        problems.add("amount must be more than 0", "amount.amount", "out_of_range")
        return 0, None
    if activity.currency is None or activity.currency not in rates:
        problems.add(
            f"no rate for the currency {activity.currency!r} into {currency}",
            "amount.currency",
            "unknown_currency",
        )
        return 0, None
    value = activity.amount * rates[activity.currency]
    if value > rule.amount_ceiling:
        problems.add(
            f"amount is above the contract's ceiling of {rule.amount_ceiling} {currency} per activity",
            "amount.amount",
            "out_of_range",
        )
        return 0, None
    miles = int((value * rule.per_unit * multiplier).to_integral_value(rounding=ROUND_FLOOR))
    return miles, value


def earn_activity(
    contract: PartnerContract,
    activity: PartnerActivity,
    rates: Mapping[str, Decimal],
    currency: str,
    today: date,
    window_months: int,
) -> PartnerEarning:
    """What `activity` earns under `contract`: `today` is the partner's local date, `window_months` the
    programme's accrual window (older activities earn nothing and are refused)."""
    problems = Problems()
    kind = activity.kind if activity.kind is not None else contract.default_kind
    rule = contract.activities.get(kind)
    if rule is None:
        known = ", ".join(contract.activities)
        raise InvalidInput(
            f"unknown activity kind {kind!r} (the contract has: {known})", field="kind", code="unknown_kind"
        )
    if activity.activity_date > today:
        problems.add(
            f"activity_date {activity.activity_date} is in the future (today is {today} for {contract.code})",
            "activity_date",
            "future_date",
        )
    elif activity.activity_date < add_months(today, -window_months):
        problems.add(
            f"activity_date {activity.activity_date} is older than the {window_months}-month accrual window",
            "activity_date",
            "too_old",
        )
    miles = _units(activity.nights, rule.per_night, "nights", "nights", problems)
    miles += _units(activity.days, rule.per_day, "days", "days", problems)
    spend, value = _spend(activity, rule, rates, currency, problems)
    problems.raise_any()
    miles += spend + (rule.fixed or 0)
    return PartnerEarning(
        kind=kind,
        miles=miles,
        credits=dict(rule.credits),
        amount_value=value,
        posts_on=activity.activity_date + timedelta(days=contract.pending_days),
    )
