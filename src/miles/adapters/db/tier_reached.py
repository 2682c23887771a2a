"""The tier each period's totals reach, kept by PostgreSQL beside them (`qualifying_totals.tier_reached`,
a stored generated column: `miles_tier_reached(metrics)`).

The function's body is the programme's thresholds written out as constants (miles.adapters.db.tier_rules,
the very expression the nightly would otherwise evaluate on the arrays). Installing a programme's body
rewrites, in the same transaction, every stored value it changes, so the function's body says what every
row holds. A transaction that reads `tier_reached` first makes sure that no install is under way or can
start before it ends (`readable_for`), and that the body is its programme's; else it reads the arrays (a
programme version with other thresholds taking effect, a database not yet upgraded).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from miles.adapters.db.tier_rules import TierRules
from miles.domain.programme.model import Programme

FUNCTION = "miles_tier_reached(numeric[])"


def body(programme: Programme) -> str:
    """The function's body for the programme: the rank of the tier a period's metrics earn."""
    earned = TierRules(programme, literal=True).earned("metrics")
    return f" SELECT CAST({earned} AS smallint) "


class TierReachedRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def installed(self) -> str | None:
        """The body in force (None: no such function, a database not yet migrated)."""
        return self.connection.execute(
            text(f"SELECT prosrc FROM pg_proc WHERE oid = to_regprocedure('{FUNCTION}')")
        ).scalar()

    def take_turn(self) -> None:
        """Wait for any other transaction that loads a programme or installs the function to end, and hold
        the others off until this one ends (a transaction-level advisory lock): so that what it reads as the
        programme in force is what it installs."""
        self.connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('miles.tier-reached'))"))

    def readable_for(self, programme: Programme) -> bool:
        """Whether this transaction may read the stored tiers reached as the programme's: their function is
        its, and stays so until the transaction ends (a row share lock, which an install's exclusive lock
        waits for; writers of the totals and plain reads are not held up by it)."""
        self.connection.execute(text("LOCK TABLE qualifying_totals IN ROW SHARE MODE"))
        return self.installed() == body(programme)

    def install(self, programme: Programme) -> int | None:
        """Make the function the programme's and every stored value its answer: None when it was already,
        else the rows rewritten. Writers of the totals, and the nights' readers of the stored values, wait
        meanwhile (an exclusive lock: plain reads go on), so no row is written with the body being replaced
        and no night reads a mixture."""
        wanted = body(programme)
        if self.installed() == wanted:
            return None
        self.connection.execute(text("LOCK TABLE qualifying_totals IN EXCLUSIVE MODE"))
        if self.installed() == wanted:  # a concurrent install made it while this one waited
            return None
        self.connection.exec_driver_sql(
            f"CREATE OR REPLACE FUNCTION {FUNCTION.replace('(numeric[])', '(metrics numeric[])')} "
            f"RETURNS smallint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $reached${wanted}$reached$"
        )
        # rewriting a row computes its generated column again, with the new body
        result = self.connection.execute(
            text(
                "UPDATE qualifying_totals SET metrics = metrics "
                "WHERE tier_reached IS DISTINCT FROM miles_tier_reached(metrics)"
            )
        )
        return int(result.rowcount)


__all__ = ["FUNCTION", "TierReachedRepository", "body"]
