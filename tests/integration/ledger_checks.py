"""Checks beyond `ledger_problems` for the ledger state machine: earn lots, debt, supplier bookings, the
lots a cancellation gives back, and what a night must do to each member (worked out beforehand with the
domain rules from what the member held before the night)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, text

from miles.adapters.db.standing import metric_mapping
from miles.domain.expiry import exempt, lot_expired, lots_expiring_miles
from miles.domain.programme.model import Programme
from miles.domain.programme.requalification import NightlyStanding, Standing, nightly_standing
from tests.integration.conftest import failed_checks

_NEVER_REVERSED = """NOT EXISTS (
    SELECT 1 FROM accruals ac JOIN accrual_reversals r ON r.accrual_id = ac.id WHERE ac.member_id = m.id)"""
_LOTS_LEFT = "coalesce((SELECT sum(remaining) FROM lots WHERE member_id = m.id), 0)"

CHECKS = {
    "lot remaining outside 0..amount": "SELECT id::text FROM lots WHERE remaining < 0 OR remaining > amount",
    "a transfer drew more miles from lots than it moved": """
        SELECT d.transfer_id::text FROM lot_draws d JOIN transfers t ON t.id = d.transfer_id
        GROUP BY d.transfer_id, t.amount HAVING sum(d.amount) > t.amount""",
    "a refund gave lots more miles than it moved": """
        SELECT r.transfer_id::text FROM lot_refunds r JOIN transfers t ON t.id = r.transfer_id
        GROUP BY r.transfer_id, t.amount HAVING sum(r.amount) > t.amount""",
    "member balance above the miles left in their lots": f"""
        SELECT m.member_number FROM members m JOIN accounts a ON a.member_id = m.id
        WHERE a.balance > {_LOTS_LEFT}""",
    "member never reversed whose balance != the miles left in their lots": f"""
        SELECT m.member_number FROM members m JOIN accounts a ON a.member_id = m.id
        WHERE {_NEVER_REVERSED} AND a.balance <> {_LOTS_LEFT}""",
    "available miles below zero with no reversal on record (no recorded debt)": f"""
        SELECT m.member_number FROM members m JOIN accounts a ON a.member_id = m.id
        WHERE a.balance - a.pending < 0 AND {_NEVER_REVERSED}""",
    "supplier bookings disagree with the redemption (confirmed: every item booked; else none)": """
        SELECT r.id::text FROM redemptions r JOIN redemption_items i ON i.redemption_id = r.id
        LEFT JOIN sim_supplier_bookings b ON b.status = 'BOOKED' AND b.key = 'redemption:' || r.id || ':' || i.n
         AND b.supplier = CASE i.kind WHEN 'flight' THEN 'flights' WHEN 'hotel' THEN 'hotels' ELSE 'baggage' END
        GROUP BY r.id, r.status
        HAVING CASE WHEN r.status = 'CONFIRMED' THEN count(b.key) <> count(*) ELSE count(b.key) > 0 END""",
}


def lot_debt_and_booking_problems(engine: Engine) -> list[str]:
    """Every way lots, debt or supplier bookings could be wrong; empty when they are sound."""
    return failed_checks(engine, CHECKS)


@dataclass(frozen=True)
class Lot:
    id: int
    expires: date | None
    remaining: int


@dataclass(frozen=True)
class MemberState:
    number: str
    tier: str
    valid_until: date | None
    lifetime_tier: str
    lifetime_total: Decimal
    period_start: date
    balance: int
    pending: int
    qualifying: dict[date, list[Decimal]] = field(default_factory=dict)  # period start -> stored metrics
    lots: list[Lot] = field(default_factory=list)

    def expired_left(self, run_date: date) -> int:
        """Miles still in lots whose last good day is before `run_date`."""
        return sum(lot.remaining for lot in self.lots if lot_expired(lot.expires, run_date))


def member_states(engine: Engine) -> dict[str, MemberState]:
    """Every member's standing, balances, qualifying totals and lots with miles left, by member number."""
    with engine.connect() as c:
        members = c.execute(
            text(
                "SELECT m.id, m.member_number, m.tier, m.tier_valid_until, m.lifetime_tier, m.lifetime_total, "
                "m.period_start, a.balance, a.pending FROM members m JOIN accounts a ON a.member_id = m.id"
            )
        ).all()
        qualifying = c.execute(text("SELECT member_id, period_start, metrics FROM qualifying_totals")).all()
        lots = c.execute(
            text("SELECT id, member_id, expires_date, remaining FROM lots WHERE remaining > 0 ORDER BY id")
        ).all()
    states = {
        m.id: MemberState(
            m.member_number,
            m.tier,
            m.tier_valid_until,
            m.lifetime_tier,
            Decimal(m.lifetime_total),
            m.period_start,
            int(m.balance),
            int(m.pending),
        )
        for m in members
    }
    for q in qualifying:
        states[q.member_id].qualifying[q.period_start] = list(q.metrics)
    for lot in lots:
        states[lot.member_id].lots.append(Lot(lot.id, lot.expires_date, int(lot.remaining)))
    return {s.number: s for s in states.values()}


