"""A refusal from the error tree as a console error page: the status and title from the one mapping the
API uses too (miles.http_errors), the error's own message below."""

from __future__ import annotations

from miles.console.security import PageError
from miles.domain.errors import MilesError
from miles.http_errors import status_of, title_of


def page_error(error: MilesError) -> PageError:
    return PageError(status_of(error), title_of(error), error.message)
