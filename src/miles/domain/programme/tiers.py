"""The programme's tiers: an ordered ladder of codes, each reached by any one of its requirement sets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

Totals = Mapping[str, Decimal]  # a qualification period's value of each metric


class Perk(StrEnum):
    """What a tier may hold besides its earning."""

    MILES_NEVER_EXPIRE = "miles_never_expire"  # expiry policy `lots`: the member's lots do not expire
    CANCEL_FEE_WAIVED = "cancel_fee_waived"  # no fee when an award is cancelled


ZERO = Decimal(0)


@dataclass(frozen=True)
class Requirement:
    """An AND of `metric >= value`."""

    minimums: Mapping[str, Decimal]

    def met(self, totals: Totals) -> bool:
        for metric, value in self.minimums.items():
            if totals.get(metric, ZERO) < value:
                return False
        return True


@dataclass(frozen=True)
class TierDef:
    code: str
    name: str
    rank: int  # 0 for the base tier, then 1, 2, ... in the file's order
    requirements: tuple[Requirement, ...] = ()  # reached when any one is met; none for the base tier
    bonus_percent: int = 0  # the tier bonus, on base miles or on distance as each carrier says
    perks: frozenset[Perk] = frozenset()

    def reached_by(self, totals: Totals) -> bool:
        for requirement in self.requirements:
            if requirement.met(totals):
                return True
        return False


@dataclass(frozen=True)
class TierLadder:
    tiers: tuple[TierDef, ...]  # in order, the base tier first
    _by_code: Mapping[str, TierDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_code", {t.code: t for t in self.tiers})

    @property
    def base(self) -> TierDef:
        return self.tiers[0]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.tiers)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> TierDef:
        """The tier of a code; KeyError for a code the programme does not have."""
        return self._by_code[code]

    def rank(self, code: str) -> int:
        return self._by_code[code].rank

    def at(self, rank: int) -> TierDef:
        return self.tiers[max(0, min(rank, len(self.tiers) - 1))]

    def earned(self, totals: Totals) -> TierDef:
        """The highest tier one of whose requirement sets the totals meet; the base tier if none."""
        for tier in reversed(self.tiers[1:]):
            if tier.reached_by(totals):
                return tier
        return self.base

    def higher(self, a: str, b: str) -> str:
        return a if self.rank(a) >= self.rank(b) else b

    def above(self, code: str) -> tuple[TierDef, ...]:
        return self.tiers[self.rank(code) + 1 :]

    def with_perk(self, perk: Perk) -> frozenset[str]:
        return frozenset(t.code for t in self.tiers if perk in t.perks)