def soonest_expiring_first(lots: list[Lot], miles: int) -> list[tuple[int, int]]:
    """(lot, miles) a debit of `miles` takes from these lots: soonest-expiring first, lots that never
    expire last, by lot id on a tie; sorted by lot id."""
    taken = []
    for lot in sorted(lots, key=lambda lot: (lot.expires or date.max, lot.id)):
        take = min(lot.remaining, miles)
        if take > 0:
            taken.append((lot.id, take))
            miles -= take
    return sorted(taken)


@dataclass(frozen=True)
class NightOutcome:
    standing: NightlyStanding
    expired_miles: int  # what the night takes to the `expired` account
    expired_left: int  # miles left afterwards in the lots expired on the run date


def expected_night(programme: Programme, run_date: date, before: MemberState) -> NightOutcome:
    """What the night of `run_date` must do to a member: the domain's requalification rule, then lots
    expiry (lots policy) for a member whose tier after requalification is not exempt: the expired lots'
    miles less a debt no lot carries, never more than the available miles."""
    standing = nightly_standing(
        programme,
        run_date,
        Standing(
            before.tier, before.valid_until, before.lifetime_tier, before.lifetime_total, before.period_start
        ),
        {start: metric_mapping(programme.metric_codes, v) for start, v in before.qualifying.items()},
    )
    due = before.expired_left(run_date)
    if exempt(programme.expiry, standing.tier):
        return NightOutcome(standing, 0, due)
    in_lots = sum(lot.remaining for lot in before.lots)
    miles = lots_expiring_miles(due, in_lots, before.balance, before.pending)
    return NightOutcome(standing, miles, due - miles)


def expired_on(engine: Engine, run_date: date) -> dict[str, int]:
    """Miles the night of `run_date` expired, by member number."""
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT m.member_number, e.miles FROM nightly_expiries e JOIN nightly_runs r ON r.id = e.run_id "
                "JOIN members m ON m.id = e.member_id WHERE r.run_date = :d"
            ),
            {"d": run_date},
        )
        return {r.member_number: int(r.miles) for r in rows}


def redemption_statuses(engine: Engine) -> dict[int, tuple[str, str]]:
    """(redemption status, hold status) of every redemption."""
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT r.id, r.status, h.status AS hold FROM redemptions r JOIN holds h ON h.redemption_id = r.id"
            )
        )
        return {int(r.id): (r.status, r.hold) for r in rows}


def lots_given_back(
    engine: Engine, redemption_id: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """((lot, miles) the award drew, (lot, miles) its cancellation refunded to the same draws)."""
    with engine.connect() as c:
        drawn = c.execute(
            text(
                "SELECT d.lot_id, d.amount FROM lot_draws d JOIN transfers t ON t.id = d.transfer_id "
                "WHERE t.redemption_id = :r AND t.code = 'redemption' ORDER BY d.lot_id"
            ),
            {"r": redemption_id},
        ).all()
        refunded = c.execute(
            text(
                "SELECT f.lot_id, f.amount FROM lot_refunds f JOIN transfers t ON t.id = f.transfer_id "
                "JOIN transfers award ON award.id = f.draw_transfer_id AND award.redemption_id = :r "
                "WHERE t.redemption_id = :r AND t.code = 'redemption_refund' ORDER BY f.lot_id"
            ),
            {"r": redemption_id},
        ).all()
    return [(r.lot_id, int(r.amount)) for r in drawn], [(r.lot_id, int(r.amount)) for r in refunded]


def fee_draws(engine: Engine, redemption_id: int) -> list[tuple[int, int]]:
    """(lot, miles) the cancellation fee of a redemption drew."""
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT d.lot_id, d.amount FROM lot_draws d JOIN transfers t ON t.id = d.transfer_id "
                "WHERE t.redemption_id = :r AND t.code = 'cancellation_fee' ORDER BY d.lot_id"
            ),
            {"r": redemption_id},
        )
        return [(r.lot_id, int(r.amount)) for r in rows]
