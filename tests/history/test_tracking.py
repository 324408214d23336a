"""Suppressions, history diffs, alerts and --fail-on-new through the CLI, on the real starter DB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from brulee.cli.main import main
from brulee.history import tracking
from brulee.history.alerts import target_key
from brulee.history.store import open_store
from brulee.report.markdown import md_escape
from brulee.util.redact import redact_url
from tests import xmlsnippets as x
from tests.history.test_alerts import SECRET, Reply, Webhook


def ssh(version: str) -> str:
    upstream = version.split(maxsplit=1)[0]
    return (
        f'<service name="ssh" product="OpenSSH" version="{version}" method="probed" conf="10">'
        f"<cpe>cpe:/a:openbsd:openssh:{upstream}</cpe></service>"
    )


HTTP = '<service name="http" product="nginx" version="1.14.0" method="probed" conf="10"/>'
FTP = (
    '<service name="ftp" product="vsftpd" version="2.3.4" method="probed" conf="10">'
    "<cpe>cpe:/a:vsftpd:vsftpd:2.3.4</cpe></service>"
)


def run(tmp_path: Path, name: str, ports: str, *extra: str) -> tuple[int, dict[str, Any]]:
    xml = x.write(tmp_path / f"{name}.xml", x.host("10.0.0.1", ports))
    out = tmp_path / name
    argv = ["report", str(xml), "-o", str(out), "-f", "json", "--history", str(tmp_path / "h.db")]
    code = main([*argv, *extra])
    return code, json.loads((out / "report.json").read_text("utf-8"))


def ids(changes: dict[str, Any], change: str) -> set[str]:
    """The vulnerabilities of a kind of change in a report's changes section."""
    return {g["id"] for g in changes["findings"] if g["change"] == change}


def ports(changes: dict[str, Any], change: str) -> list[tuple[int, str, str | None]]:
    return [
        (loc["port"], p["service"], p["previous"])
        for p in changes["ports"]
        if p["change"] == change
        for loc in p["locations"]
    ]


def test_second_scan_reports_what_changed(tmp_path: Path) -> None:
    _, first = run(tmp_path, "one", x.port(22, ssh("7.4")) + x.port(80, HTTP))
    assert first["changes"] is None  # nothing to compare with yet
    _, second = run(tmp_path, "two", x.port(22, ssh("9.8p1")))
    changes = second["changes"]
    assert ports(changes, "closed") == [(80, "nginx 1.14.0", None)]
    assert ports(changes, "changed") == [(22, "OpenSSH 9.8p1", "OpenSSH 7.4")]
    assert "CVE-2023-38408" in ids(changes, "fixed")  # fixed in 9.3p2
    assert "CVE-2023-38408" not in ids(changes, "new")


def test_new_only_gate_ignores_what_was_already_there(tmp_path: Path) -> None:
    run(tmp_path, "one", x.port(22, ssh("7.4")))
    code, _ = run(tmp_path, "two", x.port(22, ssh("7.4")), "--fail-on", "critical", "--fail-on-new")
    assert code == 0
    code, third = run(tmp_path, "three", x.port(22, ssh("7.4")) + x.port(21, FTP),
                      "--fail-on", "critical", "--fail-on-new")  # fmt: skip
    assert code == 1
    assert "CVE-2011-2523" in ids(third["changes"], "new")


def test_suppressions_move_findings_to_the_appendix_and_expire(tmp_path: Path) -> None:
    rules = tmp_path / "suppressions.yaml"
    rules.write_text(
        "- cve: CVE-2023-38408\n  product: OpenSSH\n  reason: agent forwarding is disabled\n"
        "  author: secops@example.com\n  expires: 2999-01-01\n"
        "- cve: CVE-2018-15473\n  reason: accepted\n  author: alice\n  expires: 2001-01-01\n",
        "utf-8",
    )
    _, data = run(tmp_path, "s", x.port(22, ssh("7.4")), "--suppressions", str(rules))
    ids = {v["id"] for v in data["services"][0]["vulnerabilities"]}
    assert "CVE-2023-38408" not in ids and "CVE-2018-15473" in ids  # expired: applies no more
    (service,) = data["suppressed"]["services"]
    (gone,) = service["vulnerabilities"]
    assert gone["id"] == "CVE-2023-38408" and gone["complete"] is True
    assert gone["entries"][0]["reason"] == "agent forwarding is disabled"
    assert [e["cve"] for e in data["suppressed"]["expired"]] == ["CVE-2018-15473"]


