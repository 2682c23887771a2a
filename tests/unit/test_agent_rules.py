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
    with pytest.raises(InvalidInput):
        validate_agent_name(name)


def test_roles_are_agent_or_supervisor() -> None:
    assert parse_role("Supervisor") is Role.SUPERVISOR
    with pytest.raises(InvalidInput):
        parse_role("admin")


@pytest.mark.parametrize("password", ["short", "aaaaaaaaaaaa", "alicealice", "my-alice-2026"])
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(InvalidInput):
        validate_password(password, "alice")


def test_a_password_that_is_the_name_is_refused() -> None:
    with pytest.raises(InvalidInput):
        validate_password("alice.smith", "Alice.Smith")


def test_only_supervisors_pass_the_supervisor_check() -> None:
    Actor("sam", Role.SUPERVISOR, 1).require_supervisor()
    with pytest.raises(Forbidden):
        Actor("ana", Role.AGENT, 2).require_supervisor()
    with pytest.raises(Forbidden):
        Actor("api:booking", None, None).require_supervisor()
