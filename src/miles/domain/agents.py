"""Console users: agents, supervisors, the loyalty team's managers and finance, what they may do, and the
rules for their names and passwords."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from miles.domain.errors import Forbidden, InvalidInput

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"  # the loyalty team: creates, watches and ends promotions
    FINANCE = "finance"  # finance: partner billing, month-end close


@dataclass(frozen=True)
class Actor:
    """Who makes a change: an agent signed in to the console, or an API key (agent_id None)."""

    name: str
    role: Role | None = None
    agent_id: int | None = None

    @property
    def is_supervisor(self) -> bool:
        return self.role is Role.SUPERVISOR

    @property
    def is_manager(self) -> bool:
        return self.role is Role.MANAGER

    @property
    def is_finance(self) -> bool:
        return self.role is Role.FINANCE

    def require_manager(self) -> None:
        if not self.is_manager:
            raise Forbidden("only a manager may do this", code="managers_only")

    def require_supervisor(self) -> None:
        if not self.is_supervisor:
            raise Forbidden("only a supervisor may do this", code="supervisor_only")


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError as exc:
        raise InvalidInput("a role is agent, supervisor, manager or finance", field="role") from exc


def validate_agent_name(name: str) -> str:
    if not NAME.match(name):
        raise InvalidInput(
            "a name is 1 to 50 letters, digits, dots, dashes or underscores, starting with a letter or digit",
            field="name",
        )
    return name


def validate_password(password: str, name: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters", field="password")
    if name.lower() in password.lower() or len(set(password)) < 4:
        raise InvalidInput("this password is too easy to guess", field="password")
    return password


def could_be_agent_name(name: str) -> bool:
    """Whether anyone could be called this (a sign-in with any other name is looked up nowhere)."""
    return NAME.match(name) is not None
