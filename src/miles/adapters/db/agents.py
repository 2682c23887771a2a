"""Console users: agents and supervisors with their password hashes, their sessions, the record of
sign-in attempts (shared by every process, for throttling) and the console's signing secret."""

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

    def lock_name(self, name: str) -> None:
        """Serialise sign-in attempts for one name (across processes) until the transaction ends."""
        self.connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('miles.sign_in:' || lower(:n)))"), {"n": name}
        )

    # --- sign-in attempts ---------------------------------------------------------------------------

    def record_attempt(self, name: str, address: str, succeeded: bool, at: datetime) -> None:
        self.connection.execute(
            text(
                "INSERT INTO sign_in_attempts (agent_name, address, succeeded, at) VALUES (:n, :a, :s, :at)"
            ),
            {"n": name[:100], "a": address[:100], "s": succeeded, "at": at},
        )

    def account_failures(self, name: str, since: datetime) -> list[datetime]:
        """Wrong passwords for this name after `since` and after its last successful sign-in."""
        rows = self.connection.execute(
            text(
                """
                SELECT at FROM sign_in_attempts
                WHERE lower(agent_name) = lower(:n) AND NOT succeeded AND at > :since
                  AND at > coalesce((SELECT max(at) FROM sign_in_attempts
                                     WHERE lower(agent_name) = lower(:n) AND succeeded), '-infinity')
                ORDER BY at
                """
            ),
            {"n": name[:100], "since": since},
        )
        return [r.at for r in rows]

    def address_failures(self, address: str, since: datetime) -> list[datetime]:
        rows = self.connection.execute(
            text(
                "SELECT at FROM sign_in_attempts WHERE address = :a AND NOT succeeded AND at > :since "
                "ORDER BY at"
            ),
            {"a": address[:100], "since": since},
        )
        return [r.at for r in rows]

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
