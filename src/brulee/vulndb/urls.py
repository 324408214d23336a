"""Where ``brulee db update`` downloads from: the upstream URLs, the sources published as whole
snapshot files, and the file names of a mirror."""

from __future__ import annotations

from collections.abc import Iterable
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
UBUNTU_OVAL = "https://security-metadata.canonical.com/oval/"
UBUNTU_OVAL_RELEASES = ("trusty", "xenial", "bionic", "focal", "jammy", "noble")
"""The Ubuntu releases whose CVE OVAL ``db update`` fetches: the LTS releases Canonical still
supports (the older ones through Ubuntu Pro). Interim releases live nine months: import their
files by hand (``brulee db import com.ubuntu.RELEASE.cve.oval.xml.bz2``)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A source published as one whole file, replaced on each update (everything but NVD)."""

    kind: SourceKind
    file: str
    """Its name in a mirror (and upstream, for Ubuntu's OVAL)."""
    label: str
    release: str = ""
    """The Ubuntu release of an OVAL file: Canonical publishes one per release, under one base
    URL; '' for the sources published as one file with its own URL."""


def snapshots(ubuntu_releases: Iterable[str] = UBUNTU_OVAL_RELEASES) -> tuple[Snapshot, ...]:
    """Every snapshot source, with the CVE OVAL of these Ubuntu releases."""
    return (
        Snapshot("kev", "known_exploited_vulnerabilities.json", "CISA KEV catalog"),
        Snapshot("epss", "epss_scores-current.csv.gz", "FIRST EPSS scores"),
        Snapshot("debian-dsa", "DSA-list", "Debian DSA list"),
        Snapshot("debian-dla", "DLA-list", "Debian DLA list"),
        Snapshot("debian-cpe", "CPE-list", "Debian CPE list"),
        Snapshot("debian-cpe-aliases", "CPE-aliases", "Debian CPE aliases"),
        *(
            Snapshot("ubuntu-oval", f"com.ubuntu.{r}.cve.oval.xml.bz2", f"Ubuntu {r} OVAL", r)
            for r in ubuntu_releases
        ),
    )


SNAPSHOTS = snapshots()
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
    """Where each source is downloaded from. ``nvd_feeds`` and ``ubuntu_oval`` are directories
    (base URLs)."""

    nvd_feeds: str = NVD_FEEDS
    nvd_api: str = NVD_API
    kev: str = KEV
    epss: str = EPSS
    debian_dsa: str = DEBIAN_TRACKER + "DSA/list"
    debian_dla: str = DEBIAN_TRACKER + "DLA/list"
    debian_cpe: str = DEBIAN_TRACKER + "CPE/list"
    debian_cpe_aliases: str = DEBIAN_TRACKER + "CPE/aliases"
    ubuntu_oval: str = UBUNTU_OVAL

    @classmethod
    def from_mirror(cls, base: str, *, nvd_api: str = NVD_API) -> UpdateUrls:
        """Every file from the mirror at ``base`` (a URL, or a directory path), the API aside."""
        root = base if "://" in base else Path(base).expanduser().resolve().as_uri()
        root = root.rstrip("/") + "/"
        return cls(
            nvd_feeds=root,
            nvd_api=nvd_api,
            ubuntu_oval=root,
            **{s.kind.replace("-", "_"): join(root, s.file) for s in SNAPSHOTS if not s.release},
        )

    def url_of(self, snapshot: Snapshot) -> str:
        """The URL of ``snapshot``'s file."""
        if snapshot.release:
            return join(self.ubuntu_oval, snapshot.file)
        return str(getattr(self, snapshot.kind.replace("-", "_")))
