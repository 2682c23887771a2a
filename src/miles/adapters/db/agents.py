"""Console users: agents and supervisors with their password hashes, their sessions, the
sign-in counters (shared by every process, for throttling), the history of sign-in attempts and the
console's signing secret."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class AgentRecord:
    id: int
    name: str
    role: str
    password_hash: str
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True)
class SessionRecord:
    id: int
    agent: AgentRecord
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class AgentSummary:
    id: int
    name: str
    role: str
    created_at: datetime
    disabled_at: datetime | None
    last_signed_in_at: datetime | None


_AGENT = "a.id, a.name, a.role, a.password_hash, a.created_at, a.disabled_at"


class AgentRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, name: str, role: str, password_hash: str) -> int | None:
        """The new agent's id, or None when the name (in any case) is taken."""
        value = self.connection.execute(
            text(
                "INSERT INTO agents (name, role, password_hash) VALUES (:n, :r, :h) "
                "ON CONFLICT (lower(name)) DO NOTHING RETURNING id"
            ),
            {"n": name, "r": role, "h": password_hash},
        ).scalar()
        return None if value is None else int(value)

    def by_name(self, name: str) -> AgentRecord | None:
        row = self.connection.execute(
            text(f"SELECT {_AGENT} FROM agents a WHERE lower(a.name) = lower(:n)"), {"n": name}
        ).first()
        return None if row is None else AgentRecord(**row._mapping)

    def set_password_hash(self, agent_id: int, password_hash: str) -> None:
        self.connection.execute(
            text("UPDATE agents SET password_hash = :h WHERE id = :id"), {"h": password_hash, "id": agent_id}
        )

    def all(self) -> list[AgentSummary]:
        """Every console user by name, with the start of their last session (None if never)."""
        rows = self.connection.execute(
            text(
                "SELECT a.id, a.name, a.role, a.created_at, a.disabled_at, "
                "(SELECT max(s.created_at) FROM agent_sessions s WHERE s.agent_id = a.id) "
                "AS last_signed_in_at FROM agents a ORDER BY lower(a.name)"
            )
        )
        return [AgentSummary(**r._mapping) for r in rows]

    def disable(self, name: str, at: datetime) -> AgentRecord | None:
        """Disable the agent (once: a second call keeps the first instant); None when there is none."""
        row = self.connection.execute(
            text(
                "UPDATE agents a SET disabled_at = coalesce(a.disabled_at, :at) "
                f"WHERE lower(a.name) = lower(:n) RETURNING {_AGENT}"
            ),
            {"n": name, "at": at},
        ).first()
        return None if row is None else AgentRecord(**row._mapping)

    def end_sessions_of(self, agent_id: int, at: datetime) -> int:
        """End every live session of the agent; how many there were."""
        result = self.connection.execute(
            text("UPDATE agent_sessions SET ended_at = :at WHERE agent_id = :a AND ended_at IS NULL"),
            {"a": agent_id, "at": at},
        )
        return int(result.rowcount)

    # --- sign-in attempts -----------------------------------------------------------------------------

    def count_try(self, name_key: str, address_key: str, window_start: datetime, *, per_address: bool) -> int:
        """Count one more try in this window for the name from the address (or, `per_address`, for the
        address as a whole): the count including this try. One statement, so concurrent tries each get
        their own number, and the row stays locked until the transaction ends."""
        return int(
            self.connection.execute(
                text(
                    "INSERT INTO sign_in_counters AS c (address, agent_name, window_start, tries) "
                    "VALUES (:a, :n, :w, 1) ON CONFLICT (address, agent_name, window_start) "
                    "DO UPDATE SET tries = c.tries + 1 RETURNING c.tries"
                ),
                {"a": address_key, "n": "" if per_address else name_key, "w": window_start},
            ).scalar_one()
        )

    def forgive(self, name_key: str, address_key: str, window_start: datetime) -> None:
        """After a right password: the name's tries from the address are forgotten, and this try is given
        back to the address's count."""
        self.connection.execute(
            text("DELETE FROM sign_in_counters WHERE address = :a AND agent_name = :n AND :n <> ''"),
            {"a": address_key, "n": name_key},
        )
        self.connection.execute(
            text(
                "UPDATE sign_in_counters SET tries = tries - 1 "
                "WHERE address = :a AND agent_name = '' AND window_start = :w AND tries > 0"
            ),
            {"a": address_key, "w": window_start},
        )

    def forget_counters_before(self, before: datetime) -> None:
        self.connection.execute(text("DELETE FROM sign_in_counters WHERE window_start < :b"), {"b": before})

    def record_attempt(self, name: str, address: str, succeeded: bool, at: datetime) -> None:
        """The history of tries checked against a password (refused tries are only counted)."""
        self.connection.execute(
            text(
                "INSERT INTO sign_in_attempts (agent_name, address, succeeded, at) VALUES (:n, :a, :s, :at)"
            ),
            {"n": name[:100], "a": address[:100], "s": succeeded, "at": at},
        )

    # --- sessions -------------------------------------------------------------------------------------

    def add_session(
        self,
        token_hash: str,
        agent_id: int,
        csrf_token: str,
        address: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> int:
        return int(
            self.connection.execute(
                text(
                    "INSERT INTO agent_sessions (token_hash, agent_id, csrf_token, address, created_at, "
                    "expires_at) VALUES (:t, :a, :c, :ip, :at, :exp) RETURNING id"
                ),
                {
                    "t": token_hash,
                    "a": agent_id,
                    "c": csrf_token,
                    "ip": address[:100],
                    "at": created_at,
                    "exp": expires_at,
                },
            ).scalar_one()
        )

    def session(self, token_hash: str) -> SessionRecord | None:
        row = self.connection.execute(
            text(
                f"SELECT s.id AS session_id, s.csrf_token, s.created_at AS s_created, s.expires_at, "
                f"s.ended_at, {_AGENT} FROM agent_sessions s JOIN agents a ON a.id = s.agent_id "
                "WHERE s.token_hash = :t"
            ),
            {"t": token_hash},
        ).first()
        if row is None:
            return None
        agent = AgentRecord(row.id, row.name, row.role, row.password_hash, row.created_at, row.disabled_at)
        return SessionRecord(
            row.session_id, agent, row.csrf_token, row.s_created, row.expires_at, row.ended_at
        )

    def end_session(self, session_id: int, at: datetime) -> bool:
        result = self.connection.execute(
            text("UPDATE agent_sessions SET ended_at = :at WHERE id = :id AND ended_at IS NULL"),
            {"id": session_id, "at": at},
        )
        return result.rowcount == 1

    # --- the console's signing secret -------------------------------------------------------------------

    def secret(self, candidate: str) -> str:
        """The secret every console process signs with: the first one stored wins."""
        self.connection.execute(
            text("INSERT INTO console_secrets (id, secret) VALUES (1, :s) ON CONFLICT (id) DO NOTHING"),
            {"s": candidate},
        )
        return str(
            self.connection.execute(text("SELECT secret FROM console_secrets WHERE id = 1")).scalar_one()
        )
