"""Redemptions: the award request, its items, its history and the saga's bookkeeping (attempts, next
attempt, a cancellation in progress). Status changes are conditional on the status they leave, and a
trigger allows only PENDING -> CONFIRMED | FAILED and CONFIRMED -> CANCELLED."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, text

from miles.domain.awards import AwardItem, BaggageAward, Fare, FlightAward, HotelAward

PENDING, CONFIRMED, FAILED, CANCELLED = "PENDING", "CONFIRMED", "FAILED", "CANCELLED"


@dataclass(frozen=True)
class NewItem:
    n: int
    item: AwardItem
    miles: int
    fare: Fare | None


@dataclass(frozen=True)
class ItemRecord:
    n: int
    item: AwardItem
    miles: int
    fare: Fare | None
    booking_reference: str | None


@dataclass(frozen=True)
class HistoryRecord:
    status: str
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class CancelRequester:
    """Who asked for a cancellation (and why): its audit row is written when the refund is."""

    actor: str
    agent_id: int | None
    reason: str | None


@dataclass(frozen=True)
class RedemptionRecord:
    id: int
    member_id: int
    member_number: str
    account_id: int
    status: str
    miles: int
    first_service_date: date
    failure_reason: str | None
    refunded_miles: int | None
    fee_miles: int | None
    attempts: int
    cancel_requested_at: datetime | None
    created_at: datetime
    cancel_requested_by: CancelRequester | None
    hold_id: int
    hold_status: str
    hold_expires_at: datetime
    posting_transfer_id: int | None
    items: tuple[ItemRecord, ...]


@dataclass(frozen=True)
class DueRedemption:
    id: int
    status: str
    hold_expired: bool


def item_detail(item: AwardItem) -> dict[str, Any]:
    """An item as the request named it (JSON types)."""
    if isinstance(item, FlightAward):
        return {
            "origin": item.origin,
            "destination": item.destination,
            "departure_date": item.departure_date.isoformat(),
            "cabin": item.cabin,
        }
    if isinstance(item, BaggageAward):
        return {
            "origin": item.origin,
            "destination": item.destination,
            "departure_date": item.departure_date.isoformat(),
            "pieces": item.pieces,
        }
    return {
        "city": item.city,
        "hotel_category": item.hotel_category,
        "check_in_date": item.check_in_date.isoformat(),
        "nights": item.nights,
    }


def _item(kind: str, d: dict[str, Any]) -> AwardItem:
    if kind == "flight":
        return FlightAward(d["origin"], d["destination"], date.fromisoformat(d["departure_date"]), d["cabin"])
    if kind == "baggage":
        return BaggageAward(
            d["origin"], d["destination"], date.fromisoformat(d["departure_date"]), d["pieces"]
        )
    return HotelAward(d["city"], d["hotel_category"], date.fromisoformat(d["check_in_date"]), d["nights"])


_SELECT = """
    SELECT r.id, r.member_id, m.member_number, a.id AS account_id, r.status, r.miles, r.first_service_date,
           r.failure_reason, r.refunded_miles, r.fee_miles, r.attempts, r.cancel_requested_at, r.created_at,
           r.cancel_requested_by, r.cancel_requested_agent_id, r.cancel_reason,
           h.id AS hold_id, h.status AS hold_status, h.expires_at AS hold_expires_at, h.transfer_id,
           (SELECT json_agg(json_build_object('n', i.n, 'kind', i.kind, 'miles', i.miles, 'fare', i.fare,
                                              'detail', i.detail, 'reference', i.booking_reference)
                            ORDER BY i.n)
              FROM redemption_items i WHERE i.redemption_id = r.id) AS items
    FROM redemptions r
    JOIN members m ON m.id = r.member_id
    JOIN accounts a ON a.member_id = r.member_id
    JOIN holds h ON h.redemption_id = r.id
    WHERE r.id = :id
