"""The database's own check of a tier code (`[A-Z][A-Z0-9_]{0,23}`, written as a length and a pattern with
`*` since migration 0020, a third of the cost): the same codes pass and fail as before."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from tests.integration.nightly_data import MemberSpec, seed

CODES = [
    ("A", True),
    ("A" * 24, True),
    ("MVP_GOLD_100K", True),
    ("A" * 25, False),
    ("", False),
    ("gold", False),
    ("1GOLD", False),
    ("_GOLD", False),
    ("GOLD-1", False),
    ("GOLD\n", False),
    ("GÖLD", False),
]


@pytest.mark.parametrize(("code", "accepted"), CODES)
def test_a_members_tier_code_is_checked_by_the_database(engine: Engine, code: str, accepted: bool) -> None:
    [member] = seed(engine, [MemberSpec()])
    update = text("UPDATE members SET tier = :code, lifetime_tier = :code WHERE id = :id")
    with engine.connect() as c:
        if accepted:
            with c.begin():
                c.execute(update, {"code": code, "id": member.id})
            return
        with pytest.raises(IntegrityError, match="members_tier_code"), c.begin():
            c.execute(update, {"code": code, "id": member.id})


def test_the_code_checks_are_validated_after_the_migrations(engine: Engine) -> None:
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT conname, convalidated FROM pg_constraint WHERE conname IN ('members_tier_code', "
                "'accruals_tier_code', 'tier_changes_tier_code', 'partner_activities_kind_check', "
                "'partner_activities_category_check')"
            )
        ).all()
    assert len(rows) == 5
    assert all(valid for _, valid in rows)
