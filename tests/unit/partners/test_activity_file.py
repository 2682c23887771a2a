"""Reading a partner file's lines: a plain line read by one match is read exactly as the field by field path
reads it, and any line that path refuses is left to it (its reason named)."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from miles.services.partners.activity_file import _plain_activity, parse_fields, parse_line

# each field's values: (readable ones, refused or unusual ones)
FIELDS = (
    (["1000000001", "123", "9" * 32], ["9" * 33, "", "12a", " 1000000001", "-1"]),  # member_number
    (["A-1", "x.y:z/1", "a" * 64], ["a" * 65, "", "-A", "A 1", "é1"]),  # activity_id
    (["2026-11-01", "2024-02-29"], ["2026-02-29", "2026-13-01", "2026-1-01", "", "20261101", "2026-11-01x"]),
    (["", "stay", "car_rental", "a" * 24], ["Stay", "1a", "a" * 25]),  # kind
    (["", "travel", "dining_2"], ["Travel", "a" * 25]),  # category
    (["", "1", "365", "0"], ["-2", "1234567890", "1.5"]),  # nights
    (["", "2", "999999999"], ["-1", "x"]),  # days
    (["", "10", "10.5", "10.55", "999999999999.99"], ["10.555", "-3.00", "1e3", ".5"]),  # amount
    (["", "USD", "EUR"], ["usd", "US", "USDX"]),  # currency
)


def lines(count: int) -> list[bytes]:
    rng = random.Random(20261204)
    out = []
    for _ in range(count):
        values = [rng.choice(good if rng.random() < 0.9 else odd) for good, odd in FIELDS]
        if rng.random() < 0.05:
            values.insert(rng.randrange(len(values)), "extra")
        line = ",".join(values)
        if rng.random() < 0.05:
            line = f'"{values[0]}"' + line[len(values[0]) :]
        out.append(line.encode())
    return out


def test_a_plain_line_reads_as_the_field_by_field_path_reads_it() -> None:
    accepted = 0
    for n, raw in enumerate(lines(20_000), start=2):
        plain = _plain_activity(raw)
        slow = parse_fields(n, raw, 0)
        if plain is None:
            continue
        accepted += 1
        assert slow.error is None, (raw, slow.error)
        assert slow.activity == plain, raw
        assert parse_line(n, raw, 0) == slow
    assert accepted > 500  # the generated lines reach the fast path often enough to mean something


def test_a_line_the_field_by_field_path_refuses_keeps_its_reason() -> None:
    raw = b"1000000001,A-1,2026-13-01,,,1,,,"
    line = parse_line(5, raw, 0)
    assert line.activity is None
    assert line.error is not None
    assert (line.error.code, line.error.field, line.activity_id) == ("invalid_date", "activity_date", "A-1")
    amount_alone = parse_line(6, b"1000000001,A-2,2026-11-01,,,,,10.50,", 0)
    assert amount_alone.error is not None
    assert (amount_alone.error.code, amount_alone.error.field) == ("required", "currency")


def test_a_plain_line_gives_typed_values() -> None:
    line = parse_line(2, b"1000000001,C-1,2024-02-29,spend,travel,,3,12.50,EUR", 0)
    assert line.activity is not None
    a = line.activity
    assert (a.member_number, a.activity_id, a.activity_date) == ("1000000001", "C-1", date(2024, 2, 29))
    assert (a.kind, a.category, a.nights, a.days) == ("spend", "travel", None, 3)
    assert (a.amount, a.currency) == (Decimal("12.50"), "EUR")
