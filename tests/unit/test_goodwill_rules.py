"""Goodwill rules: reason codes and comments, the agent limit (inclusive), who may decide, the lot's expiry."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from miles.domain.agents import Actor, Role
from miles.domain.approvals import check_decider
from miles.domain.errors import Forbidden
from miles.domain.goodwill import lot_expiry, needs_approval, validate_goodwill
from miles.domain.programme.model import ExpiryKind, Programme
from miles.domain.validation import InvalidFields

AGENT = Actor("ana", Role.AGENT, 1)
SUPERVISOR = Actor("sam", Role.SUPERVISOR, 2)


def test_up_to_the_agent_limit_applies_at_once_and_one_mile_more_waits(programme: Programme) -> None:
    assert programme.goodwill_agent_limit == 5000
    assert not needs_approval(5000, programme)
    assert needs_approval(5001, programme)
    assert not needs_approval(2000, programme)


def test_every_bad_field_is_reported_together() -> None:
    with pytest.raises(InvalidFields) as caught:
        validate_goodwill(0, "because", "  ")
    assert set(caught.value.by_field()) == {"miles", "reason_code", "comment"}


@pytest.mark.parametrize("code", ["service_recovery", "delay", "baggage", "complaint", "birthday", "other"])
def test_each_reason_code_is_accepted(code: str) -> None:
    validate_goodwill(2000, code, "flight ZZ12 was 5 hours late")


def test_a_comment_over_500_characters_is_refused() -> None:
    with pytest.raises(InvalidFields) as caught:
        validate_goodwill(100, "other", "x" * 501)
    assert caught.value.field == "comment"


def test_only_a_supervisor_other_than_the_requester_decides() -> None:
    check_decider(AGENT.agent_id, SUPERVISOR, "goodwill request")
    with pytest.raises(Forbidden, match="supervisor"):
        check_decider(SUPERVISOR.agent_id, AGENT, "goodwill request")
    with pytest.raises(Forbidden) as own:
        check_decider(SUPERVISOR.agent_id, SUPERVISOR, "goodwill request")
    assert own.value.code == "own_request"


def test_a_goodwill_lot_expires_like_any_lot_earned_today(programme: Programme) -> None:
    assert lot_expiry(programme, date(2026, 3, 15)) == date(2029, 3, 31)
    inactivity = replace(programme, expiry=replace(programme.expiry, kind=ExpiryKind.INACTIVITY))
    assert lot_expiry(inactivity, date(2026, 3, 15)) is None
    never = replace(programme, expiry=replace(programme.expiry, kind=ExpiryKind.NEVER, months=0))
    assert lot_expiry(never, date(2026, 3, 15)) is None
