"""Console users: names, roles and passwords."""

from __future__ import annotations

import pytest

from miles.domain.agents import Actor, Role, parse_role, validate_agent_name, validate_password
from miles.domain.errors import Forbidden, InvalidInput


@pytest.mark.parametrize("name", ["alice", "ana.silva", "agent_7", "B-2"])
def test_plain_names_are_accepted(name: str) -> None:
    assert validate_agent_name(name) == name


@pytest.mark.parametrize("name", ["", " alice", "<b>", "a" * 51, "ana silva", ".hidden"])
def test_odd_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_agent_name(name)
    assert caught.value.field == "name"


def test_roles_are_agent_or_supervisor() -> None:
    assert parse_role("Supervisor") is Role.SUPERVISOR
    with pytest.raises(InvalidInput) as caught:
        parse_role("admin")
    assert caught.value.field == "role"


@pytest.mark.parametrize("password", ["short", "aaaaaaaaaaaa", "alicealice", "my-alice-2026"])
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_password(password, "alice")
    assert caught.value.field == "password"


def test_a_password_that_is_the_name_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_password("alice.smith", "Alice.Smith")
    assert caught.value.field == "password"
    assert "too easy" in str(caught.value)


def test_only_supervisors_pass_the_supervisor_check() -> None:
    assert Actor("sam", Role.SUPERVISOR, 1).require_supervisor() is None
    for actor in (Actor("ana", Role.AGENT, 2), Actor("api:booking", None, None)):
        with pytest.raises(Forbidden) as caught:
            actor.require_supervisor()
        assert caught.value.code == "supervisor_only"
