"""Console users: creating, listing and disabling agents and supervisors, sessions, signing out.

Passwords are kept as argon2id hashes (services/passwords.py); signing in is services/sign_in.py. A
session is a random token: the browser keeps it in a signed cookie, the database keeps its hash, its
expiry and its CSRF token. Disabling a user ends their sessions at once and stops them signing in."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from miles.adapters.db.agents import AgentRecord, AgentSummary
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.agents import Actor, Role, parse_role, validate_agent_name, validate_password
from miles.domain.errors import Conflict, NotFound
from miles.domain.validation import Problems
from miles.services import audit
from miles.services.clock import Clock
from miles.services.passwords import hasher

if TYPE_CHECKING:
    from miles.services.runtime import Runtime

SESSION_LIFETIME = timedelta(hours=8)  # one shift


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def actor_of(agent: AgentRecord) -> Actor:
    return Actor(name=agent.name, role=Role(agent.role), agent_id=agent.id)


def create_agent(runtime: Runtime, name: str, role: str, password: str) -> Actor:
    """Create a console user (an agent or a supervisor) who signs in with this password."""
    with runtime.uow() as uow:
        return _add_agent(uow, runtime.clock, name, role, password)


def create_agents(runtime: Runtime, roles_by_name: Sequence[tuple[str, str]], password: str) -> list[Actor]:
    """Create several console users sharing one password, all or none (one transaction)."""
    with runtime.uow() as uow:
        return [_add_agent(uow, runtime.clock, name, role, password) for name, role in roles_by_name]


def _add_agent(uow: UnitOfWork, clock: Clock, name: str, role: str, password: str) -> Actor:
    problems = Problems()
    problems.check(lambda: validate_agent_name(name))
    parsed = problems.check(lambda: parse_role(role))
    problems.check(lambda: validate_password(password, name))
    problems.raise_any()
    assert parsed is not None
    agent_id = uow.agents.add(name, parsed.value, hasher().hash(password))
    if agent_id is None:
        raise Conflict(f"there is already a console user named {name!r}", field="name", code="name_taken")
    actor = Actor(name=name, role=parsed, agent_id=agent_id)
    audit.record(
        uow, clock, actor, "agent.created", subject=f"agent:{agent_id}", details={"role": parsed.value}
    )
    return actor


@dataclass(frozen=True)
class ConsoleSession:
    session_id: int
    actor: Actor
    csrf_token: str
    expires_at: datetime


def resolve_session(runtime: Runtime, token: str) -> ConsoleSession | None:
    """The live session of this token; None when unknown, signed out, expired, or its user disabled."""
    with runtime.uow() as uow:
        record = uow.agents.session(token_hash(token))
    if record is None or record.ended_at is not None or record.agent.disabled_at is not None:
        return None
    if record.expires_at <= runtime.clock.now():
        return None
    return ConsoleSession(record.id, actor_of(record.agent), record.csrf_token, record.expires_at)


def csrf_matches(session: ConsoleSession, candidate: str | None) -> bool:
    return bool(candidate) and hmac.compare_digest(session.csrf_token.encode(), (candidate or "").encode())


def sign_out(runtime: Runtime, session: ConsoleSession) -> None:
    """End this session now, everywhere (audited once: signing out twice changes nothing)."""
    clock = runtime.clock
    with runtime.uow() as uow:
        if uow.agents.end_session(session.session_id, clock.now()):
            audit.record(
                uow, clock, session.actor, "session.signed_out", subject=f"session:{session.session_id}"
            )


def list_agents(runtime: Runtime) -> list[AgentSummary]:
    """Every console user, with when they were created, disabled and last signed in."""
    with runtime.uow() as uow:
        return uow.agents.all()


def disable_agent(runtime: Runtime, name: str, by: Actor) -> tuple[AgentRecord, int]:
    """Disable the console user named `name` (any case): they can no longer sign in, and every session
    they have ends now. Returns the user and how many sessions ended; disabling twice changes nothing."""
    clock = runtime.clock
    now = clock.now()
    with runtime.uow() as uow:
        agent = uow.agents.disable(name.strip()[:100], now)
        if agent is None:
            raise NotFound(f"there is no console user named {name!r}", field="name", code="agent_not_found")
        ended = uow.agents.end_sessions_of(agent.id, now)
        if agent.disabled_at == now:
            audit.record(
                uow,
                clock,
                by,
                "agent.disabled",
                subject=f"agent:{agent.id}",
                details={"sessions_ended": ended},
            )
        return agent, ended


def console_secret(runtime: Runtime) -> str:
    """The secret that signs console cookies when none is configured: made once, kept in the database."""
    with runtime.uow() as uow:
        return uow.agents.secret(secrets.token_urlsafe(48))
