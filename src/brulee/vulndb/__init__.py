"""The offline vulnerability database: NVD CVEs, CISA KEV, FIRST EPSS and the Debian security
tracker's advisories and CPE map in one SQLite file.

``build`` imports source files into it, ``store`` reads it, ``meta`` describes it.
"""

from __future__ import annotations

import re

from brulee.errors import EXIT_RUNTIME, EXIT_USAGE, BruleeError

SCHEMA_VERSION = 2
"""Version of ``schema.sql``; a database with another version must be rebuilt."""


class DatabaseError(BruleeError):
    """The vulnerability database is missing, unusable, locked or of another schema version."""

    exit_code = EXIT_RUNTIME


class FeedError(BruleeError):
    """An input file is not a valid NVD, KEV, EPSS or Debian security tracker file."""

    exit_code = EXIT_USAGE


_ESCAPE = re.compile(r"\\(.)")


def index_name(value: str) -> str:
    """A CPE vendor or product as the index stores it: backslash escapes removed, lowercase.

    ``tcl\\/tk`` (CPE 2.3 formatted string) and ``tcl/tk`` both give ``tcl/tk``.
    """
    return _ESCAPE.sub(r"\1", value).lower() if "\\" in value else value.lower()
