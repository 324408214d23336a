"""The before/after summary's reading of findings (no root: hand-made report fragments)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .summary import PROBES, flags, is_artefact, nmap_labels, render

SSH_DEBIAN = {
    "product": "OpenSSH", "version": "9.2p1 Debian 2+deb12u10", "ostype": "Linux",
    "cpe": ["cpe:/a:openbsd:openssh:9.2p1", "cpe:/o:linux:linux_kernel"],
    "distribution": {"distro": "debian", "release": "bookworm"},
}  # fmt: skip
SAMBA = {"product": "Samba smbd", "version": "4.6.2", "cpe": ["cpe:/a:samba:samba:4.6.2"]}


def vuln(reason: str, confidence: str = "certain", **extra: Any) -> dict[str, Any]:
    return {"id": "CVE-0000-0001", "severity": "high", "confidence": confidence,
            "reason": reason, "kev": None, **extra}  # fmt: skip


def test_labels_are_read_from_nmaps_probe_file(tmp_path: Path) -> None:
    probes = tmp_path / "nmap-service-probes"
    probes.write_text(
        "match microsoft-ds m|^\\0\\0|s p/Samba smbd/ v/4.6.2/ cpe:/a:samba:samba:4.6.2/\n"
        "match ssh m|^SSH-([\\d.]+)-OpenSSH_([\\w._-]+)|s p/OpenSSH/ v/$2/ i/protocol $1/\n"
        "softmatch postgresql m|^E| p|PostgreSQL DB| v|9.6.0 or later|\n"
    )
    assert nmap_labels(probes) == {("Samba smbd", "4.6.2"), ("PostgreSQL DB", "9.6.0 or later")}
    assert nmap_labels(tmp_path / "absent") == set()


@pytest.mark.skipif(not PROBES.is_file(), reason="needs Debian's nmap (nmap-service-probes)")
def test_the_installed_probe_file_has_the_samba_label() -> None:
    labels = nmap_labels()
    assert ("Samba smbd", "4.6.2") in labels
    assert ("PostgreSQL DB", "9.6.0 or later") in labels
    assert ("OpenSSH", "9.2p1 Debian 2+deb12u10") not in labels  # captured from the banner


def test_artefacts_are_labels_and_ranges() -> None:
    labels = {("Samba smbd", "4.6.2")}
    assert is_artefact("Samba smbd", "4.6.2", labels)
    assert is_artefact("PostgreSQL DB", "9.6.0 or later", set())
    assert is_artefact("Foo", "2.0 - 2.4", set())
    assert not is_artefact("Samba smbd", "4.17.12", labels)
    assert not is_artefact("ProFTPD", "", labels)


def test_unbounded_entry() -> None:
    unbounded = "cpe:2.3:a:exim:exim:*:*:*:*:*:*:*:* matches 4.96"
    bounded = "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:* versionEndExcluding 9.3 matches 9.2p1"
    exact = "cpe:2.3:a:samba:samba:4.6.2:*:*:*:*:*:*:* matches 4.6.2"
    assert flags(vuln(unbounded), {}, artefact=False) == ["unbounded"]
    assert flags(vuln(bounded), {}, artefact=False) == []
    assert flags(vuln(exact), SAMBA, artefact=True) == ["artefact"]


def test_red_hat_platform_contradicts_a_debian_banner() -> None:
    reason = (
        "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:* matches 9.2p1; only if "
        "cpe:2.3:o:redhat:enterprise_linux:5.0:*:*:*:*:*:*:* or "
        "cpe:2.3:o:redhat:enterprise_linux_desktop:5.0:*:*:*:*:*:*:*; no Debian advisory names it"
    )
    found = flags(vuln(reason, "unverified-backport"), SSH_DEBIAN, artefact=False)
    assert found == ["unbounded", "platform", "backport"]
    # The same condition on a service that shows no OS cannot be judged.
    assert "platform?" in flags(vuln(reason), SAMBA, artefact=False)


def test_linux_platform_and_version_ranges_are_not_contradictions() -> None:
    linux = (
        "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:* versionEndExcluding 9.3 matches 9.2p1; "
        "only if cpe:2.3:o:linux:linux_kernel:-:*:*:*:*:*:*:*"
    )
    assert flags(vuln(linux), SSH_DEBIAN, artefact=False) == ["platform?"]
    windows = linux.replace("linux:linux_kernel", "microsoft:windows")
    assert flags(vuln(windows), SSH_DEBIAN, artefact=False) == ["platform"]
    rng = (
        "cpe:2.3:a:postgresql:postgresql:9.6:*:*:*:*:*:*:* may match 9.6.0 or later; only if Nmap "
        "version range 9.6.0 or later is only partly within cpe:2.3:a:postgresql:postgresql:9.6"
    )
    assert flags(vuln(rng, "conditional"), {}, artefact=True) == ["artefact"]


def test_render_counts_and_names_the_kev_basis() -> None:
    report = {
        "generator": {"version": "x"},
        "scan": {"nmap_version": "7.93", "database": "db"},
        "summary": {"by_status": {"vulnerable": 1}, "by_severity": {"critical": 1}},
        "services": [{
            **SAMBA, "status": "vulnerable",
            "locations": [{"address": "10.0.0.1", "port": 445, "protocol": "tcp"}],
            "vulnerabilities": [vuln("cpe:2.3:a:samba:samba:4.6.2:*:*:*:*:*:*:* matches 4.6.2",
                                     id="CVE-2017-7494", severity="critical",
                                     kev={"date_added": "2023-03-30"})],
        }],
    }  # fmt: skip
    lab = [{"address": "10.0.0.1", "package": "samba", "version": "2:4.17.12+dfsg-0+deb12u4"}]
    table = render(report, lab)
    row = next(line for line in table.splitlines() if line.startswith("| Samba"))
    labelled = ("Samba smbd", "4.6.2") in nmap_labels()
    assert "samba 2:4.17.12+dfsg-0+deb12u4" in row and "| vulnerable | certain 1 | 1/0/0/0 |" in row
    assert ("CVE-2017-7494 (certain; artefact)" in row) == labelled
    assert "Headlines as reported: services vulnerable 1; findings critical 1." in table
    assert "Findings on a plain version match" in table and f": {int(not labelled)} of 1." in table
