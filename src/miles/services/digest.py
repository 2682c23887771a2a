"""A stable fingerprint of a request body, for replay-or-conflict decisions."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def request_digest(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
