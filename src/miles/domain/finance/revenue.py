"""Revenue for miles (IFRS 15): the cumulative catch-up method, and a month's deferred revenue roll-forward.

The consideration allocated to miles is deferred (a contract liability) and recognised as the miles are
redeemed, in proportion to the miles expected to be redeemed: revenue to date = allocated x (miles redeemed
to date / miles expected to be redeemed), never more than the allocated amount; a period recognises revenue
to date less what earlier periods recognised (IFRS 15 B46, IE267-IE270; docs/finance.md).

Rounding: the *cumulative* revenue is rounded, once, half up, to `quantum` (the cent by default); a period's
revenue is the difference of two rounded cumulatives, so rounding never accumulates: the periods always sum
to the rounded cumulative. The IFRS 15 example states whole currency units; it is `quantum=Decimal(1)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from miles.domain.errors import InvalidInput

CENT = Decimal("0.01")
UNIT = Decimal(1)


def _money(amount: Decimal, quantum: Decimal) -> Decimal:
    return amount.quantize(quantum, rounding=ROUND_HALF_UP)


def _not_negative(value: int | Decimal, field: str) -> None:
    if value < 0:
        raise InvalidInput(f"{field} is negative ({value})", field=field, code="negative")


def cumulative_revenue(
    allocated: Decimal,
    issued: int,
    expected_to_redeem: int,
    redeemed_to_date: int,
    quantum: Decimal = CENT,
) -> Decimal:
    """Revenue recognised to date: allocated x redeemed / expected, rounded half up to `quantum`, capped at
    the allocated amount (redemptions beyond the estimate recognise nothing more).

    With nothing expected to be redeemed (expected 0: breakage of 100 %, or nothing issued) every right is
    expected to lapse and the whole allocated amount is recognised (IFRS 15 B46: breakage recognised when the
    likelihood of the customer exercising its rights becomes remote).
    """
    _not_negative(allocated, "allocated")
    _not_negative(issued, "issued")
    _not_negative(expected_to_redeem, "expected_to_redeem")
    _not_negative(redeemed_to_date, "redeemed_to_date")
    if expected_to_redeem > issued:
        raise InvalidInput(
            f"{expected_to_redeem} miles expected to be redeemed of {issued} issued",
            field="expected_to_redeem",
            code="expected_above_issued",
        )
    if redeemed_to_date > issued:
        raise InvalidInput(
            f"{redeemed_to_date} miles redeemed of {issued} issued",
            field="redeemed_to_date",
            code="redeemed_above_issued",
        )
    if expected_to_redeem == 0 or redeemed_to_date >= expected_to_redeem:
        return _money(allocated, quantum)
    return min(_money(allocated * redeemed_to_date / expected_to_redeem, quantum), _money(allocated, quantum))


def catch_up(
    allocated: Decimal,
    issued: int,
    expected_to_redeem: int,
    redeemed_to_date: int,
    recognised_before: Decimal,
    quantum: Decimal = CENT,
) -> Decimal:
    """The revenue to recognise now: revenue to date less `recognised_before` (what earlier periods
    recognised, in total).

    It is negative when the estimate of miles to be redeemed rose faster than redemptions: the cumulative
    catch-up reverses revenue recognised too early, as IFRS 15 treats a change in the measure of progress
    (a change in estimate, paragraph 88). Whatever the inputs, the cumulative after it never exceeds the
    allocated amount and never falls below zero.
    """
    return (
        cumulative_revenue(allocated, issued, expected_to_redeem, redeemed_to_date, quantum)
        - recognised_before
    )


@dataclass(frozen=True)
class DeferredRevenueMonth:
    """A month's deferred revenue (the contract liability for miles) rolled forward, in the accounting
    currency: closing = opening + deferred on the miles issued - recognised."""

    opening: Decimal
    deferred: Decimal  # miles issued in the month x the value per mile
    recognised: Decimal  # revenue recognised in the month (redemptions and breakage)

    @property
    def closing(self) -> Decimal:
        return self.opening + self.deferred - self.recognised


def deferred_on_issue(miles_issued: int, value_per_mile: Decimal, quantum: Decimal = CENT) -> Decimal:
    """The revenue deferred on miles issued: miles x value per mile, rounded half up to `quantum`. Miles
    taken back (negative) release what they deferred."""
    if value_per_mile <= 0:
        raise InvalidInput("the value per mile is not positive", field="value_per_mile", code="not_positive")
    return _money(miles_issued * value_per_mile, quantum)


def roll_forward(
    opening: Decimal,
    miles_issued: int,
    value_per_mile: Decimal,
    recognised: Decimal,
    quantum: Decimal = CENT,
) -> DeferredRevenueMonth:
    """The month's roll-forward from its opening (the previous month's closing)."""
    return DeferredRevenueMonth(
        opening=opening,
        deferred=deferred_on_issue(miles_issued, value_per_mile, quantum),
        recognised=recognised,
    )
