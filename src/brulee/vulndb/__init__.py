"""The offline vulnerability database: NVD CVEs, CISA KEV, FIRST EPSS, the Debian security
tracker's advisories and CPE map and Canonical's Ubuntu CVE OVAL in one SQLite file.

``build`` imports source files into it (``inputs`` reads them, ``importers`` holds one per
source), ``store`` reads it, ``meta`` describes it; ``update`` keeps it current (``feeds``,
``nvdapi``), ``mirror`` copies the upstream files for air-gapped use, ``transfer`` exports and
imports a built database.
"""

from __future__ import annotations

SCHEMA_VERSION = 3
"""Version of ``schema.sql``; a database with another version must be rebuilt."""
