"""Errors: one BruleeError subclass per stage, each carrying the process exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_RUNTIME = 3


class BruleeError(Exception):
    """An error the CLI reports as one line and maps to ``exit_code``."""

    exit_code = EXIT_RUNTIME


class UsageError(BruleeError):
    """Bad flags or arguments."""

    exit_code = EXIT_USAGE


class TargetError(BruleeError):
    """A target, target file or exclusion that cannot be accepted."""

    exit_code = EXIT_USAGE


class NmapError(BruleeError):
    """Nmap is missing, refused an argument, or failed."""

    exit_code = EXIT_RUNTIME


class NmapArgsError(NmapError):
    """User-supplied Nmap arguments that brulee refuses."""

    exit_code = EXIT_USAGE


class ParseError(BruleeError):
    """Malformed or hostile Nmap XML."""

    exit_code = EXIT_USAGE


class ReportError(BruleeError):
    """A report could not be rendered (for example no TeX for PDF)."""

    exit_code = EXIT_RUNTIME


class OutputError(BruleeError):
    """Results could not be written to their destination."""

    exit_code = EXIT_RUNTIME


class DatabaseError(BruleeError):
    """The vulnerability database is missing, unusable, locked or of another schema version."""

    exit_code = EXIT_RUNTIME


class FeedError(BruleeError):
    """An input file is not a valid NVD, KEV, EPSS or Debian security tracker file."""

    exit_code = EXIT_USAGE


class HistoryError(BruleeError):
    """The history store is unreachable, unusable, busy for too long, or newer than brulee."""

    exit_code = EXIT_RUNTIME
