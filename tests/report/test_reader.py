"""Reading the JSON report back: every value as written, the whole report streamed, and bad or
hostile values refused in one line."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from brulee.core.ports import PortSet
from brulee.core.report import PartSummary, Report
from brulee.core.scan import Service, Shard
from brulee.errors import ParseError
from brulee.report.json import (
    JsonRenderer,
    distribution_dict,
    host_dict,
    location_dict,
    part_dict,
    service_dict,
    vulnerability_dict,
)
from brulee.report.reader import (
    MAX_TEXT,
    Hosts,
    Locations,
    ScanSection,
    ServiceSection,
    read_distribution,
    read_host,
    read_location,
    read_part,
    read_sections,
    read_service,
    read_vulnerability,
    report_errors,
)

LONG = "22\n" * 500


def test_every_value_reads_back_as_written(report: Report) -> None:
    for group in report.services:
        service = group.service
        assert read_service(service_dict(group)) == Service(
            service.name, service.product, service.version, service.extrainfo,
            service.ostype, service.tunnel, cpes=service.cpes,
        )  # fmt: skip
        for vuln in (*group.vulnerabilities, *group.fixed):
            # Of a KEV entry the report keeps what the renderers show.
            kev = vuln.kev and replace(vuln.kev, vendor_project="", product="", name="", notes="")
            assert read_vulnerability(vulnerability_dict(vuln)) == replace(vuln, kev=kev)
        assert read_distribution(distribution_dict(group.distribution)) == group.distribution
        for loc in report.locations(group):
            assert read_location(location_dict(loc)) == loc
    assert any(g.distribution for g in report.services)
    assert any(v.kev for g in report.services for v in g.vulnerabilities)
    hosts = list(report.hosts())
    assert [read_host(host_dict(h, {})) for h in hosts] == hosts
    part = PartSummary("s3://b/dc1/report.json", "dc1", Shard(2, 3), "a", "", True, 1, 2,
                       ("e",), ("w",), "7.93", "db", "2024", "now", "0.1.0", (), "interrupted",
                       PortSet.parse("tcp:1-1024;udp:53"), 2, 17)  # fmt: skip
    assert read_part(part_dict(part), part.source, part.tool_version) == part


def _opener(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)


def test_a_report_streams_back_section_by_section(tmp_path: Path, report: Report) -> None:
    path = tmp_path / "report.json"
    JsonRenderer().render(report, path)
    sections = list(read_sections("here", _opener(path.read_bytes())))
    services = [s for s in sections if isinstance(s, ServiceSection)]
    assert [s.key for s in services] == [g.key for g in report.services]
    for section, group in zip(services, report.services, strict=True):
        assert section.locations == group.location_count
        assert section.protocol() == group.protocol
        assert read_service(section.head) == section.service()
        found = section.findings()
        assert (found.status, found.notes, found.references) == (
            group.status, group.notes, group.references,
        )  # fmt: skip
        assert [v.id for v in found.vulnerabilities] == [v.id for v in group.vulnerabilities]
        assert [v.id for v in found.fixed] == [v.id for v in group.fixed]
        assert found.distribution == group.distribution
    located = [(b.service, loc) for b in sections if isinstance(b, Locations) for loc in b.rows]
    assert located == [(g.key, loc) for g in report.services for loc in report.locations(g)]
    hosts = [h for b in sections if isinstance(b, Hosts) for h in b.records]
    assert hosts == list(report.hosts())
    scan = sections[-1]
    assert isinstance(scan, ScanSection)
    assert scan.targets == report.scan.targets
    assert scan.nmap_command == report.scan.run.args
    (part,) = scan.parts
    assert (part.source, part.incomplete, part.errors) == ("here", True, report.scan.run.errors)
    # The same section read twice is recognised by what it found, before reading it.
    again = next(s for s in read_sections("x", _opener(path.read_bytes()))
                 if isinstance(s, ServiceSection))  # fmt: skip
    assert again.evidence == services[0].evidence


VULN: dict[str, Any] = {
    "id": "CVE-1", "severity": "high", "cvss": None, "epss": None, "kev": None,
    "description": "", "url": "", "published": None, "confidence": "certain", "reason": "",
    "sources": [], "exploits": [], "advisory": None, "remediation": None,
}  # fmt: skip
LOCATION = {"address": "192.0.2.1", "hostname": "", "port": 22, "protocol": "tcp"}


@pytest.mark.parametrize(
    ("read", "raw", "message"),
    [
        (read_location, LOCATION | {"port": LONG}, "'port' is not int: '22\\n22\\n"),
        (read_location, [LOCATION], "expected an object holding 'address'"),
        (read_location, LOCATION | {"port": -22}, "'port' is not an integer from 0 to 65535: -22"),
        (read_location, LOCATION | {"port": 1 << 63}, "'port' is not an integer from 0 to 65535"),
        (read_vulnerability, VULN | {"severity": LONG},
         "'severity' is not one of critical, high, medium, low, unscored: '22\\n"),
        (read_vulnerability, VULN | {"epss": {"score": "0.5", "percentile": 1}},
         "'score' is not a number: '0.5'"),
        (read_vulnerability, VULN | {"kev": {"date_added": "2024"}}, "'due_date' is missing"),
        (read_vulnerability, VULN | {"sources": ["nvd", None]}, "'sources' is not a list of str"),
        (read_vulnerability, VULN | {"description": "A" * (MAX_TEXT + 1)},
         "'description' is longer than 1,048,576 characters"),
        (read_vulnerability, VULN | {"exploits": ["x" * (MAX_TEXT + 1)]},
         "'exploits' is longer than 1,048,576 characters"),
        (read_vulnerability, VULN | {"cvss": {"score": 99, "version": "3.1", "vector": ""}},
         "'score' is not a number from 0 to 10: 99"),
        (read_vulnerability, VULN | {"epss": {"score": 0.5, "percentile": 1e300}},
         "'percentile' is not a number from 0 to 1: 1e+300"),
        (read_vulnerability, VULN | {"epss": {"score": True, "percentile": 1}},
         "'score' is not a number: True"),
        (read_location, LOCATION | {"hostname": "h" * (MAX_TEXT + 1)},
         "'hostname' is longer than 1,048,576 characters"),
        (read_host, {"address": None}, "'address' is not str: None"),
        (read_distribution, {"distro": "debian"}, "'release' is missing"),
        (read_service, {"name": 1}, "'name' is not str: 1"),
        (lambda raw: read_part(raw, "", ""), {"site": None, "shard": {"index": 0, "count": 2}},
         "'shard' is not a shard I/N with 1 <= I <= N: 0/2"),
    ],
)  # fmt: skip
def test_bad_values_are_refused_in_one_short_line(
    read: Callable[[Any], object], raw: Any, message: str
) -> None:
    with pytest.raises(ParseError) as caught:
        read(raw)
    text = str(caught.value)
    assert text.startswith(message)
    assert "\n" not in text and len(text) < 150
    assert caught.value.exit_code == 2


def test_errors_name_the_report_even_for_findings_read_late(tmp_path: Path, report: Report) -> None:
    path = tmp_path / "report.json"
    JsonRenderer().render(report, path)
    data = json.loads(path.read_text())
    data["services"][0]["vulnerabilities"][0]["severity"] = "urgent"
    sections = read_sections("bad.json", _opener(json.dumps(data).encode()))
    with (
        pytest.raises(ParseError, match=r"^bad\.json: 'severity' is not one of"),
        report_errors("bad.json"),
    ):
        for section in sections:
            if isinstance(section, ServiceSection):
                section.findings()

    def unreadable() -> BinaryIO:
        raise FileNotFoundError(2, "No such file or directory")

    for opener, message in [
        (unreadable, "gone.json: cannot read it (No such file or directory)"),
        (_opener(b'{"scan":\n\n[1, }'), "gone.json: not valid JSON (parse error"),
    ]:
        with pytest.raises(ParseError) as caught, report_errors("gone.json"):
            list(read_sections("gone.json", opener))
        assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_a_value_nested_deeper_than_brulee_writes_is_refused(
    tmp_path: Path, report: Report
) -> None:
    path = tmp_path / "report.json"
    JsonRenderer().render(report, path)
    data = json.loads(path.read_text())
    data["services"][0]["notes"] = json.loads("[" * 40 + "]" * 40)
    with (
        pytest.raises(ParseError, match=r"^deep\.json: a value is nested deeper than 32$"),
        report_errors("deep.json"),
    ):
        list(read_sections("deep.json", _opener(json.dumps(data).encode())))


def test_a_report_written_before_cwes_reads_with_none(report: Report) -> None:
    vuln = next(v for g in report.services for v in g.vulnerabilities if v.cwes)
    raw = vulnerability_dict(vuln)
    del raw["cwes"]
    assert read_vulnerability(raw).cwes == ()
    assert read_vulnerability(vulnerability_dict(vuln)).cwes == vuln.cwes
