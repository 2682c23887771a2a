"""Decisions on what waits for a supervisor (large goodwill, large missing-miles claims): who may decide,
and the note that goes with the decision."""

from __future__ import annotations

from miles.domain.agents import Actor
from miles.domain.errors import Forbidden, InvalidInput
from miles.domain.validation import check_text

MAX_NOTE = 500


def check_decider(requested_by_agent_id: int | None, decider: Actor, what: str) -> None:
    """Only a supervisor decides, and never on their own request (`what`: "goodwill request", "claim")."""
    decider.require_supervisor()
    if requested_by_agent_id is not None and requested_by_agent_id == decider.agent_id:
        raise Forbidden(f"nobody approves their own {what}", code="own_request")


def decision_note(note: str | None, required: bool, what: str) -> str | None:
    """The supervisor's note, stripped; a rejection must say why (`what`: "request", "claim")."""
    note = (note or "").strip() or None
    if required and note is None:
        raise InvalidInput(f"say why the {what} is rejected", field="note")
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput(f"a note is at most {MAX_NOTE} characters", field="note")
    if note is not None:
        check_text(note, "note", multiline=True)
    return note
