"""The member's statement: transfers on the award account, newest first, in pages."""

from __future__ import annotations

import base64
import binascii
from datetime import date, timedelta

from miles.domain.errors import InvalidInput
from miles.domain.ledger import describe
from miles.domain.limits import BIGINT_MAX
from miles.services.clock import start_of_day
from miles.services.ledger_views import StatementLine, StatementPage
from miles.services.members import find_member
from miles.services.partners.views import partner_name
from miles.services.runtime import Runtime

MAX_PAGE = 500


def encode_cursor(transfer_id: int) -> str:
    return base64.urlsafe_b64encode(f"t:{transfer_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        if kind != "t" or not (value.isascii() and value.isdigit() and 0 < int(value) <= BIGINT_MAX):
            raise ValueError(kind)  # only an id the bigint column can hold is looked up
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("not a cursor this API gave out", field="cursor") from exc


def statement(
    runtime: Runtime,
    member_number: str,
    from_date: date | None,
    to_date: date | None,
    cursor: str | None,
    limit: int = 50,
) -> StatementPage:
    """A page of the member's statement (in the ledger's order, newest first), and the cursor to the next."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit is 1 to {MAX_PAGE}", field="limit")
    if from_date and to_date and to_date < from_date:
        raise InvalidInput("to is before from", field="to")
    before = decode_cursor(cursor) if cursor else None
    with runtime.uow() as uow:
        member = find_member(uow, member_number)
        book = runtime.catalog.current(uow)
        timezone = book.in_force(from_date or date.today()).timezone
        partners = book.versions[-1].partners
        rows = uow.statements.page(
            member.account_id,
            before,
            start_of_day(from_date, timezone) if from_date else None,
            start_of_day(to_date + timedelta(days=1), timezone) if to_date else None,
            limit + 1,
        )
    lines = [
        StatementLine(
            transfer_id=r.id,
            code=r.code,
            description=describe(r.code)
            + (f": {r.promotion_name} ({r.promotion_code})" if r.promotion_code else "")
            + (f": {partner_name(partners, r.partner)} ({r.partner})" if r.partner else ""),
            miles=r.amount,
            counterparty=r.counterparty,
            event_at=r.event_at,
            created_at=r.created_at,
            accrual_id=r.accrual_id,
            promotion=r.promotion_code,
            partner=r.partner,
        )
        for r in rows[:limit]
    ]
    next_cursor = encode_cursor(lines[-1].transfer_id) if len(rows) > limit else None
    return StatementPage(member_number=member.member_number, lines=lines, next_cursor=next_cursor)
