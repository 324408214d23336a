"""The offline vulnerability database: NVD CVEs, CISA KEV, FIRST EPSS and the Debian security
tracker's advisories and CPE map in one SQLite file.

``build`` imports source files into it, ``store`` reads it, ``meta`` describes it.
"""

from __future__ import annotations

SCHEMA_VERSION = 2
"""Version of ``schema.sql``; a database with another version must be rebuilt."""
