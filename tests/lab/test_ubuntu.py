"""End to end: `brulee scan` with the real Nmap against lab hosts serving Ubuntu's own banners
(root): each finding decided with Canonical's data (the starter's, of 2021-08-31), in every
report format."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brulee.report.latex import tex_escape
from brulee.report.markdown import md_escape
from tests.lab.netlab import Lab, lab_skip_reason
from tests.lab.ubuntu_hosts import UBUNTU_HOSTS

pytestmark = [pytest.mark.root, pytest.mark.nmap, pytest.mark.tex]
BRULEE = str(Path(sys.executable).with_name("brulee"))

XENIAL = "OpenSSH 7.2p2 Ubuntu 4ubuntu2.8"
BIONIC = "OpenSSH 7.6p1 Ubuntu 4ubuntu0.3"
FOCAL = "OpenSSH 8.2p1 Ubuntu 4ubuntu0.1"
TRUSTY = "OpenSSH 6.6.1p1 Ubuntu 2ubuntu2.13"
JAMMY = "OpenSSH 8.9p1 Ubuntu 3ubuntu0.1"
UPGRADE = (
    "upgrade the Ubuntu focal package openssh to 1:8.2p1-4ubuntu0.2 or later (USN-4762-1); "
    "this host runs 1:8.2p1-4ubuntu0.1"
)
FOCAL_EVIDENCE = (
    "release focal: OpenSSH 8.2p1 on Debian's revision 4 is what Ubuntu 20.04 (focal) shipped"
)
SET_ASIDE = (
    "USN-3885-1, USN-3885-2: Canonical's xenial data of 2021-08-31: openssh fixed in "
    "1:7.2p2-4ubuntu2.8; this host runs 1:7.2p2-4ubuntu2.8"
)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    reason = lab_skip_reason() or (shutil.which("latexmk") is None and "needs latexmk") or None
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("ubuntu")
    with Lab(UBUNTU_HOSTS) as lab:
        argv = [BRULEE, "scan", *lab.addresses, "-f", "json,html,md,tex,csv,sarif,pdf",
                "--nmap-args", "-n -T4 -p 22,80", "-o", str(out), "--no-progress"]  # fmt: skip
        done = subprocess.run(
            lab.scanner_cmd(argv), check=False, capture_output=True, text=True, timeout=300
        )
    assert done.returncode == 0, done.stderr
    yield out


def report(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "report.json").read_text("utf-8"))
    return data


def by_label(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{s['product']} {s['version']}".strip(): s for s in data["services"]}


def _vulns(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["id"]: v for v in service["vulnerabilities"]}


def test_each_release_is_found_and_said(scanned: Path) -> None:
    services = by_label(report(scanned))
    releases = {label: services[label]["distribution"]["release"]
                for label in (XENIAL, BIONIC, FOCAL, TRUSTY, JAMMY)}  # fmt: skip
    assert releases == {XENIAL: "xenial", BIONIC: "bionic", FOCAL: "focal", TRUSTY: "trusty",
                        JAMMY: "jammy"}  # fmt: skip
    assert services[FOCAL]["distribution"]["evidence"] == (
        f'version "8.2p1 Ubuntu 4ubuntu0.1"; {FOCAL_EVIDENCE}'
    )


def test_cve_2019_6111_is_set_aside_on_xenial_bionic_and_trusty(scanned: Path) -> None:
    services = by_label(report(scanned))
    for label, fixed in ((XENIAL, "1:7.2p2-4ubuntu2.8"), (BIONIC, "1:7.6p1-4ubuntu0.3"),
                         (TRUSTY, "1:6.6p1-2ubuntu2.13")):  # fmt: skip
        aside = {v["id"]: v for v in services[label]["fixed_by_distribution"]}
        assert aside["CVE-2019-6111"]["confidence"] == "fixed-by-distribution"
        assert (
            f"openssh fixed in {fixed}; this host runs {fixed}" in aside["CVE-2019-6111"]["reason"]
        )
        assert "CVE-2019-6111" not in _vulns(services[label])
        assert services[label]["backports"]["fixed"] == len(aside)
    assert {v["id"]: v for v in services[XENIAL]["fixed_by_distribution"]}["CVE-2019-6111"][
        "reason"
    ] == SET_ASIDE


def test_focal_keeps_cve_2021_28041_open_with_the_upgrade(scanned: Path) -> None:
    focal = by_label(report(scanned))[FOCAL]
    agent = _vulns(focal)["CVE-2021-28041"]
    assert (agent["confidence"], agent["advisory"], agent["remediation"]) == (
        "certain", "USN-4762-1", UPGRADE,
    )  # fmt: skip
    assert focal["status"] == "vulnerable"


def test_without_data_or_revision_findings_stay_unverified_and_say_how_to_confirm(
    scanned: Path,
) -> None:
    services = by_label(report(scanned))
    jammy = services[JAMMY]
    assert jammy["fixed_by_distribution"] == []
    assert {v["confidence"] for v in jammy["vulnerabilities"]} == {"unverified-backport"}
    assert all("no Canonical data for Ubuntu 22.04 (jammy)" in v["reason"]
               for v in jammy["vulnerabilities"])  # fmt: skip
    apache = services["Apache httpd 2.4.29"]
    assert {v["confidence"] for v in apache["vulnerabilities"]} == {"unverified-backport"}
    assert all(v["remediation"].startswith("confirm on the host with dpkg -l apache2")
               for v in apache["vulnerabilities"])  # fmt: skip
    nginx = _vulns(services["nginx 1.18.0"])["CVE-2021-23017"]
    assert nginx["confidence"] == "unverified-backport"
    assert nginx["remediation"].endswith(
        "Canonical's data for the releases with 1.18.0: focal fixed in 1.18.0-0ubuntu1.2 "
        "(USN-4967-1, USN-4967-2)"
    )


def test_the_human_formats_show_the_decisions(scanned: Path) -> None:
    html = (scanned / "report.html").read_text("utf-8")
    md = (scanned / "report.md").read_text("utf-8")
    tex = (scanned / "report.tex").read_text("utf-8")
    for text in (UPGRADE, FOCAL_EVIDENCE, SET_ASIDE):
        assert text.replace("'", "&#39;") in html, text
        assert md_escape(text) in md, text
        assert str(tex_escape(text)) in tex, text


def test_the_pdf_shows_the_decisions(scanned: Path) -> None:
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(scanned / "report.pdf"), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    squeezed = re.sub(r"\s+", "", text)
    for shown in (UPGRADE, SET_ASIDE, "Ubuntu20.04(focal)shipped"):
        assert re.sub(r"\s+", "", shown) in squeezed, shown


def test_csv_and_sarif_carry_the_decisions(scanned: Path) -> None:
    with (scanned / "report.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    xenial_ip = next(h.ipv4 for h in UBUNTU_HOSTS if h.name == "ubuntu-xenial")
    (aside,) = [r for r in rows if r["cve"] == "CVE-2019-6111" and r["address"] == xenial_ip]
    assert (aside["confidence"], aside["advisory"]) == (
        "fixed-by-distribution", "USN-3885-1, USN-3885-2",
    )  # fmt: skip
    (open_row,) = [r for r in rows if r["cve"] == "CVE-2021-28041"]
    assert (open_row["confidence"], open_row["remediation"]) == ("certain", UPGRADE)

    sarif = json.loads((scanned / "report.sarif").read_text("utf-8"))
    results = sarif["runs"][0]["results"]
    (fixed,) = [r for r in results if r["ruleId"] == "CVE-2019-6111"
                and r["properties"]["address"] == xenial_ip]  # fmt: skip
    assert fixed["suppressions"][0]["justification"] == SET_ASIDE
    (agent,) = [r for r in results if r["ruleId"] == "CVE-2021-28041"]
    assert "suppressions" not in agent
    assert f"Remediation: {UPGRADE}" in agent["message"]["text"]
