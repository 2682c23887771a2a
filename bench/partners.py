"""The partners targets of DESIGN.md: batch partner activities >= the flight batch's coupons/s; a 1,000,000-line
partner file imports at >= 10,000 lines/s; a month's settlement of 10 M activities in < 30 s.

    .venv/bin/python bench/partners.py       # full scale: ~6 GB free for PostgreSQL, ~1 GB in the temp dir
    .venv/bin/python bench/partners.py --members 200 --batch-size 2000 --batches 3 --lines 5000 \\
        --activities 50000 --workers 1     # smoke test, ~30 s: every step, no measurement

One run, one throwaway database, `miles serve`, and every `miles` process on a clock pinned by
MILES_CLOCK_AT: members, the flight batch and then the partner batch with the same client; a generated file
through `miles partners import`; a month of generated activities closed by `miles partners settle`. Prints the
targets table and writes bench/results/partners.json. See bench/README.md, "Partners".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import dbtools
import loadgen
import programmes
import psycopg
import report
import service
from coupons import CouponFactory
from partners_month import settlement, timed_miles
from rich.console import Console

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
RATIO_GOAL, IMPORT_GOAL, SETTLE_GOAL = 1.0, 10_000.0, 30.0
SCOPES = (*service.SCOPES, "partner:write")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--members", type=int, default=2000, help="members enrolled over HTTP (2,000)")
    p.add_argument("--batch-size", type=int, default=10_000, help="items per batch, flights and partners")
    p.add_argument("--batches", type=int, default=5, help="batches of each kind (5)")
    p.add_argument("--batch-partners", default="CARD,HTL,CAR", help="partners of the batches, in turn")
    p.add_argument("--lines", type=int, default=1_000_000, help="lines of the imported file (0: no import)")
    p.add_argument("--import-partner", default="CARD")
    p.add_argument("--import-jobs", type=int, default=2, help="`miles partners import --jobs` (2)")
    p.add_argument("--activities", type=int, default=10_000_000, help="settled activities (0: none)")
    p.add_argument("--settle-partner", default="CARD", help="a partner earning on spend")
    p.add_argument("--workers", type=int, default=2, help="`miles serve --workers` (2)")
    p.add_argument("--concurrency", type=int, default=16, help="clients enrolling the members (16)")
    p.add_argument(
        "--clock-at",
        help="MILES_CLOCK_AT of every miles process (default: today 12:00 UTC; the flight coupons are dated "
        "from today, as run.py's, so keep it on today's date)",
    )
    p.add_argument("--keep-db", action="store_true", help="leave the bench database for inspection")
    p.add_argument("--output", type=Path, default=RESULTS / "partners.json")
    programmes.add_arguments(p)
    args = p.parse_args(argv)
    if args.all_programmes:
        p.error("one programme at a time: --programme FILE")
    args.clock_at = args.clock_at or f"{dt.date.today().isoformat()}T12:00:00+00:00"
    return args


# --- part 1: the flight batch, then the partner batch --------------------------------------------------


def partner_item(
    contract: Any, currency: str, member: str, activity_id: str, clock: dt.date, rng: random.Random
) -> dict[str, Any]:
    """An activity of the contract's first kind: nights, days and a spend where its rule earns on them; dated
    inside the pending period when the contract has one (it stays pending), else in the last 60 days."""
    rule = next(iter(contract.activities.values()))
    back = rng.randint(1, contract.pending_days - 2) if contract.pending_days > 2 else rng.randint(1, 60)
    item: dict[str, Any] = {
        "member_number": member,
        "activity_id": activity_id,
        "activity_date": (clock - dt.timedelta(days=back)).isoformat(),
    }
    if rule.per_night is not None:
        item["nights"] = rng.randint(1, 7)
    if rule.per_day is not None:
        item["days"] = rng.randint(1, 14)
    if rule.per_unit is not None:
        categories = [None, None, *sorted(rule.categories)]
        if category := rng.choice(categories):
            item["category"] = category
        item["amount"] = {"amount": f"{rng.randint(500, 200_000) / 100:.2f}", "currency": currency}
    return item


def partner_batches(
    programme: Any, partners: list[str], members: list[str], args: argparse.Namespace, clock: dt.date
) -> tuple[list[str], list[bytes], list[int], list[str]]:
    rng = random.Random(os.getpid())
    paths, bodies, sizes, owners = [], [], [], []
    for n in range(args.batches):
        code = partners[n % len(partners)]
        contract = programme.partners[code]
        items = [
            partner_item(contract, programme.currency, rng.choice(members), f"B{n:03d}-{i:06d}", clock, rng)
            for i in range(args.batch_size)
        ]
        paths.append(f"/v1/partners/{code}/activities/batch")
        bodies.append(json.dumps({"items": items}, separators=(",", ":")).encode())
        sizes.append(len(items))
        owners.append(code)
    return paths, bodies, sizes, owners


def batch_statuses(
    url: str, programme: Any, batch: dict[str, Any], owners: list[str], sizes: list[int]
) -> None:
    """Per partner: activities/s, and the rows' statuses (pending where the contract has a pending period,
    else posted); a row in another status counts as an error."""
    per: dict[str, dict[str, Any]] = {}
    for code, size, seconds in zip(owners, sizes, batch["batch_seconds"], strict=True):
        part = per.setdefault(code, {"items": 0, "seconds": 0.0})
        part["items"] += size
        part["seconds"] += seconds
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT partner, status, count(*) FROM partner_activities WHERE channel = 'batch' GROUP BY 1, 2"
        ).fetchall()
    for code, status, count in rows:
        per[code].setdefault("statuses", {})[status] = count
        expected = "pending" if programme.partners[code].pending_days > 2 else "posted"
        if status != expected:
            batch["errors"]["count"] += count
            batch["errors"]["by_kind"][f"row:{status}"] = count
    for part in per.values():
        part["per_s"] = round(part["items"] / part["seconds"], 1) if part["seconds"] else 0.0
    batch["by_partner"] = per


# --- part 2: a generated file through `miles partners import` ---------------------------------------------


def write_file(
    path: Path, contract: Any, currency: str, members: list[str], lines: int, clock: dt.date
) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("member_number,activity_id,activity_date,kind,category,nights,days,amount,currency\n")
        for n in range(lines):
            item = partner_item(contract, currency, rng.choice(members), f"F{n:09d}", clock, rng)
            amount = item.get("amount", {})
            handle.write(
                f"{item['member_number']},{item['activity_id']},{item['activity_date']},,"
                f"{item.get('category', '')},{item.get('nights', '')},{item.get('days', '')},"
                f"{amount.get('amount', '')},{amount.get('currency', '')}\n"
            )


def import_file(url: str, partner: str, programme: Any, members: list[str], lines: int, clock: dt.date,
                folder: Path, console: Console, jobs: int) -> dict[str, Any]:  # fmt: skip
    path = folder / f"{partner}-{lines}.csv"
    started = time.perf_counter()
    write_file(path, programme.partners[partner], programme.currency, members, lines, clock)
    console.log(
        f"import: {lines:,} lines written in {time.perf_counter() - started:.1f} s ({path.stat().st_size / 1e6:.0f} MB)"
    )
    args = [
        "partners",
        "import",
        partner,
        str(path),
        "--report",
        str(folder / "refused.csv"),
        "--jobs",
        str(jobs),
    ]
    run = timed_miles(args, url, RESULTS / "partners-import.log")
    own = re.search(r"lines/s \(this run\)\D*([\d,]+)", run.pop("output"))
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT lines_done, imported, replayed, refused FROM partner_imports WHERE partner = %s",
            (partner,),
        ).fetchone()
    done, imported, replayed, refused = row if row else (0, 0, 0, 0)
    missing = lines - imported
    refusals = (folder / "refused.csv").read_text().splitlines()[1:6] if refused else []
    return {
        **run,
        "lines": lines,
        "jobs": jobs,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "lines_per_s": lines / run["seconds"],
        "command_lines_per_s": int(own.group(1).replace(",", "")) if own else None,
        "lines_done": done, "imported": imported, "replayed": replayed, "refused": refused,
        "errors": {
            "count": missing,
            "by_kind": {"not imported": missing} if missing else {},
            "samples": [{"refused line": line} for line in refusals],
        },
    }  # fmt: skip


# --- the run ------------------------------------------------------------------------------------------


def run(args: argparse.Namespace, console: Console, results: dict[str, Any]) -> None:
    choice = programmes.chosen(args)[0]
    clock = dt.datetime.fromisoformat(args.clock_at).date()
    programme = choice.book.in_force(clock)
    month = (clock.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    partners = [p.strip() for p in args.batch_partners.split(",") if p.strip()]
    unknown = {*partners, args.import_partner, args.settle_partner} - set(programme.partners)
    if unknown:
        raise RuntimeError(f"no partner {', '.join(sorted(unknown))} in {choice.label}")
    results["programme"] = choice.label
    admin_url = os.environ.get("MILES_BENCH_DATABASE_URL", dbtools.DEFAULT_ADMIN_URL)
    bench_db = f"miles_bench_{os.getpid()}"
    results["postgres"] = dbtools.server_info(admin_url)
    folder = Path(tempfile.mkdtemp(prefix="miles-partners-bench-"))
    server: service.MilesServer | None = None
    try:
        console.log(f"creating database {bench_db}; clock pinned at {args.clock_at}")
        url = dbtools.create_database(admin_url, bench_db)
        service.migrate(url)
        results["programme_loaded"] = service.load_programme(url, choice.path)
        key_args = ["apikey", "create", "bench-partners", *(a for s in SCOPES for a in ("--scope", s))]
        key = service.run_cli(key_args, url).strip().splitlines()[-1]
        server = service.MilesServer(url, args.workers, RESULTS / "server-partners.log")
        server.start()
        console.log(f"miles serve on {server.base_url} (healthy after {server.wait_healthy():.1f} s)")
        host, port = server.host, server.port
        members, results["members"] = loadgen.create_members(
            host, port, key, args.members, args.concurrency, tag=str(os.getpid())
        )
        console.log(f"{len(members):,} members in {results['members']['seconds']} s")
        if not members:
            raise RuntimeError("no member could be created")

        factory = CouponFactory(members, phase=2, seed=os.getpid())
        flights = [factory.batch(args.batch_size) for _ in range(args.batches)]
        results["flight_batch"] = flight = loadgen.post_batches(host, port, key, flights)
        console.log(f"flight batch: {flight['per_s']:,.0f} coupons/s, {flight['errors']['count']} errors")
        paths, bodies, sizes, owners = partner_batches(programme, partners, members, args, clock)
        results["partner_batch"] = batch = loadgen.post_encoded(host, port, key, paths, bodies, sizes)
        batch_statuses(url, programme, batch, owners, sizes)
        console.log(f"partner batch: {batch['per_s']:,.0f} activities/s, {batch['errors']['count']} errors")

        if args.lines:
            results["import"] = done = import_file(
                url,
                args.import_partner,
                programme,
                members,
                args.lines,
                clock,
                folder,
                console,
                args.import_jobs,
            )
            console.log(
                f"import: {done['lines_per_s']:,.0f} lines/s ({done['seconds']} s), peak RSS "
                f"{done['peak_rss_mb']} MB, {done['imported']:,} imported, {done['refused']:,} refused"
            )
        if args.activities:
            results["settlement"] = s = settlement(url, server, key, programme, args, month, folder, console)
            if "refused" in s:
                console.print(f"[red]settlement not run:[/red] {s['refused']}", highlight=False)
            else:
                console.log(
                    f"settlement {month:%Y-%m}: settle {s['settle']['seconds']} s, read {s['read_seconds']} s"
                )
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
        if args.keep_db:
            console.log(f"kept database {bench_db}")
        else:  # the generated month goes with it
            dbtools.drop_database(admin_url, bench_db)
            console.log(f"dropped database {bench_db}")


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    label = results.get("programme", "-")
    flight, batch = results.get("flight_batch"), results.get("partner_batch")
    if flight and batch:
        ratio = batch["per_s"] / flight["per_s"] if flight["per_s"] else None
        errors = flight["errors"]["count"] + batch["errors"]["count"]
        rows.append({
            "programme": label, "target": "partner batch vs flight batch",
            "measured": f"{batch['per_s']:,.0f} activities/s ({batch['items']:,} items, {batch['errors']['count']} errors)",
            "reference": f"flight batch {flight['per_s']:,.0f} coupons/s ({flight['errors']['count']} errors)",
            "ratio": ratio, "goal": f">= {RATIO_GOAL}x flight batch",
            "met": ratio is not None and ratio >= RATIO_GOAL and errors == 0,
        })  # fmt: skip
    if imp := results.get("import"):
        rows.append({
            "programme": label, "target": "partner file import (miles partners import)",
            "measured": f"{imp['lines_per_s']:,.0f} lines/s ({imp['lines']:,} lines in {imp['seconds']} s, "
                        f"--jobs {imp.get('jobs', 1)}, peak RSS {imp['peak_rss_mb']:,.0f} MB, {imp['refused']:,} refused)",
            "reference": "-", "ratio": None, "goal": f">= {IMPORT_GOAL:,.0f} lines/s",
            "met": imp["lines_per_s"] >= IMPORT_GOAL and imp["errors"]["count"] == 0,
        })  # fmt: skip
    if (s := results.get("settlement")) and "refused" in s:
        rows.append({"programme": label, "target": "monthly settlement", "measured": "not run: disk",
                     "reference": "-", "ratio": None, "goal": f"< {SETTLE_GOAL:.0f} s", "met": False})  # fmt: skip
    elif s and "settle" in s:
        settle, read = s["settle"]["seconds"], sorted(s["read_seconds"])[len(s["read_seconds"]) // 2]
        rows.append({
            "programme": label, "target": "monthly settlement (miles partners settle)",
            "measured": f"{settle:.2f} s ({s['generated']['activities']:,} activities, statement "
                        f"{s['statement']['file_mb']:,.0f} MB, peak RSS {s['settle']['peak_rss_mb']:,.0f} MB)",
            "reference": f"GET settlement {read:.3f} s (median of {len(s['read_seconds'])})",
            "ratio": None, "goal": f"< {SETTLE_GOAL:.0f} s",
            "met": settle < SETTLE_GOAL and not s["mismatches"],
        })  # fmt: skip
    return rows


def print_errors(results: dict[str, Any], console: Console) -> None:
    for phase in ("members", "flight_batch", "partner_batch", "import"):
        errors = results.get(phase, {}).get("errors")
        if errors and errors["count"]:
            console.print(f"[red]{phase}: {errors['count']} errors[/red] {errors['by_kind']}")
            for sample in errors["samples"]:
                console.print(json.dumps(sample, default=str)[:2000], markup=False, highlight=False)
    for line in results.get("settlement", {}).get("mismatches", []):
        console.print(f"[red]settlement:[/red] {line}", highlight=False)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 150)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.environ["MILES_CLOCK_AT"] = args.clock_at  # every `miles` process inherits it
    scale = (args.members, args.batch_size, args.lines, args.activities)
    full = all(have >= want for have, want in zip(scale, (2000, 10_000, 1_000_000, 10_000_000), strict=True))
    results: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": not full,
        "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    started = time.perf_counter()
    failed = False
    try:
        run(args, console, results)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 (recorded with its traceback)
        failed = True
        results["failure"] = "".join(traceback.format_exception(exc))
        console.print(f"[red]benchmark failed:[/red] {exc}", highlight=False)
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    results["targets"] = targets(results)
    report.print_table(results, console)
    if batch := results.get("partner_batch"):
        console.print(f"partner batch by partner: {batch.get('by_partner')}", highlight=False)
    print_errors(results, console)
    report.write_json(results, args.output)
    console.print(f"results written to {args.output}")
    errors = sum(
        results.get(p, {}).get("errors", {}).get("count", 0)
        for p in ("members", "flight_batch", "partner_batch", "import")
    )
    settled = results.get("settlement", {})
    if failed or errors or settled.get("mismatches") or "refused" in settled:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
