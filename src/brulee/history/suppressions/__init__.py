"""Suppressions: a YAML file (``load``) or entries kept in the history store, applied to a
report's services (``apply``)."""

from __future__ import annotations

from brulee.history.suppressions.apply import Suppressions
from brulee.history.suppressions.load import SuppressionError, load_suppressions, parse_suppression

__all__ = ["SuppressionError", "Suppressions", "load_suppressions", "parse_suppression"]
