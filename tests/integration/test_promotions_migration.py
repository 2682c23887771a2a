"""Migration 0013 turns the rules file's route bonuses (stored programme documents) into campaigns: a percent
and a fixed bonus each become a promotion of their own, with the conditions they had."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from miles.adapters.db.engine import sqlalchemy_url
from miles.adapters.db.migrate import upgrade
from tests.conftest import _server_url, migrated_database

DOCUMENT = {
    "versions": [
        {
            "promotions": [
                {
                    "code": "lis-spring",
                    "carriers": ["TT"],
                    "from_date": "2026-03-01",
                    "to_date": "2026-05-31",
                    "bonus_percent": 50,
                    "fixed_miles": 250,
                    "origins": ["LIS"],
                },
                {
                    "code": "OPO",
                    "carriers": ["TT"],
                    "from_date": "2026-06-01",
                    "to_date": "2026-06-30",
                    "fixed_miles": 100,
                },
            ]
        },
        {"promotions": []},
    ]
}


def test_the_rules_files_route_bonuses_become_campaigns() -> None:
    for server in _server_url():
        with migrated_database(server, "0012") as url:
            engine = create_engine(sqlalchemy_url(url))
            with engine.begin() as c:
                c.execute(
                    text(
                        "INSERT INTO programme_versions (programme, digest, document) "
                        "VALUES ('Tiny Miles', 'd', CAST(:d AS jsonb))"
                    ),
                    {"d": json.dumps(DOCUMENT)},
                )
            upgrade(url)
            with engine.connect() as c:
                rows = c.execute(
                    text(
                        "SELECT code, trigger, starts_on::text, ends_on::text, conditions, effect "
                        "FROM promotions ORDER BY code"
                    )
                ).all()
            engine.dispose()
    assert [(r.code, r.trigger, r.starts_on, r.ends_on, r.effect) for r in rows] == [
        ("LIS-SPRING", "flight", "2026-03-01", "2026-05-31", {"kind": "percent", "value": "50"}),
        ("LIS-SPRING-FIXED", "flight", "2026-03-01", "2026-05-31", {"kind": "fixed", "miles": 250}),
        ("OPO-FIXED", "flight", "2026-06-01", "2026-06-30", {"kind": "fixed", "miles": 100}),
    ]
    assert rows[0].conditions == {"carriers": ["TT"], "origins": ["LIS"], "destinations": []}