def test_invalid_suppression_file_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "bad.yaml"
    rules.write_text(
        "- cve: CVE-2023-38408\n  reason: r\n  author: a\n  cidr: 10.0.0.1/8\n", "utf-8"
    )
    xml = x.write(tmp_path / "in.xml", x.host("10.0.0.1", x.port(22, ssh("7.4"))))
    assert main(["report", str(xml), "--suppressions", str(rules), "-o", str(tmp_path / "o")]) == 2
    assert f"{rules}:4" in capsys.readouterr().err


@pytest.fixture
def hook() -> Iterator[Webhook]:
    server = Webhook()
    yield server
    server.close()


def test_alerts_carry_only_new_findings(tmp_path: Path, hook: Webhook) -> None:
    run(tmp_path, "one", x.port(22, ssh("7.4")), "--notify", hook.url())
    assert hook.received == []  # first scan of the scope: nothing is "new" yet
    run(tmp_path, "two", x.port(22, ssh("7.4")) + x.port(21, FTP), "--notify", hook.url())
    (payload,) = [r.body for r in hook.received]
    assert payload["source"] == "brulee"
    assert {f["cve"] for f in payload["new_findings"]} >= {"CVE-2011-2523"}
    assert all(f["port"] == 21 for f in payload["new_findings"])


