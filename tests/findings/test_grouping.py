"""Grouping by service identity: every location, every CVE from every location."""

from __future__ import annotations

from pathlib import Path

from brulee.core.findings import ServiceGroup, group_order
from brulee.core.scan import Service
from brulee.core.vulnerability import KevEntry, Vulnerability
from brulee.findings.grouping import GroupBuilder, ServiceGrouper
from brulee.findings.spool import Spool
from brulee.match.assess import Assessor
from brulee.match.vulners import VulnersSource
from brulee.scan.nmapxml import NmapXmlReader
from tests import xmlsnippets as x

CPE = "cpe:/a:openbsd:openssh:7.4p1"
PATCHED = (
    '<service name="ssh" product="OpenSSH" version="7.4p1 Debian 10+deb9u7" '
    f'extrainfo="protocol 2.0" method="probed" conf="10"><cpe>{CPE}</cpe></service>'
)
BARE = (
    '<service name="ssh" product="OpenSSH" version="7.4p1" method="probed" conf="10">'
    f"<cpe>{CPE}</cpe></service>"
)


def with_cve(portid: int, cve: str, score: str) -> str:
    return x.port(portid, PATCHED, x.vulners(CPE, [(cve, score, "cve", False)]))


HTTP = '<service name="http" method="table" conf="3"/>'


def group(path: Path) -> tuple[list[ServiceGroup], dict[str, list[str]]]:
    assessor = Assessor([VulnersSource()])
    with Spool() as spool:
        grouper = ServiceGrouper(spool)
        for host in NmapXmlReader(path).hosts():
            grouper.add_host(host, [(p, assessor(p)) for p in host.open_ports])
        groups = list(grouper.groups())
        where = {
            g.service.label: [f"{loc.address}:{loc.port}" for loc in spool.locations(g.key)]
            for g in groups
        }
    return groups, where


def test_cves_from_every_host_are_united_not_just_the_first(tmp_path: Path) -> None:
    path = x.write(
        tmp_path / "s.xml",
        x.host("10.0.0.9", x.port(22, PATCHED)),
        x.host("10.0.0.10", with_cve(22, "CVE-2016-10009", "7.3")),
        x.host("10.0.0.2", with_cve(2222, "CVE-2023-38408", "9.8")),
    )  # fmt: skip
    groups, where = group(path)
    (ssh,) = groups
    # vulners's CVEs are reported, not verified by brulee: possible, none established.
    assert ssh.status == "possibly-vulnerable"
    assert [v.id for v in ssh.vulnerabilities] == ["CVE-2023-38408", "CVE-2016-10009"]
    assert ssh.location_count == 3
    # Numeric address order, not string order (10.0.0.10 after 10.0.0.9).
    assert where["OpenSSH 7.4p1 Debian 10+deb9u7"] == [
        "10.0.0.2:2222",
        "10.0.0.9:22",
        "10.0.0.10:22",
    ]
    assert ssh.notes and "only some locations" in ssh.notes[0]


def test_patched_and_bare_builds_are_different_services(tmp_path: Path) -> None:
    path = x.write(
        tmp_path / "s.xml",
        x.host("10.0.0.1", x.port(22, PATCHED)),
        x.host("10.0.0.2", x.port(22, BARE)),
    )
    groups, _ = group(path)
    assert sorted(g.service.version for g in groups) == ["7.4p1", "7.4p1 Debian 10+deb9u7"]
    assert len({g.key for g in groups}) == 2


def test_statuses_never_collapse_into_clean(tmp_path: Path) -> None:
    path = x.write(
        tmp_path / "s.xml",
        x.host("10.0.0.1", x.port(22, BARE) + x.port(80, HTTP)),
    )
    groups, _ = group(path)
    statuses = {g.service.label: (g.status, g.notes) for g in groups}
    assert statuses["OpenSSH 7.4p1"][0] == "unchecked"
    assert statuses["http"][0] == "unversioned"
    assert "no version" in statuses["http"][1][0]
    assert all(g.status != "clean" for g in groups)


def test_same_service_on_udp_and_tcp_are_separate_groups(tmp_path: Path) -> None:
    dns = (
        '<service name="domain" product="ISC BIND" version="9.11.5-P4-5.1+deb10u5" '
        'method="probed" conf="10"/>'
    )
    path = x.write(
        tmp_path / "s.xml",
        x.host("10.0.0.1", x.port(53, dns) + x.port(53, dns, proto="udp")),
    )
    groups, _ = group(path)
    assert sorted(g.protocol for g in groups) == ["tcp", "udp"]


def test_vulnerable_groups_sort_first_and_by_severity(tmp_path: Path) -> None:
    web = '<service name="http" product="Apache httpd" version="2.4.49" method="probed" conf="10"/>'
    path = x.write(
        tmp_path / "s.xml",
        x.host("10.0.0.1",
               x.port(80, HTTP)
               + x.port(22, BARE, x.vulners(CPE, [("CVE-2016-10009", "7.3", "cve", False)]))
               + x.port(8080, web, x.vulners("cpe:/a:apache:http_server:2.4.49",
                                            [("CVE-2021-41773", "9.8", "cve", False)]))),
    )  # fmt: skip
    groups, _ = group(path)
    assert [g.service.label for g in groups] == ["Apache httpd 2.4.49", "OpenSSH 7.4p1", "http"]
    assert groups[0].severity_counts(possible=True)["critical"] == 1
    assert groups[0].severity_counts()["critical"] == 0  # reported: not established


