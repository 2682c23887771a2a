"""The console's statement: one order, by the date it shows, newest first, across its pages (a flight is
dated by its departure, so a coupon posted late belongs among older lines, not at the top)."""

from __future__ import annotations

import random
from datetime import timedelta

from fastapi.testclient import TestClient

from miles.adapters.db.ledger import Posting
from miles.bootstrap import Container
from miles.domain.ledger import GOODWILL
from miles.services.member_overview import statement_slice
from tests.integration.conftest import NOW
from tests.integration.factories import enrol


def test_the_console_statement_pages_newest_first_by_the_date_shown_without_gaps_or_repeats(
    container: Container, client: TestClient
) -> None:
    number = enrol(client)
    days = list(range(45))
    random.Random(7).shuffle(days)  # posted in an order unrelated to the dates
    with container.uow() as uow:
        member = uow.members.lock(number)
        assert member is not None
        for ago in days:
            when = NOW - timedelta(days=ago)
            uow.ledger.post(
                Posting(
                    uow.ledger.programme_account(GOODWILL), member.account_id, 100 + ago, "goodwill", when
                ),
                lot_member_id=member.id,
                earned_date=when.date(),
                expires_date=(NOW + timedelta(days=900)).date(),
            )
    shown: list[tuple[object, int]] = []
    cursor = None
    pages = 0
    while True:
        page = statement_slice(container, number, cursor, limit=20)
        shown += [(e.event_at, e.transfer_id) for e in page.entries]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 3
    assert len(shown) == len({t for _, t in shown}) == 45
    assert shown == sorted(shown, reverse=True)
    assert shown[0][0] == NOW
    assert shown[-1][0] == NOW - timedelta(days=44)
