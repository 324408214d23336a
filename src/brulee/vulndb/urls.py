"""Where ``brulee db update`` downloads from: the upstream URLs, the sources published as whole
snapshot files, and the file names of a mirror."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from brulee.vulndb.download import join
from brulee.vulndb.meta import SourceKind

NVD_FEEDS = "https://nvd.nist.gov/feeds/json/cve/2.0/"
NVD_API = "https://services.nvd.nist.gov/rest/json/cves/2.0"
KEV = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
EPSS = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"
DEBIAN_TRACKER = (
    "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/"
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A source published as one whole file, replaced on each update (everything but NVD)."""

    kind: SourceKind
    file: str
    """Its name in a mirror."""
    label: str


SNAPSHOTS = (
    Snapshot("kev", "known_exploited_vulnerabilities.json", "CISA KEV catalog"),
    Snapshot("epss", "epss_scores-current.csv.gz", "FIRST EPSS scores"),
    Snapshot("debian-dsa", "DSA-list", "Debian DSA list"),
    Snapshot("debian-dla", "DLA-list", "Debian DLA list"),
    Snapshot("debian-cpe", "CPE-list", "Debian CPE list"),
    Snapshot("debian-cpe-aliases", "CPE-aliases", "Debian CPE aliases"),
)
MIRROR_FILES = (
    "nvdcve-2.0-YYYY.json.gz",
    "nvdcve-2.0-YYYY.meta",
    "nvdcve-2.0-modified.json.gz",
    "nvdcve-2.0-modified.meta",
    "nvdcve-2.0-recent.json.gz",
    "nvdcve-2.0-recent.meta",
    *(s.file for s in SNAPSHOTS),
)
"""Every file of a mirror (``YYYY``: each year from ``feeds.FIRST_YEAR``)."""


@dataclass(frozen=True, slots=True)
class UpdateUrls:
    """Where each source is downloaded from. ``nvd_feeds`` is a directory (base URL)."""

    nvd_feeds: str = NVD_FEEDS
    nvd_api: str = NVD_API
    kev: str = KEV
    epss: str = EPSS
    debian_dsa: str = DEBIAN_TRACKER + "DSA/list"
    debian_dla: str = DEBIAN_TRACKER + "DLA/list"
    debian_cpe: str = DEBIAN_TRACKER + "CPE/list"
    debian_cpe_aliases: str = DEBIAN_TRACKER + "CPE/aliases"

    @classmethod
    def from_mirror(cls, base: str, *, nvd_api: str = NVD_API) -> UpdateUrls:
        """Every file from the mirror at ``base`` (a URL, or a directory path), the API aside."""
        root = base if "://" in base else Path(base).expanduser().resolve().as_uri()
        root = root.rstrip("/") + "/"
        return cls(
            nvd_feeds=root,
            nvd_api=nvd_api,
            **{s.kind.replace("-", "_"): join(root, s.file) for s in SNAPSHOTS},
        )

    def url_of(self, snapshot: Snapshot) -> str:
        """The URL of ``snapshot``'s file."""
        return str(getattr(self, snapshot.kind.replace("-", "_")))
