"""The campaigns: create, read, end, register members, and each one's figures."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, text

from miles.adapters.db.promotions.documents import (
    audience_json,
    challenge_json,
    conditions_json,
    effect_json,
    limits_json,
    promotion_of,
)
from miles.domain.promotions.model import Promotion

_COLUMNS = (
    "id, code, name, trigger, starts_on, ends_on, registration_required, audience, conditions, effect, "
    "limits, challenge, stacking_group, ended_at, budget_miles, budget_spent, request_digest, created_by, "
    "created_at"
)


# the campaigns by database, with the stamp of the table they were read at (CampaignRepository.live)
_LIVE: dict[str, tuple[tuple[object, ...], list[Promotion]]] = {}
# the row's own version (xmin) too: a restore that writes the row again with the values it had (pg_restore
# --disable-triggers) still moves it
_STAMP = text("SELECT version, changed_at, CAST(xmin AS text) AS written_by FROM promotion_catalog")


@dataclass(frozen=True)
class CampaignRecord:
    promotion: Promotion
    budget_spent: int
    request_digest: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class CampaignFigures:
    awarded_miles: int  # net of reversals
    members_rewarded: int  # members with a bonus not reversed
    bonuses: int


@dataclass(frozen=True)
class MemberProgressRecord:
    promotion: Promotion
    registered_on: date | None
    miles: int
    times: int
    segments: int
    runs: int


def _record(row: object) -> CampaignRecord:
    m = row._mapping  # type: ignore[attr-defined]
    return CampaignRecord(
        promotion_of(**m), m["budget_spent"], m["request_digest"], m["created_by"], m["created_at"]
    )


class CampaignRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def create(self, p: Promotion, digest: str, created_by: str) -> int | None:
        """Insert a new campaign; None when its code is taken (by a concurrent request too)."""
        value = self.connection.execute(
            text(
                """
                INSERT INTO promotions (code, name, trigger, starts_on, ends_on, registration_required,
                    audience, conditions, effect, limits, challenge, stacking_group, budget_miles,
                    request_digest, created_by)
                VALUES (:code, :name, :trigger, :starts_on, :ends_on, :registration_required,
                    CAST(:audience AS jsonb), CAST(:conditions AS jsonb), CAST(:effect AS jsonb),
                    CAST(:limits AS jsonb), CAST(:challenge AS jsonb), :stacking_group, :budget,
                    :digest, :created_by)
                ON CONFLICT (code) DO NOTHING RETURNING id
                """
            ),
            {
                "code": p.code,
                "name": p.name,
                "trigger": p.trigger.value,
                "starts_on": p.starts_on,
                "ends_on": p.ends_on,
                "registration_required": p.registration_required,
                "audience": json.dumps(audience_json(p.audience)),
                "conditions": json.dumps(conditions_json(p.conditions)),
                "effect": json.dumps(effect_json(p.effect)),
                "limits": json.dumps(limits_json(p.limits)),
                "challenge": json.dumps(challenge_json(p.challenge)) if p.challenge else None,
                "stacking_group": p.stacking_group,
                "budget": p.limits.budget_miles,
                "digest": digest,
                "created_by": created_by,
            },
        ).scalar()
        return None if value is None else int(value)

    def by_code(self, code: str, lock: bool = False) -> CampaignRecord | None:
        row = self.connection.execute(
            text(
                f"SELECT {_COLUMNS} FROM promotions WHERE code = :code"
                + (" FOR NO KEY UPDATE" if lock else "")
            ),
            {"code": code},
        ).first()
        return None if row is None else _record(row)

    def listing(self, limit: int = 200) -> list[CampaignRecord]:
        rows = self.connection.execute(
            text(f"SELECT {_COLUMNS} FROM promotions ORDER BY starts_on DESC, id DESC LIMIT :n"), {"n": limit}
        )
        return [_record(row) for row in rows]

    def live(self, first_day: date, last_day: date, at: datetime) -> list[Promotion]:
        """The campaigns whose window meets [first_day, last_day] and that were not ended before `at`.

        Every accrual asks, so the decoded campaigns are kept per database and read again only when their
        stamp moved (`promotion_catalog`, one row that triggers move with every campaign created, changed
        or ended, not with a budget spent; its instant tells apart two databases of the same name, and the
        transaction that wrote it a restore that kept its values); the stamp is read in the caller's
        transaction, so what it sees is never older than it."""
        row = self.connection.execute(_STAMP).first()
        key = str(self.connection.engine.url)
        held = _LIVE.get(key)
        if row is None or held is None or held[0] != tuple(row):
            rows = self.connection.execute(text(f"SELECT {_COLUMNS} FROM promotions ORDER BY id"))
            held = (tuple(row or ()), [_record(r).promotion for r in rows])
            if row is None:  # no stamp (its row deleted by hand): read every time, keep nothing
                _LIVE.pop(key, None)
            else:
                _LIVE[key] = held
        return [
            p
            for p in held[1]
            if p.ends_on >= first_day and p.starts_on <= last_day and (p.ended_at is None or p.ended_at > at)
        ]

    def end(self, promotion_id: int, at: datetime) -> None:
        self.connection.execute(
            text("UPDATE promotions SET ended_at = :at WHERE id = :id AND ended_at IS NULL"),
            {"id": promotion_id, "at": at},
        )

    def figures(self, promotion_id: int) -> CampaignFigures:
        row = self.connection.execute(
            text(
                """
                SELECT coalesce(sum(miles), 0) AS miles, count(*) FILTER (WHERE reverses_award_id IS NULL)
                       - count(*) FILTER (WHERE reverses_award_id IS NOT NULL) AS bonuses,
                       (SELECT count(*) FROM promotion_members WHERE promotion_id = :id AND times > 0) AS members
                FROM promotion_awards WHERE promotion_id = :id
                """
            ),
            {"id": promotion_id},
        ).one()
        return CampaignFigures(int(row.miles), int(row.members), int(row.bonuses))

    def awarded_per_day(self, promotion_id: int, timezone: str) -> list[tuple[date, int, int]]:
        """Miles awarded (net of reversals) and bonuses given, per day of the programme's time zone."""
        rows = self.connection.execute(
            text(
                """
                SELECT CAST(event_at AT TIME ZONE :tz AS date) AS day, sum(miles) AS miles,
                       count(*) FILTER (WHERE reverses_award_id IS NULL)
                       - count(*) FILTER (WHERE reverses_award_id IS NOT NULL) AS bonuses
                FROM promotion_awards WHERE promotion_id = :id GROUP BY 1 ORDER BY 1
                """
            ),
            {"id": promotion_id, "tz": timezone},
        )
        return [(r.day, int(r.miles), int(r.bonuses)) for r in rows]

    def register(self, promotion_id: int, member_id: int, day: date) -> date:
        """Register the member on `day` (once: a second registration keeps the first day); the day."""
        return self.connection.execute(  # type: ignore[no-any-return]
            text(
                """
                INSERT INTO promotion_members (promotion_id, member_id, registered_on)
                VALUES (:p, :m, :d)
                ON CONFLICT (member_id, promotion_id)
                DO UPDATE SET registered_on = coalesce(promotion_members.registered_on, excluded.registered_on)
                RETURNING registered_on
                """
            ),
            {"p": promotion_id, "m": member_id, "d": day},
        ).scalar_one()

    def of_member(self, member_id: int) -> list[MemberProgressRecord]:
        rows = self.connection.execute(
            text(
                f"""
                SELECT {", ".join("p." + c for c in _COLUMNS.split(", "))},
                       pm.registered_on, pm.miles AS used_miles, pm.times AS used_times, pm.segments, pm.runs
                FROM promotion_members pm JOIN promotions p ON p.id = pm.promotion_id
                WHERE pm.member_id = :m ORDER BY p.starts_on DESC, p.id DESC
                """
            ),
            {"m": member_id},
        )
        return [
            MemberProgressRecord(
                _record(row).promotion,
                row.registered_on,
                int(row.used_miles),
                int(row.used_times),
                int(row.segments),
                int(row.runs),
            )
            for row in rows
        ]
