"""Answers of /v1/finance (pydantic, at the edge): a month's close as the contract gives it, with its
cohorts; amounts in the accounting currency as decimal strings in cents, rates to six places."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from miles.api.response_schemas import Shape

MONEY = r"^-?[0-9]+\.[0-9]{2}$"
RATE = r"^[01]\.[0-9]{6}$"
MONTH = r"^[0-9]{4}-[0-9]{2}$"


class MilesBySource(Shape):
    flights: int
    partners: int
    promotions: int
    goodwill: int
    claims: int
    purchases: int
    total: int


class MilesBySourceOnly(Shape):
    flights: int
    partners: int
    promotions: int
    goodwill: int
    claims: int
    purchases: int


class FinanceCohort(Shape):
    earn_month: str = Field(pattern=MONTH, examples=["2026-10"])
    net_issued: int = Field(description="miles the cohort's lots were opened with, less reversals")
    redeemed: int = Field(
        description="drawn by awards and cancellation fees, less what cancellations gave back"
    )
    outstanding: int
    breakage_rate: str = Field(pattern=RATE, examples=["0.136364"])
    breakage_basis: str = Field(
        description="observed (a mature cohort's own), mature_average, no_history or override",
        examples=["mature_average"],
    )
    expected_to_redeem: int
    allocated: str = Field(pattern=MONEY, description="consideration allocated to the cohort's miles")
    revenue_to_date: str = Field(pattern=MONEY)
    recognised: str = Field(pattern=MONEY, description="in this month (negative: a catch-up reversed)")


class PartnerBillingLine(Shape):
    partner: str
    partner_name: str
    closed: bool = Field(
        description="the partner's settlement of the month is closed (`miles partners settle`)"
    )
    net_miles: int
    amount_due: str = Field(pattern=MONEY)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class FinancePeriod(Shape):
    month: str = Field(pattern=MONTH, examples=["2026-11"])
    closed: bool = Field(description="false: measured as it stands now, not stored")
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["USD"])
    value_per_mile: str = Field(examples=["0.012000"])
    miles_issued: MilesBySource = Field(description="posted in the month, net of reversals")
    miles_redeemed: int
    miles_expired: int
    miles_outstanding: int = Field(description="the members' balances at the month's end")
    debts: int = Field(description="miles members owe that no lot carries (reversals of spent miles)")
    miles_held: int = Field(description="held for awards in progress at the month's end (in the balances)")
    breakage_rate: str = Field(pattern=RATE, description="the rate young cohorts take")
    breakage_basis: str
    deferred_revenue_opening: str = Field(pattern=MONEY)
    deferred_revenue_in_month: str = Field(pattern=MONEY)
    revenue_recognised: str = Field(pattern=MONEY)
    deferred_revenue_closing: str = Field(pattern=MONEY)
    closed_at: datetime | None
    closed_by: str | None
    cohorts: list[FinanceCohort]
    partner_billing: list[PartnerBillingLine] = Field(description="each partner's settlement of the month")


class FinancePeriodLine(Shape):
    month: str = Field(pattern=MONTH)
    miles_issued: int
    miles_redeemed: int
    miles_expired: int
    miles_outstanding: int
    revenue_recognised: str = Field(pattern=MONEY)
    deferred_revenue_closing: str = Field(pattern=MONEY)
    closed_at: datetime


class FinancePeriods(Shape):
    currency: str | None
    periods: list[FinancePeriodLine] = Field(description="every closed month, oldest first")


class LiabilityCohort(Shape):
    earn_month: str = Field(pattern=MONTH)
    total: int
    by_source: MilesBySourceOnly


class FinanceLiability(Shape):
    date: str = Field(
        examples=["2026-11-30"], description="the end of this day, in the programme's time zone"
    )
    miles_outstanding: int = Field(description="the members' balances: the lots less the debts")
    lots_outstanding: int = Field(description="the lots' remaining miles")
    debts: int = Field(description="miles members owe that no lot carries")
    miles_held: int = Field(description="held for awards in progress (in the balances)")
    by_source: MilesBySourceOnly
    cohorts: list[LiabilityCohort] = Field(description="by earn month, oldest first")