"""


def _record(row: Row) -> RedemptionRecord:  # type: ignore[type-arg]
    items = tuple(
        ItemRecord(
            n=i["n"],
            item=_item(i["kind"], i["detail"]),
            miles=i["miles"],
            fare=Fare(i["fare"]) if i["fare"] else None,
            booking_reference=i["reference"],
        )
        for i in row.items
    )
    return RedemptionRecord(
        id=row.id,
        member_id=row.member_id,
        member_number=row.member_number,
        account_id=row.account_id,
        status=row.status,
        miles=row.miles,
        first_service_date=row.first_service_date,
        failure_reason=row.failure_reason,
        refunded_miles=row.refunded_miles,
        fee_miles=row.fee_miles,
        attempts=row.attempts,
        cancel_requested_at=row.cancel_requested_at,
        created_at=row.created_at,
        cancel_requested_by=None
        if row.cancel_requested_by is None
        else CancelRequester(row.cancel_requested_by, row.cancel_requested_agent_id, row.cancel_reason),
        hold_id=row.hold_id,
        hold_status=row.hold_status,
        hold_expires_at=row.hold_expires_at,
        posting_transfer_id=row.transfer_id,
        items=items,
    )


class RedemptionRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(
        self,
        member_id: int,
        items: list[NewItem],
        first_service_date: date,
        now: datetime,
        next_attempt_at: datetime,
    ) -> int:
        """The redemption, PENDING, with its items and the first line of its history."""
        return int(
            self.connection.execute(
                text(
                    """
                    WITH r AS (
                        INSERT INTO redemptions (member_id, miles, first_service_date, next_attempt_at,
                                                 created_at, updated_at)
                        VALUES (:member, :miles, :first, :next, :now, :now) RETURNING id
                    ), i AS (
                        INSERT INTO redemption_items (redemption_id, n, kind, miles, fare, service_date, detail)
                        SELECT r.id, x.n, x.kind, x.miles, x.fare, x.service_date, x.detail FROM r,
                            unnest(CAST(:n AS smallint[]), CAST(:kind AS text[]), CAST(:item_miles AS bigint[]),
                                   CAST(:fare AS text[]), CAST(:service AS date[]), CAST(:detail AS jsonb[]))
                            AS x(n, kind, miles, fare, service_date, detail)
                    ), h AS (
                        INSERT INTO redemption_history (redemption_id, status, at) SELECT id, 'PENDING', :now FROM r
                    )
                    SELECT id FROM r
                    """
                ),
                {
                    "member": member_id,
                    "miles": sum(i.miles for i in items),
                    "first": first_service_date,
                    "next": next_attempt_at,
                    "now": now,
                    "n": [i.n for i in items],
                    "kind": [i.item.kind for i in items],
                    "item_miles": [i.miles for i in items],
                    "fare": [i.fare.value if i.fare else None for i in items],
                    "service": [i.item.service_date for i in items],
                    "detail": [json.dumps(item_detail(i.item)) for i in items],
                },
            ).scalar_one()
        )

    def get(self, redemption_id: int) -> RedemptionRecord | None:
        row = self.connection.execute(text(_SELECT), {"id": redemption_id}).first()
        return None if row is None else _record(row)

    def lock(self, redemption_id: int) -> RedemptionRecord | None:
        """The redemption, locked for the rest of the transaction, read after the lock (so that what it
        reads is what the previous holder committed). Whoever also locks the member locks it first."""
        self.connection.execute(
            text("SELECT id FROM redemptions WHERE id = :id FOR UPDATE"), {"id": redemption_id}
        )
        return self.get(redemption_id)

    def lock_status(self, redemption_id: int) -> str | None:
        """Lock the redemption for the rest of the transaction; its status as the previous holder of the
        lock left it. Whoever also locks the member locks it first."""
        return self.connection.execute(
            text("SELECT status FROM redemptions WHERE id = :id FOR UPDATE"), {"id": redemption_id}
        ).scalar()

    def history(self, redemption_id: int) -> list[HistoryRecord]:
        rows = self.connection.execute(
            text("SELECT status, reason, at FROM redemption_history WHERE redemption_id = :id ORDER BY id"),
            {"id": redemption_id},
        )
        return [HistoryRecord(r.status, r.reason, r.at) for r in rows]

    def transition(
        self,
        redemption_id: int,
        from_status: str,
        to_status: str,
        now: datetime,
        reason: str | None = None,
        refunded_miles: int | None = None,
        fee_miles: int | None = None,
        references: dict[int, str] | None = None,
        next_attempt_at: datetime | None = None,
    ) -> bool:
        """Move from `from_status` to `to_status` (with the items' booking references, if given) and
        write it in the history; False if it was not in `from_status` (someone else moved it first)."""
        moved = self.connection.execute(
            text(
                """
                WITH u AS (
                    UPDATE redemptions SET status = :to, updated_at = :now,
                        failure_reason = CASE WHEN :to = 'FAILED' THEN :reason ELSE failure_reason END,
                        refunded_miles = :refunded, fee_miles = :fee,
                        next_attempt_at = coalesce(:next, next_attempt_at)
                    WHERE id = :id AND status = :from RETURNING id
                ), refs AS (
                    UPDATE redemption_items i SET booking_reference = x.ref
                    FROM u, unnest(CAST(:n AS smallint[]), CAST(:ref AS text[])) AS x(n, ref)
                    WHERE i.redemption_id = u.id AND i.n = x.n
                )
                INSERT INTO redemption_history (redemption_id, status, reason, at)
                SELECT id, :to, :reason, :now FROM u RETURNING id
                """
            ),
            {
                "id": redemption_id,
                "from": from_status,
                "to": to_status,
                "now": now,
                "reason": reason,
                "refunded": refunded_miles,
                "fee": fee_miles,
                "next": next_attempt_at,
                "n": list(references or {}),
                "ref": list((references or {}).values()),
            },
        ).first()
        return moved is not None

    def note(self, redemption_id: int, status: str, reason: str, now: datetime) -> None:
        """A line of history without a change of status (an unknown outcome, a retry)."""
        self.connection.execute(
            text(
                "INSERT INTO redemption_history (redemption_id, status, reason, at) VALUES (:id, :s, :r, :now)"
            ),
            {"id": redemption_id, "s": status, "r": reason, "now": now},
        )

    def request_cancel(
        self,
        redemption_id: int,
        now: datetime,
        next_attempt_at: datetime,
        requester: CancelRequester | None = None,
    ) -> None:
        self.connection.execute(
            text(
                "UPDATE redemptions SET cancel_requested_at = coalesce(cancel_requested_at, :now), "
                "cancel_requested_by = :by, cancel_requested_agent_id = :agent, cancel_reason = :reason, "
                "next_attempt_at = :next, updated_at = :now WHERE id = :id"
            ),
            {
                "id": redemption_id,
                "now": now,
                "next": next_attempt_at,
                "by": requester.actor if requester else None,
                "agent": requester.agent_id if requester else None,
                "reason": requester.reason if requester else None,
            },
        )

    def mark_released(self, redemption_id: int, now: datetime) -> None:
        """A failed redemption's supplier bookings are all cancelled."""
        self.connection.execute(
            text("UPDATE redemptions SET released_at = :now, updated_at = :now WHERE id = :id"),
            {"id": redemption_id, "now": now},
        )

    def withdraw_cancel(self, redemption_id: int, now: datetime) -> None:
        self.connection.execute(
            text(
                "UPDATE redemptions SET cancel_requested_at = NULL, cancel_requested_by = NULL, "
                "cancel_requested_agent_id = NULL, cancel_reason = NULL, updated_at = :now WHERE id = :id"
            ),
            {"id": redemption_id, "now": now},
        )

    def due(self, now: datetime, next_attempt_at: datetime, limit: int) -> list[DueRedemption]:
        """Redemptions whose saga needs a push (PENDING, a cancellation begun and not finished, a failure
        whose supplier bookings are not released yet) and whose next attempt is due; their next attempt is moved to `next_attempt_at`. Rows another
        transaction holds are skipped: they are being worked on."""
        rows = self.connection.execute(
            text(
                """
                WITH d AS (
                    SELECT r.id FROM redemptions r
                    WHERE (r.status = 'PENDING'
                           OR (r.status = 'CONFIRMED' AND r.cancel_requested_at IS NOT NULL)
                           OR (r.status = 'FAILED' AND r.released_at IS NULL))
                      AND r.next_attempt_at <= :now
                    ORDER BY r.next_attempt_at LIMIT :n FOR UPDATE SKIP LOCKED
                ), u AS (
                    UPDATE redemptions r SET next_attempt_at = :next, attempts = r.attempts + 1
                    FROM d WHERE r.id = d.id
                    RETURNING r.id, r.status
                )
                SELECT u.id, u.status, h.expires_at <= :now AS expired
                FROM u JOIN holds h ON h.redemption_id = u.id ORDER BY u.id
                """
            ),
            {"now": now, "next": next_attempt_at, "n": limit},
        )
        return [DueRedemption(r.id, r.status, r.expired) for r in rows]
