"""The programme's tiers and thresholds as SQL: a tier code's rank in the ladder and back, the tier a
period's metrics earn, the lifetime tier a lifetime total reaches. The nightly requalification and the
tier-reached function are written with them, so that the two cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from miles.domain.programme.model import Programme

TIERS = "CAST(:tiers AS text[])"


def tier_rank_sql(column: str) -> str:
    """SQL: a tier code as its rank in the programme's ladder (0 for the base tier)."""
    return f"(array_position({TIERS}, {column}) - 1)"


def tier_name_sql(expression: str) -> str:
    """SQL: a tier rank as its code."""
    return f"({TIERS})[({expression}) + 1]"


@dataclass(frozen=True)
class TierRules:
    """The programme's thresholds and lifetime tiers as SQL expressions with their bound values (or, with
    `literal`, with the thresholds written out as constants, as the tier-reached function holds them)."""

    programme: Programme
    literal: bool = False

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tiers": list(self.programme.ladder.codes)}
        for tier in self.programme.ladder.tiers:
            for k, requirement in enumerate(tier.requirements):
                for j, value in enumerate(requirement.minimums.values()):
                    out[f"t{tier.rank}_{k}_{j}"] = value
        for i, life in enumerate(self.programme.qualification.lifetime):
            out[f"life{i}"] = life.at
        return out

    def _metric(self, metrics: str, code: str) -> str:
        return f"coalesce({metrics}[{self.programme.metric_codes.index(code) + 1}], 0)"

    def _minimum(self, rank: int, k: int, j: int, value: Decimal) -> str:
        return format(value, "f") if self.literal else f":t{rank}_{k}_{j}"

    def _reaches(self, metrics: str, rank: int) -> str:
        tier = self.programme.ladder.at(rank)
        codes = self.programme.metric_codes
        # a set's conditions in the metrics' order, not the file's: the same programme read from its file
        # or from its stored document (whose keys the database orders) writes the same expression
        sets = [
            "("
            + " AND ".join(
                f"{self._metric(metrics, code)} >= {self._minimum(rank, k, j, value)}"
                for j, (code, value) in sorted(
                    enumerate(r.minimums.items()), key=lambda item: codes.index(item[1][0])
                )
            )
            + ")"
            for k, r in enumerate(tier.requirements)
        ]
        return "(" + " OR ".join(sets) + ")"

    def earned(self, metrics: str) -> str:
        """SQL: the tier rank a period's metrics earn, like TierLadder.earned."""
        tiers = self.programme.ladder.tiers[1:]
        if not tiers:
            return "0"
        cases = " ".join(f"WHEN {self._reaches(metrics, t.rank)} THEN {t.rank}" for t in reversed(tiers))
        return f"(CASE {cases} ELSE 0 END)"

    def reaches_a_tier(self, metrics: str) -> str:
        """SQL: the metrics reach a tier above the base tier (a cheap test before `earned`): the first
        tier above the base is enough, as every set of a higher tier asks for more than one of the tier
        below (the loader refuses tiers out of order)."""
        return self._reaches(metrics, 1) if len(self.programme.ladder.tiers) > 1 else "false"

    def lifetime(self, total: str) -> str:
        """SQL: the lifetime tier rank a lifetime total reaches (0: none)."""
        rules = self.programme.qualification.lifetime
        if not rules:
            return "0"
        ladder = self.programme.ladder
        cases = [
            f"CASE WHEN {total} >= :life{i} THEN {ladder.rank(r.tier)} ELSE 0 END"
            for i, r in enumerate(rules)
        ]
        return f"greatest(0, {', '.join(cases)})"

    def lifetime_minimum(self) -> Any:
        return min((life.at for life in self.programme.qualification.lifetime), default=10**15)


__all__ = ["TierRules", "tier_name_sql", "tier_rank_sql"]
