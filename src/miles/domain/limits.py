"""What the columns can hold, for every entry point to check before the database sees a value: text
without control characters (PostgreSQL refuses NUL; the others have no place in a name, an e-mail, a
reason or a search) and ids within bigint."""

from __future__ import annotations

import re

BIGINT_MAX = 2**63 - 1
# C0 controls, DEL and C1 controls; multi-line text keeps tab, line feed and carriage return
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character(value: str, multiline: bool = False) -> int | None:
    """The position of the first control character in `value`, or None."""
    found = (CONTROL_MULTILINE if multiline else CONTROL).search(value)
    return found.start() if found else None
