"""Retention segments for tests: flight accruals written straight into the table (the segments read
accruals, not the ledger), and every member's MemberActivityFacts read back member by member in Python,
by the definitions of miles.adapters.db.segments' docstring, independently of its SQL."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from miles.domain.segments import (
    INTERVAL_WINDOW_MONTHS,
    MemberActivityFacts,
    usual_interval_days,
    within_months,
)

YEAR_MONTHS = 12


def add_flights(engine: Engine, flights: list[tuple[int, date, int, bool]]) -> None:
    """Flight accruals (member id, departure date, award miles, reversed): rows of `accruals` (and
    `accrual_reversals`) without their transfers."""
    if not flights:
        return
    with engine.begin() as c:
        ids = c.execute(
            text(
                """
                INSERT INTO accruals (member_id, ticket_number, coupon_number, request_digest, channel,
                                      marketing_carrier, operating_carrier, flight_number, origin, destination,
                                      departure_date, booking_class, distance_miles, base_miles,
                                      tier_bonus_miles, promotion_miles, award_miles, credits, period_start,
                                      fare_value, tier_before, tier_after, balance_after)
                SELECT m, lpad((7000000000000 + i)::text, 13, '0'), 1, 'seeded', 'api', 'ZZ', 'ZZ', '1', 'JFK',
                       'LHR', d, 'Y', 3451, miles, 0, 0, miles, ARRAY[0, 0, 0]::numeric(16, 2)[],
                       make_date(extract(year FROM d)::int, 1, 1), 0, 'BLUE', 'BLUE', 0
                FROM unnest(CAST(:m AS bigint[]), CAST(:d AS date[]), CAST(:miles AS int[]))
                     WITH ORDINALITY AS s(m, d, miles, i)
                ORDER BY i
                RETURNING id
                """
            ),
            {
                "m": [f[0] for f in flights],
                "d": [f[1] for f in flights],
                "miles": [f[2] for f in flights],
            },
        ).scalars()
        reversed_ids = [i for i, f in zip(ids, flights, strict=True) if f[3]]
        if reversed_ids:
            c.execute(
                text(
                    "INSERT INTO accrual_reversals (accrual_id, reason, request_digest, reversed_miles, "
                    "balance_after) SELECT id, 'seeded', 'seeded', 0, 0 FROM unnest(CAST(:ids AS bigint[])) id"
                ),
                {"ids": reversed_ids},
            )


def python_facts(
    engine: Engine, run_date: date, timezone: str, top_tier: str
) -> dict[int, MemberActivityFacts]:
    """Every member's facts on `run_date`, read table by table and worked out member by member."""
    zone = ZoneInfo(timezone)
    with engine.connect() as c:
        members = c.execute(
            text(
                "SELECT m.id, m.created_at, m.last_activity_date, m.tier, a.pending "
                "FROM members m JOIN accounts a ON a.member_id = m.id"
            )
        ).all()
        flights = c.execute(
            text(
                "SELECT a.member_id, a.departure_date, a.award_miles, r.id IS NOT NULL AS reversed "
                "FROM accruals a LEFT JOIN accrual_reversals r ON r.accrual_id = a.id"
            )
        ).all()
        partner = c.execute(
            text("SELECT id, member_id, activity_date, miles, status FROM partner_activities")
        ).all()
        awards = c.execute(
            text(
                "SELECT id, member_id, miles, partner_activity_id, birthday_year, event_at, reverses_award_id FROM promotion_awards"
            )
        ).all()
        lots = c.execute(text("SELECT id, member_id, remaining FROM lots")).all()
        draws = c.execute(
            text("SELECT d.lot_id, t.code FROM lot_draws d JOIN transfers t ON t.id = d.transfer_id")
        ).all()

    def within(day: date, months: int) -> bool:
        return within_months(day, run_date, months)

    credited: dict[int, list[tuple[date, int, bool]]] = defaultdict(list)  # (day, miles, flight)
    activity: dict[int, list[date]] = defaultdict(list)
    for f in flights:
        if not f.reversed:
            credited[f.member_id].append((f.departure_date, f.award_miles, True))
            activity[f.member_id].append(f.departure_date)
    posted = {p.id: p for p in partner if p.status == "posted"}
    pending_partner = {p.member_id for p in partner if p.status == "pending"}
    for p in posted.values():
        credited[p.member_id].append((p.activity_date, p.miles, False))
        activity[p.member_id].append(p.activity_date)
    by_id = {w.id: w for w in awards}
    for w in awards:
        if w.partner_activity_id is not None and w.partner_activity_id in posted:
            credited[w.member_id].append((posted[w.partner_activity_id].activity_date, w.miles, False))
        elif w.birthday_year is not None:
            origin = by_id[w.reverses_award_id] if w.reverses_award_id is not None else w
            credited[w.member_id].append((_day(origin.event_at, zone), w.miles, False))
    drawn_otherwise = {d.lot_id for d in draws if d.code != "expiry"}
    member_lots: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for lot in lots:
        member_lots[lot.member_id].append((lot.id, lot.remaining))

    out = {}
    for m in members:
        mine = member_lots.get(m.id, [])
        year = [(day, miles, flight) for day, miles, flight in credited[m.id] if within(day, YEAR_MONTHS)]
        out[m.id] = MemberActivityFacts(
            enrolled_date=_day(m.created_at, zone),
            last_activity_date=m.last_activity_date,
            usual_interval_days=usual_interval_days(activity[m.id], run_date),
            flights_12_months=sum(1 for _, _, flight in year if flight),
            value_12_months=sum(miles for _, miles, _ in year),
            tier=m.tier,
            top_tier=m.tier == top_tier,
            all_miles_expired=bool(mine)
            and all(remaining == 0 and lot_id not in drawn_otherwise for lot_id, remaining in mine)
            and m.pending == 0
            and m.id not in pending_partner,
        )
    assert INTERVAL_WINDOW_MONTHS == 24  # usual_interval_days reads the window itself
    return out


def _day(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def stored_segments(engine: Engine) -> dict[int, tuple[str, frozenset[str], date, date]]:
    with engine.connect() as c:
        rows = c.execute(
            text("SELECT member_id, segment, repeat, vip, since_date, run_date FROM member_segments")
        )
        return {
            r.member_id: (
                r.segment,
                frozenset(f for f, on in (("repeat", r.repeat), ("vip", r.vip)) if on),
                r.since_date,
                r.run_date,
            )
            for r in rows
        }


def transitions(engine: Engine) -> list[tuple[int, str | None, str, date]]:
    with engine.connect() as c:
        rows = c.execute(
            text("SELECT member_id, from_segment, to_segment, run_date FROM segment_transitions ORDER BY id")
        )
        return [(r.member_id, r.from_segment, r.to_segment, r.run_date) for r in rows]
