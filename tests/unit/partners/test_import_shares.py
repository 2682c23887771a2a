"""How a partner file's lines are shared among the connections recording them, and how a failing share
stops the others."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from miles.domain.errors import InvalidInput
from miles.domain.partners.earning import PartnerActivity
from miles.services.partners.activity_file import FileLine
from miles.services.partners.import_shares import dispatch, record_shares, share_of


def line(line_no: int, member: str | None) -> FileLine:
    if member is None:
        return FileLine(line_no, line_no * 10, None, InvalidInput("bad", code="bad_csv"))
    activity = PartnerActivity(member, f"A{line_no}", date(2026, 11, 1), None, None, 1, None, None, None)
    return FileLine(line_no, line_no * 10, activity)


def test_a_members_lines_always_fall_to_one_share_and_lines_without_a_member_by_their_number() -> None:
    members = [f"10000{n:05d}" for n in range(200)]
    shares = {share_of(line(2, m), 3) for m in members}
    assert shares == {0, 1, 2}
    for m in members:
        assert {share_of(line(n, m), 3) for n in range(2, 40)} == {share_of(line(2, m), 3)}
    assert [share_of(line(n, None), 3) for n in (6, 7, 8)] == [0, 1, 2]
    assert {share_of(line(n, m), 1) for n, m in enumerate(members, 2)} == {0}


def test_dispatch_fills_each_shares_chunks_in_file_order_and_leaves_out_what_a_run_before_did() -> None:
    members = [f"10000{n:05d}" for n in range(7)]
    lines = [line(n, members[n % 7] if n % 5 else None) for n in range(2, 102)]
    marks = [1, 40]
    chunks = list(dispatch(iter(lines), marks, chunk_size=4))
    got: dict[int, list[int]] = {0: [], 1: []}
    for share, chunk in chunks:
        assert 1 <= len(chunk) <= 4
        assert all(share_of(x, 2) == share for x in chunk)
        got[share] += [x.line_no for x in chunk]
    for share in (0, 1):
        expected = [x.line_no for x in lines if share_of(x, 2) == share and x.line_no > marks[share]]
        assert got[share] == expected
    sizes = [len(c) for s, c in chunks if s == 0]
    assert sizes[:-1] == [4] * (len(sizes) - 1)


def test_every_chunk_is_recorded_once_by_its_shares_thread() -> None:
    chunks = [(n % 3, [line(n + 2, "1000000001")]) for n in range(60)]
    seen: list[tuple[int, int, str]] = []
    done: list[int] = []
    lock = threading.Lock()

    def record(share: int, chunk: list[FileLine]) -> None:
        with lock:
            seen.append((share, chunk[0].line_no, threading.current_thread().name))

    record_shares(iter(chunks), 3, record, done.append)
    assert sorted((s, n) for s, n, _ in seen) == sorted((s, c[0].line_no) for s, c in chunks)
    for share in range(3):
        of_share = [(n, name) for s, n, name in seen if s == share]
        assert [n for n, _ in of_share] == sorted(n for n, _ in of_share)  # in order
        assert {name for _, name in of_share} == {f"partner-import-share-{share}"}
    assert sorted(done) == [0, 1, 2]


def test_a_share_that_fails_stops_the_others_and_its_error_is_raised() -> None:
    recorded: list[int] = []

    def chunks():  # endless: only the failure can end it
        n = 2
        while True:
            yield n % 2, [line(n, None)]
            n += 1

    def record(share: int, chunk: list[FileLine]) -> None:
        if chunk[0].line_no == 30:
            raise InvalidInput("line 30 is wrong", code="boom")
        recorded.append(chunk[0].line_no)

    with pytest.raises(InvalidInput) as raised:
        record_shares(chunks(), 2, record, lambda share: None)
    assert raised.value.code == "boom"
    assert 30 not in recorded
    assert not [t for t in threading.enumerate() if t.name.startswith("partner-import-")]


def test_a_reading_error_is_raised_after_the_shares_stopped() -> None:
    def chunks():
        yield 0, [line(2, None)]
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad byte")

    with pytest.raises(UnicodeDecodeError):
        record_shares(chunks(), 2, lambda share, chunk: None, lambda share: None)
    assert not [t for t in threading.enumerate() if t.name.startswith("partner-import-")]
