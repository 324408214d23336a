"""The SQL of the history store: recording a scan and the first-seen dates of its findings,
reading scans and suppressions back, and comparing two scans. Written once, in SQLite's SQL with
``?`` or ``:name`` parameters (the PostgreSQL backend translates the marks).

Findings are compared per pair of services (the one at a port in each scan), then spread over
the ports of each pair, so that the cost grows with the ports, not with ports times
vulnerabilities; only the changes are ever read out, one group at a time.
"""

# ruff: noqa: S608 - every statement is built from constant fragments, never from data

from __future__ import annotations

# -- recording a scan

INSERT_SCAN = (
    "INSERT INTO scans (recorded_at, scanned_at, kind, scope, targets, started, finished, "
    "incomplete, hosts_up, hosts_down, site, shard, location, outcome, scanned, options, "
    "reported) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)
REPORTED = "UPDATE scans SET reported = 1 WHERE id = ?"
INSERT_SERVICE = "INSERT INTO scan_services VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_FINDING = "INSERT INTO scan_findings VALUES (?, ?, ?, ?, ?, ?, ?)"
INSERT_PORT_SET = (
    "INSERT INTO scan_port_sets (scan_id, c, protocol, low, high) VALUES (?, ?, ?, ?, ?)"
)
# A location listed under two services (overlapping merged shards) is kept once.
INSERT_PORTS = (
    "INSERT INTO scan_ports (scan_id, address, protocol, port, n, sort) "
    "SELECT ?, address, protocol, port, MIN(n), sort FROM staged_ports "
    "GROUP BY address, protocol, port, sort"
)
INSERT_HOSTS = (
    "INSERT INTO scan_hosts (scan_id, address, hostname, sort, port_set, timed_out) "
    "SELECT ?, address, MAX(hostname), sort, MAX(port_set), MAX(timed_out) "
    "FROM staged_hosts GROUP BY address, sort"
)
# Findings: each service's vulnerabilities times its ports.
COUNTS = (
    "UPDATE scans SET ports = (SELECT COUNT(*) FROM scan_ports WHERE scan_id = :scan), "
    "findings = (SELECT COALESCE(SUM(c.ports * (SELECT COUNT(*) FROM scan_findings f "
    "WHERE f.scan_id = :scan AND f.n = c.n)), 0) FROM (SELECT n, COUNT(*) AS ports "
    "FROM scan_ports WHERE scan_id = :scan GROUP BY n) c) WHERE id = :scan"
)

# -- first-seen dates (parameters :scan, :site, :seen, :base), under the store's write lock

_AT = (  # the same location as a row ``p`` of scan_ports, in a table aliased {0}
    "{0}.address = p.address AND {0}.protocol = p.protocol AND {0}.port = p.port"
)
LATER_SCAN = "SELECT 1 FROM scans WHERE site = :site AND scanned_at > :seen LIMIT 1"
# Only after a later-dated scan was recorded first (a late `brulee report` of old XML): the
# ports this scan found open earlier than known become first seen by it, keeping the dates of
# the findings first seen there that it did not have.
KEEP_LATER_DATES = (
    "INSERT INTO first_seen (site, address, protocol, port, cve, seen, scan_id) "
    "SELECT ps.site, ps.address, ps.protocol, ps.port, i.cve, ps.seen, ps.scan_id "
    f"FROM scan_ports p JOIN port_seen ps ON ps.site = :site AND {_AT.format('ps')} "
    "AND ps.seen > :seen JOIN scan_findings i ON i.scan_id = ps.scan_id AND i.n = ps.n "
    "WHERE p.scan_id = :scan AND NOT EXISTS (SELECT 1 FROM scan_findings f "
    "WHERE f.scan_id = :scan AND f.n = p.n AND f.cve = i.cve) AND NOT EXISTS (SELECT 1 "
    "FROM first_seen fs WHERE fs.site = :site AND fs.address = ps.address "
    "AND fs.protocol = ps.protocol AND fs.port = ps.port AND fs.cve = i.cve)"
)
SEEN_EARLIER = (
    "UPDATE first_seen SET seen = :seen, scan_id = :scan WHERE site = :site AND seen > :seen "
    "AND EXISTS (SELECT 1 FROM scan_ports p JOIN scan_findings f ON f.scan_id = p.scan_id "
    "AND f.n = p.n WHERE p.scan_id = :scan AND p.address = first_seen.address "
    "AND p.protocol = first_seen.protocol AND p.port = first_seen.port AND f.cve = first_seen.cve)"
)
PORT_SEEN_EARLIER = (
    "UPDATE port_seen SET seen = :seen, scan_id = :scan, n = (SELECT p.n FROM scan_ports p "
    "WHERE p.scan_id = :scan AND p.address = port_seen.address AND p.protocol = "
    "port_seen.protocol AND p.port = port_seen.port) WHERE site = :site AND seen > :seen "
    "AND EXISTS (SELECT 1 FROM scan_ports p WHERE p.scan_id = :scan AND p.address = "
    "port_seen.address AND p.protocol = port_seen.protocol AND p.port = port_seen.port)"
)
# What scans of the scope (:scope) that never reported first saw, this scan saw again: first seen
# by it (a retry after a failed run reports it new, as the failed run could not).
_UNREPORTED = (
    "scan_id IN (SELECT id FROM scans WHERE scope = :scope AND reported = 0 AND id <> :scan)"
)
PORT_SEEN_UNREPORTED = (
    "UPDATE port_seen SET seen = :seen, scan_id = :scan, n = (SELECT p.n FROM scan_ports p "
    "WHERE p.scan_id = :scan AND p.address = port_seen.address AND p.protocol = "
    f"port_seen.protocol AND p.port = port_seen.port) WHERE site = :site AND {_UNREPORTED} "
    "AND EXISTS (SELECT 1 FROM scan_ports p WHERE p.scan_id = :scan AND p.address = "
    "port_seen.address AND p.protocol = port_seen.protocol AND p.port = port_seen.port)"
)
FIRST_SEEN_UNREPORTED = (
    f"UPDATE first_seen SET seen = :seen, scan_id = :scan WHERE site = :site AND {_UNREPORTED} "
    "AND EXISTS (SELECT 1 FROM scan_ports p JOIN scan_findings f ON f.scan_id = p.scan_id "
    "AND f.n = p.n WHERE p.scan_id = :scan AND p.address = first_seen.address "
    "AND p.protocol = first_seen.protocol AND p.port = first_seen.port AND f.cve = first_seen.cve)"
)
# Ports never seen open at the site: all their findings are first seen now.
NEW_PORTS_SEEN = (
    "INSERT INTO port_seen (site, address, protocol, port, seen, scan_id, n) "
    "SELECT :site, p.address, p.protocol, p.port, :seen, :scan, p.n FROM scan_ports p "
    "WHERE p.scan_id = :scan AND NOT EXISTS (SELECT 1 FROM port_seen ps "
    f"WHERE ps.site = :site AND {_AT.format('ps')})"
)
# Ports seen before: the findings that were not there in the last scan of the scope (:base)
# and were never seen there get their own date.
REC_PAIRS = (
    "INSERT INTO rec_pairs SELECT p.address, p.protocol, p.port, p.n, COALESCE(q.n, -1) "
    f"FROM scan_ports p JOIN port_seen ps ON ps.site = :site AND {_AT.format('ps')} "
    "AND ps.scan_id <> :scan LEFT JOIN scan_ports q ON q.scan_id = :base "
    f"AND {_AT.format('q')} WHERE p.scan_id = :scan"
)
REC_DELTA = (
    "INSERT INTO rec_delta SELECT k.n, k.m, f.cve FROM (SELECT DISTINCT n, m FROM rec_pairs) k "
    "JOIN scan_findings f ON f.scan_id = :scan AND f.n = k.n WHERE NOT EXISTS (SELECT 1 "
    "FROM scan_findings g WHERE g.scan_id = :base AND g.n = k.m AND g.cve = f.cve)"
)
NEW_FINDINGS_SEEN = (
    "INSERT INTO first_seen (site, address, protocol, port, cve, seen, scan_id) "
    "SELECT :site, x.address, x.protocol, x.port, d.cve, :seen, :scan FROM rec_delta d "
    "JOIN rec_pairs x ON x.n = d.n AND x.m = d.m WHERE NOT EXISTS (SELECT 1 FROM first_seen fs "
    "WHERE fs.site = :site AND fs.address = x.address AND fs.protocol = x.protocol "
    "AND fs.port = x.port AND fs.cve = d.cve) AND NOT EXISTS (SELECT 1 FROM port_seen ps "
    "JOIN scan_findings i ON i.scan_id = ps.scan_id AND i.n = ps.n AND i.cve = d.cve "
    "WHERE ps.site = :site AND ps.address = x.address AND ps.protocol = x.protocol "
    "AND ps.port = x.port)"
)

# -- reading scans back (rows for ScanRef)

_SCAN_COLUMNS = (
    "id, recorded_at, scanned_at, kind, scope, targets, started, finished, outcome, "
    "hosts_up, hosts_down, site, shard, location, ports, findings, scanned, options, reported"
)
SCAN = f"SELECT {_SCAN_COLUMNS} FROM scans WHERE id = ?"
LATEST_SCANS = f"SELECT {_SCAN_COLUMNS} FROM scans ORDER BY id DESC LIMIT ?"
LATEST_SCANS_OF_SCOPE = (
    f"SELECT {_SCAN_COLUMNS} FROM scans WHERE scope = ? ORDER BY id DESC LIMIT ?"
)
# The scans of a scope dated before a scan (:scope, :seen, :id), latest first, that also meet
# one of the conditions below: the candidates for its baseline.
EARLIER_OF_SCOPE = (
    f"SELECT {_SCAN_COLUMNS} FROM scans WHERE scope = :scope AND id <> :id AND reported = 1 "
    "AND (scanned_at < :seen OR (scanned_at = :seen AND id < :id)){} "
    "ORDER BY scanned_at DESC, id DESC LIMIT :limit"
)
SAME_VIEW = " AND scanned = :scanned AND options = :options"
"""Looked at the same ports (:scanned) with the same options (:options)."""
GOOD = SAME_VIEW + " AND outcome IN ('complete', 'partial')"
"""... and ended well (hosts given up on aside)."""
LATER_THAN = " AND (scanned_at > :after OR (scanned_at = :after AND id > :after_id))"
"""Dated after a scan (:after, :after_id)."""
# -- trends: the scans of a scope up to one (:scope, :seen, :id), latest first (:limit); open
# findings per severity of a scan (:scan); findings of :new at a location where :old had none of
# that CVE; findings of :old gone from a host that :new found up
TREND_SCANS = (
    f"SELECT {_SCAN_COLUMNS} FROM scans WHERE scope = :scope AND outcome IN ('complete', "
    "'partial') AND reported = 1 AND (scanned_at < :seen OR (scanned_at = :seen AND id < :id)) "
    "ORDER BY scanned_at DESC, id DESC LIMIT :limit"
)
_LOCATED = (
    "SELECT p.address, p.protocol, p.port, f.cve FROM scan_findings f JOIN scan_ports p "
    "ON p.scan_id = f.scan_id AND p.n = f.n WHERE f.scan_id = {}"
)
TREND_OPEN = (
    "SELECT f.severity, COUNT(*) FROM scan_findings f JOIN scan_ports p "
    "ON p.scan_id = f.scan_id AND p.n = f.n WHERE f.scan_id = :scan GROUP BY f.severity"
)
TREND_NEW = f"SELECT COUNT(*) FROM ({_LOCATED.format(':new')} EXCEPT {_LOCATED.format(':old')}) d"
TREND_FIXED = (
    f"SELECT COUNT(*) FROM ({_LOCATED.format(':old')} EXCEPT {_LOCATED.format(':new')}) d "
    "WHERE d.address IN (SELECT address FROM scan_hosts WHERE scan_id = :new)"
)
LAST_OF_SCOPE = "SELECT MAX(id) FROM scans WHERE scope = :scope AND id < :id AND reported = 1"

# -- alerts owed to webhooks

INSERT_ALERT = (
    "INSERT INTO pending_alerts (created_at, scan_id, target, total, body) VALUES (?, ?, ?, ?, ?)"
)
PENDING_ALERTS = (
    "SELECT id, scan_id, total, body, attempts FROM pending_alerts WHERE target = ? ORDER BY id"
)
FORGET_ALERT = "DELETE FROM pending_alerts WHERE id = ?"
DROP_STALE_ALERTS = "DELETE FROM pending_alerts WHERE created_at < ? RETURNING scan_id"
ALERT_FAILED = "UPDATE pending_alerts SET attempts = attempts + 1 WHERE id = ?"

# -- suppressions

INSERT_SUPPRESSION = "INSERT INTO suppressions (created_at, entry) VALUES (?, ?) RETURNING id"
SUPPRESSIONS = "SELECT id, entry FROM suppressions ORDER BY id"
SUPPRESSION = "SELECT id FROM suppressions WHERE id = ?"
DELETE_SUPPRESSION = "DELETE FROM suppressions WHERE id = ?"

# -- comparing :scan with :other (comparison :k; first-seen dates from the site :site, :now
#    the date of :scan)

SERVICES = "SELECT n, label FROM scan_services WHERE scan_id = ?"
FINDINGS = "SELECT n, cve, severity, cvss, kev, confidence FROM scan_findings WHERE scan_id = ?"
# Every port of :scan, with the service at the same port in :other (-1: not open there); fresh:
# this scan is the first of the site that found it open; looked: it completed its host (where
# it gave up, a service found with less detail proves nothing).
PAIRS_NOW = (
    "INSERT INTO cmp_pairs SELECT :k, p.n, COALESCE(q.n, -1), p.sort, p.protocol, p.port, "
    "p.address, COALESCE(h.hostname, ''), CASE WHEN EXISTS (SELECT 1 FROM port_seen ps "
    f"WHERE ps.site = :site AND {_AT.format('ps')} AND ps.scan_id = :scan) THEN 1 ELSE 0 END, "
    "CASE WHEN h.port_set IS NULL THEN 0 ELSE 1 END "
    f"FROM scan_ports p LEFT JOIN scan_ports q ON q.scan_id = :other AND {_AT.format('q')} "
    "LEFT JOIN scan_hosts h ON h.scan_id = :scan AND h.address = p.address "
    "WHERE p.scan_id = :scan"
)
# Every port of :other not open in :scan; looked: :scan looked at it (its host completed, the
# port among those it scanned there).
PAIRS_BEFORE = (
    "INSERT INTO cmp_pairs SELECT :k, -1, p.n, p.sort, p.protocol, p.port, p.address, "
    "COALESCE(h.hostname, o.hostname, ''), 0, CASE WHEN (SELECT r.high "
    "FROM scan_port_sets r WHERE r.scan_id = :scan AND r.c = h.port_set "
    "AND r.protocol = p.protocol AND r.low <= p.port ORDER BY r.low DESC LIMIT 1) >= p.port "
    "THEN 1 ELSE 0 END FROM scan_ports p "
    "LEFT JOIN scan_hosts h ON h.scan_id = :scan AND h.address = p.address "
    "LEFT JOIN scan_hosts o ON o.scan_id = :other AND o.address = p.address "
    "WHERE p.scan_id = :other AND NOT EXISTS (SELECT 1 FROM scan_ports q "
    f"WHERE q.scan_id = :scan AND {_AT.format('q')})"
)
CLASSES = "SELECT n, m, COUNT(*), SUM(looked), SUM(fresh) FROM cmp_pairs WHERE k = :k GROUP BY n, m"
INSERT_GROUP = "INSERT INTO cmp_groups VALUES (?, ?, ?, ?, ?)"


def _first_seen(cve: str) -> str:
    """When the finding ``cve`` at the port ``x`` was first seen at the site :site."""
    return (
        "COALESCE((SELECT fs.seen FROM first_seen fs WHERE fs.site = :site "
        "AND fs.address = x.address AND fs.protocol = x.protocol AND fs.port = x.port "
        f"AND fs.cve = {cve}), (SELECT ps.seen FROM port_seen ps WHERE ps.site = :site "
        "AND ps.address = x.address AND ps.protocol = x.protocol AND ps.port = x.port "
        "AND EXISTS (SELECT 1 FROM scan_findings i WHERE i.scan_id = ps.scan_id AND i.n = ps.n "
        f"AND i.cve = {cve})), :now)"
    )


# The ports of one pair of services (:n, :m), in address order (the index's), or of a whole
# group :g of pairs (sorted). Appeared findings at a port this scan was the first to find open
# are new: no first-seen lookup for those.
_PART = "FROM cmp_pairs x WHERE x.k = :k AND x.n = :n AND x.m = :m"
_GROUP = (
    "FROM cmp_groups g JOIN cmp_pairs x ON x.k = g.k AND x.n = g.n AND x.m = g.m "
    "WHERE g.k = :k AND g.g = :g"
)
_COLUMNS = "SELECT x.address, x.hostname, x.protocol, x.port, {seen} AS seen, x.sort"
_APPEARED = "CASE WHEN x.fresh = 1 THEN :now ELSE {} END"
_LOOKED = " AND x.looked = 1"  # gone where :scan looked: fixed, closed, changed version
_ORDER = " ORDER BY sort, protocol, port"


def _rows(seen: str, source: str, where: str = "", cve: str = ":cve") -> str:
    inner = _COLUMNS.format(seen=seen.format(_first_seen(cve))) + f" {source}"
    return f"SELECT address, hostname, protocol, port, seen FROM ({inner}) t{where}{_ORDER}"


NEW_IN_PART = _rows(_APPEARED, _PART, " WHERE seen >= :now")
NEW_IN_GROUP = _rows(_APPEARED, _GROUP, " WHERE seen >= :now", cve="g.cve")
REAPPEARED_IN_PART = _rows(_APPEARED, _PART, " WHERE seen < :now")
REAPPEARED_IN_GROUP = _rows(_APPEARED, _GROUP, " WHERE seen < :now", cve="g.cve")
FIXED_IN_PART = _rows("{}", _PART + _LOOKED)
FIXED_IN_GROUP = _rows("{}", _GROUP + _LOOKED, cve="g.cve")
_NEW_OR_LOOKED = " AND (x.m < 0 OR x.looked = 1)"  # a new port is new wherever it was seen
PORTS_IN_PART = _rows("''", _PART + _NEW_OR_LOOKED)
PORTS_IN_GROUP = _rows("''", _GROUP + _NEW_OR_LOOKED)
APPEARED_COUNTS = (
    "SELECT g, SUM(CASE WHEN seen >= :now THEN 1 ELSE 0 END), COUNT(*) FROM (SELECT g.g, "
    + _APPEARED.format(_first_seen("g.cve"))
    + " AS seen FROM cmp_groups g JOIN cmp_pairs x ON x.k = g.k AND x.n = g.n AND x.m = g.m "
    "WHERE g.k = :k AND g.g >= :first AND g.g < :end) t GROUP BY g"
)
"""Per group of appeared findings (numbered from :first to :end): how many of its locations
are new, of how many."""
_MISSING = (
    "FROM scan_hosts h WHERE h.scan_id = :other AND NOT EXISTS (SELECT 1 FROM scan_hosts x "
    "WHERE x.scan_id = :scan AND x.address = h.address)"
)
_GIVEN_UP = (
    "FROM scan_hosts h WHERE h.scan_id = :other AND EXISTS (SELECT 1 FROM scan_hosts x "
    "WHERE x.scan_id = :scan AND x.address = h.address AND x.port_set IS NULL)"
)
HOSTS_COUNT = f"SELECT (SELECT COUNT(*) {_MISSING}), (SELECT COUNT(*) {_GIVEN_UP})"
MISSING_HOSTS = f"SELECT h.address {_MISSING} ORDER BY h.sort, h.address"
"""Up in :other, not found up by :scan."""
GIVEN_UP_HOSTS = f"SELECT h.address {_GIVEN_UP} ORDER BY h.sort, h.address"
"""Up in :other, up in :scan but not looked at (given up on)."""
