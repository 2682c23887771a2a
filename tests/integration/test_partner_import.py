"""`miles partners import`: a partner's CSV file imported line by line (good lines recorded, bad ones reported
with their line numbers and reasons), idempotent on the file's content, resumable after a crash (SIGKILL of
the real command half-way), and never doubling an activity recorded by any path."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from miles.domain.errors import InvalidInput, NotFound
from miles.domain.member_numbers import member_number_from_sequence
from miles.services.partners.import_shares import member_share
from miles.services.partners.imports import ImportOutcome, import_file
from tests.integration.factories import enrol

HEADER = b"member_number,activity_id,activity_date,kind,category,nights,days,amount,currency\n"
NOW = "2026-11-23T12:00:00Z"


def write_file(path: Path, lines: list[bytes], header: bytes = HEADER) -> Path:
    path.write_bytes(header + b"".join(lines))
    return path


def run_import(container: Container, partner: str, path: Path, chunk_size: int = 3) -> ImportOutcome:
    return import_file(container, partner, path, Path(f"{path}.refused.csv"), chunk_size)


def report_of(path: Path) -> dict[int, tuple[str, str, str]]:
    """The report's rows by line number: (activity_id, field, code)."""
    with Path(f"{path}.refused.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(row["reason"] for row in rows)
    return {int(row["line_no"]): (row["activity_id"], row["field"], row["code"]) for row in rows}


def award_miles(client: TestClient, member: str) -> int:
    return int(client.get(f"/v1/members/{member}").json()["award_miles"])


def pending_of(engine: Engine, member: str) -> list[tuple[int, str]]:
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT a.miles, a.posts_on FROM partner_activities a JOIN members m ON m.id = a.member_id "
                "WHERE m.member_number = :m AND a.status = 'pending' ORDER BY a.activity_id"
            ),
            {"m": member},
        )
        return [(r.miles, r.posts_on.isoformat()) for r in rows]


