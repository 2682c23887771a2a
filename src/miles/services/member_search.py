"""Finding a member: by number (checked with its Luhn digit first, so a typo is caught before any
lookup), by e-mail, or by name ("Lovelace", "Ada Lovelace", "Lovelace, Ada")."""

from __future__ import annotations

from dataclasses import dataclass, field

from miles.adapters.db.member_search import MemberHit
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.errors import InvalidInput
from miles.domain.member_numbers import validate_member_number
from miles.services.runtime import Runtime

LIMIT = 25
MIN_NAME = 2


@dataclass(frozen=True)
class SearchResult:
    query: str
    kind: str  # "number" | "email" | "name" | "empty"
    hits: list[MemberHit] = field(default_factory=list)
    problem: str | None = None  # the hint to show instead of results ("mistyped?")
    more: bool = False  # there are more hits than shown: narrow the search


def search_members(runtime: Runtime, query: str, limit: int = LIMIT) -> SearchResult:
    """The members a query finds (by number, e-mail or name), or the hint to show instead."""
    with runtime.uow() as uow:
        return _search(uow, query, limit)


def _search(uow: UnitOfWork, query: str, limit: int) -> SearchResult:
    q = " ".join(query.split())[:200]
    if not q:
        return SearchResult(q, "empty")
    compact = q.replace(" ", "")
    if compact.isascii() and compact.isdigit():
        if len(compact) < 10:
            return SearchResult(q, "number", problem=f"a member number is 10 digits ({len(compact)} so far)")
        try:
            number = validate_member_number(compact)
        except InvalidInput as exc:
            return SearchResult(q, "number", problem=exc.message)
        record = uow.members.get(number)
        hits = (
            []
            if record is None
            else [
                MemberHit(
                    record.member_number,
                    record.given_name,
                    record.family_name,
                    record.email,
                    record.standing.tier,
                )
            ]
        )
        return SearchResult(q, "number", hits, problem=None if hits else f"no member {number}")
    if "@" in q:
        hits = uow.member_search.by_email_prefix(compact, limit + 1)
        return SearchResult(q, "email", hits[:limit], more=len(hits) > limit)
    if len(q) < MIN_NAME:
        return SearchResult(q, "name", problem=f"type at least {MIN_NAME} letters of a name")
    if "," in q:
        family, _, given = q.partition(",")
        words = [family.strip(), given.strip()]
    else:
        words = q.split(" ", 1)
    if len(words) == 2 and words[0] and words[1]:
        hits = uow.member_search.by_names(words[0], words[1], limit + 1)
    else:
        hits = uow.member_search.by_family_prefix(words[0].strip(), limit + 1)
    return SearchResult(q, "name", hits[:limit], more=len(hits) > limit)
