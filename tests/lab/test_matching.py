"""End to end with the real Nmap (root): NVD's legacy encodings on what Nmap 7.93 reports for old
OpenSSH, ProFTPD and BIND banners, the NVD names each service was looked up as, and
`brulee explain` concluding what the scan concluded for the very service Nmap described."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.lab.netlab import Lab, LabHost, LabService
from tests.lab.test_scan import BRULEE, by_label, report, scan

pytestmark = [pytest.mark.root, pytest.mark.nmap]

OLD = LabHost("old", "10.213.77.31", "fd42:b7e1:77::31", (
    LabService(21, "tcp", "ftp", "220 ProFTPD 1.3.3c Server (ProFTPD) [::ffff:10.213.77.31]"),
    LabService(22, "tcp", "ssh", "SSH-2.0-OpenSSH_5.3"),
    LabService(53, "udp", "dns", "9.4.2"),
))  # fmt: skip

# Nmap's label of the service -> CVEs that apply by a legacy rule, and CVEs that must not apply
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "OpenSSH 5.3": ({"CVE-2015-8325", "CVE-2016-3115", "CVE-2016-6515"}, {"CVE-2024-6387"}),
    "ProFTPD 1.3.3c": ({"CVE-2016-3125", "CVE-2017-7418"}, {"CVE-2015-3306"}),
    "ISC BIND 9.4.2": ({"CVE-2010-3762", "CVE-2015-5477", "CVE-2015-5722"}, set()),
}


@pytest.fixture(scope="module")
def old_scan(
    tmp_path_factory: pytest.TempPathFactory,
    lab: Lab,  # the shared lab only ensures the skip reasons (root, ip, nmap)
) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("old")
    with Lab([OLD]) as own:
        done = scan(own, out, OLD.ipv4, "-f", "json", "--no-history",
                    nmap_args="-n -T4 -sS -sU -p T:21,22,U:53")  # fmt: skip
        assert done.returncode == 0, done.stderr
    return report(out)


@pytest.mark.parametrize("label", sorted(EXPECTED))
def test_legacy_encodings_on_what_nmap_reports(old_scan: dict[str, Any], label: str) -> None:
    service = by_label(old_scan)[label]
    expected, absent = EXPECTED[label]
    found = {v["id"]: v for v in service["vulnerabilities"]}
    assert expected <= set(found), sorted(expected - set(found))
    assert not absent & set(found)
    for cve in expected:
        assert found[cve]["confidence"] == "certain"
        assert "(rule update-in-range" in found[cve]["reason"], found[cve]["reason"]


def test_every_service_says_what_it_was_looked_up_as(old_scan: dict[str, Any]) -> None:
    names = {label: s["nvd_names"] for label, s in by_label(old_scan).items()}
    assert names == {
        "OpenSSH 5.3": ["openbsd:openssh"],
        "ProFTPD 1.3.3c": ["proftpd:proftpd", "proftpd_project:proftpd"],
        "ISC BIND 9.4.2": ["isc:bind"],
    }


@pytest.mark.parametrize("label", sorted(EXPECTED))
def test_explain_concludes_what_the_scan_concluded(old_scan: dict[str, Any], label: str) -> None:
    service = by_label(old_scan)[label]
    args = [BRULEE, "explain", "--product", service["product"], "--version", service["version"],
            "--json"] + [a for cpe in service["cpe"] for a in ("--cpe", cpe)]  # fmt: skip
    done = subprocess.run(args, check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    explained = json.loads(done.stdout)
    assert explained["nvd_names"] == service["nvd_names"]
    applies = {c["id"] for c in explained["cves"] if c["applies"]}
    found = (*service["vulnerabilities"], *service["fixed_by_distribution"])
    assert applies == {v["id"] for v in found}
    assert explained["status"] == service["status"]