def test_history_lists_scans_and_diff_compares_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(tmp_path, "one", x.port(22, ssh("7.4")) + x.port(80, HTTP))
    run(tmp_path, "two", x.port(22, ssh("9.8p1")))
    capsys.readouterr()
    store = ["--history", str(tmp_path / "h.db")]
    assert main(["history", *store]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 2 and listing[0].split()[0] == "2"  # newest first
    assert main(["diff", "1", "2", *store]) == 0
    text = capsys.readouterr().out
    assert "changes from scan 1" in text and "OpenSSH 7.4 -> OpenSSH 9.8p1" in text
    assert "nginx 1.14.0 at 1: 10.0.0.1:80/tcp" in text  # closed port
    one, two = (str(tmp_path / name / "report.json") for name in ("one", "two"))
    assert main(["diff", one, two, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert ports(data, "closed") == [(80, "nginx 1.14.0", None)]
    assert data["previous"]["name"] == f"{one} (scan 1)"
    assert main(["diff", "1", "2", *store, "--format", "md"]) == 0
    assert md_escape("OpenSSH 9.8p1") in capsys.readouterr().out
    assert main(["diff", "1", "2", *store, "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page


def test_a_suppressed_finding_is_not_reported_as_fixed(tmp_path: Path) -> None:
    rules = tmp_path / "s.yaml"
    rules.write_text("- cve: CVE-2023-38408\n  reason: accepted\n  author: a\n", "utf-8")
    run(tmp_path, "one", x.port(22, ssh("7.4")))
    _, second = run(tmp_path, "two", x.port(22, ssh("7.4")), "--suppressions", str(rules))
    assert "CVE-2023-38408" not in ids(second["changes"], "fixed")
    assert second["suppressed"]["services"][0]["vulnerabilities"][0]["id"] == "CVE-2023-38408"


def test_suppressions_kept_in_the_store_apply_to_later_scans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ["--history", str(tmp_path / "h.db")]
    argv = ["suppress", "add", "CVE-2023-38408", "--reason", "agent off", "--author", "bob",
            "--cidr", "10.0.0.0/24", "--expires", "2999-12-31", *store]  # fmt: skip
    assert main(argv) == 0
    assert main(["suppress", "list", *store]) == 0
    assert "CVE-2023-38408  cidr 10.0.0.0/24 until 2999-12-31  bob: agent off" in (
        capsys.readouterr().out
    )
    _, data = run(tmp_path, "one", x.port(22, ssh("7.4")))
    assert data["suppressed"]["services"][0]["vulnerabilities"][0]["id"] == "CVE-2023-38408"
    assert main(["suppress", "remove", "1", *store]) == 0
    _, data = run(tmp_path, "two", x.port(22, ssh("7.4")))
    assert data["suppressed"] is None
    assert main(["suppress", "remove", "1", *store]) == 2
    assert main(["suppress", "add", "CVE-bad", "--reason", "r", "--author", "a", *store]) == 2


def test_trend_over_the_last_scans_of_the_scope(history_url: str, tmp_path: Path) -> None:
    """Open findings per severity, new and fixed, for each scan; in the JSON report."""
    store = ["--history", history_url]
    old, new = x.port(22, ssh("7.4")), x.port(22, ssh("9.8p1"))
    _, first = run(tmp_path, "one", old, *store)
    assert first["trend"] is None  # nothing earlier
    _, second = run(tmp_path, "two", old + x.port(21, FTP), *store)
    _, third = run(tmp_path, "three", new + x.port(21, FTP), *store)
    scans = third["trend"]["scans"]
    assert [s["id"] for s in scans] == [
        first["scan"]["history_id"],
        second["scan"]["history_id"],
        third["scan"]["history_id"],
    ]
    one, two, three = scans
    assert one["new"] is None and one["fixed"] is None
    assert sum(one["open"].values()) == one["total"] > 0
    vsftpd = two["total"] - one["total"]
    assert vsftpd > 0 and two["new"] == vsftpd and two["fixed"] == 0
    assert three["fixed"] > 0 and three["total"] == two["total"] - three["fixed"] + three["new"]
    assert list(one["open"]) == ["critical", "high", "medium", "low", "unscored"]


def test_suppress_list_escapes_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: the reason's OSC 8 link and screen clear reached the terminal as they were.
    store = ["--history", str(tmp_path / "h.db")]
    reason = "ok\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07\x1b[2J\rdone"
    argv = ["suppress", "add", "CVE-2023-38408", "--reason", reason, "--author", "eve", *store]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["suppress", "list", *store]) == 0
    out = capsys.readouterr().out
    assert out.endswith(
        "eve: ok\\x1b]8;;https://evil.example/\\x07click\\x1b]8;;\\x07\\x1b[2J done\n"
    )
    assert "\x1b" not in out and "\r" not in out


# -- newness and alerts that survive failures (SQLite and PostgreSQL) ----------------------------


def report_run(
    tmp_path: Path, history: str, name: str, ports: str, *extra: str, hours: int = 0
) -> int:
    """``brulee report`` of a scan of 10.0.0.1 started ``hours`` after the usual time."""
    xml = x.write(tmp_path / f"{name}.xml", x.host("10.0.0.1", ports))
    start = 'start="1700000000"'
    xml.write_text(xml.read_text("utf-8").replace(start, f'start="{1700000000 + 3600 * hours}"'))
    out = tmp_path / name
    return main(["report", str(xml), "-o", str(out), "-f", "json", "--history", history, *extra])


def report_of(tmp_path: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp_path / name / "report.json").read_text("utf-8"))
    return data


def test_a_run_that_fails_after_recording_leaves_its_findings_new(
    tmp_path: Path, history_url: str, hook: Webhook, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: the failed run spent the newness; the retry exited 0 and alerted nothing.
    ssh74, both = x.port(22, ssh("7.4")), x.port(22, ssh("7.4")) + x.port(21, FTP)
    gate = ["--notify", hook.url(), "--fail-on", "critical", "--fail-on-new"]
    assert report_run(tmp_path, history_url, "one", ssh74) == 0
    (tmp_path / "two" / "report.json").mkdir(parents=True)  # its report cannot be written
    assert report_run(tmp_path, history_url, "two", both, *gate, hours=1) == 3
    assert hook.received == []  # not reported: nothing alerted
    capsys.readouterr()
    assert main(["history", "--history", history_url]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[3] for line in listed] == ["unreported", "complete"]
    assert report_run(tmp_path, history_url, "three", both, *gate, hours=2) == 1
    three = report_of(tmp_path, "three")
    assert three["changes"]["previous"]["id"] == report_of(tmp_path, "one")["scan"]["history_id"]
    assert "CVE-2011-2523" in ids(three["changes"], "new")
    (alert,) = hook.received
    assert "CVE-2011-2523" in {f["cve"] for f in alert.body["new_findings"]}
    assert report_run(tmp_path, history_url, "four", both, *gate, hours=3) == 0  # spent
    assert len(hook.received) == 1


def test_an_alert_a_webhook_missed_is_sent_by_the_next_run(
    tmp_path: Path, history_url: str, hook: Webhook, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: a webhook that failed once never received those findings.
    ssh74, both = x.port(22, ssh("7.4")), x.port(22, ssh("7.4")) + x.port(21, FTP)
    notify = ["--notify", hook.url()]
    assert report_run(tmp_path, history_url, "one", ssh74, *notify) == 0
    hook.replies = [Reply(400, b"down for maintenance\x1b]0;owned\x07\x1b[2J\nsecond line")]
    assert report_run(tmp_path, history_url, "two", both, *notify, hours=1) == 0
    err = capsys.readouterr().err
    # The error body, escaped on one line: ESC and OSC sequences never reach the terminal.
    (warning,) = [line for line in err.splitlines() if "alert to" in line]
    assert "down for maintenance\\x1b]0;owned\\x07\\x1b[2J second line" in warning
    assert "\x1b" not in err and "\x07" not in err
    assert warning.endswith("(kept: the next run that notifies it sends it again)")
    assert len(hook.received) == 1
    assert report_run(tmp_path, history_url, "three", both, *notify, hours=2) == 0  # none new
    missed, again = hook.received
    assert again.body == missed.body
    assert again.body["scan"]["id"] == report_of(tmp_path, "two")["scan"]["history_id"]
    assert "CVE-2011-2523" in {f["cve"] for f in again.body["new_findings"]}
    assert report_run(tmp_path, history_url, "four", both, *notify, hours=3) == 0
    assert len(hook.received) == 2  # delivered: never sent again


def test_owed_alerts_are_bounded_per_webhook_and_in_runs(
    tmp_path: Path, history_url: str, hook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: a webhook gone for good was owed one more alert each night, without end, and one
    # payload it refused held back every alert after it.
    monkeypatch.setattr(tracking, "OWED_KEPT", 3)
    monkeypatch.setattr(tracking, "OWED_RUNS", 2)
    assert report_run(tmp_path, history_url, "one", x.port(22, ssh("7.4"))) == 0
    scan = report_of(tmp_path, "one")["scan"]["history_id"]
    url = hook.url()
    with open_store(history_url) as store:
        store.reported(scan, [(target_key(url), 1, json.dumps({"n": n})) for n in range(5)])
        hook.replies = [Reply(400, b"refused")]
        dropped, kept = tracking.send_owed(store, url)
        assert dropped.startswith(f"2 alert(s) owed to {redact_url(url)} dropped, the oldest")
        assert "at most 3 are kept per webhook" in dropped and SECRET not in dropped
        assert kept.endswith("(kept: the next run that notifies it sends it again)")
        assert [r.body["n"] for r in hook.received] == [2]
        hook.replies = [Reply(400, b"refused")]
        (given_up,) = tracking.send_owed(store, url)  # the second run it fails at: dropped
        assert given_up.startswith(f"alert of scan {scan} to ") and "failed at 2 runs" in given_up
        assert [r.body["n"] for r in hook.received] == [2, 2, 3, 4]
        assert store.owed_alerts(target_key(url)) == []
        assert tracking.send_owed(store, url) == [] and len(hook.received) == 4


def test_alerts_owed_for_more_than_a_month_are_dropped_whatever_the_webhook(
    tmp_path: Path, history_url: str
) -> None:
    # Before: an alert owed to a URL no longer notified (its secret rotated) stayed for good.
    assert report_run(tmp_path, history_url, "one", x.port(22, ssh("7.4"))) == 0
    scan = report_of(tmp_path, "one")["scan"]["history_id"]
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    with open_store(history_url) as store:
        store.reported(scan, [("gone", 1, "{}"), ("gone", 1, "{}")], old)
        store.reported(scan, [("gone", 1, "{}")], recent)
        (warning,) = tracking.drop_stale(store, now)
        assert warning == (
            f"2 alert(s) owed for more than 30 days dropped (scans {scan}); their "
            "findings stay in the history and in the reports"
        )
        assert len(store.owed_alerts("gone")) == 1
        assert tracking.drop_stale(store, now) == []
