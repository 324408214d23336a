"""brulee explain from the command line, in process: text, JSON, and hostile input refused in
one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brulee.cli.main import main
from tests.cli.test_main import one_line_error


def test_text_shows_the_reading_the_lookup_and_each_verdict(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["explain", "--cpe", "cpe:/a:openbsd:openssh:7.2p2", "--cve", "cve-2016-3115"]) == 0
    out = capsys.readouterr().out
    assert "product       OpenSSH" in out
    assert "version       7.2p2: version 7.2, update p2" in out
    assert "assumed       product 'OpenSSH': Nmap's name for cpe:/a:openbsd:openssh:7.2p2" in out
    assert "looked up as  openbsd:openssh (from Nmap's CPE, through the alias table)" in out
    assert "CVE-2016-3115  does not apply: no entry of it for this product matches 7.2p2" in out
    assert (
        "entry        cpe:2.3:a:openbsd:openssh:*:p1:*:*:*:*:*:* versionEndIncluding 7.2: does not "
        "match [rule update-in-range: read as versionEndIncluding 7.2p1]"
    ) in out
    assert "  update-in-range: a range whose version is * and whose update is a patch level" in out


def test_json_lists_every_candidate_cve(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["explain", "--product", "ProFTPD", "--version", "1.3.5", "--json",
            "--cpe", "cpe:/a:proftpd:proftpd:1.3.5"]  # fmt: skip
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["reading"] == {"version": "1.3.5", "update": None, "suffix": None, "range": None,
                               "fingerprint": None}  # fmt: skip
    assert data["nvd_names"] == ["proftpd:proftpd", "proftpd_project:proftpd"]
    assert data["status"] == "vulnerable"
    assert len(data["cves"]) == data["candidates"] > 0
    by_id = {c["id"]: c for c in data["cves"]}
    assert by_id["CVE-2016-3125"]["applies"] is True
    assert by_id["CVE-2016-3125"]["finding"]["confidence"] == "certain"
    (ranged,) = [e for e in by_id["CVE-2017-7418"]["entries"] if e["rules"]]
    assert (ranged["rules"], ranged["reading"], ranged["verdict"]) == (
        ["update-in-range"], "versionEndIncluding 1.3.5d", "matches",
    )  # fmt: skip
    assert by_id["CVE-2019-12815"]["applies"] is True
    assert all(c["why_not"] for c in data["cves"] if not c["applies"])
    assert set(data["rules"]) == {"update-in-range"}


def test_a_product_name_alone_is_enough(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--product", "Exim smtpd", "--version", "4.89", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["by_product_name"] is True
    wizard = next(c for c in data["cves"] if c["id"] == "CVE-2019-10149")
    assert "looked up by Nmap's product name 'Exim smtpd'" in wizard["finding"]["reason"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --cpe and/or --product"),
        (["--cpe", "not a cpe"], "--cpe: not a CPE name"),
        (["--cpe", "cpe:/a:openbsd"], "--cpe: a CPE without vendor and product names nothing"),
        (["--cpe", "cpe:2.3:a:x:y:1"], "--cpe: a CPE 2.3 name has 11 attributes"),
        (["--cpe", "cpe:/a:x:y:%zz"], "--cpe: bad percent-encoding"),
        (["--product", "OpenSSH\x1b[2J"], "--product: give the text as Nmap reported it"),
        (["--product", "x", "--version", "1" * 5000], "--version: give the text as Nmap"),
        (["--product", "x", "--extrainfo", "a\nb"], "--extrainfo: give the text as Nmap"),
        (["--product", "OpenSSH\u202e1p2.7"], "--product: give the text as Nmap reported it"),
        (["--product", "x", "--cve", "CVE-2016-3115'; DROP"], "--cve: expected an id"),
        (["--product", "x", "--cve", "../../etc/passwd"], "--cve: expected an id"),
    ],
)
def test_hostile_input_is_one_line_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", *args]) == 2
    assert message in one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize(
    "version", ["9.6.0 - 9.6.4 or 9.4.13", "x" * 1024, "-1", "1.0 or later", "\u2028", "5.X"]
)
def test_odd_versions_are_read_never_crash(
    version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["explain", "--cpe", "cpe:/a:openbsd:openssh", "--version", version, "--json"])
    out, err = capsys.readouterr()
    if code == 2:  # a line separator is a control character to the terminal
        assert "--version" in one_line_error(err)
        return
    assert code == 0
    assert json.loads(out)["service"]["version"] == version


def test_a_missing_database_is_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["explain", "--product", "OpenSSH", "--db", str(tmp_path / "none.sqlite")])
    assert code == 3
    assert "no vulnerability database at" in one_line_error(capsys.readouterr().err)


def test_a_service_with_only_possible_findings_is_possibly_vulnerable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Debian bookworm's OpenSSH: the bundled Debian data has nothing for bookworm, so every
    # finding is an unverified backport: possible, none certain.
    args = ["explain", "--cpe", "cpe:/a:openbsd:openssh:9.2p1", "--version",
            "9.2p1 Debian 2+deb12u3"]  # fmt: skip
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "possibly-vulnerable"
    applied = [c for c in data["cves"] if c["applies"]]
    assert applied and {c["finding"]["confidence"] for c in applied} == {"unverified-backport"}
    assert main(args) == 0
    assert (
        f"possibly-vulnerable: {len(applied)} CVEs apply (0 certain, {len(applied)} possible)"
        in (capsys.readouterr().out)
    )


def test_nmaps_label_and_a_contradicted_platform_are_explained(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["explain", "--product", "Samba smbd", "--version", "4.6.2",
                 "--cve", "CVE-2017-7494"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert (
        "version       4.6.2: a range, 4.6.2 to any (Nmap's fingerprint says 4.6.2 for every "
        "Samba smbd from 4.6.2 on)"
    ) in out
    assert main(["explain", "--product", "OpenSSH", "--version", "9.2p1 Debian 2+deb12u3",
                 "--cve", "CVE-2008-3844", "--json"]) == 0  # fmt: skip
    (item,) = json.loads(capsys.readouterr().out)["cves"]
    assert item["finding"] is None
    assert "which the scan contradicts: it shows cpe:/o:debian:debian_linux:12" in item["why_not"]
