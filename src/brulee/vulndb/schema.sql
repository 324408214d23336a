-- brulee vulnerability database. Keep SCHEMA_VERSION in brulee/vulndb/__init__.py in step.
-- Timestamps of CVEs are NVD's form in UTC ("2024-07-09T06:15:03.513"), so text order is time order.
-- JSON columns hold NVD's JSON verbatim (compact).

-- Key/value facts about the whole database: schema_version, created_at, built_at (UTC ISO 8601),
-- kev_catalog_version, kev_date_released, epss_model_version, epss_score_date, and coverage
-- (JSON list of "vendor:product"; present only when the NVD data covers just those products).
-- `brulee db update` adds last_update (its start, UTC ISO 8601), last_update:<source kind> (when that
-- source was last brought up to date) and update_source (feeds or api).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per imported file (latest import of that file name per kind). KEV, EPSS and the four Debian
-- security tracker files are snapshots: importing one replaces the previous one of its kind, and its row.
-- Canonical's CVE OVAL is a snapshot per Ubuntu release: importing one replaces that release's file.
CREATE TABLE source (
    kind             TEXT NOT NULL CHECK (kind IN ('nvd', 'kev', 'epss', 'debian-dsa', 'debian-dla',
                                                   'debian-cpe', 'debian-cpe-aliases',
                                                   'ubuntu-oval')),
    name             TEXT NOT NULL,      -- file name, without directory
    sha256           TEXT NOT NULL,      -- of the file as read
    size             INTEGER NOT NULL,
    content_sha256   TEXT NOT NULL,      -- of the decompressed content (what NVD's .meta files give)
    content_size     INTEGER NOT NULL,
    source_timestamp TEXT,               -- the source's own date: NVD feed/page `timestamp` (a bare
                                         -- record's lastModified), KEV dateReleased, EPSS score_date,
                                         -- a DSA/DLA list's newest advisory date (2023-04-01), an
                                         -- OVAL file's generator timestamp
    source_version   TEXT,               -- NVD feed `version`, KEV catalogVersion, EPSS model_version,
                                         -- the OVAL generator's version
    records          INTEGER NOT NULL,   -- records in the file (Debian: advisories, package;cpe
                                         -- lines, alias blocks; OVAL: CVE definitions)
    imported_at      TEXT NOT NULL,
    PRIMARY KEY (kind, name)
) WITHOUT ROWID;

CREATE TABLE cve (
    id                TEXT PRIMARY KEY,
    description       TEXT NOT NULL,     -- English
    published         TEXT NOT NULL,
    last_modified     TEXT NOT NULL,
    vuln_status       TEXT NOT NULL,
    source_identifier TEXT,
    cwes              TEXT NOT NULL,     -- JSON list of CWE ids from `weaknesses`, in NVD's order
    refs              TEXT NOT NULL,     -- JSON: `references` verbatim
    configurations    TEXT NOT NULL      -- JSON: `configurations` verbatim ([] when not analysed)
);

-- Every CVSS metric of every CVE. `best` marks the one that sets severity:
-- v4.0 > v3.1 > v3.0 > v2.0, Primary before Secondary, then NVD's order.
CREATE TABLE cvss_metric (
    cve_id   TEXT NOT NULL,
    version  TEXT NOT NULL CHECK (version IN ('2.0', '3.0', '3.1', '4.0')),
    source   TEXT NOT NULL,
    type     TEXT NOT NULL,              -- Primary or Secondary
    score    REAL NOT NULL,
    vector   TEXT NOT NULL,
    severity TEXT,
    best     INTEGER NOT NULL CHECK (best IN (0, 1))
);
CREATE INDEX cvss_metric_cve ON cvss_metric (cve_id, best);

-- (vendor, product) -> CVE, from every cpeMatch criteria of every configuration. vendor and product
-- are the CPE 2.3 fields with backslash escapes removed, lowercased ("tcl\/tk" -> "tcl/tk").
-- vulnerable = 1 when the pair occurs in a `vulnerable: true` entry of the CVE, 0 when it occurs only
-- as a platform condition.
CREATE TABLE product_cve (
    vendor     TEXT NOT NULL,
    product    TEXT NOT NULL,
    cve_id     TEXT NOT NULL,
    vulnerable INTEGER NOT NULL CHECK (vulnerable IN (0, 1)),
    PRIMARY KEY (vendor, product, cve_id)
) WITHOUT ROWID;
CREATE INDEX product_cve_cve ON product_cve (cve_id);

-- Rejected CVEs: removed from `cve`, remembered so that an older copy is not imported again.
CREATE TABLE rejected (
    cve_id        TEXT PRIMARY KEY,
    last_modified TEXT NOT NULL
) WITHOUT ROWID;

-- CISA Known Exploited Vulnerabilities catalog.
CREATE TABLE kev (
    cve_id            TEXT PRIMARY KEY,
    vendor_project    TEXT NOT NULL,
    product           TEXT NOT NULL,
    name              TEXT NOT NULL,     -- vulnerabilityName
    date_added        TEXT NOT NULL,
    due_date          TEXT NOT NULL,
    required_action   TEXT NOT NULL,
    known_ransomware  TEXT NOT NULL,     -- knownRansomwareCampaignUse: Known or Unknown
    notes             TEXT NOT NULL
) WITHOUT ROWID;

-- FIRST EPSS scores; model version and score date are in `meta`.
CREATE TABLE epss (
    cve_id     TEXT PRIMARY KEY,
    score      REAL NOT NULL,
    percentile REAL NOT NULL
) WITHOUT ROWID;

-- Debian security tracker (salsa.debian.org/security-tracker-team/security-tracker): DSA and DLA
-- lists (data/DSA/list, data/DLA/list), source package -> CPE (data/CPE/list) and CPE aliases
-- (data/CPE/aliases). Each file kind is a snapshot, replaced as a whole on import.

-- One row per advisory. `package` is the first name in the header ('' when it names none; a few old
-- advisories name several), `title` the header text after the names ("security update").
CREATE TABLE debian_advisory (
    id      TEXT PRIMARY KEY,            -- DSA-4280-1, DLA-3380-1 (a few old ones: DSA-1304)
    kind    TEXT NOT NULL CHECK (kind IN ('dsa', 'dla')),
    date    TEXT NOT NULL,               -- ISO date: 2018-08-22
    package TEXT NOT NULL,
    title   TEXT NOT NULL
) WITHOUT ROWID;

-- The CVE ids an advisory lists (its `{CVE-...}` lines).
CREATE TABLE debian_advisory_cve (
    advisory TEXT NOT NULL,
    cve_id   TEXT NOT NULL,
    PRIMARY KEY (advisory, cve_id)
) WITHOUT ROWID;

-- An advisory's `[release] - package ...` lines. status is 'fixed' when the line gives a version
-- (fixed_version, verbatim: 1:7.4p1-10+deb9u4), else the word in angle brackets ('not-affected',
-- 'unfixed', 'end-of-life') and fixed_version is NULL. note: the parenthesised remark, if any
-- ("medium", "Vulnerable code not present").
CREATE TABLE debian_fix (
    package       TEXT NOT NULL,         -- source package
    release       TEXT NOT NULL,         -- code name: stretch, buster...
    advisory      TEXT NOT NULL,
    fixed_version TEXT,
    status        TEXT NOT NULL,
    note          TEXT,
    CHECK ((status = 'fixed') = (fixed_version IS NOT NULL)),
    PRIMARY KEY (package, release, advisory)   -- the lookup: one package in one release
) WITHOUT ROWID;

-- Source package -> CPE vendor:product (data/CPE/list), names as in product_cve (index_name of the
-- percent-decoded CPE 2.2 field).
CREATE TABLE debian_cpe (
    vendor  TEXT NOT NULL,
    product TEXT NOT NULL,
    package TEXT NOT NULL,
    PRIMARY KEY (vendor, product, package)
) WITHOUT ROWID;

-- CPE alias blocks (data/CPE/aliases): the names of one block (grp: its number in the file, from
-- 1) denote the same product. Not transitive: a name's aliases are the names of its own blocks.
CREATE TABLE debian_cpe_alias (
    vendor  TEXT NOT NULL,
    product TEXT NOT NULL,
    grp     INTEGER NOT NULL,
    PRIMARY KEY (vendor, product, grp)
) WITHOUT ROWID;
CREATE INDEX debian_cpe_alias_grp ON debian_cpe_alias (grp);

-- Canonical's Ubuntu CVE OVAL (security-metadata.canonical.com/oval/com.ubuntu.<release>.cve.oval.xml.bz2),
-- one file per release; importing a release's file replaces everything held for that release.

-- The releases held: when Canonical generated the data, from which file, how many CVEs it tracks.
CREATE TABLE ubuntu_release (
    release   TEXT PRIMARY KEY,          -- code name: focal
    generated TEXT NOT NULL,             -- the file's generator timestamp, UTC ISO 8601
    source    TEXT NOT NULL,             -- the file's name, as in `source`
    cves      INTEGER NOT NULL           -- vulnerability definitions: CVEs tracked for the release
) WITHOUT ROWID;

-- The CVEs tracked for a release (one per definition; a CVE absent here is not tracked there).
CREATE TABLE ubuntu_cve (
    release     TEXT NOT NULL,
    cve_id      TEXT NOT NULL,
    priority    TEXT NOT NULL,           -- Canonical's: negligible, low, medium, high, critical...
    public_date TEXT NOT NULL,           -- as the file gives it: 2021-03-05 21:15:00 UTC
    usns        TEXT NOT NULL,           -- JSON list of the USNs it references: ["USN-4762-1"]
    PRIMARY KEY (release, cve_id)
) WITHOUT ROWID;

-- Canonical's status of a source package for a CVE in a release (the definition's criteria).
-- status: the Ubuntu CVE tracker's word. released / not-affected / pending give fixed_version, the
-- version the OVAL test requires (epoch included, but not "0:"; lower is vulnerable), when the file has one;
-- needed, needs-triage, deferred and ignored mean affected with no fix; 'conflicting' when the file
-- states two different things. note: the criterion's note when it is not the fixed version (a date,
-- a reason).
CREATE TABLE ubuntu_status (
    package       TEXT NOT NULL,         -- source package: openssh
    release       TEXT NOT NULL,
    cve_id        TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('released', 'not-affected', 'pending', 'needed',
                                                  'needs-triage', 'deferred', 'ignored',
                                                  'conflicting')),
    fixed_version TEXT,
    note          TEXT,
    PRIMARY KEY (package, release, cve_id)   -- the lookup: one package in one release
) WITHOUT ROWID;

INSERT INTO meta (key, value) VALUES ('schema_version', '3');