def test_overlapping_files_count_each_location_once(tmp_path: Path) -> None:
    from brulee.match.sources import Matching
    from brulee.pipeline import render_reports

    one = x.write(tmp_path / "a.xml", x.host("10.0.0.1", x.port(22, BARE)))
    two = x.write(tmp_path / "b.xml", x.host("10.0.0.1", x.port(22, BARE)))
    written = render_reports(
        [one, two], ["json"], tmp_path / "out", matching=Matching((VulnersSource(),))
    )
    assert written.hosts_up == 1
    data = (tmp_path / "out" / "report.json").read_text("utf-8")
    assert '"location_count": 1' in data


def test_highest_severity_is_not_the_first_listed() -> None:
    from brulee.core.findings import ServiceGroup
    from brulee.core.scan import Service
    from brulee.core.vulnerability import EpssScore, Vulnerability, merge_vulnerabilities

    vulns = merge_vulnerabilities([
        Vulnerability("CVE-2000-0001", "critical", confidence="certain"),
        Vulnerability("CVE-2000-0002", "medium", epss=EpssScore(0.9, 0.99), confidence="certain"),
    ])  # fmt: skip
    assert [v.id for v in vulns] == ["CVE-2000-0002", "CVE-2000-0001"]  # EPSS orders first
    group = ServiceGroup("k", Service(), "tcp", "vulnerable", (), vulns, (), 1)
    assert group.max_severity == "critical"


def _builder_group(*vulns: Vulnerability, label: str = "svc") -> ServiceGroup:
    builder = GroupBuilder(Service(product=label, version="1"), "tcp")
    builder.add("vulnerable", vulns)
    return builder.finish(label, 1)


def test_a_service_whose_findings_are_all_possible_is_possibly_vulnerable() -> None:
    possible = [
        Vulnerability("CVE-2017-7494", "critical", confidence=c)
        for c in ("conditional", "reported", "version-range", "unbounded", "unverified-backport")
    ]
    for vuln in possible:
        group = _builder_group(vuln)
        assert group.status == "possibly-vulnerable", vuln.confidence
        assert group.max_severity is None and group.possible_severity == "critical"
        assert group.severity_counts()["critical"] == 0
        assert group.severity_counts(possible=True)["critical"] == 1
    one_certain = _builder_group(*possible, Vulnerability("CVE-1", "low", confidence="certain"))
    assert one_certain.status == "vulnerable"
    assert one_certain.max_severity == "low"
    assert [v.id for v in one_certain.established] == ["CVE-1"]


def test_services_are_ordered_by_kev_then_certain_severity_then_the_rest() -> None:
    kev = KevEntry("2023-01-01", "", "", "", "", "", "Unknown", "")
    groups = [
        _builder_group(Vulnerability("C1", "critical", confidence="unbounded", kev=kev),
                       label="possible-kev-critical"),
        _builder_group(Vulnerability("C2", "high", confidence="certain"), label="certain-high"),
        _builder_group(Vulnerability("C3", "low", confidence="certain", kev=kev),
                       label="certain-kev-low"),
        _builder_group(Vulnerability("C4", "critical", confidence="certain"),
                       label="certain-critical"),
        _builder_group(Vulnerability("C5", "medium", confidence="conditional"),
                       label="possible-medium"),
    ]  # fmt: skip
    ordered = [g.key for g in sorted(groups, key=group_order)]
    assert ordered == [
        "certain-kev-low", "certain-critical", "certain-high", "possible-kev-critical",
        "possible-medium",
    ]  # fmt: skip


def test_volatile_extrainfo_is_kept_per_location_not_in_the_identity() -> None:
    """Two real Memcached 1.6.18 of the real-daemon lab, ``uptime 21 seconds`` and ``uptime 9
    seconds``: one service, each uptime at its location."""
    assessor = Assessor([VulnersSource()])
    path = Path(__file__).parents[1] / "assets" / "nmap" / "real-debian-daemons.xml"
    with Spool() as spool:
        grouper = ServiceGrouper(spool)
        for host in NmapXmlReader(path).hosts():
            grouper.add_host(host, [(p, assessor(p)) for p in host.open_ports])
        groups = list(grouper.groups())
        (memcached,) = [g for g in groups if g.service.product == "Memcached"]
        where = [(loc.address, loc.extrainfo) for loc in spool.locations(memcached.key)]
        ssh = next(g for g in groups if g.service.product == "OpenSSH")
        (ssh_at,) = spool.locations(ssh.key)
    assert memcached.location_count == 2
    assert memcached.service.extrainfo == ""
    assert where == [("10.213.77.113", "uptime 21 seconds"), ("10.213.77.114", "uptime 9 seconds")]
    # extrainfo without volatile items stays the service's, and no location repeats it
    assert (ssh.service.extrainfo, ssh_at.extrainfo) == ("protocol 2.0", "")
