"""The SQL of the history store: recording a scan, reading scans and suppressions back, and
comparing two scans. Written once, in SQLite's SQL with ``?`` or ``:name`` parameters (the
PostgreSQL backend translates the marks).

Comparing a scan with another one (parameters ``:scan``, ``:other``) starts from its ports
paired with the same ports there; findings are compared once per distinct pair of services,
then spread over the ports, so the cost grows with the ports, not with ports times
vulnerabilities.
"""

from __future__ import annotations

# -- recording a scan

INSERT_SCAN = (
    "INSERT INTO scans (recorded_at, scanned_at, kind, scope, targets, started, finished, "
    "incomplete, hosts_up, hosts_down, site, shard, location) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)
INSERT_SERVICE = "INSERT INTO scan_services VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_FINDING = "INSERT INTO scan_findings VALUES (?, ?, ?, ?, ?, ?, ?)"
# A location listed under two services (overlapping merged shards) is kept once.
INSERT_PORTS = (
    "INSERT INTO scan_ports SELECT ?, address, protocol, port, MIN(n) FROM staged_ports "
    "GROUP BY address, protocol, port"
)
INSERT_HOSTS = (
    "INSERT INTO scan_hosts SELECT ?, address, MAX(hostname) FROM staged_hosts GROUP BY address"
)
# First-seen dates: writers hold the store's lock, so plain statements cannot conflict.
_SEEN_AT = (
    "FROM scan_ports p JOIN scan_findings f ON f.scan_id = p.scan_id AND f.n = p.n "
    "WHERE p.scan_id = :scan AND {} EXISTS (SELECT 1 FROM first_seen o WHERE o.site = :site "
    "AND o.address = p.address AND o.protocol = p.protocol AND o.port = p.port AND o.cve = f.cve"
)
FIRST_SEEN = (
    "INSERT INTO first_seen (site, address, protocol, port, cve, seen, scan_id) "
    "SELECT :site, p.address, p.protocol, p.port, f.cve, :seen, p.scan_id "
    + _SEEN_AT.format("NOT")
    + ")"
)
# Only when a scan dated later was recorded before (a late `brulee report` of old XML).
SEEN_EARLIER = (
    "UPDATE first_seen SET seen = :seen, scan_id = :scan WHERE site = :site AND seen > :seen "
    "AND EXISTS (SELECT 1 FROM scan_ports p JOIN scan_findings f ON f.scan_id = p.scan_id "
    "AND f.n = p.n WHERE p.scan_id = :scan AND p.address = first_seen.address "
    "AND p.protocol = first_seen.protocol AND p.port = first_seen.port AND f.cve = first_seen.cve)"
)
LATER_SCAN = "SELECT 1 FROM scans WHERE site = :site AND scanned_at > :seen LIMIT 1"
# Findings: each service's vulnerabilities times its ports.
COUNTS = (
    "UPDATE scans SET ports = (SELECT COUNT(*) FROM scan_ports WHERE scan_id = :scan), "
    "findings = (SELECT COALESCE(SUM(c.ports * (SELECT COUNT(*) FROM scan_findings f "
    "WHERE f.scan_id = :scan AND f.n = c.n)), 0) FROM (SELECT n, COUNT(*) AS ports "
    "FROM scan_ports WHERE scan_id = :scan GROUP BY n) c) WHERE id = :scan"
)

# -- reading scans back (rows for ScanRef)

_SCAN_COLUMNS = (
    "id, recorded_at, scanned_at, kind, scope, targets, started, finished, incomplete, "
    "hosts_up, hosts_down, site, shard, location, ports, findings"
)
SCAN = f"SELECT {_SCAN_COLUMNS} FROM scans WHERE id = ?"  # noqa: S608
PREVIOUS_SCAN = (
    f"SELECT {_SCAN_COLUMNS} FROM scans WHERE scope = ? AND id < ? "  # noqa: S608
    "ORDER BY id DESC LIMIT 1"
)
LATEST_SCANS = f"SELECT {_SCAN_COLUMNS} FROM scans ORDER BY id DESC LIMIT ?"  # noqa: S608
LATEST_SCANS_OF_SCOPE = (
    f"SELECT {_SCAN_COLUMNS} FROM scans WHERE scope = ? ORDER BY id DESC LIMIT ?"  # noqa: S608
)

# -- suppressions

INSERT_SUPPRESSION = "INSERT INTO suppressions (created_at, entry) VALUES (?, ?) RETURNING id"
SUPPRESSIONS = "SELECT id, entry FROM suppressions ORDER BY id"
SUPPRESSION = "SELECT id FROM suppressions WHERE id = ?"
DELETE_SUPPRESSION = "DELETE FROM suppressions WHERE id = ?"

# -- comparing a scan with another one

# Its ports paired with the same ports there (m, the service number there; -1 where the port
# is not open).
_PAIRS = (
    "WITH pairs AS (SELECT p.address, p.protocol, p.port, p.n, COALESCE(q.n, -1) AS m "
    "FROM scan_ports p LEFT JOIN scan_ports q ON q.scan_id = :other AND q.address = p.address "
    "AND q.protocol = p.protocol AND q.port = p.port WHERE p.scan_id = :scan"
)
_ON_HOSTS_UP = (  # absence means something only where the other scan found the host up
    " AND EXISTS (SELECT 1 FROM scan_hosts x WHERE x.scan_id = :other AND x.address = p.address)"
)
_HOSTNAME = (
    "COALESCE((SELECT h.hostname FROM scan_hosts h WHERE h.scan_id = :scan "
    "AND h.address = x.address), '')"
)
# Looked up per row returned (never joined whole: a fleet's table is large).
_FIRST_SEEN_AT = (
    "COALESCE((SELECT fs.seen FROM first_seen fs WHERE fs.site = :site AND fs.address = x.address "
    "AND fs.protocol = x.protocol AND fs.port = x.port AND fs.cve = d.cve), '')"
)
_SERVICE_AT = "JOIN scan_services s ON s.scan_id = :scan AND s.n = x.n "
# The findings of :scan that :other does not have at the same port.
_ONLY_IN_SCAN = (
    "), delta AS MATERIALIZED (SELECT k.n, k.m, f.cve, f.severity, f.cvss, f.kev, f.confidence "  # noqa: S608
    "FROM (SELECT DISTINCT n, m FROM pairs) k JOIN scan_findings f ON f.scan_id = :scan "
    "AND f.n = k.n WHERE NOT EXISTS (SELECT 1 FROM scan_findings g WHERE g.scan_id = :other "
    "AND g.n = k.m AND g.cve = f.cve)) "
    "SELECT d.cve, d.severity, d.cvss, d.kev, d.confidence, s.label, x.address, "
    f"{_HOSTNAME}, x.protocol, x.port, {_FIRST_SEEN_AT} "
    f"FROM delta d JOIN pairs x ON x.n = d.n AND x.m = d.m {_SERVICE_AT}"
)
# How many findings of :scan :other has at the same port.
_IN_BOTH = (
    "), kinds AS (SELECT n, m, COUNT(*) AS ports FROM pairs WHERE m >= 0 GROUP BY n, m) "
    "SELECT COALESCE(SUM(k.ports * (SELECT COUNT(*) FROM scan_findings f JOIN scan_findings g "
    "ON g.scan_id = :other AND g.n = k.m AND g.cve = f.cve WHERE f.scan_id = :scan "
    "AND f.n = k.n)), 0) FROM kinds k"
)
# The ports of :scan not open in :other.
_PORTS_ONLY_IN_SCAN = (
    "), x AS (SELECT * FROM pairs WHERE m = -1) "  # noqa: S608
    f"SELECT x.address, {_HOSTNAME}, x.protocol, x.port, s.label FROM x {_SERVICE_AT}"
)
# The ports open in both whose service label changed.
_CHANGED_SERVICES = (
    "), x AS (SELECT * FROM pairs WHERE m >= 0) "  # noqa: S608
    f"SELECT x.address, {_HOSTNAME}, x.protocol, x.port, o.label, s.label FROM x {_SERVICE_AT}"
    "JOIN scan_services o ON o.scan_id = :other AND o.n = x.m WHERE o.label <> s.label"
)

FINDINGS_ONLY_IN_SCAN = _PAIRS + _ONLY_IN_SCAN
"""Rows for TrackedFinding (``:site`` dates them)."""
FINDINGS_ONLY_IN_SCAN_WHERE_UP = _PAIRS + _ON_HOSTS_UP + _ONLY_IN_SCAN
"""The same, on the hosts :other found up only."""
FINDINGS_IN_BOTH = _PAIRS + _IN_BOTH
"""One row, one count."""
PORTS_ONLY_IN_SCAN = _PAIRS + _PORTS_ONLY_IN_SCAN
"""Rows for TrackedPort."""
PORTS_ONLY_IN_SCAN_WHERE_UP = _PAIRS + _ON_HOSTS_UP + _PORTS_ONLY_IN_SCAN
"""The same, on the hosts :other found up only."""
CHANGED_SERVICES = _PAIRS + _CHANGED_SERVICES
"""Rows for ServiceChange."""
MISSING_HOSTS = (
    "SELECT h.address FROM scan_hosts h WHERE h.scan_id = :other AND NOT EXISTS "
    "(SELECT 1 FROM scan_hosts x WHERE x.scan_id = :scan AND x.address = h.address)"
)
"""The hosts up in :other that :scan did not find up."""
