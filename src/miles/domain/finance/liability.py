"""The miles liability: outstanding miles at a date, by earn-month cohort and by source (docs/finance.md).

Outstanding miles are the lots' remaining miles at the date; a lot's source is decided by the transfer that
opened it. A claim (missing miles credited after the flight) is a flight accrual like any other in the
ledger: its source is decided from the accrual's channel, so the mapping takes (code, channel). Reversals
carry the source of what they take back. No transfer sells miles yet: `purchases` is reported, at 0, so that
the report's shape does not change when one does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from miles.domain.errors import Conflict, InvalidInput
from miles.domain.finance.months import month_label


class Source(StrEnum):
    FLIGHTS = "flights"
    PARTNERS = "partners"
    PROMOTIONS = "promotions"
    GOODWILL = "goodwill"
    CLAIMS = "claims"
    PURCHASES = "purchases"


CLAIM_CHANNEL = "claim"  # accruals.channel of a claimed coupon
FLIGHT_CODES = frozenset({"flight_accrual", "flight_accrual_reversal"})


@dataclass(frozen=True)
class SourceRule:
    """Transfers of `code` (and, when given, whose accrual's channel is `channel`) are of `source`."""

    code: str
    channel: str | None
    source: Source


# the first rule that matches wins: the claim rule before the flight rule. An adapter turns the same rules
# into a SQL CASE, so the database and the domain classify alike.
SOURCE_RULES: tuple[SourceRule, ...] = (
    SourceRule("flight_accrual", CLAIM_CHANNEL, Source.CLAIMS),
    SourceRule("flight_accrual", None, Source.FLIGHTS),
    SourceRule("partner_accrual", None, Source.PARTNERS),
    SourceRule("promotion_bonus", None, Source.PROMOTIONS),
    SourceRule("goodwill", None, Source.GOODWILL),
)
ISSUING_CODES = frozenset(rule.code for rule in SOURCE_RULES)  # the transfers that open lots
REVERSAL_OF = {
    "flight_accrual_reversal": "flight_accrual",
    "partner_accrual_reversal": "partner_accrual",
    "promotion_bonus_reversal": "promotion_bonus",
}


# what a transfer that draws miles from lots does to them (docs/finance.md): awards and their cancellation
# fees redeem, expiry expires, reversals take back; `redemption_refund` gives drawn miles back (lot_refunds)
REDEEMING_CODES = frozenset({"redemption", "cancellation_fee"})
EXPIRING_CODES = frozenset({"expiry"})
REFUNDING_CODES = frozenset({"redemption_refund"})


def source_of(code: str, channel: str | None = None) -> Source:
    """The source of miles a transfer of `code` issued (or, for a reversal, took back). `channel` is the
    channel of the flight accrual the transfer belongs to: required for flight codes, ignored otherwise."""
    issuing = REVERSAL_OF.get(code, code)
    if issuing not in ISSUING_CODES:
        raise InvalidInput(f"transfer {code!r} issues no miles", field="code", code="not_an_issuing_code")
    if code in FLIGHT_CODES and channel is None:
        raise InvalidInput(
            f"the source of {code!r} depends on its accrual's channel",
            field="channel",
            code="channel_required",
        )
    for rule in SOURCE_RULES:
        if rule.code == issuing and rule.channel in (None, channel):
            return rule.source
    raise AssertionError(f"no source rule for {issuing}")  # unreachable: every issuing code has a rule


def by_source(amounts: Iterable[tuple[Source, int]]) -> dict[Source, int]:
    """Miles summed by source, every source present (0 when none)."""
    totals = dict.fromkeys(Source, 0)
    for source, miles in amounts:
        totals[source] += miles
    return totals


@dataclass(frozen=True)
class LiabilityLine:
    """The miles still in the lots of one earn month and one source."""

    earn_month: date  # the month's first day
    source: Source
    miles: int


@dataclass(frozen=True)
class Liability:
    """The miles liability at the end of `as_of`.

    `lines` are the lots' remaining miles by earn month and source (the gross liability); `debts` are
    miles members owe that no lot carries (a reversal of miles already spent); `ledger_balance` is the sum
    of the members' balances in the ledger at the same date, counted apart: gross - debts must equal it.
    """

    as_of: date
    lines: tuple[LiabilityLine, ...]
    debts: int
    ledger_balance: int

    @property
    def gross(self) -> int:
        return sum(line.miles for line in self.lines)

    @property
    def net(self) -> int:
        """The miles members hold: the lots' remaining miles less the debts no lot carries."""
        return self.gross - self.debts

    def by_source(self) -> dict[Source, int]:
        return by_source((line.source, line.miles) for line in self.lines)

    def by_cohort(self) -> dict[date, dict[Source, int]]:
        """Each earn month's miles by source, months in order."""
        months: dict[date, list[tuple[Source, int]]] = defaultdict(list)
        for line in self.lines:
            months[line.earn_month].append((line.source, line.miles))
        return {month: by_source(months[month]) for month in sorted(months)}

    def cohort_totals(self) -> Mapping[date, int]:
        return {month: sum(sources.values()) for month, sources in self.by_cohort().items()}


def liability_problems(liability: Liability) -> list[str]:
    """What does not add up in a liability report (empty when it is consistent)."""
    problems: list[str] = []
    cells = [(line.earn_month, line.source) for line in liability.lines]
    if len(set(cells)) != len(cells):
        problems.append("an earn month and source appear on more than one line")
    for line in liability.lines:
        if line.miles < 0:
            problems.append(f"{month_label(line.earn_month)} {line.source}: {line.miles} miles")
        if line.earn_month.day != 1:
            problems.append(f"{line.earn_month.isoformat()} is not a month's first day")
        if line.earn_month > liability.as_of:
            problems.append(f"{month_label(line.earn_month)} is after {liability.as_of.isoformat()}")
    if liability.debts < 0:
        problems.append(f"debts are negative ({liability.debts})")
    if liability.net != liability.ledger_balance:
        problems.append(
            f"the sources less debts are {liability.net} miles, the ledger's balances {liability.ledger_balance}"
        )
    return problems


def check_liability(liability: Liability) -> None:
    """Refuses a report whose sources, less debts, are not the ledger's balances (or that is malformed)."""
    problems = liability_problems(liability)
    if problems:
        raise Conflict("the liability does not add up: " + "; ".join(problems), code="liability_mismatch")
