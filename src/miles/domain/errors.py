"""One error tree with stable codes. HTTP statuses are assigned in miles.http_errors, nowhere else (the
API and the console both answer from it)."""

from __future__ import annotations


class MilesError(Exception):
    """Base of every error the engine reports to a caller."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def as_dict(self) -> dict[str, str]:
        body = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class InvalidInput(MilesError):
    """The request itself is wrong: a field that breaks a rule."""

    code = "invalid_input"


class InsufficientMiles(InvalidInput):
    """An award costs more than the member's available miles (balance - pending holds)."""

    code = "insufficient_miles"

    def __init__(self, needed: int, available: int) -> None:
        self.missing_miles = needed - available
        super().__init__(
            f"not enough miles: the award costs {needed}, {available} are available, "
            f"{self.missing_miles} missing",
            field="member_number",
        )


class SupplierUnavailable(MilesError):
    """A supplier (award seats, hotels, baggage) did not answer; nothing was changed, retry later."""

    code = "supplier_unavailable"


class SupplierTimeout(SupplierUnavailable):
    """A supplier did not answer in time: it may or may not have done what was asked; only asking
    again by key tells."""

    code = "supplier_timeout"


class NotFound(MilesError):
    code = "not_found"


class Conflict(MilesError):
    """The request collides with what is recorded (idempotency key reused with another body...)."""

    code = "conflict"


class SupplierRefused(Conflict):
    """A supplier's definite no (no seats, hotel full...): nothing was booked; `reason` is theirs."""

    code = "supplier_refused"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CouponRaced(Conflict):
    """A coupon of this request was recorded by a concurrent request meanwhile: the use case runs again
    afresh (the service layer retries it); if it still races, the caller is told to try again."""

    code = "coupon_raced"

    def __init__(
        self, message: str = "this coupon was sent by another request at the same moment: try again"
    ) -> None:
        super().__init__(message)


class BudgetMoved(Conflict):
    """A promotion budget this request read without a lock was spent by another meanwhile, below what
    the request would spend: the use case runs again with the budgets locked from the start (the
    service layer does it; a caller never sees this)."""

    code = "budget_moved"

    def __init__(self) -> None:
        super().__init__("a promotion budget moved while this request was planned: run it again")


class Unauthorized(MilesError):
    code = "unauthorized"


class Forbidden(MilesError):
    code = "forbidden"


class ProgrammeError(MilesError):
    """A rules file that does not validate; carries every problem with its path."""

    code = "invalid_programme"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = [f"{path}: {msg}" for path, msg in problems]
        super().__init__("the programme file is invalid:\n  " + "\n  ".join(lines))
