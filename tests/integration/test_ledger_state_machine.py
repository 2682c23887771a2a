"""Stateful property: any interleaving of accruals, reversals, award redemptions (held, booked, refused by
a supplier, cancelled, left to time out) and nightly runs (lot expiry, requalification) keeps the ledger
sound after every step, and each step does to the members' miles exactly what the rules say.

The steps call the use cases and jobs the API, the console and the workers call, on the real database.
The redemption saga's jobs wait in a queue until a step delivers them (a worker picking the job up), so
the machine decides when a booking happens and how the supplier answers; the nightly run goes through the
in-process dispatcher as in `miles nightly`. One FixedClock serves every service and only moves forward:
minutes within a day (a hold left unbooked expires and the sweeper settles it), or to 03:00 of the night
being run. Besides `ledger_problems` and the checks of `ledger_checks`, the machine keeps its own account
of every member's balance and pending miles and of every saga, from the services' answers and from what the
domain rules say a night must do, and the database must agree with it after every step.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine

from miles.adapters.queue import InProcessDispatcher
from miles.adapters.suppliers.simulated import write_settings
from miles.bootstrap import Container
from miles.domain.accrual import FlightCoupon
from miles.domain.agents import Actor
from miles.domain.awards import AwardItem, BaggageAward, FlightAward, HotelAward
from miles.domain.calendar import local_date
from miles.domain.distance import airport_zone
from miles.domain.errors import InvalidInput
from miles.domain.promotions.model import Effect, EffectKind, Limits, Promotion, Trigger
from miles.services.accrual_requests import CouponRequest
from miles.services.accruals import accrue_coupons
from miles.services.clock import FixedClock
from miles.services.members import NewMember, enrol
from miles.services.promotions.campaigns import create_promotion, end_promotion
from miles.services.redemptions.cancellation import cancel_redemption
from miles.services.redemptions.saga_runtime import BOOK, SETTLE, SWEEP
from miles.services.redemptions.submission import AwardRequest, place_redemption, price_request
from miles.services.reversals import reverse_accrual
from tests.integration.conftest import NOW, ledger_problems, reset
from tests.integration.ledger_checks import (
    expected_night,
    expired_on,
    fee_draws,
    lot_debt_and_booking_problems,
    lots_given_back,
    member_states,
    redemption_statuses,
    soonest_expiring_first,
)
from tests.integration.nightly_data import run_night

PENDING, CONFIRMED, FAILED, CANCELLED = "PENDING", "CONFIRMED", "FAILED", "CANCELLED"
ROUTES = [("SYD", "LHR"), ("JFK", "LHR"), ("JFK", "BOS"), ("SIN", "CDG"), ("ATL", "NRT")]
# awards priced by the reference chart of DESIGN.md: (the item on a service date, its miles)
AWARDS: list[tuple[Callable[[date], AwardItem], int]] = [
    (lambda day: HotelAward("LON", 1, day, 1), 5_000),
    (lambda day: HotelAward("PAR", 2, day, 2), 16_000),
    (lambda day: BaggageAward("JFK", "BOS", day, 1), 4_000),
    (lambda day: FlightAward("JFK", "BOS", day, "economy"), 7_500),
    (lambda day: FlightAward("JFK", "LHR", day, "economy"), 25_000),
]
HORIZON_DAYS = 200  # how far a night may move the clock to expire a lot: awards booked ahead stay cancellable
MAX_PENDING = 2  # awards in flight at once: more only piles up refusals when no step books them
SUPPLIER_OF = {"flight": "flights", "hotel": "hotels", "baggage": "baggage"}
# departures: lately, about a year ago (the last qualification year), or about three years ago (lots
# that expire within weeks of the clock)
RECENT_DAYS = 45  # within the accrual window; the older flights are history
DAYS_AGO = st.one_of(st.integers(0, 45), st.integers(300, 420), st.integers(1040, 1130))
Flight = tuple[int, tuple[str, str], str, bool, int]  # member, route, booking class, own carrier, days ago
FLIGHTS = st.tuples(
    st.integers(0, 1), st.sampled_from(ROUTES), st.sampled_from("FJYKVO"), st.booleans(), DAYS_AGO
)
LONG_FLIGHT = st.tuples(st.sampled_from(ROUTES[:2]), st.sampled_from("FJY"), DAYS_AGO)


def history(who: int) -> st.SearchStrategy[list[Flight]]:
    """A member's flights before the example: 0 to 5 first-class SYD-LHR this year (BLUE to PLATINUM at
    once), and a few other long flights (miles to spend; lots that expire soon; last year's status)."""
    return st.tuples(st.integers(0, 5), st.lists(LONG_FLIGHT, max_size=4)).map(
        lambda h: (
            [(who, ROUTES[0], "F", False, day) for day in range(h[0])]
            + [(who, route, klass, False, days_ago) for route, klass, days_ago in h[1]]
        )
    )


class SagaQueue:
    """The in-process dispatcher, except that the redemption saga's jobs wait here for a step to run them."""

    def __init__(self, inner: InProcessDispatcher) -> None:
        self.inner = inner
        self.jobs: list[tuple[str, dict[str, Any]]] = []

    def send(self, task: str, payload: dict[str, Any], request_id: str | None = None) -> None:
        if task.startswith("miles.redemptions."):
            self.jobs.append((task, dict(payload)))
        else:
            self.inner.send(task, payload, request_id)

    def drain(self, timeout: float = 30.0) -> None:
        while self.inner.busy():
            self.inner.drain(timeout)

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        jobs, self.jobs = self.jobs, []
        return jobs


@dataclass
class Award:
    id: int
    member: str
    miles: int
    first_service: date
    hold_expires_at: datetime
    suppliers: tuple[str, ...]
    next_attempt_at: datetime  # when the sweep pushes its saga, while PENDING
    status: str = PENDING
    hold: str = "OPEN"


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, container: Container, clock: FixedClock, engine: Engine, queue: SagaQueue) -> None:
        super().__init__()
        self.c, self.clock, self.engine, self.queue = container, clock, engine, queue
        reset(engine)
        clock.at = NOW
        queue.take()
        with container.uow() as uow:
            self.members = [
                enrol(
                    uow, container.catalog, clock, NewMember(f"M{i}", "Machine", "m@q.example")
                ).member_number
                for i in range(2)
            ]
        self.balance = dict.fromkeys(self.members, 0)  # what the steps posted, by the services' own answers
        self.pending = dict.fromkeys(self.members, 0)
        self.available = dict.fromkeys(self.members, 0)  # after the previous step
        self.accruals: dict[int, tuple[str, int]] = {}  # accrual id -> (member, award miles)
        self.reversed: set[int] = set()
        self.awards: dict[int, Award] = {}
        self.last_night: date | None = None
        self.tickets = itertools.count(1)
        self.indebting = False  # the step was a reversal: the only one that may take available below 0
        self.states = member_states(engine)
        self.promotions: list[str] = []  # codes, running or ended

    # -- helpers ---------------------------------------------------------------------------------------

    def today(self) -> date:
        return self.clock.now().date()  # the reference programme's time zone is UTC

    def awards_in(self, status: str) -> list[int]:
        return sorted(a.id for a in self.awards.values() if a.status == status)

    def live_holds(self) -> list[int]:
        """PENDING awards whose hold is far enough from expiry for the saga to book."""
        margin = timedelta(seconds=self.c.hold_timing.retry_seconds)
        now = self.clock.now()
        return [i for i in self.awards_in(PENDING) if self.awards[i].hold_expires_at - now > margin]

    def expired_holds(self) -> list[int]:
        now = self.clock.now()
        return [i for i in self.awards_in(PENDING) if self.awards[i].hold_expires_at <= now]

    def night_floor(self) -> date:
        """The earliest date a night may run: not before today, and after the last night."""
        if self.last_night is None:
            return self.today()
        return max(self.today(), self.last_night + timedelta(days=1))

    def lot_ends_soon(self) -> list[date]:
        """The days after the last good day of the lots with miles left that expire within the horizon."""
        horizon = self.night_floor() + timedelta(days=HORIZON_DAYS)
        ends = {lot.expires for s in self.states.values() for lot in s.lots if lot.expires}
        return sorted(end + timedelta(days=1) for end in ends if end < horizon)

    def book(self, award: Award) -> str:
        """Deliver the award's booking job, as a worker would."""
        return str(self.c.run_job(BOOK, {"redemption_id": award.id}))

    def post_flights(self, flights: list[Flight]) -> None:
        """Post flown coupons in one request, as a booking system does (one, or a batch). A flight older
        than the accrual window is history: posted alone, on the clock of the day after it was flown."""
        now = self.clock.at
        for flight in [f for f in flights if f[4] > RECENT_DAYS]:
            self.clock.at = now - timedelta(days=flight[4] - 1)
            self.post_batch([flight], now)
        self.clock.at = now
        recent = [f for f in flights if f[4] <= RECENT_DAYS]
        if recent:
            self.post_batch(recent, now)

    def post_batch(self, flights: list[Flight], now: datetime) -> None:
        requests = []
        for index, (who, (origin, destination), klass, own_carrier, days_ago) in enumerate(flights):
            n, carrier = next(self.tickets), "ZZ" if own_carrier else "YY"
            coupon = FlightCoupon(
                member_number=self.members[who],
                ticket_number=f"{n:013d}",
                coupon_number=1,
                marketing_carrier=carrier,
                operating_carrier=carrier,
                flight_number="1",
                origin=origin,
                destination=destination,
                # flown by now: never after today's date at the departure airport (JFK is a day behind
                # UTC in its evening)
                departure_date=min(now.date(), local_date(now, airport_zone(origin) or "UTC"))
                - timedelta(days=days_ago),
                booking_class=klass,
                fare_amount=Decimal("640.00") if own_carrier else None,
                fare_currency="USD" if own_carrier else None,
            )
            requests.append(CouponRequest(index, coupon, f"d{n}"))
        results = accrue_coupons(self.c, requests, "api")
        for result in results:
            assert result.status == "created", result.error
            assert result.accrual is not None
            member = result.accrual.member_number
            self.balance[member] += result.accrual.award_miles
            assert result.accrual.balance_after == self.balance[member]
            self.accruals[result.accrual.accrual_id] = (member, result.accrual.award_miles)

    def night(self, run_date: date) -> None:
        """Run the night of `run_date` (the clock moved to 03:00 that day if it is later) and check what it
        did to each member against the domain rules applied to what the member held before."""
        if run_date > self.today():
            self.clock.at = datetime.combine(run_date, time(3, 0), tzinfo=UTC)
        before = member_states(self.engine)
        with self.c.uow() as uow:
            programme = self.c.catalog.current(uow).in_force(run_date)
        expected = {n: expected_night(programme, run_date, s) for n, s in before.items()}
        report = run_night(self.c, run_date)
        self.queue.drain()
        self.last_night = run_date
        after, expired = member_states(self.engine), expired_on(self.engine, run_date)
        for number, outcome in expected.items():
            s, want = after[number], outcome.standing
            standing = (s.tier, s.valid_until, s.lifetime_tier, s.period_start)
            assert standing == (want.tier, want.valid_until, want.lifetime_tier, want.period_start), (
                number,
                before[number],
            )
            assert s.valid_until is None or s.valid_until >= run_date, "a tier past its valid-until was kept"
            assert expired.get(number, 0) == outcome.expired_miles, (number, before[number])
            assert s.expired_left(run_date) == outcome.expired_left, (number, before[number])
            self.balance[number] -= outcome.expired_miles
        assert report.status == "done"
        assert report.expiry.miles == sum(o.expired_miles for o in expected.values())

    # -- rules -----------------------------------------------------------------------------------------

    @initialize(first=history(0), second=history(1))
    def fly(self, first: list[Flight], second: list[Flight]) -> None:
        """Each example starts from the members' flights so far, posted as a booking system's batch."""
        self.post_flights(first + second)
        self.states = member_states(self.engine)

    @rule(flight=FLIGHTS)
    def accrue(self, flight: Flight) -> None:
        """A flown coupon posted by a booking system."""
        self.post_flights([flight])

    @precondition(lambda self: len(self.promotions) < 4)
    @rule(
        kind=st.sampled_from([EffectKind.FIXED, EffectKind.MULTIPLIER, EffectKind.METRIC]),
        budget=st.one_of(st.none(), st.integers(1, 3000)),
        times=st.one_of(st.none(), st.integers(1, 3)),
        group=st.sampled_from([None, "g"]),
    )
    def launch(self, kind: EffectKind, budget: int | None, times: int | None, group: str | None) -> None:
        """The loyalty team starts a campaign on every coupon: after every step, the promotion account,
        the budgets and the members' limits agree with the transfers (the ledger's checks)."""
        effect = {
            EffectKind.FIXED: Effect(kind, miles=300),
            EffectKind.MULTIPLIER: Effect(kind, value=Decimal("1.5")),
            EffectKind.METRIC: Effect(kind, metric="status_miles", amount=Decimal(2000)),
        }[kind]
        code = f"P{len(self.promotions)}"
        promotion = Promotion(
            id=0,
            code=code,
            name=code,
            trigger=Trigger.FLIGHT,
            starts_on=self.today() - timedelta(days=800),
            ends_on=self.today() + timedelta(days=800),
            effect=effect,
            limits=Limits(per_member_times=times, budget_miles=budget),
            stacking_group=group,
        )
        create_promotion(self.c, Actor("machine"), None, promotion, {"code": code})
        self.promotions.append(code)

    @precondition(lambda self: self.promotions)
    @rule(data=st.data())
    def end(self, data: st.DataObject) -> None:
        """A campaign ended from now on."""
        end_promotion(
            self.c, Actor("machine"), data.draw(st.sampled_from(self.promotions), label="promotion")
        )

    @precondition(lambda self: self.accruals)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        """A refund of an accrual (again, for one reversed already: answered from the first reversal)."""
        accrual_id = data.draw(st.sampled_from(sorted(self.accruals)), label="accrual")
        member, miles = self.accruals[accrual_id]
        view, created = reverse_accrual(self.c, accrual_id, "refund", "refund")
        assert created == (accrual_id not in self.reversed)
        assert view.reversed_award_miles == miles
        if created:
            self.reversed.add(accrual_id)
            self.balance[member] -= miles
            assert view.balance_after == self.balance[member]
        self.indebting = True

    @precondition(lambda self: len(self.awards_in(PENDING)) < MAX_PENDING)
    @rule(
        who=st.integers(0, 1),
        picks=st.lists(st.integers(0, len(AWARDS) - 1), min_size=1, max_size=2),
        days_ahead=st.integers(1, 355),  # within the booking horizon of the reference programme
    )
    def redeem(self, who: int, picks: list[int], days_ahead: int) -> None:
        """An award request: priced, then its miles held (or refused: in debt, or not enough available)."""
        member, day = self.members[who], self.today() + timedelta(days=days_ahead)
        items = tuple(AWARDS[i][0](day) for i in picks)
        miles = sum(AWARDS[i][1] for i in picks)
        priced = price_request(self.c, AwardRequest(member, items))
        assert priced.price.miles == miles
        available = self.balance[member] - self.pending[member]
        refusal = "balance_in_debt" if self.balance[member] < 0 else None
        if refusal is None and available < miles:
            refusal = "insufficient_miles"
        if refusal is not None:
            with pytest.raises(InvalidInput) as refused, self.c.uow() as uow:
                place_redemption(uow, self.clock, self.c.hold_timing, priced)
            assert refused.value.code == refusal
            assert self.queue.take() == [], "a refused request queued a booking"
            return
        with self.c.uow() as uow:
            accepted = place_redemption(uow, self.clock, self.c.hold_timing, priced)
        assert (accepted.status, accepted.miles) == (PENDING, miles)
        assert self.queue.take() == [(BOOK, {"redemption_id": accepted.redemption_id})]
        self.pending[member] += miles
        self.awards[accepted.redemption_id] = Award(
            accepted.redemption_id,
            member,
            miles,
            day,
            self.clock.now() + timedelta(seconds=self.c.hold_timing.hold_seconds),
            tuple(SUPPLIER_OF[item.kind] for item in items),
            self.clock.now() + timedelta(seconds=self.c.hold_timing.retry_seconds),
        )

    @precondition(lambda self: self.live_holds())
    @rule(data=st.data())
    def confirm(self, data: st.DataObject) -> None:
        """The booking job runs and every supplier books: the hold is posted."""
        award = self.awards[data.draw(st.sampled_from(self.live_holds()), label="redemption")]
        lots = member_states(self.engine)[award.member].lots
        assert self.book(award) == CONFIRMED
        award.status, award.hold = CONFIRMED, "POSTED"
        drawn, _ = lots_given_back(self.engine, award.id)
        assert drawn == soonest_expiring_first(lots, award.miles), "the award drew other lots"
        self.balance[award.member] -= award.miles
        self.pending[award.member] -= award.miles

    @precondition(lambda self: self.live_holds())
    @rule(data=st.data())
    def fail(self, data: st.DataObject) -> None:
        """The booking job runs and one supplier refuses: the hold is voided, what others booked is released."""
        award = self.awards[data.draw(st.sampled_from(self.live_holds()), label="redemption")]
        supplier = data.draw(st.sampled_from(sorted(set(award.suppliers))), label="refusing supplier")
        write_settings(self.c.engine, supplier, failure_rate=1.0, failure_reason="sold out")
        try:
            assert self.book(award) == FAILED
        finally:
            write_settings(self.c.engine, supplier, failure_rate=0.0)
        award.status, award.hold = FAILED, "VOIDED"
        self.pending[award.member] -= award.miles

    @precondition(lambda self: any(a.status != PENDING for a in self.awards.values()))
    @rule(data=st.data())
    def deliver_booking_again(self, data: st.DataObject) -> None:
        """A duplicate delivery of the booking job of a finished saga changes nothing."""
        finished = sorted(a.id for a in self.awards.values() if a.status != PENDING)
        award = self.awards[data.draw(st.sampled_from(finished), label="redemption")]
        assert self.book(award) == award.status

    @rule(minutes=st.integers(1, 30))
    def wait(self, minutes: int) -> None:
        """The clock moves on within the day: a hold not booked meanwhile may expire."""
        self.clock.at += timedelta(minutes=minutes)

    @precondition(lambda self: self.expired_holds())
    @rule()
    def sweep_expired_holds(self) -> None:
        """The sweeper pushes every PENDING saga whose next attempt is due: those whose hold expired are
        settled (nothing was booked, so they fail), the others are booked again (that push is lost here,
        as a broker may lose it: the sweep pushes it again `retry_seconds` later)."""
        now = self.clock.now()
        due = [i for i in self.awards_in(PENDING) if self.awards[i].next_attempt_at <= now]
        expired = [i for i in self.expired_holds() if i in due]
        assert self.c.run_job(SWEEP, {}) == len(due)
        jobs = self.queue.take()
        assert sorted((task, payload["redemption_id"]) for task, payload in jobs) == sorted(
            (SETTLE if i in expired else BOOK, i) for i in due
        )
        for i in due:
            self.awards[i].next_attempt_at = now + timedelta(seconds=self.c.hold_timing.retry_seconds)
        for task, payload in jobs:
            if task == SETTLE:
                assert self.c.run_job(task, payload) == FAILED
        for i in expired:
            award = self.awards[i]
            award.status, award.hold = FAILED, "EXPIRED"
            self.pending[award.member] -= award.miles

    @precondition(lambda self: self.awards_in(CONFIRMED))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        """A confirmed award cancelled: the same lots back less the fee, refused within 24 hours of it."""
        award = self.awards[data.draw(st.sampled_from(self.awards_in(CONFIRMED)), label="redemption")]
        tier = member_states(self.engine)[award.member].tier
        deadline = datetime.combine(award.first_service, time.min, tzinfo=UTC) - timedelta(hours=24)
        if self.clock.now() > deadline:
            with pytest.raises(InvalidInput) as refused:
                cancel_redemption(self.c, award.id)
            assert refused.value.code == "cancellation_too_late"
            return
        view = cancel_redemption(self.c, award.id)
        fee = 0 if tier == "PLATINUM" else min(3_000, award.miles)
        assert (view.status, view.refunded_miles, view.fee_miles) == (CANCELLED, award.miles - fee, fee)
        award.status = CANCELLED
        self.balance[award.member] += award.miles - fee
        drawn, refunded = lots_given_back(self.engine, award.id)
        assert refunded == drawn, "the cancellation gave back other lots than the award drew"
        fee_lots = fee_draws(self.engine, award.id)
        assert {lot for lot, _ in fee_lots} <= {lot for lot, _ in drawn}
        assert sum(m for _, m in fee_lots) == min(fee, sum(m for _, m in drawn))

    @precondition(lambda self: self.lot_ends_soon())
    @rule(data=st.data())
    def expire(self, data: st.DataObject) -> None:
        """The nightly run of the day after a lot's last good day (or the next night, if that has passed)."""
        run_date = data.draw(st.sampled_from(self.lot_ends_soon()), label="the day after a lot expires")
        self.night(max(run_date, self.night_floor()))

    @precondition(lambda self: any(s.valid_until for s in self.states.values()))
    @rule(data=st.data())
    def requalify(self, data: st.DataObject) -> None:
        """The nightly run of the day after a tier's valid-until (or the next night, if that has passed)."""
        ends = sorted({s.valid_until for s in self.states.values() if s.valid_until is not None})
        end = data.draw(st.sampled_from(ends), label="tier valid until")
        self.night(max(end + timedelta(days=1), self.night_floor()))

    # -- after every step ------------------------------------------------------------------------------

    @invariant()
    def ledger_is_sound(self) -> None:
        assert ledger_problems(self.engine) == []
        assert lot_debt_and_booking_problems(self.engine) == []

    @invariant()
    def members_hold_what_the_steps_posted(self) -> None:
        self.states = member_states(self.engine)
        for number in self.members:
            s = self.states[number]
            assert (s.balance, s.pending) == (self.balance[number], self.pending[number]), number
            available = s.balance - s.pending
            if not self.indebting:  # only a reversal of spent miles may take available below zero
                assert available >= min(self.available[number], 0), (
                    number,
                    self.available[number],
                    available,
                )
            self.available[number] = available
        self.indebting = False

    @invariant()
    def every_saga_is_where_the_steps_left_it(self) -> None:
        assert redemption_statuses(self.engine) == {a.id: (a.status, a.hold) for a in self.awards.values()}


def test_any_interleaving_of_accruals_awards_and_nights_keeps_the_ledger_sound(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    inner = container.dispatcher
    assert isinstance(inner, InProcessDispatcher)
    queue = SagaQueue(inner)
    container.dispatcher = queue

    class Machine(LedgerMachine):
        def __init__(self) -> None:
            super().__init__(container, clock, engine, queue)

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
        ),
    )
