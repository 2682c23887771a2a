"""The promotions target of DESIGN.md: with 50 active promotions of every trigger and condition kind, on
members spread over every tier, batch accrual keeps >= 0.8 x its throughput without promotions and single
accruals' p99 grows by at most 20 %.

    .venv/bin/python bench/promotions.py [--quick] [--promotions 50]

Two runs of bench/run.py's accrual load, each on its own fresh database with the same members, coupons and
pgbench reference: without promotions, then with them (created over the API before the load, the members'
tiers spread over the programme's ladder). Prints both side by side with their ratio. `--rounds N` runs N
such pairs back to back and prints the medians (of the figures, and of the pairs' ratios) and each round.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any

import httpx
import psycopg
import run
from coupons import AIRPORTS
from rich.console import Console
from rich.table import Table

BATCH_GOAL, P99_GOAL = 0.8, 1.2


def campaigns(
    count: int,
    tiers: list[str],
    metric: str,
    carrier: str,
    shared_budget: bool = True,
    for_everyone: bool = True,
) -> list[dict[str, Any]]:
    """`count` promotions cycling through every trigger, condition, audience and effect kind, as a
    programme runs them: most are targeted (a route, a city, a cabin, a fare class, long hauls), so a coupon
    earns a few; with `for_everyone`, two run for everyone (a tier's double miles, a budgeted percent for
    all), so that nearly every coupon earns two bonuses more."""
    airports = list(AIRPORTS)
    conditions: list[dict[str, Any]] = [
        {"routes": [f"{airports[i % 40]}-{airports[(i + 1) % 40]}" for i in range(0, 6, 2)]},
        {"origins": [airports[5], airports[11]]},
        {"destinations": [airports[7], airports[13]]},
        {"carriers": [carrier], "cabins": ["first"]},
        {"cabins": ["business"], "min_distance": 3000},
        {"booking_classes": ["J", "C"]},
        {"min_distance": 6000},
        {"carriers": [carrier], "origins": [airports[20]], "destinations": [airports[0]]},
    ]
    audiences: list[dict[str, Any]] = [{}, {"tiers": tiers[1:]}, {"inactive_for_months": 6}, {}]
    effects: list[dict[str, Any]] = [
        {"kind": "multiplier", "value": "2"},
        {"kind": "percent", "value": "25"},
        {"kind": "fixed", "miles": 500},
        {"kind": "metric", "metric": metric, "amount": "10"},
    ]
    everyone: list[dict[str, Any]] = [
        {  # everyone above the base tier: double miles
            "code": "BENCH-ELITE",
            "name": "Elite double miles",
            "trigger": "flight",
            "starts_on": "2025-01-01",
            "ends_on": "2030-12-31",
            "audience": {"tiers": tiers[1:]},
            "effect": {"kind": "multiplier", "value": "2"},
        },
        {  # everyone: 10 % more, on a budget every accrual spends
            "code": "BENCH-ALL",
            "name": "Ten percent for all",
            "trigger": "flight",
            "starts_on": "2025-01-01",
            "ends_on": "2030-12-31",
            "effect": {"kind": "percent", "value": "10"},
            "limits": {"budget_miles": 10**11} if shared_budget else {},
        },
    ]
    out = everyone if for_everyone else []
    for i in range(count - len(out)):
        trigger = ["flight", "flight", "flight", "challenge", "enrolment", "birthday"][i % 6]
        body: dict[str, Any] = {
            "code": f"BENCH-{i:03d}",
            "name": f"Bench promotion {i}",
            "trigger": trigger,
            "starts_on": "2025-01-01",
            "ends_on": "2030-12-31",
            "effect": effects[i % len(effects)],
            "limits": {"budget_miles": 10**9} if i % 5 == 0 else {"per_member_times": 1000},
            "stacking_group": f"group-{i % 7}" if i % 3 else None,
        }
        if trigger == "birthday":
            body["effect"] = {"kind": "fixed", "miles": 1000}
        else:
            body["conditions"] = conditions[i % len(conditions)]
            body["audience"] = audiences[i % len(audiences)]
        if trigger == "challenge":
            body["challenge"] = {"segments": 3, "repeat": True}
        if trigger == "enrolment":
            body["audience"] = {"enrolled_within_days": 30}
        out.append(body)
    return out


def prepare(
    count: int, tiers: list[str], metric: str, carrier: str, key: str, shared_budget: bool, for_everyone: bool
) -> Any:
    def before_load(base_url: str, db_url: str, members: list[str]) -> dict[str, Any]:
        with psycopg.connect(
            db_url.replace("+psycopg", ""), autocommit=True
        ) as conn:  # every tier held by some members
            conn.execute(
                "UPDATE members SET tier = (%s::text[])[1 + id %% %s], "
                "tier_valid_until = CASE WHEN id %% %s = 0 THEN NULL ELSE DATE '2030-12-31' END",
                (tiers, len(tiers), len(tiers)),
            )
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
            for body in campaigns(count, tiers, metric, carrier, shared_budget, for_everyone):
                answer = c.post("/v1/promotions", json=body)
                if answer.status_code != 201:
                    raise RuntimeError(f"{body['code']}: {answer.status_code} {answer.text}")
        return {"promotions": count, "tiers": tiers}

    return before_load


def bonuses_written(db_url: str) -> dict[str, Any]:
    """What the load earned: earning coupons, the bonuses that gave miles (each a transfer, its two entries,
    a lot and an award row) and the metric bonuses."""
    with psycopg.connect(db_url.replace("+psycopg", "")) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM accruals WHERE base_miles > 0),"
            " (SELECT count(*) FROM promotion_awards WHERE transfer_id IS NOT NULL),"
            " (SELECT count(*) FROM promotion_awards WHERE transfer_id IS NULL)"
        ).fetchone()
    assert row is not None
    earning, miles, metric = (int(v) for v in row)
    per = (miles + metric) / earning if earning else 0.0
    return {"earning_coupons": earning, "mile_bonuses": miles, "metric_bonuses": metric, "per_earning": per}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--promotions", type=int, default=50)
    p.add_argument(
        "--no-shared-budget",
        action="store_true",
        help="the promotion every coupon earns has no budget (shows what its one budget row costs)",
    )
    p.add_argument(
        "--targeted",
        action="store_true",
        help="no promotion runs for everyone: each of the 50 is targeted (route, city, cabin, class, "
        "distance, tier...), so most coupons earn none or one",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="pairs of runs (without, then with), back to back; the table shows the medians (the machine's "
        "speed drifts between two runs)",
    )
    own, rest = p.parse_known_args(argv)
    args = run.parse_args(rest)
    console = Console(width=None if sys.stdout.isatty() else 150)
    choice = run.programmes.chosen(args)[0]
    programme = choice.book.versions[-1]
    tiers = list(programme.ladder.codes)
    carrier = sorted(programme.carriers)[0]

    def with_key(base_url: str, db_url: str, members: list[str]) -> dict[str, Any]:
        created = run.service.run_cli(
            ["apikey", "create", "bench-promotions", "--scope", "promotion:write"], db_url
        )
        key = created.strip().splitlines()[-1]
        shared = not own.no_shared_budget
        return prepare(
            own.promotions, tiers, programme.metric_codes[0], carrier, key, shared, not own.targeted
        )(base_url, db_url, members)

    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    reference: dict[str, Any] = {}
    for round_no in range(own.rounds):  # the machine's speed drifts: pairs run back to back, then medians
        if own.rounds > 1:
            console.rule(f"round {round_no + 1} of {own.rounds}")
        without: dict[str, Any] = dict(reference)
        run.run(args, console, without, choice)
        reference = {"pgbench": without.get("pgbench")}  # measured once, in the first round
        with_promotions: dict[str, Any] = dict(reference)
        run.run(args, console, with_promotions, choice, before_load=with_key, after_load=bonuses_written)
        pairs.append((without, with_promotions))
    mix = "targeted" if own.targeted else "two for everyone"
    console.print(_table(pairs, f"promotions: {own.promotions} active ({mix}) vs none ({choice.label})"))
    if len(pairs) > 1:
        console.print(_rounds_table(pairs))
    errors = sum(r[k]["errors"]["count"] for pair in pairs for r in pair for k in ("single", "batch"))
    return 1 if errors else 0


def _ratios(without: dict[str, Any], with_promotions: dict[str, Any]) -> tuple[float, float, float]:
    """(batch, p99, single) of one pair: with / without."""
    return (
        with_promotions["batch"]["per_s"] / without["batch"]["per_s"],
        with_promotions["single"]["p99_ms"] / without["single"]["p99_ms"],
        with_promotions["single"]["per_s"] / without["single"]["per_s"],
    )


def _table(pairs: list[tuple[dict[str, Any], dict[str, Any]]], title: str) -> Table:
    """Both runs side by side; over several rounds, the medians of the figures and of the pairs' ratios."""
    table = Table(title=title + (f", medians of {len(pairs)} rounds" if len(pairs) > 1 else ""))
    for column in ("measure", "without", "with", "ratio", "goal", "met?"):
        table.add_column(column)

    def med(side: int, key: str, field: str) -> float:
        return statistics.median(pair[side][key][field] for pair in pairs)

    batch, p99, single = (statistics.median(r) for r in zip(*(_ratios(*pair) for pair in pairs), strict=True))
    table.add_row(
        "batch coupons/s",
        f"{med(0, 'batch', 'per_s'):,.0f}",
        f"{med(1, 'batch', 'per_s'):,.0f}",
        f"{batch:.2f}",
        f">= {BATCH_GOAL}",
        "yes" if batch >= BATCH_GOAL else "NO",
    )
    table.add_row(
        "single p99 ms",
        f"{med(0, 'single', 'p99_ms'):.1f}",
        f"{med(1, 'single', 'p99_ms'):.1f}",
        f"{p99:.2f}",
        f"<= {P99_GOAL}",
        "yes" if p99 <= P99_GOAL else "NO",
    )
    table.add_row(
        "single accruals/s",
        f"{med(0, 'single', 'per_s'):,.0f}",
        f"{med(1, 'single', 'per_s'):,.0f}",
        f"{single:.2f}",
        "-",
        "-",
    )
    per_earning = statistics.median(pair[1]["after_load"]["per_earning"] for pair in pairs)
    table.add_row("bonuses per earning coupon", "0", f"{per_earning:.2f}", "-", "-", "-")
    return table


def _rounds_table(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> Table:
    table = Table(title="each round: without -> with (ratio)")
    for column in ("round", "batch coupons/s", "single p99 ms", "single accruals/s"):
        table.add_column(column)
    for n, (without, with_promotions) in enumerate(pairs, 1):
        batch, p99, single = _ratios(without, with_promotions)
        table.add_row(
            str(n),
            f"{without['batch']['per_s']:,.0f} -> {with_promotions['batch']['per_s']:,.0f} ({batch:.2f})",
            f"{without['single']['p99_ms']:.1f} -> {with_promotions['single']['p99_ms']:.1f} ({p99:.2f})",
            f"{without['single']['per_s']:,.0f} -> {with_promotions['single']['per_s']:,.0f} ({single:.2f})",
        )
    return table


if __name__ == "__main__":
    sys.exit(main())
