"""Merging the answers of several sources for one port, and the memo a fleet scan relies on.

The sources here are small VulnerabilitySource plug-ins that answer what they were built with
(and count the ports they were asked about), next to the real vulners source on Nmap XML.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from brulee.core.scan import Port, Service
from brulee.core.vulnerability import Assessment, Cvss, Status, Vulnerability
from brulee.match.assess import Assessor, assess
from brulee.match.interface import VulnerabilitySource
from brulee.match.vulners import VulnersSource
from brulee.scan.nmapxml import NmapXmlReader
from tests.conftest import NMAP_XML

OPENSSH = Service(
    name="ssh", product="OpenSSH", version="7.4p1", cpes=("cpe:/a:openbsd:openssh:7.4p1",)
)
UNVERSIONED_SSH = Service(name="ssh", product="OpenSSH")
CVE_1 = Vulnerability(
    "CVE-2023-38408", "critical", Cvss(9.8), sources=("nvd",), confidence="certain"
)
CVE_2 = Vulnerability("CVE-2016-10009", "high", Cvss(7.3), sources=("vulners",))
UNVERSIONED_NOTE = "no version was detected, so no source can tell which vulnerabilities apply"


class Answers(VulnerabilitySource):
    """A source that gives the same assessment for every port, and remembers what it was asked."""

    def __init__(self, name: str, answer: Assessment) -> None:
        self.name = name
        self.answer = answer
        self.asked: list[Port] = []

    def assess(self, port: Port) -> Assessment:
        self.asked.append(port)
        return self.answer


def source(
    status: Status, note: str = "", *vulns: Vulnerability, refs: tuple[str, ...] = ()
) -> Answers:
    """A source named after the status it always answers."""
    return Answers(status, Assessment(status, vulnerabilities=vulns, note=note, references=refs))


def ssh_port(service: Service | None = OPENSSH, portid: int = 22) -> Port:
    return Port("tcp", portid, "open", "syn-ack", service)


def test_vulnerable_wins_over_every_other_status() -> None:
    result = assess(ssh_port(), [
        source("clean", "nothing applies to 7.4p1"),
        source("vulnerable", "", CVE_1),
        source("unknown", "not in the database"),
        source("unchecked", "no vulners output for this port"),
    ])  # fmt: skip
    assert result.status == "vulnerable"
    assert result.vulnerabilities == (CVE_1,)
    assert result.note == ""  # the other sources' notes explain statuses that lost


def test_a_vulnerability_makes_the_port_vulnerable_whatever_its_source_called_it() -> None:
    odd = Answers("odd", Assessment("unknown", vulnerabilities=(CVE_2,), note="partial data"))
    result = assess(ssh_port(), [odd, source("clean", "nothing applies")])
    assert result.status == "vulnerable"
    assert result.vulnerabilities == (CVE_2,)
    assert result.note == ""


def test_vulnerabilities_of_several_sources_are_merged_by_id() -> None:
    same_from_vulners = replace(CVE_1, sources=("vulners",), confidence="reported", cvss=None)
    result = assess(ssh_port(), [
        source("vulnerable", "", CVE_2, same_from_vulners),
        source("vulnerable", "", CVE_1),
    ])  # fmt: skip
    assert [v.id for v in result.vulnerabilities] == ["CVE-2023-38408", "CVE-2016-10009"]
    merged = result.vulnerabilities[0]
    assert merged.confidence == "certain"  # the best-founded record is kept
    assert merged.cvss == Cvss(9.8)
    assert set(merged.sources) == {"nvd", "vulners"}


def test_clean_wins_over_unknown_and_unchecked_and_keeps_only_its_notes() -> None:
    result = assess(ssh_port(), [
        source("unknown", "not in the database"),
        source("clean", "none of the 12 CVEs applies"),
        source("unchecked", "no vulners output for this port"),
        source("clean", "none of the 12 CVEs applies"),
    ])  # fmt: skip
    assert result.status == "clean"
    assert result.vulnerabilities == ()
    assert result.note == "none of the 12 CVEs applies"  # once, not twice


def test_unknown_wins_over_unchecked() -> None:
    result = assess(ssh_port(), [
        source("unchecked", "no vulners output for this port"),
        source("unknown", "acme:thing is not in the database"),
        source("unknown", "nor in this one"),
    ])  # fmt: skip
    assert result.status == "unknown"
    assert result.note == "acme:thing is not in the database; nor in this one"


def test_unchecked_when_every_source_was_silent() -> None:
    result = assess(ssh_port(), [source("unchecked", "no vulners output for this port")])
    assert (result.status, result.note) == ("unchecked", "no vulners output for this port")


@pytest.mark.parametrize("service", [UNVERSIONED_SSH, None], ids=["no version", "no service"])
def test_unversioned_when_no_version_was_detected(service: Service | None) -> None:
    result = assess(ssh_port(service), [
        source("unknown", "Nmap did not identify the software on this port"),
        source("unchecked", "no vulners output for this port"),
    ])  # fmt: skip
    assert result.status == "unversioned"
    assert result.note == UNVERSIONED_NOTE


def test_a_clean_answer_is_kept_for_an_unversioned_service() -> None:
    result = assess(ssh_port(UNVERSIONED_SSH), [source("clean", "no CVE for this product at all")])
    assert (result.status, result.note) == ("clean", "no CVE for this product at all")


def test_no_source_enabled() -> None:
    result = assess(ssh_port(), [])
    assert result == Assessment("unchecked", note="no vulnerability source was enabled")
    assert assess(ssh_port(UNVERSIONED_SSH), []).note == UNVERSIONED_NOTE


def test_references_of_every_source_are_united_in_order() -> None:
    result = assess(ssh_port(), [
        source("vulnerable", "", CVE_1, refs=("EDB-ID:1", "PACKETSTORM:2")),
        source("unchecked", "silent", refs=("PACKETSTORM:2", "CNVD-3")),
        source("clean", "nothing applies", refs=("EDB-ID:1",)),
    ])  # fmt: skip
    assert result.references == ("EDB-ID:1", "PACKETSTORM:2", "CNVD-3")


def test_the_real_vulners_source_with_another_on_nmap_xml() -> None:
    ports = {
        (h.address, p.key): p
        for h in NmapXmlReader(NMAP_XML / "vulners.xml").hosts()
        for p in h.open_ports
    }
    clean = source("clean", "none of the CVEs applies")
    apache = assess(ports["10.213.77.12", "tcp/80"], [VulnersSource(), clean])
    assert apache.status == "vulnerable"
    assert "CVE-2021-41773" in {v.id for v in apache.vulnerabilities}
    assert {s for v in apache.vulnerabilities for s in v.sources} == {"vulners"}
    # udp/53 on .14 has no vulners output on purpose: the other source's clean answer stands.
    bind = assess(ports["10.213.77.14", "udp/53"], [VulnersSource(), clean])
    assert (bind.status, bind.note) == ("clean", "none of the CVEs applies")
    silent = assess(ports["10.213.77.14", "udp/53"], [VulnersSource()])
    assert silent.status == "unchecked"
    assert silent.note.startswith("no vulners output for this port")


def test_the_assessor_asks_once_per_service_object_and_applies_the_judge() -> None:
    judged: list[Service | None] = []

    def judge(service: Service | None, result: Assessment) -> Assessment:
        judged.append(service)
        return replace(result, note="judged: " + result.note)

    nvd = source("clean", "nothing applies")
    assessor = Assessor([nvd], judge)
    first, same_service, other = ssh_port(), ssh_port(OPENSSH, 2222), ssh_port(replace(OPENSSH))
    assert other.service == OPENSSH and other.service is not OPENSSH
    results = [assessor(first), assessor(same_service), assessor(first), assessor(other)]
    assert [r.note for r in results] == ["judged: nothing applies"] * 4
    assert nvd.asked == [first, other]  # the second object is a new key, even if equal
    assert judged == [OPENSSH, OPENSSH]
    assert assessor.sources == (nvd,)


def test_the_assessor_tells_ports_apart_by_their_scripts() -> None:
    """The same service with other vulners output is assessed again (real parsed ports)."""
    hosts = list(NmapXmlReader(NMAP_XML / "vulners.xml").hosts())
    ports = [p for h in hosts for p in h.open_ports if p.service and p.service.product == "OpenSSH"]
    counting = Answers("vulners", Assessment("unchecked"))
    assessor = Assessor([VulnersSource(), counting])
    results = [assessor(p) for p in ports]
    assert len(ports) >= 3
    assert all(r.status == "vulnerable" for r in results)
    distinct = {(id(p.service), tuple(map(id, p.scripts))) for p in ports}
    assert len(counting.asked) == len(distinct)
    assert results == [assess(p, [VulnersSource(), counting]) for p in ports]


def test_the_assessor_without_a_judge_returns_the_merged_assessment() -> None:
    assessor = Assessor([source("vulnerable", "", CVE_1), source("clean", "nothing applies")])
    assert assessor(ssh_port()) == Assessment("vulnerable", vulnerabilities=(CVE_1,))


def test_the_memo_stays_right_past_its_limit() -> None:
    counting = source("clean", "nothing applies")
    assessor = Assessor([counting])
    services = [replace(OPENSSH, version=f"7.{i}") for i in range(Assessor._LIMIT + 10)]
    ports = [ssh_port(s) for s in services]
    for port in ports:
        assert assessor(port).status == "clean"
    assert len(counting.asked) == len(ports)
    assessor(ports[-1])  # still remembered after the memo was cleared
    assessor(ports[0])  # forgotten when it was cleared: asked again
    assert counting.asked[len(ports) :] == [ports[0]]