def counts(engine: Engine) -> dict[str, int]:
    tables = (
        "partner_activities",
        "transfers",
        "entries",
        "lots",
        "partner_imports",
        "partner_import_refusals",
    )
    with engine.connect() as c:
        return {t: int(c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables}


def hotel_lines(a: str, b: str) -> list[bytes]:
    unknown = member_number_from_sequence(999_999)
    return [
        f"{a},H-1,2026-11-20,,,3,,,\n".encode(),  # line 2: 1,500 pending until 2026-12-04
        f"{a},H-2,2026-11-09,,,1,,,\r\n".encode(),  # line 3: 500 posted (its 14 days are over)
        f"{b},H-3,2026-13-01,,,2,,,\n".encode(),  # line 4: no such date
        f"{a},H-4,2026-11-20,,,0,,,\n".encode(),  # line 5: nights 0
        f"{a},H-5,2026-11-20,s\xe9jour,,2,,,\n".encode("latin-1"),  # line 6: not UTF-8
        f"{a},H-6,2026-11-20,,,2,,,,extra\n".encode(),  # line 7: ten fields
        f"{a},H-7,2026-11-24,,,1,,,\n".encode(),  # line 8: tomorrow
        f"{unknown},H-8,2026-11-20,,,1,,,\n".encode(),  # line 9: nobody
        b"\n",  # line 10: a blank line in the middle
        f"{b},H-9,2026-11-01,,,2,,,\n".encode(),  # line 11: 1,000 posted
        b"\n\n",  # trailing blank lines: ignored
    ]


def test_a_file_imports_its_good_lines_and_reports_each_bad_one_with_its_line_and_reason(
    container: Container, client: TestClient, engine: Engine, tmp_path: Path
) -> None:
    a, b = enrol(client), enrol(client, "Grace", "Hopper")
    hotels = run_import(container, "HTL", write_file(tmp_path / "htl.csv", hotel_lines(a, b)))
    assert (hotels.lines, hotels.imported, hotels.replayed, hotels.refused, hotels.miles) == (
        10,
        3,
        0,
        7,
        3000,
    )
    assert report_of(tmp_path / "htl.csv") == {
        4: ("H-3", "activity_date", "invalid_date"),
        5: ("H-4", "nights", "out_of_range"),
        6: ("", "", "not_utf8"),
        7: ("H-6", "", "field_count"),
        8: ("H-7", "activity_date", "future_date"),
        9: ("H-8", "member_number", "member_not_found"),
        10: ("", "", "empty_line"),
    }
    cards = [
        f"{a},C-1,2026-11-23,,airline,,,123.45,EUR\n".encode(),  # 133.326 USD x 3: 399
        f"{a},C-2,2026-11-23,,grocery,,,10.00,USD\n".encode(),
        f"{a},C-3,2026-11-23,,travel,,,10.005,USD\n".encode(),
        f"{a},C-4,2026-11-22,,travel,,,10.50,USD\n".encode(),  # 21
        f"{a},C-5,2026-11-22,,,,,99.99,USD\n".encode(),  # 99
        f"{a},C-6,2026-11-22,,,,,12.00,\n".encode(),
        f"{a},C-7,2026-11-22,,,,,1\x01,USD\n".encode(),
    ]
    card = run_import(container, "CARD", write_file(tmp_path / "card.csv", cards))
    assert (card.imported, card.refused, card.miles) == (3, 4, 399 + 21 + 99)
    assert report_of(tmp_path / "card.csv") == {
        3: ("C-2", "category", "unknown_category"),
        4: ("C-3", "amount", "invalid_amount"),
        7: ("C-6", "currency", "required"),
        8: ("C-7", "amount", "invalid_text"),
    }
    car = run_import(
        container, "CAR", write_file(tmp_path / "car.csv", [f"{b},R-1,2026-11-22,,,,4,,\n".encode()])
    )
    assert (car.imported, car.refused, car.miles) == (1, 0, 1000)
    assert award_miles(client, a) == 500 + 399 + 21 + 99
    assert pending_of(engine, a) == [(1500, "2026-12-04")]
    assert award_miles(client, b) == 1000 + 1000
    assert pending_of(engine, b) == []
    with engine.connect() as c:
        channels = c.execute(text("SELECT DISTINCT channel FROM partner_activities")).scalars().all()
    assert channels == ["file"]


def test_a_file_imported_twice_changes_nothing_the_second_time(
    container: Container, client: TestClient, engine: Engine, tmp_path: Path
) -> None:
    a, b = enrol(client), enrol(client, "Grace", "Hopper")
    path = write_file(tmp_path / "htl.csv", hotel_lines(a, b))
    first = run_import(container, "HTL", path)
    report = Path(f"{path}.refused.csv").read_bytes()
    before = counts(engine)
    Path(f"{path}.refused.csv").unlink()
    again = run_import(container, "HTL", path, chunk_size=2)
    assert again.already_imported
    assert not first.already_imported
    assert (again.lines, again.imported, again.replayed, again.refused, again.miles) == (10, 3, 0, 7, 3000)
    assert counts(engine) == before
    assert Path(f"{path}.refused.csv").read_bytes() == report
    assert award_miles(client, a) == 500


def test_activities_recorded_by_another_path_replay_or_conflict_and_never_double(
    container: Container, client: TestClient, engine: Engine, tmp_path: Path
) -> None:
    a = enrol(client)
    sent = {"member_number": a, "activity_id": "R-1", "activity_date": "2026-11-22", "days": 2}
    assert client.post("/v1/partners/CAR/activities", json=sent).status_code == 201
    lines = [
        f"{a},R-1,2026-11-22,,,,2,,\n".encode(),  # the same activity: a replay
        f"{a},R-2,2026-11-22,,,,3,,\n".encode(),
        f"{a},R-2,2026-11-22,,,,3,,\n".encode(),  # twice in the file: a replay
        f"{a},R-1,2026-11-22,,,,5,,\n".encode(),  # another body under a recorded id
    ]
    outcome = run_import(container, "CAR", write_file(tmp_path / "car.csv", lines), chunk_size=2)
    assert (outcome.imported, outcome.replayed, outcome.refused, outcome.miles) == (1, 2, 1, 750)
    assert report_of(tmp_path / "car.csv") == {5: ("R-1", "activity_id", "activity_conflict")}
    # another file with the same activities: all replays or conflicts
    other = run_import(container, "CAR", write_file(tmp_path / "car2.csv", [*lines, b"\n"]))
    assert (other.imported, other.replayed, other.refused, other.miles) == (0, 3, 1, 0)
    assert award_miles(client, a) == 500 + 750
    assert counts(engine)["partner_activities"] == 2


@pytest.mark.parametrize(
    ("header", "lines", "message"),
    [
        (b"", 0, "no header line"),
        (b"\n", 1, "no header line"),
        (b"member_number,activity_id,activity_date,kind,category,nights,days,amount\n", 1, "currency"),
        (
            b"member_number,activity_id,activity_date,category,kind,nights,days,amount,currency\n",
            1,
            "out of order",
        ),
        (b"", 1, "the first line is not the header"),
    ],
)
def test_a_file_without_the_contract_header_is_refused_whole_and_writes_nothing(
    container: Container,
    client: TestClient,
    engine: Engine,
    tmp_path: Path,
    header: bytes,
    lines: int,
    message: str,
) -> None:
    a = enrol(client)
    path = write_file(tmp_path / "htl.csv", [f"{a},H-1,2026-11-20,,,3,,,\n".encode()] * lines, header=header)
    with pytest.raises(InvalidInput) as refused:
        run_import(container, "HTL", path)
    assert (refused.value.code, refused.value.field) == ("bad_header", "header")
    assert message in refused.value.message
    assert set(counts(engine).values()) == {0}
    assert not Path(f"{path}.refused.csv").exists()


def test_an_unknown_partner_refuses_the_file(container: Container, engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        run_import(container, "SPA", write_file(tmp_path / "spa.csv", []))
    assert counts(engine)["partner_imports"] == 0


def miles_cli(database_url: str, *args: str, delay: float = 0.0) -> tuple[list[str], dict[str, str]]:
    """`miles partners import ARGS` on the test database with the clock at NOW, and its environment."""
    env = {**os.environ, "MILES_DATABASE_URL": database_url, "MILES_CLOCK_AT": NOW}
    env["MILES_TEST_IMPORT_CHUNK_DELAY"] = str(delay)
    return [sys.executable, "-m", "miles.cli", "partners", "import", *args], env


def card_lines(members: list[str], prefix: str) -> list[bytes]:
    """120 card lines over the members, every seventh refused (an unknown category)."""
    out = []
    for n in range(120):
        category = "grocery" if n % 7 == 0 else ("travel" if n % 3 == 0 else "")
        day = 10 + n % 12
        out.append(
            f"{members[n % len(members)]},{prefix}-{n},2026-11-{day},,{category},,,{n + 1}.50,USD\n".encode()
        )
    return out


def test_a_file_recorded_by_several_connections_ends_as_if_recorded_by_one(
    container: Container, client: TestClient, engine: Engine, tmp_path: Path
) -> None:
    members: list[str] = []  # enrolled until each of the three shares has two members (and lines) at least
    while min(sum(member_share(m, 3) == share for m in members) for share in range(3)) < 2:
        assert len(members) < 60
        members.append(enrol(client, "Ada", f"Share{len(members)}"))
    one = run_import(
        container, "CARD", write_file(tmp_path / "one.csv", card_lines(members, "S1")), chunk_size=4
    )
    many = import_file(
        container,
        "CARD",
        write_file(tmp_path / "many.csv", card_lines(members, "S3")),
        tmp_path / "many.csv.refused.csv",
        chunk_size=4,
        jobs=3,
    )
    assert (many.lines, many.imported, many.refused, many.miles) == (
        one.lines,
        one.imported,
        one.refused,
        one.miles,
    )
    assert (one.lines, one.refused) == (120, 18)
    assert report_of(tmp_path / "many.csv") == {
        line: (activity.replace("S1", "S3"), field, code)
        for line, (activity, field, code) in report_of(tmp_path / "one.csv").items()
    }
    with engine.connect() as c:
        per_member = c.execute(
            text(
                "SELECT m.member_number, left(a.activity_id, 2) AS file, sum(a.miles) AS miles, count(*) AS n "
                "FROM partner_activities a JOIN members m ON m.id = a.member_id GROUP BY 1, 2"
            )
        ).all()
        parts = c.execute(
            text(
                "SELECT p.part, p.lines_done, p.through_line FROM partner_import_parts p "
                "JOIN partner_imports i ON i.id = p.import_id WHERE i.file_name = 'many.csv' ORDER BY p.part"
            )
        ).all()
    by_file = {f: {r.member_number: (r.miles, r.n) for r in per_member if r.file == f} for f in ("S1", "S3")}
    assert by_file["S1"] == by_file["S3"]
    assert set(by_file["S1"]) == {members[n % len(members)] for n in range(120) if n % 7}  # every good line's
    assert [p.part for p in parts] == [0, 1, 2]
    assert sum(p.lines_done for p in parts) == 120
    assert all(p.lines_done > 0 and p.through_line > 1 for p in parts)


def lines_done(engine: Engine) -> int:
    with engine.connect() as c:
        return int(
            c.execute(text("SELECT coalesce(sum(lines_done), 0) FROM partner_import_parts")).scalar_one()
        )


def test_the_command_killed_half_way_resumes_and_ends_with_the_totals_of_a_clean_run(
    database_url: str, client: TestClient, engine: Engine, tmp_path: Path
) -> None:
    members = [enrol(client, f"M{i}") for i in range(3)]
    lines = []
    for n in range(60):  # 1 night (500) for each good line; every seventh line refused (nights 0)
        nights = 0 if n % 7 == 3 else 1
        lines.append(f"{members[n % 3]},S-{n},2026-11-01,,,{nights},,,\n".encode())
    path = write_file(tmp_path / "big.csv", lines)
    refused = sum(1 for n in range(60) if n % 7 == 3)
    command, env = miles_cli(database_url, "HTL", str(path), "--chunk-size", "4", delay=0.4)
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while lines_done(engine) < 12:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the import did not start"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    done_before = lines_done(engine)
    assert 12 <= done_before < 60
    time.sleep(1.0)  # the shares' processes died with the command: nothing records any more
    assert lines_done(engine) == done_before
    assert not Path(f"{path}.refused.csv").exists()

    # asked for one connection, the resume keeps the two shares the import began with
    command, env = miles_cli(database_url, "HTL", str(path), "--chunk-size", "4", "--jobs", "1")
    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert "imported (resumed)" in resumed.stdout
    assert re.search(rf"done by a run before\s*│\s*{done_before}\s", resumed.stdout), resumed.stdout
    with engine.connect() as c:
        row = c.execute(
            text(
                "SELECT lines_done, imported, replayed, refused, miles, finished_at, parts FROM partner_imports"
            )
        ).one()
        assert row.parts == 2
        assert c.execute(text("SELECT count(*) FROM partner_activities")).scalar_one() == 60 - refused
        assert c.execute(text("SELECT count(*) FROM transfers")).scalar_one() == 60 - refused
    assert tuple(row)[:5] == (60, 60 - refused, 0, refused, 500 * (60 - refused))
    assert row.finished_at is not None
    assert sorted(report_of(path)) == [n + 2 for n in range(60) if n % 7 == 3]
    assert sum(award_miles(client, m) for m in members) == 500 * (60 - refused)

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert "already imported" in again.stdout
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM partner_activities")).scalar_one() == 60 - refused


def test_the_command_refuses_a_file_without_the_header_with_exit_code_2(
    database_url: str, client: TestClient, engine: Engine, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "bad.csv", [b"1000000016,H-1,2026-11-20,,,3,,,\n"], header=b"")
    command, env = miles_cli(database_url, "HTL", str(path))
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert "header" in result.stderr
    assert counts(engine)["partner_imports"] == 0


def test_two_runs_of_one_file_at_once_never_double_and_a_run_after_ends_whole(
    database_url: str, client: TestClient, engine: Engine, tmp_path: Path
) -> None:
    """Whichever run meets the other's lines first stops with a clear message (exit code 2); nothing is
    recorded twice; a run after them finishes the import with the totals of a clean run."""
    members = [enrol(client, f"R{i}") for i in range(4)]
    lines = [f"{members[n % 4]},T-{n},2026-11-02,,,1,,,\n".encode() for n in range(48)]
    path = write_file(tmp_path / "twice.csv", lines)
    command, env = miles_cli(database_url, "HTL", str(path), "--chunk-size", "4", delay=0.3)
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while lines_done(engine) < 8:
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the import did not start"
        time.sleep(0.05)
    again, again_env = miles_cli(database_url, "HTL", str(path), "--chunk-size", "4")
    second = subprocess.run(again, env=again_env, capture_output=True, text=True, timeout=120, check=False)
    out, err = first.communicate(timeout=120)
    runs = [(first.returncode, err), (second.returncode, second.stderr)]
    for code, stderr in runs:
        assert code in (0, 2), stderr
        if code == 2:
            assert "being imported by another run at the same time" in " ".join(stderr.split())
    assert any(code == 2 for code, _ in runs)
    last = subprocess.run(again, env=again_env, capture_output=True, text=True, timeout=120, check=False)
    assert last.returncode == 0, last.stderr
    with engine.connect() as c:
        row = c.execute(
            text("SELECT lines_done, imported, refused, miles, finished_at FROM partner_imports")
        ).one()
        assert c.execute(text("SELECT count(*) FROM partner_activities")).scalar_one() == 48
        assert c.execute(text("SELECT count(*) FROM transfers")).scalar_one() == 48
    assert tuple(row)[:4] == (48, 48, 0, 48 * 500)
    assert row.finished_at is not None
