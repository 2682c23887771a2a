"""Signing in to the console, throttled and with a bounded cost.

A try is counted (services never commit: each of the two short transactions here is its own unit of
work) before its password is checked, by an atomic counter per (name, address, window) and per
(address, window): concurrent tries each get their own number, so no more than the limit are ever
checked, and a refused try is counted too. A right password forgives the name's tries from that address
and gives its own try back to the address. The hash is checked between the two transactions, holding no
connection, and by callers that hold one of the process's hash slots (services/passwords.py)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from miles.adapters.db.agents import AgentRecord
from miles.adapters.db.unit_of_work import UnitOfWorkFactory
from miles.domain.agents import could_be_agent_name
from miles.domain.throttle import (
    Refusal,
    ThrottlePolicy,
    address_key,
    name_key,
    refusal,
    retry_after,
    wait_in_words,
    window_start,
)
from miles.services import audit
from miles.services.agents import SESSION_LIFETIME, ConsoleSession, actor_of, token_hash
from miles.services.clock import Clock
from miles.services.passwords import hasher, verify

WRONG = "wrong name or password"


@dataclass(frozen=True)
class SignIn:
    """A session (token for the cookie) or the reason there is none."""

    token: str | None = None
    session: ConsoleSession | None = None
    error: str | None = None
    throttled: bool = False
    retry_after: timedelta | None = None


def _printable(value: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in value)


def sign_in(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    name: str,
    password: str,
    address: str,
    policy: ThrottlePolicy | None = None,
    lifetime: timedelta = SESSION_LIFETIME,
) -> SignIn:
    """Never raises for a wrong password: the try stays counted all the same. Call it holding a hash
    slot: it checks one password (or a decoy, for an unknown name)."""
    policy = policy or ThrottlePolicy()
    name = _printable(name.strip()[:100])
    if not name:
        return SignIn(error=WRONG)
    address = _printable(address.strip())[:100] or "unknown"
    now = clock.now()
    by_name, by_address = name_key(name), address_key(address)
    window = window_start(now, policy.window)
    agent: AgentRecord | None = None
    with uow_factory() as uow:
        name_tries = uow.agents.count_try(by_name, by_address, window, per_address=False)
        address_tries = None
        if name_tries <= policy.max_failures_per_account:
            address_tries = uow.agents.count_try(by_name, by_address, window, per_address=True)
        refused = refusal(name_tries, address_tries, policy)
        if refused is None and could_be_agent_name(name):
            agent = uow.agents.by_name(name)
    if refused is not None:
        wait = retry_after(now, policy.window)
        whose = "for this name" if refused is Refusal.NAME else "from your address"
        return SignIn(
            error=f"too many wrong passwords {whose}: try again in {wait_in_words(wait)}",
            throttled=True,
            retry_after=wait,
        )
    verified = verify(agent.password_hash if agent else None, password)
    with uow_factory() as uow:
        ok = verified and agent is not None and agent.disabled_at is None
        uow.agents.record_attempt(name, by_address, ok, now)
        if not ok or agent is None:
            return SignIn(error=WRONG)
        uow.agents.forgive(by_name, by_address, window)
        uow.agents.forget_counters_before(window - policy.window)
        if hasher().check_needs_rehash(agent.password_hash):
            uow.agents.set_password_hash(agent.id, hasher().hash(password))
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        actor = actor_of(agent)
        session_id = uow.agents.add_session(token_hash(token), agent.id, csrf, address, now, now + lifetime)
        audit.record(
            uow,
            clock,
            actor,
            "session.signed_in",
            subject=f"session:{session_id}",
            details={"address": address},
        )
    return SignIn(token=token, session=ConsoleSession(session_id, actor, csrf, now + lifetime))
