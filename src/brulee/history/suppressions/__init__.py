"""Suppressions: a YAML file (``load``), entries kept in the history store, or OpenVEX
statements (``vex``), applied to a report's services (``apply``)."""

from __future__ import annotations

from brulee.history.suppressions.apply import Suppressions
from brulee.history.suppressions.load import SuppressionError, load_suppressions, parse_suppression
from brulee.history.suppressions.vex import VexError, load_vex

__all__ = [
    "SuppressionError",
    "Suppressions",
    "VexError",
    "load_suppressions",
    "load_vex",
    "parse_suppression",
]
