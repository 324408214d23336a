"""JSON text for every JSON format (json, sarif, defectdojo, openvex): strict JSON only.

Python's json module writes ``NaN`` and ``Infinity`` by default, which no JSON parser accepts;
scores are checked where they are read, and this is the last guard.
"""

from __future__ import annotations

import json
from typing import Any

from brulee.errors import ReportError


def dump(value: Any) -> str:
    """``value`` as JSON text; ReportError for a number that is not finite."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise ReportError(f"cannot write JSON: {exc} (a score that is not a number?)") from exc
