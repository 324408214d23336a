"""The Nmap runner: argument vetting, argv building, and real Nmap runs on loopback."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from brulee.core.scan import Host
from brulee.errors import NmapError
from brulee.scan.nmap import (
    NMAP_ENVIRONMENT,
    STDERR_KEPT,
    Runner,
    ScopeFilter,
    build_argv,
    detection_options,
    find_nmap,
    plan_jobs,
)
from brulee.scan.nmapxml import NmapXmlReader
from brulee.scan.progress import Status
from brulee.scan.targets import Resolution, build_scope, parse_list
from tests.conftest import needs_nmap


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("nmap -sV -T4 -n -p 1-1000 --host-timeout 30m -oX /r/a.xml -iL /r/t.txt", ""),
        ("nmap -sV --version-intensity 7 --max-retries 2", ""),  # Nmap's default intensity
        ("nmap -sV --script vulners -oX /a.xml", "script=vulners"),
        ("nmap -sV --script=vulners,http-title --script-args mincvss=7",
         "script-args=mincvss=7 script=http-title script=vulners"),
        ("nmap -sV -sC --version-all", "script=default version-intensity=9"),
        ("nmap -A ; nmap -sV --version-light", "script=default version-intensity=2"),
        ("nmap -sV --min-rate 'unbalanced", ""),
    ],
)  # fmt: skip
def test_detection_options_are_those_that_change_what_is_seen(command: str, options: str) -> None:
    assert detection_options(command) == options


def test_scope_filter_keeps_the_validated_scope_only() -> None:
    targets = parse_list(["10.0.0.0/30", "10.0.1.9", "fd00::1", "fe80::1%eth0", "Web.Example"], "t")
    scope = build_scope(
        targets,
        parse_list(["10.0.0.2"], "x"),
        resolution=Resolution(addresses=(("web.example", ("192.0.2.7",)),)),
    )
    keep = ScopeFilter(scope)
    kept = [
        a
        for a in ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.1.9", "fd00::1", "::1")
        if keep(Host(address=a))
    ]
    assert kept == ["10.0.0.1", "10.0.0.3", "10.0.1.9", "fd00::1"]
    assert keep(Host(address="192.0.2.7"))  # the address the scope's hostname resolved to
    assert keep(Host(address="fe80::1"))  # a scoped address, as Nmap writes it (no zone)
    assert not keep(Host(address="192.0.2.8", hostnames=("web.example",)))  # names prove nothing
    assert not keep(Host(address="not-an-address"))
    assert keep.dropped == 5
    assert keep.warning().startswith("5 host(s) outside the scope were dropped")
    assert "10.0.0.2, 10.0.0.4, ::1, 192.0.2.8, not-an-address" in keep.warning()
    assert ScopeFilter(scope).warning() == ""


def test_argv_is_a_list_with_user_args_and_brulee_output(tmp_path: Path) -> None:
    scope = build_scope(parse_list(["10.0.0.1", "fd00::1"], "t"))
    jobs = plan_jobs(scope, 1, ["-p", "22"], tmp_path)
    assert [job.ipv6 for job in jobs] == [False, True]
    argv = build_argv("/usr/bin/nmap", jobs[1], ["-p", "22"], "5m")
    assert argv[:5] == ["/usr/bin/nmap", "-sV", "-T4", "-p", "22"]
    assert "-6" in argv
    assert argv[argv.index("--host-timeout") + 1] == "5m"
    assert argv[argv.index("-oX") + 1] == str(tmp_path / "scan-002.xml")
    assert "--exclude" not in argv  # exclusions are applied to the addresses Nmap is given


def test_the_users_timing_template_replaces_brulees(tmp_path: Path) -> None:
    (job,) = plan_jobs(build_scope(parse_list(["10.0.0.1"], "t")), 1, [], tmp_path)
    assert build_argv("nmap", job, ["-T3"], None)[:3] == ["nmap", "-sV", "-T3"]
    assert "-T4" not in build_argv("nmap", job, ["-T", "2"], None)
    # A fine-grained option comes after brulee's template, so Nmap applies it last.
    argv = build_argv("nmap", job, ["--max-retries", "2"], None)
    assert argv.index("-T4") < argv.index("--max-retries")


def test_workers_split_the_scope(tmp_path: Path) -> None:
    scope = build_scope(parse_list(["10.0.0.0/26"], "t"))
    jobs = plan_jobs(scope, 4, [], tmp_path)
    assert [job.total for job in jobs] == [16, 16, 16, 16]
    assert len({job.xml for job in jobs}) == 4


def test_workers_share_live_hosts_clustered_at_the_start_of_a_network(tmp_path: Path) -> None:
    """19 live hosts at .11-.29 of a /24: contiguous halves would give them all to one worker."""
    live = {f"10.0.0.{i}" for i in range(11, 30)}
    scope = build_scope(parse_list(["10.0.0.0/24"], "t"))
    for workers in (2, 4):
        jobs = plan_jobs(scope, workers, [], tmp_path)
        per_job = [len(live & _addresses(job.scope.lines())) for job in jobs]
        assert max(per_job) - min(per_job) <= 1, per_job
        assert sum(per_job) == 19
    # Shards keep their contiguous, stable slices.
    assert list(scope.shard(1, 2).lines()) == ["10.0.0.0/25"]


def _addresses(lines: Iterable[str]) -> set[str]:
    return {str(a) for line in lines for a in ipaddress.ip_network(line)}


def test_missing_nmap_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # A real lookup on a PATH that holds no nmap: nothing is mocked.
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(NmapError, match="apt-get install nmap"):
        find_nmap()


@needs_nmap
def test_real_nmap_run_with_progress_and_host_timeout(tmp_path: Path, ssh_banner_port: int) -> None:
    scope = build_scope(parse_list(["127.0.0.1"], "t"))
    args = ["-n", "-Pn", "-p", str(ssh_banner_port)]
    jobs = plan_jobs(scope, 1, args, tmp_path)
    seen: list[tuple[int, Status]] = []
    results = Runner(find_nmap(), args, "2m").run(jobs, lambda i, status: seen.append((i, status)))
    assert [r.returncode for r in results] == [0]
    assert seen[-1] == (1, Status(hosts_done=1, finished=True))
    reader = NmapXmlReader(jobs[0].xml)
    (host,) = list(reader.hosts())
    (port,) = host.open_ports
    assert port.service is not None
    assert (port.service.product, port.service.version) == ("OpenSSH", "7.4p1 Debian 10+deb9u7")
    assert "cpe:/a:openbsd:openssh:7.4p1" in port.service.cpes
    assert "--host-timeout 2m" in reader.run.args


@needs_nmap
def test_nmap_failure_is_reported_with_its_message(tmp_path: Path) -> None:
    scope = build_scope(parse_list(["127.0.0.1"], "t"))
    jobs = plan_jobs(scope, 1, ["-p", "99999"], tmp_path)
    (result,) = Runner(find_nmap(), ["-p", "99999"], None).run(jobs, lambda i, d: None)
    assert result.returncode != 0
    assert "port" in result.stderr.lower()


def test_not_root_note_matches_privilege() -> None:
    from brulee.scan.nmap import is_privileged

    assert is_privileged() == (os.geteuid() == 0)


def test_a_flood_on_stderr_is_kept_to_its_start(tmp_path: Path) -> None:
    # A real program in Nmap's place that writes 4 MiB of messages, then fails.
    program = tmp_path / "chatty"
    program.write_text(
        "#!/bin/sh\necho 'first: the reason' >&2\nhead -c 4194304 /dev/zero | tr '\\0' x >&2\n"
        "exit 3\n"
    )
    program.chmod(0o755)
    jobs = plan_jobs(build_scope(parse_list(["192.0.2.1"], "t")), 1, [], tmp_path)
    (result,) = Runner(str(program), [], None).run(jobs, lambda i, d: None)
    assert result.returncode == 3
    assert result.stderr.startswith("first: the reason\n")
    assert len(result.stderr) <= STDERR_KEPT


@needs_nmap
def test_an_option_nmap_does_not_know_is_reported_in_its_words(tmp_path: Path) -> None:
    # Nmap stops while reading its options: no packet is sent.
    jobs = plan_jobs(build_scope(parse_list(["192.0.2.1"], "t")), 1, [], tmp_path)
    (result,) = Runner(find_nmap(), ["--bogus-option"], None).run(jobs, lambda i, d: None)
    assert result.returncode == 255
    assert result.stderr.splitlines()[0].endswith("unrecognized option '--bogus-option'")
    assert not jobs[0].xml.exists()


def test_nmap_gets_only_the_environment_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Secrets given to brulee by environment (a webhook URL, cloud credentials) never reach
    Nmap's environment, where its scripts and /proc/PID/environ could read them."""
    monkeypatch.setenv("BRULEE_NOTIFY", "https://hooks.example/services/T1/Zq8SecretToken42")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "Zq8AwsSecret")
    monkeypatch.setenv("NMAPDIR", str(tmp_path))
    monkeypatch.setenv("NMAP_PRIVILEGED", "1")  # the container image's capability
    seen = tmp_path / "environ"
    program = tmp_path / "nmap-stand-in"  # a real program in Nmap's place, printing its env
    program.write_text(f"#!/bin/sh\nenv > {seen}\n")
    program.chmod(0o755)
    jobs = plan_jobs(build_scope(parse_list(["192.0.2.1"], "t")), 1, [], tmp_path)
    (result,) = Runner(str(program), [], None).run(jobs, lambda i, d: None)
    assert result.returncode == 0
    names = {line.split("=", 1)[0] for line in seen.read_text().splitlines()}
    assert {"NMAPDIR", "NMAP_PRIVILEGED", "PATH"} <= names
    assert "Zq8" not in seen.read_text()
    assert names <= set(NMAP_ENVIRONMENT) | {"PWD", "SHLVL", "_"}  # the shell's own
