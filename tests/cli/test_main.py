"""The command line, in process: contract, exit codes, one-line errors, files written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from brulee import __version__
from brulee.cli.main import main
from tests import xmlsnippets as x
from tests.conftest import ASSETS, needs_nmap

SSH = (
    '<service name="ssh" product="OpenSSH" version="7.4" method="probed" conf="10">'
    "<cpe>cpe:/a:openbsd:openssh:7.4</cpe></service>"
)
SSH_STRETCH = (
    '<service name="ssh" product="OpenSSH" version="7.4p1 Debian 10+deb9u7" '
    'extrainfo="protocol 2.0" method="probed" conf="10">'
    "<cpe>cpe:/a:openbsd:openssh:7.4p1</cpe></service>"
)
EXIM = (
    '<service name="smtp" product="Exim smtpd" version="4.89" method="probed" conf="10">'
    "<cpe>cpe:/a:exim:exim:4.89</cpe></service>"
)


def one_line_error(err: str) -> str:
    """The error, on one line, and no traceback (warnings logged before it are allowed)."""
    lines = [
        line for line in err.splitlines() if line.strip() and not line.startswith("brulee: WARNING")
    ]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("brulee: error: ")
    return lines[0]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"brulee {__version__}"


def test_unknown_format_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["report", str(tmp_path / "a.xml"), "-f", "json,docx"]) == 2
    assert "unknown format docx" in one_line_error(capsys.readouterr().err)


def test_report_writes_each_format_from_xml(tmp_path: Path) -> None:
    xml = x.write(tmp_path / "in.xml", x.host("10.0.0.1", x.port(22, SSH)))
    out = tmp_path / "out"
    assert main(["report", str(xml), "-o", str(out), "-f", "json"]) == 0
    data = json.loads((out / "report.json").read_text("utf-8"))
    (service,) = data["services"]
    assert service["status"] == "vulnerable"
    found = {v["id"]: v for v in service["vulnerabilities"]}
    assert "CVE-2023-38408" in found and "CVE-2016-10009" not in found  # fixed in 7.4
    assert found["CVE-2023-38408"]["sources"] == ["nvd"]
    assert "CVEs" in data["scan"]["database"]
    assert data["scan"]["inputs"] == [str(xml)]


def test_report_merges_several_files(tmp_path: Path) -> None:
    a = x.write(tmp_path / "a.xml", x.host("10.0.0.1", x.port(22, SSH)))
    b = x.write(tmp_path / "b.xml", x.host("10.0.0.2", x.port(22, SSH)))
    assert main(["report", str(a), str(b), "-o", str(tmp_path / "o"), "-f", "json"]) == 0
    data = json.loads((tmp_path / "o" / "report.json").read_text("utf-8"))
    (service,) = data["services"]
    assert [loc["address"] for loc in service["locations"]] == ["10.0.0.1", "10.0.0.2"]
    assert data["scan"]["hosts_up"] == 2


def test_default_output_is_a_timestamped_reports_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    xml = x.write(tmp_path / "in.xml", x.host("10.0.0.1", x.port(22, SSH)))
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(xml), "-f", "json"]) == 0
    (made,) = (tmp_path / "reports").iterdir()
    assert len(made.name) == len("20261128T161436Z") and made.name.endswith("Z")
    assert (made / "report.json").is_file()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<nmaprun args="&x;"></nmaprun>',
            "external entity",
        ),
        ("not xml at all", "not well-formed"),
        ("", "empty or truncated"),
        ('<?xml version="1.0"?><html></html>', "not an Nmap XML file"),
        ('<?xml version="1.0"?><html><host/></html>', "not an Nmap XML file (root element <html>)"),
        # Hostile numbers gave tracebacks with exit 1 (the "findings" code).
        ('<?xml version="1.0"?><nmaprun><host><address addr="10.0.0.1" addrtype="ipv4"/><ports>'
         '<port protocol="tcp" portid="22"><service name="ssh" conf="high"/></port></ports></host>'
         "</nmaprun>", "host '10.0.0.1': <service conf='high'>: expects an integer from 0 to 10"),
        ('<?xml version="1.0"?><nmaprun><runstats><hosts up="1" down="9223372036854775808"/>'
         "</runstats></nmaprun>", "<hosts down='9223372036854775808'>: expects an integer"),
    ],
)  # fmt: skip
def test_bad_xml_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(content, "utf-8")
    assert main(["report", str(path), "-o", str(tmp_path / "o")]) == 2
    assert message in one_line_error(capsys.readouterr().err)


def test_missing_xml_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nope.xml"), "-o", str(tmp_path / "o")]) == 2
    assert "cannot read" in one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scan", "-oX", "out.xml", "10.0.0.1"], "-oX is an Nmap output option"),
        (["scan", "--", "-oX"], "starts with '-'"),
        (["scan", "10.0.0.1;id"], "metacharacters"),
        (["scan", "10.0.0.0/8"], "pass --allow-large"),
        (["scan", "10.0.0.1", "--nmap-args", "-oN x"], "refused"),
        (["scan", "10.0.0.1", "--nmap-args", "-p 22 8.8.8.8"], "would scan it as a target"),
        (["scan", "10.0.0.1", "--workers", "0"], "positive whole number"),
        (["scan", "10.0.0.1", "--host-timeout", "soon"], "not a duration"),
        (["scan"], "no targets"),
    ],
)
def test_scan_refuses_bad_input_before_running_nmap(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*argv, "-o", str(tmp_path / "o")]) == 2
    assert message in one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


def test_target_file_error_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = tmp_path / "targets.txt"
    targets.write_text("10.0.0.1\n# ok\n--script=evil\n", "utf-8")
    assert main(["scan", "-iL", str(targets), "-o", str(tmp_path / "o")]) == 2
    assert f"{targets}:3: refused target" in one_line_error(capsys.readouterr().err)


def test_scan_without_nmap_says_how_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a real PATH lookup that finds no nmap
    assert main(["scan", "127.0.0.1", "-o", str(tmp_path / "o")]) == 3
    assert "apt-get install nmap" in one_line_error(capsys.readouterr().err)


@needs_nmap
def test_scan_end_to_end_on_loopback(tmp_path: Path, ssh_banner_port: int) -> None:
    out = tmp_path / "o"
    argv = ["scan", "127.0.0.1", "--nmap-args", f"-n -Pn -p {ssh_banner_port}", "-o", str(out)]
    assert main([*argv, "-f", "json", "--no-progress"]) == 0
    assert (out / "nmap" / "scan-001.xml").is_file()
    data = json.loads((out / "report.json").read_text("utf-8"))
    (service,) = data["services"]
    assert (service["product"], service["version"]) == ("OpenSSH", "7.4p1 Debian 10+deb9u7")
    assert service["locations"] == [
        {"address": "127.0.0.1", "hostname": "", "port": ssh_banner_port, "protocol": "tcp"}
    ]
    assert f"-p {ssh_banner_port}" in data["scan"]["nmap_command"]
    assert data["scan"]["targets"] == ["127.0.0.1"]


@needs_nmap
def test_nmap_failure_still_writes_the_report_and_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], private_network: None
) -> None:
    out = tmp_path / "o"
    argv = ["scan", "127.0.0.1", "--nmap-args", "-n --max-rtt-timeout 0", "-o", str(out)]
    assert main([*argv, "-f", "json", "--no-progress"]) == 3
    err = one_line_error(capsys.readouterr().err)
    assert "nmap job 1 exited" in err and str(out) in err
    data = json.loads((out / "report.json").read_text("utf-8"))
    assert any("nmap job 1 exited" in e for e in data["scan"]["errors"])
    assert (data["scan"]["outcome"], data["scan"]["incomplete"]) == ("failed", True)


@needs_nmap
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the scan as an unprivileged user")
def test_unprivileged_scan_notes_the_connect_scan(ssh_banner_port: int, starter_db: Path) -> None:
    # pytest's tmp_path is private to root: the unprivileged scan gets a directory of its own.
    with tempfile.TemporaryDirectory() as shared:
        Path(shared).chmod(0o777)
        db = Path(shared) / "vulndb.sqlite"
        shutil.copyfile(starter_db, db)
        check_unprivileged_scan(Path(shared) / "o", db, ssh_banner_port)


def check_unprivileged_scan(out: Path, db: Path, ssh_banner_port: int) -> None:
    argv = [
        "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
        str(Path(sys.executable).with_name("brulee")), "scan", "127.0.0.1", "--no-progress",
        "--nmap-args", f"-n -Pn -p {ssh_banner_port}", "-o", str(out), "-f", "json",
        "--db", str(db), "--no-history",
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "TCP connect scan" in done.stderr
    data = json.loads((out / "report.json").read_text("utf-8"))
    assert any("TCP connect scan" in w for w in data["scan"]["warnings"])
    assert data["services"][0]["product"] == "OpenSSH"


def test_db_import_then_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "v.sqlite"
    feeds = ASSETS / "vulndb"
    paths = [feeds / "nvdcve-2.0-2024.json.gz", feeds / "kev-slice.json"]
    assert main(["db", "import", *map(str, paths), "--db", str(db)]) == 0
    out = capsys.readouterr().err
    assert "nvd," in out and "kev," in out
    assert main(["db", "status", "--db", str(db)]) == 0
    status = capsys.readouterr().out
    assert f"database:  {db}" in status and "KEV:" in status


def test_db_import_of_a_bad_feed_is_exit_2_and_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "nvdcve-2.0-2024.json"
    bad.write_text('{"vulnerabilities": [', "utf-8")
    assert main(["db", "import", str(bad), "--db", str(tmp_path / "v.sqlite")]) == 2
    assert str(bad) in one_line_error(capsys.readouterr().err)


def test_explicit_missing_database_is_an_error_not_a_silent_starter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    xml = x.write(tmp_path / "in.xml", x.host("10.0.0.1", x.port(22, SSH)))
    missing = tmp_path / "none.sqlite"
    assert main(["report", str(xml), "--db", str(missing), "-o", str(tmp_path / "o")]) == 3
    assert "no vulnerability database" in one_line_error(capsys.readouterr().err)
    assert main(["db", "status", "--db", str(missing)]) == 3


def test_first_run_builds_the_starter_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BRULEE_DB", str(tmp_path / "data" / "vulndb.sqlite"))
    xml = x.write(tmp_path / "in.xml", x.host("10.0.0.1", x.port(22, SSH)))
    assert main(["report", str(xml), "-o", str(tmp_path / "o"), "-f", "json"]) == 0
    assert "building the bundled starter" in capsys.readouterr().err
    assert (tmp_path / "data" / "vulndb.sqlite").is_file()


@pytest.mark.parametrize(
    ("service", "argv", "code"),
    [
        (SSH, ["--fail-on", "critical"], 1),  # OpenSSH 7.4: CVE-2023-38408 is critical
        (SSH, ["--fail-on", "kev"], 0),
        (EXIM, ["--fail-on", "kev"], 1),  # CVE-2019-10149 is in CISA KEV
        (SSH_STRETCH, ["--fail-on", "low"], 0),  # only unverified backports remain
        (SSH_STRETCH, ["--fail-on", "low", "--strict-backports"], 1),  # --strict's old name
        (SSH_STRETCH, ["--fail-on", "low", "--strict"], 1),
        (SSH, [], 0),
    ],
)
def test_fail_on_gates_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], service: str, argv: list[str], code: int
) -> None:
    xml = x.write(tmp_path / "in.xml", x.host("10.0.0.1", x.port(22, service)))
    assert main(["report", str(xml), "-o", str(tmp_path / "o"), "-f", "json", *argv]) == code
    assert (tmp_path / "o" / "report.json").is_file()  # the report is written either way
    if code == 1:
        assert f"--fail-on {argv[1]}:" in capsys.readouterr().err


def test_the_summary_line_counts_possibly_vulnerable_services_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    xml = x.write(tmp_path / "in.xml", x.host("10.0.0.1", x.port(22, SSH_STRETCH)))
    assert main(["report", str(xml), "-o", str(tmp_path / "o"), "-f", "json"]) == 0
    # Only unverified backports remain: not vulnerable, possibly vulnerable.
    assert "1 service, 0 vulnerable, 1 possibly vulnerable." in capsys.readouterr().err


def test_stale_database_warns_in_the_report_or_fails_when_required(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    xml = x.write(tmp_path / "in.xml", x.host("10.0.0.1", x.port(22, SSH)))
    out = tmp_path / "o"
    # The starter's newest NVD record is of 2026-10-08: more than 7 days old from now on.
    assert main(["report", str(xml), "-o", str(out), "-f", "json"]) == 0
    warnings = json.loads((out / "report.json").read_text("utf-8"))["scan"]["warnings"]
    assert any("older than the 7 days allowed by --max-db-age" in w for w in warnings)
    assert "--max-db-age" in capsys.readouterr().err
    assert main(["report", str(xml), "-o", str(out), "-f", "json", "--max-db-age", "3650d"]) == 0
    warnings = json.loads((out / "report.json").read_text("utf-8"))["scan"]["warnings"]
    assert not any("--max-db-age" in w for w in warnings)
    capsys.readouterr()
    assert main(["report", str(xml), "-o", str(tmp_path / "p"), "--require-fresh-db"]) == 3
    assert "--require-fresh-db" in one_line_error(capsys.readouterr().err)
    assert main(["report", str(xml), "--max-db-age", "soon"]) == 2


@needs_nmap
def test_shards_record_themselves_and_an_empty_shard_is_not_an_error(
    tmp_path: Path, ssh_banner_port: int
) -> None:
    common = ["--nmap-args", f"-n -Pn -p {ssh_banner_port}", "-f", "json", "--no-progress"]
    for index in (1, 2):
        out = tmp_path / f"s{index}"
        argv = ["scan", "127.0.0.1", "--shard", f"{index}/2", "--site", "dc-1", "-o", str(out)]
        assert main([*argv, *common]) == 0
    empty, full = (json.loads((tmp_path / f"s{i}" / "report.json").read_text()) for i in (1, 2))
    assert empty["scan"]["shard"] == {"index": 1, "count": 2}
    assert any("shard 1/2 of this scope is empty" in w for w in empty["scan"]["warnings"])
    assert empty["hosts"] == []
    assert full["scan"]["shard"] == {"index": 2, "count": 2}
    assert full["scan"]["site"] == "dc-1"
    assert [h["address"] for h in full["hosts"]] == ["127.0.0.1"]


def test_db_update_from_a_mirror_directory_then_export_and_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    from tests.vulndb.feedserver import build_upstream, feed_json, write_feed

    mirror = build_upstream(tmp_path / "mirror")
    for year in range(2002, datetime.now(UTC).year + 1):  # a complete mirror has every year
        if not (mirror / f"nvdcve-2.0-{year}.json.gz").exists():
            write_feed(mirror, f"nvdcve-2.0-{year}", feed_json([], "2026-11-20T08:00:00.000"))
    db = tmp_path / "db" / "v.sqlite"
    assert main(["db", "update", "--mirror", str(mirror), "--db", str(db)]) == 0
    assert "downloaded nvdcve-2.0-2024.json.gz" in capsys.readouterr().err
    export = tmp_path / "vulndb-export.tar.gz"
    assert main(["db", "export", str(export), "--db", str(db)]) == 0
    copy = tmp_path / "airgap" / "v.sqlite"
    assert main(["db", "import", str(export), "--db", str(copy)]) == 0
    assert main(["db", "status", "--db", str(copy)]) == 0
    assert "CVEs:" in capsys.readouterr().out
    assert main(["db", "update", "--mirror", str(tmp_path / "nowhere"), "--db", str(db)]) == 3


def test_merge_of_shard_directories_reports_the_missing_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for index, name in ((1, "lab-basic.xml"), (2, "ipv6.xml")):
        out = tmp_path / "fleet" / f"shard-{index}"
        argv = ["report", str(ASSETS / "nmap" / name), "-o", str(out), "-f", "json"]
        assert main(argv) == 0
        data = json.loads((out / "report.json").read_text("utf-8"))
        data["scan"]["shard"], data["scan"]["site"] = {"index": index, "count": 3}, "dc-1"
        (out / "report.json").write_text(json.dumps(data), "utf-8")
    merged = tmp_path / "merged"
    argv = ["merge", str(tmp_path / "fleet"), "-o", str(merged), "-f", "json,html"]
    assert main([*argv, "--fail-on", "critical"]) == 1
    data = json.loads((merged / "report.json").read_text("utf-8"))
    assert data["scan"]["missing_shards"] == [{"site": "dc-1", "index": 3, "count": 3}]
    assert data["scan"]["incomplete"] is True
    assert len(data["scan"]["parts"]) == 2
    assert "incomplete" in capsys.readouterr().err


def _vex(path: Path, *statements: dict[str, object]) -> Path:
    document = {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "urn:uuid:7",
                "author": "secops@example.com", "timestamp": "2026-02-01T00:00:00Z",
                "version": 1, "statements": list(statements)}  # fmt: skip
    path.write_text(json.dumps(document), "utf-8")
    return path


def test_vex_in_report_and_merge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    xml = x.write(tmp_path / "in.xml", x.host("10.0.0.1", x.port(22, SSH_STRETCH)))
    product = [{"identifiers": {"cpe23": "cpe:2.3:a:openbsd:openssh:7.4:p1:*:*:*:*:*:*"}}]
    vex = _vex(tmp_path / "vex.json", {
        "vulnerability": {"name": "CVE-2023-38408"}, "products": product,
        "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path",
    }, {
        "vulnerability": {"name": "CVE-2017-15906"}, "products": product,
        "status": "under_investigation", "status_notes": "checking sftp-server's flags",
    })  # fmt: skip
    out = tmp_path / "shard"
    assert main(["report", str(xml), "-o", str(out), "-f", "json", "--vex", str(vex)]) == 0
    data = json.loads((out / "report.json").read_text("utf-8"))
    (service,) = data["services"]
    found = {v["id"]: v for v in service["vulnerabilities"]}
    assert "CVE-2023-38408" not in found
    assert found["CVE-2017-15906"]["vex"] == [{
        "status": "under_investigation", "statement": "checking sftp-server's flags",
        "author": "secops@example.com", "origin": f"{vex} statement 2",
        "scope": ["cpe cpe:2.3:a:openbsd:openssh:7.4:p1:*:*:*:*:*:*"],
    }]  # fmt: skip
    (gone,) = data["suppressed"]["services"][0]["vulnerabilities"]
    assert gone["id"] == "CVE-2023-38408"
    assert gone["entries"][0]["vex"] == {
        "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path",
    }  # fmt: skip
    # A merge reads the notes back, and applies its own --vex.
    fixed = _vex(tmp_path / "fixed.json", {
        "vulnerability": {"name": "CVE-2017-15906"}, "status": "fixed",
        "products": [{"@id": "tcp://10.0.0.1:22"}],
    })  # fmt: skip
    merged = tmp_path / "merged"
    assert main(["merge", str(out), "-o", str(merged), "-f", "json", "--vex", str(fixed)]) == 0
    (service,) = json.loads((merged / "report.json").read_text("utf-8"))["services"]
    assert "CVE-2017-15906" not in {v["id"] for v in service["vulnerabilities"]}
    assert main(["merge", str(out), "-o", str(tmp_path / "m2"), "-f", "json"]) == 0
    (service,) = json.loads((tmp_path / "m2" / "report.json").read_text("utf-8"))["services"]
    noted = {v["id"]: v["vex"] for v in service["vulnerabilities"]}
    assert noted["CVE-2017-15906"][0]["status"] == "under_investigation"


@pytest.mark.parametrize("command", ["report", "merge"])
def test_a_bad_vex_document_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    xml = x.write(tmp_path / "in.xml", x.host("10.0.0.1", x.port(22, SSH)))
    bad = tmp_path / "bad.vex.json"
    bad.write_text('{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [', "utf-8")
    source = str(xml) if command == "report" else str(tmp_path)
    assert main([command, source, "-o", str(tmp_path / "o"), "--vex", str(bad)]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert f"{bad}: not valid JSON" in line
    assert not (tmp_path / "o" / "report.json").exists()


def _bad_option_cases(tmp: Path) -> list[tuple[list[str], int, str]]:
    """(options, exit code, what the one-line error says) for options that used to fail only
    once Nmap was done, or that are read before it starts."""
    (tmp / "file").write_text("a file, not a directory\n")
    (tmp / "bad.vex").write_text("{}\n")
    (tmp / "bad.yaml").write_text("x: [\n")
    (tmp / "broken.sqlite").write_bytes(b"not a database" * 100)
    return [
        (["--history", "postgresql://brulee@127.0.0.1:1/x"], 2, "--history: cannot connect"),
        (["--history", str(tmp / "file" / "h.sqlite")], 2, "--history: cannot open"),
        (["--history", "ftp://host/x"], 2, "expected a path, sqlite:///PATH or postgresql"),
        (["-o", str(tmp / "file" / "out")], 2, "-o: cannot create output directory"),
        (["-o", "s3://"], 2, "invalid s3:// output"),
        (["-o", "s3://bucket/p", "--endpoint-url", "http://u:secret@h:99999"], 2,
         "invalid --endpoint-url"),
        (["-o", "gs://bucket/p", "--endpoint-url", "http://h"], 2, "s3:// outputs only"),
        (["-f", "json,bogus"], 2, "unknown format bogus"),
        (["--vex", str(tmp / "bad.vex")], 2, "not an OpenVEX document"),
        (["--suppressions", str(tmp / "bad.yaml")], 2, "expected a list of suppression"),
        (["--db", str(tmp / "broken.sqlite")], 3, "broken.sqlite"),
        (["--notify", "file:///etc/passwd"], 2, "--notify"),
    ]  # fmt: skip


def test_every_bad_option_fails_before_nmap_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No nmap on PATH: an option checked only after the scan would say "nmap was not found".
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    for options, code, message in _bad_option_cases(tmp_path):
        out = tmp_path / "o"
        argv = ["scan", "192.0.2.1", "--no-progress", *options]
        started = time.monotonic()
        assert main(argv if "-o" in options else [*argv, "-o", str(out)]) == code, options
        assert time.monotonic() - started < 10, options
        error = one_line_error(capsys.readouterr().err)
        assert message in error, (options, error)
        assert "secret" not in error
        assert not (out / "nmap").exists(), options


def test_a_usable_history_store_and_output_directory_are_made_before_the_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    history, out = tmp_path / "h" / "history.sqlite", tmp_path / "o"
    argv = ["scan", "192.0.2.1", "--history", str(history), "-o", str(out), "--no-progress"]
    assert main(argv) == 3  # everything checked, then no Nmap to run
    assert "nmap was not found" in one_line_error(capsys.readouterr().err)
    assert history.is_file() and (out / "nmap").is_dir()


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (["0x7f.1"], "resolvers read it as 127.0.0.1"),
        (["0x7f000001"], "resolvers read it as 127.0.0.1"),
        (["localhost", "--exclude", "127.0.0.0/8"], "every target is excluded"),
        (["0x7f.1", "--exclude", "127.0.0.0/8"], "resolvers read it as 127.0.0.1"),
        (["0-255.0-255.0-255.1"], "holds 16,777,216 addresses"),
        (["nonexistent.invalid"], "nonexistent.invalid did not resolve"),
    ],
)
def test_scope_is_addresses_checked_before_nmap(
    targets: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    started = time.monotonic()
    assert main(["scan", *targets, "-o", str(tmp_path / "o"), "--no-progress"]) == 2
    assert time.monotonic() - started < 10
    assert message in one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


def test_an_unresolved_name_in_a_target_file_is_warned_about_before_the_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    targets = tmp_path / "targets.txt"
    targets.write_text("192.0.2.1\nbad-name.invalid\n", "utf-8")
    argv = ["scan", "-iL", str(targets), "--exclude", "gone.invalid", "-o", str(tmp_path / "o")]
    assert main([*argv, "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert "--exclude gone.invalid: the name does not resolve" in err
    assert "1 target(s) did not resolve and are not scanned: bad-name.invalid" in err
    assert err.index("bad-name.invalid") < err.index("nmap was not found")
