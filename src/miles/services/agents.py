"""Console users: creating agents and supervisors, signing in (throttled), sessions, signing out.

Passwords are kept as argon2id hashes (argon2-cffi). Every sign-in attempt is recorded in the database,
so the throttle holds across any number of API processes. A session is a random token: the browser
keeps it in a signed cookie, the database keeps its hash, its expiry and its CSRF token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from miles.adapters.db.agents import AgentRecord
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.agents import Actor, Role, parse_role, validate_agent_name, validate_password
from miles.domain.errors import Conflict
from miles.domain.throttle import ThrottlePolicy, retry_after, wait_in_words
from miles.domain.validation import Problems
from miles.services import audit
from miles.services.clock import Clock

SESSION_LIFETIME = timedelta(hours=8)  # one shift


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _decoy_hash() -> str:
    """Verified against when the name is unknown, so that a wrong name costs as much as a wrong password."""
    return _hasher().hash(secrets.token_urlsafe(16))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def actor_of(agent: AgentRecord) -> Actor:
    return Actor(name=agent.name, role=Role(agent.role), agent_id=agent.id)


def create_agent(uow: UnitOfWork, clock: Clock, name: str, role: str, password: str) -> Actor:
    problems = Problems()
    problems.check(lambda: validate_agent_name(name))
    parsed = problems.check(lambda: parse_role(role))
    problems.check(lambda: validate_password(password, name))
    problems.raise_any()
    assert parsed is not None
    agent_id = uow.agents.add(name, parsed.value, _hasher().hash(password))
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


@dataclass(frozen=True)
class SignIn:
    """A session (token for the cookie) or the reason there is none."""

    token: str | None = None
    session: ConsoleSession | None = None
    error: str | None = None
    throttled: bool = False


WRONG = "wrong name or password"


def sign_in(
    uow: UnitOfWork,
    clock: Clock,
    name: str,
    password: str,
    address: str,
    policy: ThrottlePolicy | None = None,
    lifetime: timedelta = SESSION_LIFETIME,
) -> SignIn:
    """Never raises for a wrong password: the attempt must be recorded (committed) all the same."""
    policy = policy or ThrottlePolicy()
    name = name.strip()[:100]
    now = clock.now()
    uow.agents.lock_name(name)  # two processes judging the same account take turns
    since = now - policy.window
    wait = retry_after(
        uow.agents.account_failures(name, since), uow.agents.address_failures(address, since), now, policy
    )
    if wait is not None:
        return SignIn(error=f"too many wrong passwords: try again in {wait_in_words(wait)}", throttled=True)
    agent = uow.agents.by_name(name) if name else None
    try:
        _hasher().verify(agent.password_hash if agent else _decoy_hash(), password)
        verified = agent is not None and agent.disabled_at is None
    except (VerificationError, InvalidHashError):
        verified = False
    uow.agents.record_attempt(name, address, verified, now)
    if not verified or agent is None:
        return SignIn(error=WRONG)
    if _hasher().check_needs_rehash(agent.password_hash):
        uow.agents.set_password_hash(agent.id, _hasher().hash(password))
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    actor = actor_of(agent)
    session_id = uow.agents.add_session(token_hash(token), agent.id, csrf, address, now, now + lifetime)
    audit.record(
        uow, clock, actor, "session.signed_in", subject=f"session:{session_id}", details={"address": address}
    )
    return SignIn(token=token, session=ConsoleSession(session_id, actor, csrf, now + lifetime))


def resolve_session(uow: UnitOfWork, clock: Clock, token: str) -> ConsoleSession | None:
    """The live session of this token; None when unknown, signed out, expired, or its user disabled."""
    record = uow.agents.session(token_hash(token))
    if record is None or record.ended_at is not None or record.agent.disabled_at is not None:
        return None
    if record.expires_at <= clock.now():
        return None
    return ConsoleSession(record.id, actor_of(record.agent), record.csrf_token, record.expires_at)


def csrf_matches(session: ConsoleSession, candidate: str | None) -> bool:
    return bool(candidate) and hmac.compare_digest(session.csrf_token.encode(), (candidate or "").encode())


def sign_out(uow: UnitOfWork, clock: Clock, session: ConsoleSession) -> None:
    if uow.agents.end_session(session.session_id, clock.now()):
        audit.record(uow, clock, session.actor, "session.signed_out", subject=f"session:{session.session_id}")


def console_secret(uow: UnitOfWork) -> str:
    return uow.agents.secret(secrets.token_urlsafe(48))
