"""Expiry by inactivity (a programme version loaded from a YAML variant) and expiry warnings: queued once
per member and expiry date, relayed to the notifier once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from miles.adapters.notifier import ExpiryNotice
from miles.bootstrap import Container
from miles.services.nightly.warnings import relay_warnings
from tests.integration.nightly_data import (
    MemberSpec,
    load_inactivity_programme,
    night_runner,
    redemption,
    run_night,
    seed,
)


class RecordingNotifier:
    def __init__(self, fail_for: set[str] | None = None) -> None:
        self.sent: list[ExpiryNotice] = []
        self.fail_for = fail_for or set()

    def expiry_warning(self, notice: ExpiryNotice) -> None:
        if notice.member_number in self.fail_for:
            raise ConnectionError("mail server said no")
        self.sent.append(notice)


@pytest.fixture
def night(database_url: str) -> Iterator[Container]:
    with night_runner(database_url, chunk_size=2) as container:
        container.notifier = RecordingNotifier()
        yield container


def balance(engine: Engine, account_id: int) -> int:
    with engine.connect() as c:
        return int(
            c.execute(text("SELECT balance FROM accounts WHERE id = :id"), {"id": account_id}).scalar_one()
        )


def test_inactivity_policy_expires_every_available_mile_after_24_months(
    engine: Engine, night: Container, tmp_path: Path
) -> None:
    load_inactivity_programme(night, tmp_path)
    lot = [(date(2026, 3, 15), None, 5_000)]
    inactive, active, redeemed, gold, held = seed(
        engine,
        [
            MemberSpec(lots=lot, last_activity_date=date(2026, 3, 15)),
            MemberSpec(lots=lot, last_activity_date=date(2026, 3, 16)),
            MemberSpec(lots=lot, last_activity_date=date(2026, 3, 15)),  # and a redemption in 2027
            MemberSpec(
                tier="GOLD", valid_until=date(2029, 2, 28), lots=lot, last_activity_date=date(2026, 3, 15)
            ),
            MemberSpec(lots=lot, last_activity_date=date(2026, 3, 15)),  # 1,200 held for a redemption
        ],
    )
    redemption(engine, redeemed.account_id, 1_000, date(2027, 5, 1))
    with engine.begin() as c:
        c.execute(text("UPDATE accounts SET pending = 1200 WHERE id = :a"), {"a": held.account_id})

    on_the_day = run_night(night, date(2028, 3, 15))  # good until 2028-03-15 inclusive
    assert on_the_day.expiry.policy == "inactivity"
    assert on_the_day.expiry.miles == 0
    day_after = run_night(night, date(2028, 3, 16))
    assert balance(engine, inactive.account_id) == 0
    assert balance(engine, active.account_id) == 5_000
    assert balance(engine, redeemed.account_id) == 4_000
    assert balance(engine, gold.account_id) == 5_000  # exempt while GOLD holds
    assert balance(engine, held.account_id) == 1_200
    assert (day_after.expiry.members, day_after.expiry.miles) == (2, 5_000 + 3_800)
    with engine.connect() as c:
        lots = dict(c.execute(text("SELECT member_id, remaining FROM lots")).all())
    assert lots[inactive.id] == 0
    assert lots[held.id] == 1_200
    assert lots[active.id] == 5_000
    with engine.begin() as c:
        c.execute(text("UPDATE accounts SET pending = 0 WHERE id = :a"), {"a": held.account_id})


def test_inactivity_policy_warns_before_the_miles_go(
    engine: Engine, night: Container, tmp_path: Path
) -> None:
    load_inactivity_programme(night, tmp_path)
    [member] = seed(
        engine, [MemberSpec(lots=[(date(2026, 3, 20), None, 800)], last_activity_date=date(2026, 3, 20))]
    )
    report = run_night(night, date(2028, 3, 1))  # the miles are good until 2028-03-20
    assert report.warnings_queued == 1
    [notice] = night.notifier.sent  # type: ignore[attr-defined]
    assert (notice.member_number, notice.expires_date, notice.miles) == (
        member.number,
        date(2028, 3, 20),
        800,
    )


def test_expiry_warnings_are_queued_once_per_member_and_date_and_sent_once(
    engine: Engine, night: Container
) -> None:
    lots = [
        (date(2025, 3, 1), date(2028, 3, 20), 100),
        (date(2025, 3, 2), date(2028, 3, 20), 200),  # same date: one warning for both
        (date(2025, 3, 31), date(2028, 3, 31), 300),  # in the window from the night of 2028-03-02
        (date(2025, 4, 15), date(2028, 4, 30), 400),  # not yet
    ]
    silver, gold, gold_ending = seed(
        engine,
        [
            MemberSpec(tier="SILVER", valid_until=date(2029, 2, 28), lots=lots),
            MemberSpec(tier="GOLD", valid_until=date(2029, 2, 28), lots=lots),  # exempt: no warning
            MemberSpec(tier="GOLD", valid_until=date(2028, 3, 10), lots=lots[:1]),  # status ends first
        ],
    )
    notifier: RecordingNotifier = night.notifier  # type: ignore[assignment]
    first = run_night(night, date(2028, 3, 1))
    assert first.warnings_queued == 2
    assert sorted((n.member_number, n.expires_date, n.miles) for n in notifier.sent) == sorted(
        [(silver.number, date(2028, 3, 20), 300), (gold_ending.number, date(2028, 3, 20), 100)]
    )
    second = run_night(night, date(2028, 3, 2))
    assert second.warnings_queued == 1
    assert [(n.member_number, n.expires_date) for n in notifier.sent[2:]] == [
        (silver.number, date(2028, 3, 31))
    ]
    assert relay_warnings(night.uow, notifier) == 0  # nothing is sent twice
    assert len(notifier.sent) == 3
    assert gold.number not in {n.member_number for n in notifier.sent}


def test_a_notifier_failure_is_recorded_and_retried_without_blocking_others(
    engine: Engine, night: Container
) -> None:
    lot = [(date(2025, 3, 1), date(2028, 3, 20), 100)]
    failing, fine = seed(engine, [MemberSpec(lots=lot), MemberSpec(lots=lot)])
    night.notifier = RecordingNotifier(fail_for={failing.number})
    run_night(night, date(2028, 3, 1))
    assert [n.member_number for n in night.notifier.sent] == [fine.number]  # type: ignore[attr-defined]
    with engine.connect() as c:
        row = c.execute(
            text("SELECT attempts, last_error, sent_at FROM expiry_warnings WHERE member_id = :m"),
            {"m": failing.id},
        ).one()
    assert row.attempts == 1
    assert "mail server said no" in row.last_error
    assert row.sent_at is None
    recovered = RecordingNotifier()
    assert relay_warnings(night.uow, recovered) == 1
    assert [n.member_number for n in recovered.sent] == [failing.number]


def test_a_debt_no_lot_carries_uses_up_the_soonest_expiring_lots_before_they_expire(
    engine: Engine, night: Container
) -> None:
    """Miles spent, then the accrual that earned them reversed: 7,500 of debt that no lot carries. When the
    soonest lot expires, the debt has used up 7,500 of it: only the rest expires."""
    [member] = seed(
        engine,
        [
            MemberSpec(
                lots=[
                    (date(2025, 1, 10), date(2027, 12, 31), 10_573),
                    (date(2026, 6, 1), date(2029, 6, 30), 10_573),
                ]
            )
        ],
    )
    redemption(engine, member.account_id, 7_500, date(2026, 7, 1))  # a debit that draws no lot
    assert balance(engine, member.account_id) == 13_646
    report = run_night(night, date(2028, 1, 1))
    assert report.expiry.miles == 3_073
    assert balance(engine, member.account_id) == 10_573  # what the later lot holds
    again = run_night(night, date(2028, 1, 2))
    assert again.expiry.miles == 0  # the part the debt took is not expired a second time


def test_an_expiry_warning_announces_only_the_miles_a_debt_leaves_in_the_lot(
    engine: Engine, night: Container
) -> None:
    lots = [(date(2025, 1, 10), date(2027, 12, 31), 10_573), (date(2026, 6, 1), date(2029, 6, 30), 10_573)]
    in_debt, clear = seed(engine, [MemberSpec(lots=lots), MemberSpec(lots=lots)])
    redemption(engine, in_debt.account_id, 7_500, date(2026, 7, 1))  # a debit that draws no lot
    notifier: RecordingNotifier = night.notifier  # type: ignore[assignment]
    run_night(night, date(2027, 12, 15))
    assert sorted((n.member_number, n.expires_date, n.miles) for n in notifier.sent) == sorted(
        [(in_debt.number, date(2027, 12, 31), 3_073), (clear.number, date(2027, 12, 31), 10_573)]
    )
