"""The one mapping from the error tree (miles.domain.errors) to HTTP statuses and the title a page shows
above an error's message: the API (miles.api.errors) and the console (miles.console.page_errors) both
answer from it, nothing else assigns a status to a MilesError."""

from __future__ import annotations

from miles.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    MilesError,
    NotFound,
    SupplierUnavailable,
    Unauthorized,
)

STATUS: dict[type[MilesError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    Unauthorized: 401,
    Forbidden: 403,
    SupplierUnavailable: 503,
}
TITLES: dict[int, str] = {
    400: "Not possible",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible now",
    422: "Check what was entered",
    503: "Try again in a moment",
}


def status_of(error: MilesError) -> int:
    """The HTTP status of an error: its nearest class in the tree that has one (400 for none)."""
    return status_for(type(error))


def status_for(kind: type[MilesError]) -> int:
    """The HTTP status of a kind of error (a form refused by its own checks answers InvalidInput's)."""
    for cls in kind.__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def title_of(error: MilesError) -> str:
    return TITLES[status_of(error)]


def retry_after(error: MilesError) -> str | None:
    """Seconds to wait before retrying, for the errors a retry may cure."""
    return "1" if isinstance(error, SupplierUnavailable) else None
