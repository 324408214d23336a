"""brulee merge: real shard reports (Nmap XML through matching and the JSON writer) merged into
one fleet report that is valid, complete where it can be, and loud where it is not."""

from __future__ import annotations

import importlib.util
import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import jsonschema
import pytest

from brulee.core.report import MissingShard, PartSummary
from brulee.core.scan import Shard, address_order
from brulee.errors import ParseError, UsageError
from brulee.fleet.coverage import check_coverage
from brulee.fleet.sources import DirectorySource, StoreSource
from brulee.match.sources import Freshness, Matching, open_matching
from brulee.pipeline import Merged, merge_reports, render_reports
from tests import xmlsnippets as x

ROOT = Path(__file__).parents[2]
NMAP = ROOT / "tests" / "assets" / "nmap"
SCHEMA = json.loads((ROOT / "schema" / "report.schema.json").read_text())
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
# Shard i of 3 of site dc1; lab-basic and vulners.xml scanned some of the same hosts.
SHARDS = ("lab-basic.xml", "vulners.xml", "ipv6.xml")

Json = dict[str, Any]


@pytest.fixture(scope="module")
def matching(starter_db: Path) -> Iterator[Matching]:
    """The starter database (KEV, EPSS, distribution fixes) plus vulners, as `brulee report`."""
    with open_matching(starter_db, Freshness(max_age=timedelta(days=36500))) as found:
        yield found


def write_shard(
    directory: Path, xml: str, matching: Matching, shard: Shard | None, site: str = "dc1"
) -> Path:
    render_reports([NMAP / xml], ["json"], directory, matching=matching, shard=shard, site=site)
    return directory / "report.json"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, matching: Matching) -> Path:
    """dc1/shard-I/report.json for I = 1..3 of 3."""
    root = tmp_path_factory.mktemp("fleet")
    for index, xml in enumerate(SHARDS, 1):
        write_shard(root / "dc1" / f"shard-{index}", xml, matching, Shard(index, 3))
    return root


def load(path: Path) -> Json:
    data: Json = json.loads(path.read_text("utf-8"))
    jsonschema.validate(data, SCHEMA)
    return data


def merge(
    tmp_path: Path, *sources: Path, formats: Iterable[str] = ("json",), **kwargs: Any
) -> tuple[Merged, Json]:
    out = tmp_path / "merged"
    merged = merge_reports([DirectorySource(s) for s in sources], list(formats), out,
                           now=NOW, **kwargs)  # fmt: skip
    return merged, load(out / "report.json")


def by_id(reports: Iterable[Json]) -> dict[str, list[Json]]:
    """Every input's service sections, by service id."""
    found: dict[str, list[Json]] = {}
    for report in reports:
        for service in report["services"]:
            found.setdefault(service["id"], []).append(service)
    return found


def inputs(fleet: Path) -> list[Json]:
    return [load(fleet / "dc1" / f"shard-{i}" / "report.json") for i in (1, 2, 3)]


def test_services_are_united_across_shards_with_every_location(tmp_path: Path, fleet: Path) -> None:
    merged, data = merge(tmp_path, fleet, formats=("json", "html", "md"))
    assert [p.name for p in merged.written.files] == ["report.json", "report.html", "report.md"]
    expected = by_id(inputs(fleet))
    assert sorted(s["id"] for s in data["services"]) == sorted(expected)
    for service in data["services"]:
        where = {(loc["address"], loc["port"], loc["protocol"])
                 for part in expected[service["id"]] for loc in part["locations"]}  # fmt: skip
        got = [(loc["address"], loc["port"], loc["protocol"]) for loc in service["locations"]]
        assert sorted(got) == sorted(where)
        assert service["location_count"] == len(where)
    # OpenSSH 7.4p1 Debian runs on .11 (lab-basic, vulners) and .14: one group, two places.
    (ssh,) = [s for s in data["services"] if s["version"] == "7.4p1 Debian 10+deb9u7"]
    assert {loc["address"] for loc in ssh["locations"]} >= {"10.213.77.11", "10.213.77.14"}
    assert data["summary"]["services"] == len(data["services"])


def test_vulnerabilities_are_united_by_cve_keeping_kev_epss_and_every_source(
    tmp_path: Path, fleet: Path
) -> None:
    _, data = merge(tmp_path, fleet)
    expected = by_id(inputs(fleet))
    kev = 0
    for service in data["services"]:
        ids = [v["id"] for v in service["vulnerabilities"]]
        assert len(ids) == len(set(ids))
        parts = expected[service["id"]]
        assert set(ids) == {v["id"] for p in parts for v in p["vulnerabilities"]}
        merged = {v["id"]: v for v in service["vulnerabilities"]}
        for vuln in (v for p in parts for v in p["vulnerabilities"]):
            found = merged[vuln["id"]]
            assert set(vuln["sources"]) <= set(found["sources"])
            assert set(vuln["exploits"]) <= set(found["exploits"])
            assert (found["kev"], found["epss"]) == (vuln["kev"], vuln["epss"])
            kev += vuln["kev"] is not None
        fixed = {v["id"] for p in parts for v in p["fixed_by_distribution"]}
        assert {v["id"] for v in service["fixed_by_distribution"]} == fixed
        assert service["distribution"] == next(
            (p["distribution"] for p in parts if p["distribution"]), None
        )
    assert kev  # Apache 2.4.49's path traversal is in CISA's KEV catalog
    # The vulners script's findings and the database's meet on the same CVEs.
    assert any({"nvd", "vulners"} <= set(v["sources"])
               for s in data["services"] for v in s["vulnerabilities"])  # fmt: skip
    summary = data["summary"]
    counted = sum(summary["by_severity"].values()) + sum(summary["by_severity_possible"].values())
    assert counted == len({v["id"] for s in data["services"] for v in s["vulnerabilities"]})


def test_hosts_of_every_shard_once_each(tmp_path: Path, fleet: Path) -> None:
    merged, data = merge(tmp_path, fleet)
    addresses = {h["address"] for report in inputs(fleet) for h in report["hosts"]}
    assert [h["address"] for h in data["hosts"]] == sorted(addresses, key=address_order)
    assert len(addresses) > 5 and any(":" in a for a in addresses)
    assert data["scan"]["hosts_up"] == merged.written.hosts_up == len(addresses)
    # lab-basic and vulners.xml scanned three of the same hosts: said, not hidden.
    assert any("3 address(es) were found by more than one report" in w
               for w in data["scan"]["warnings"])  # fmt: skip


def test_the_parts_section_for_a_complete_fleet(tmp_path: Path, fleet: Path) -> None:
    merged, data = merge(tmp_path, fleet)
    reports = inputs(fleet)
    scan = data["scan"]
    assert merged.coverage == () and merged.missing_shards == ()
    assert scan["missing_shards"] == []
    assert not scan["incomplete"]
    assert scan["started"] == min(r["scan"]["started"] for r in reports)
    assert scan["finished"] == max(r["scan"]["finished"] for r in reports)
    assert scan["site"] == "dc1" and scan["shard"] is None and scan["inputs"] == []
    assert scan["nmap_command"].count(" ; ") == 2
    assert scan["database"] == reports[0]["scan"]["database"]
    parts = scan["parts"]
    assert [(p["site"], p["shard"]) for p in parts] == [
        ("dc1", {"index": i, "count": 3}) for i in (1, 2, 3)
    ]
    for part, report in zip(parts, reports, strict=True):
        assert part["source"] == str(
            fleet / "dc1" / f"shard-{part['shard']['index']}" / "report.json"
        )
        for key in ("started", "finished", "hosts_up", "hosts_down", "incomplete", "errors",
                    "warnings", "database", "database_date", "generated"):  # fmt: skip
            assert part[key] == report["scan"][key], key
        assert part["generator_version"] == report["generator"]["version"]
    # Each part's own warning (the starter database's) is said once, naming the parts.
    (starter,) = [w for w in scan["warnings"] if "starter snapshot" in w]
    assert starter.endswith("(site dc1, shard 1/3; site dc1, shard 2/3; site dc1, shard 3/3)")


def test_a_missing_shard_is_named_and_the_report_is_incomplete(tmp_path: Path, fleet: Path) -> None:
    merged, data = merge(tmp_path, fleet / "dc1" / "shard-1", fleet / "dc1" / "shard-3")
    scan = data["scan"]
    assert scan["missing_shards"] == [{"site": "dc1", "index": 2, "count": 3}]
    assert merged.missing_shards == (MissingShard("dc1", 2, 3),)
    assert scan["incomplete"] and scan["finished"] is None and merged.written.incomplete
    gap = "INCOMPLETE: site dc1: shard(s) 2 of 3 missing; the hosts of those slices are not in"
    assert scan["warnings"][0] == merged.coverage[0] == f"{gap} this report"


def test_expected_shards_overrides_what_the_parts_say(tmp_path: Path, fleet: Path) -> None:
    merged, _ = merge(tmp_path, fleet, expected_shards=5)
    assert [m.index for m in merged.missing_shards] == [1, 2, 3, 4, 5]
    assert merged.coverage[0].startswith("INCOMPLETE: site dc1: shard(s) 1-5 of 5 missing")
    assert merged.coverage[1].startswith("site dc1: conflicting shard counts 3 (3 part(s));")
    with pytest.raises(UsageError, match="expect-shards 0"):
        merge(tmp_path, fleet, expected_shards=0)


def test_expected_shards_applies_to_reports_without_shards(
    tmp_path: Path, matching: Matching
) -> None:
    write_shard(tmp_path / "whole", "ipv6.xml", matching, None, site="")
    merged, data = merge(tmp_path, tmp_path / "whole", expected_shards=2)
    assert data["scan"]["missing_shards"] == [
        {"site": None, "index": 1, "count": 2}, {"site": None, "index": 2, "count": 2},
    ]  # fmt: skip
    assert merged.coverage[0].startswith("INCOMPLETE: no site: shard(s) 1-2 of 2 missing")


def test_an_interrupted_shard_is_reported_incomplete(
    tmp_path: Path, fleet: Path, matching: Matching
) -> None:
    cut = write_shard(tmp_path / "in" / "dc2" / "s1", "interrupted.xml", matching, Shard(1, 2),
                      site="dc2")  # fmt: skip
    write_shard(tmp_path / "in" / "dc2" / "s2", "ipv6.xml", matching, Shard(2, 2), site="dc2")
    merged, data = merge(tmp_path, fleet, tmp_path / "in")
    scan = data["scan"]
    assert scan["incomplete"] and scan["finished"] is None and scan["missing_shards"] == []
    assert [p["incomplete"] for p in scan["parts"]] == [False, False, False, True, False]
    assert scan["site"] is None  # two sites
    assert merged.coverage == (
        "INCOMPLETE: 1 part(s) were interrupted and cover only some of their hosts: "
        "site dc2, shard 1/2",
    )
    assert scan["warnings"][0] == merged.coverage[0]
    assert cut.exists()


def test_sites_are_checked_separately(tmp_path: Path, matching: Matching) -> None:
    write_shard(tmp_path / "a1", "ipv6.xml", matching, Shard(1, 2), site="a")
    write_shard(tmp_path / "a2", "udp.xml", matching, Shard(2, 2), site="a")
    write_shard(tmp_path / "b3", "lab-basic.xml", matching, Shard(3, 4), site="b")
    merged, _ = merge(tmp_path, tmp_path / "a1", tmp_path / "a2", tmp_path / "b3")
    assert merged.missing_shards == tuple(MissingShard("b", i, 4) for i in (1, 2, 4))
    assert merged.coverage == (
        "INCOMPLETE: site b: shard(s) 1-2, 4 of 4 missing; the hosts of those slices are not in "
        "this report",
    )


def test_a_merged_report_merges_again_by_its_parts(tmp_path: Path, fleet: Path) -> None:
    _, first = merge(tmp_path / "a", fleet / "dc1" / "shard-1", fleet / "dc1" / "shard-2")
    assert first["scan"]["missing_shards"] == [{"site": "dc1", "index": 3, "count": 3}]
    # The late shard arrives: merging the merged report with it completes the fleet.
    merged, again = merge(tmp_path / "b", tmp_path / "a" / "merged", fleet / "dc1" / "shard-3")
    _, direct = merge(tmp_path / "c", fleet)
    assert merged.coverage == () and not again["scan"]["incomplete"]
    assert again["scan"]["parts"] == direct["scan"]["parts"]
    assert again["services"] == direct["services"]
    assert again["hosts"] == direct["hosts"]
    assert again["scan"]["hosts_up"] == direct["scan"]["hosts_up"]
    # Merging a merged report alone changes nothing but the time it was generated, and the
    # addresses found twice, which it lists once: they were said the first time.
    _, alone = merge(tmp_path / "d", tmp_path / "c" / "merged")
    assert alone["services"] == direct["services"] and alone["hosts"] == direct["hosts"]
    unchanged = {"generated": "", "warnings": []}
    assert alone["scan"] | unchanged == direct["scan"] | unchanged
    assert alone["scan"]["warnings"] == [
        w for w in direct["scan"]["warnings"] if "found by more than one report" not in w
    ]


def test_key_order_and_layout_do_not_matter(tmp_path: Path, fleet: Path) -> None:
    """Reports rewritten by other tools (``jq -S``: keys sorted, hosts before scan) merge alike."""
    for index, report in enumerate(inputs(fleet), 1):
        path = tmp_path / "sorted" / str(index) / "report.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(report, sort_keys=True, indent=1))
    _, rewritten = merge(tmp_path / "a", tmp_path / "sorted")
    _, direct = merge(tmp_path / "b", fleet)
    assert rewritten["services"] == direct["services"] and rewritten["hosts"] == direct["hosts"]


def test_the_merge_does_not_read_its_own_previous_output(tmp_path: Path, fleet: Path) -> None:
    out = fleet / "merged"
    try:
        for _ in range(2):
            merged = merge_reports([DirectorySource(fleet)], ["json"], out, now=NOW)
        assert len(merged.parts) == 3 and merged.coverage == ()
    finally:
        for path in out.iterdir():
            path.unlink()
        out.rmdir()


def test_findings_that_differ_between_shards_follow_the_grouping_rules(
    tmp_path: Path, matching: Matching
) -> None:
    # The same scan matched with the database and with no source at all: the software is
    # (possibly) vulnerable, with only some locations' data, and the databases differ.
    write_shard(tmp_path / "s1", "same-service-two-hosts.xml", matching, Shard(1, 2))
    write_shard(tmp_path / "s2", "same-service-two-hosts.xml", Matching(()), Shard(2, 2))
    _, data = merge(tmp_path, tmp_path / "s1", tmp_path / "s2")
    (ssh,) = data["services"]
    # Its findings are all possible (unverified backports, conditional): possibly vulnerable.
    assert ssh["status"] == "possibly-vulnerable" and ssh["vulnerabilities"]
    assert all(v["confidence"] != "certain" for v in ssh["vulnerabilities"])
    assert ssh["notes"] == [
        "vulnerability data came from only some locations of this service; the vulnerabilities "
        "listed apply to the same software at all of them"
    ]
    assert any(w.startswith("the parts used 2 different vulnerability databases (or none)")
               for w in data["scan"]["warnings"])  # fmt: skip


DAYS = ("sunday", "monday")


def _ssh(version: str) -> str:
    return (
        f'<service name="ssh" product="OpenSSH" version="{version}" method="probed" conf="10">'
        f"<cpe>cpe:/a:openbsd:openssh:{version}</cpe></service>"
    )


def test_a_port_scanned_twice_is_taken_from_the_newer_scan(
    tmp_path: Path, matching: Matching
) -> None:
    """Sunday's scan found OpenSSH 7.4 and nginx on a host; Monday's (all ports looked at) found
    OpenSSH 9.8p1 and port 80 closed. The merge keeps Monday's, whatever the order read, and
    says which ports it took from it; a host only Sunday saw keeps what Sunday found."""
    nginx = '<service name="http" product="nginx" version="1.14.0" method="probed" conf="10"/>'
    sunday = x.host("10.0.0.1", x.port(22, _ssh("7.4")) + x.port(80, nginx))
    sunday += x.host("10.0.0.2", x.port(80, nginx))
    monday = x.host("10.0.0.1", x.port(22, _ssh("9.8p1")))
    later = x.HEAD.replace('start="1700000000"', 'start="1700086400"')
    for day, body, head in zip(DAYS, (sunday, monday), (x.HEAD, later), strict=True):
        xml = tmp_path / f"{day}.xml"
        xml.write_text(head + body + x.TAIL, "utf-8")
        render_reports([xml], ["json"], tmp_path / "in" / day, matching=matching)
    monday_json, sunday_json = (
        str(tmp_path / "in" / d / "report.json") for d in ("monday", "sunday")
    )
    for order in ((monday_json, sunday_json), (sunday_json, monday_json)):
        out = tmp_path / "merged"
        merged = merge_reports([DirectorySource(Path(p)) for p in order], ["json"], out, now=NOW)
        data = load(out / "report.json")
        hosts = {h["address"]: h for h in data["hosts"]}
        assert [(p["port"], p["service"]) for p in hosts["10.0.0.1"]["open_ports"]] == [
            (22, "OpenSSH 9.8p1")
        ]
        assert [p["port"] for p in hosts["10.0.0.2"]["open_ports"]] == [80]
        where = {(s["product"], s["version"]): [loc["address"] for loc in s["locations"]]
                 for s in data["services"]}  # fmt: skip
        assert where == {("OpenSSH", "9.8p1"): ["10.0.0.1"], ("nginx", "1.14.0"): ["10.0.0.2"]}
        (said,) = [w for w in data["scan"]["warnings"] if "more than one report" in w]
        assert "1 address(es) were found by more than one report (10.0.0.1)" in said
        assert (
            f"2 open port(s) were scanned again by a newer report, whose result is kept: "
            f"10.0.0.1 tcp/22 from {monday_json}, not {sunday_json}; 10.0.0.1 tcp/80 from "
            f"{monday_json}, not {sunday_json}"
        ) in said
        assert merged.written.hosts_up == 2


def test_nvd_names_are_united_and_unknown_for_reports_that_predate_them(
    tmp_path: Path, fleet: Path
) -> None:
    _, data = merge(tmp_path / "now", fleet)
    names = {s["product"]: s["nvd_names"] for s in data["services"]}
    assert names["OpenSSH"] == ["openbsd:openssh"]
    assert names["ProFTPD"] == ["proftpd:proftpd", "proftpd_project:proftpd"]
    # A shard written by a brulee of schema 1.0 says nothing about the names: a service it
    # contributes to no longer claims a list.
    old = inputs(fleet)[0]
    old["schema_version"] = "1.0"
    for service in old["services"]:
        del service["nvd_names"]
    path = tmp_path / "old" / "report.json"
    path.parent.mkdir()
    path.write_text(json.dumps(old))
    _, mixed = merge(tmp_path / "mixed", tmp_path / "old", fleet / "dc1" / "shard-2")
    from_old = {s["id"] for s in old["services"]}
    for service in mixed["services"]:
        assert (service["nvd_names"] is None) == (service["id"] in from_old)


def test_duplicate_and_conflicting_shards_are_said(tmp_path: Path, fleet: Path) -> None:
    part = PartSummary("x", "dc1", Shard(1, 2), "", "", False, 1, 0)
    parts = [part, part, PartSummary("y", "dc1", Shard(2, 2), "", "", False, 1, 0),
             PartSummary("z", "dc1", Shard(1, 3), "", "", False, 1, 0)]  # fmt: skip
    missing, warnings = check_coverage(parts)
    assert missing == ()
    assert warnings == (
        "site dc1: conflicting shard counts 2 (3 part(s)), 3 (1 part(s)); shards were checked "
        "out of 2, the others' coverage is unknown",
        "site dc1: shard(s) 1 of 2 were read more than once; a host found by both is listed "
        "once, with the ports of both (the newer one's where both looked)",
    )
    assert check_coverage([PartSummary("w", "", None, "", "", False, 1, 0)]) == ((), ())


def test_reports_of_schema_1_0_still_merge(tmp_path: Path, fleet: Path) -> None:
    """Shards written by the brulee before this one (a fleet upgraded mid-night): what they
    looked at is not known, so nothing of theirs can be taken as closed; the rest merges."""
    for index, report in enumerate(inputs(fleet), 1):
        report["schema_version"] = "1.0"
        for key in ("outcome", "timed_out", "ports", "port_sets", "history_id"):
            del report["scan"][key]
        for host in report["hosts"]:
            del host["port_set"]
        path = tmp_path / "old" / str(index) / "report.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(report), "utf-8")
    _, old = merge(tmp_path / "a", tmp_path / "old")
    _, new = merge(tmp_path / "b", fleet)
    assert old["services"] == new["services"]
    assert [{**h, "port_set": None} for h in new["hosts"]] == old["hosts"]
    assert (old["scan"]["port_sets"], old["scan"]["ports"]) == ([], "")
    assert new["scan"]["ports"] == "tcp:21-22,25,80;udp:53"


def _corrupt(edit: Callable[[Json], Any]) -> Callable[[str], str]:
    def apply(text: str) -> str:
        data = json.loads(text)
        edit(data)
        return json.dumps(data)

    return apply


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t[: t.index('"services"')], "not valid JSON (parse error: premature EOF)"),
        (lambda t: "<?xml version='1.0'?><nmaprun/>", "not valid JSON (lexical error"),
        (lambda t: "[1, 2]", "the document is not an object"),
        (lambda t: '{"name": "x"}', "not a brulee report: unexpected key 'name'"),
        (_corrupt(lambda d: d.update(schema_version="3.0")),
         "schema_version '3.0' is not supported (expected one of 1.0, 1.1, 2.0, 2.1)"),
        (_corrupt(lambda d: d["scan"].pop("hosts_up")), "'hosts_up' is missing"),
        (_corrupt(lambda d: d.pop("hosts")), "not a brulee report (hosts missing)"),
        (_corrupt(lambda d: d["generator"].update(name="other")),
         "not a brulee report (generator missing)"),
        (_corrupt(lambda d: d["services"][0]["locations"][0].update(port="22")),
         "'port' is not int: '22'"),
        (_corrupt(lambda d: d["services"][0]["vulnerabilities"][0].update(severity="urgent")),
         "'severity' is not one of critical, high, medium, low, unscored: 'urgent'"),
        (_corrupt(lambda d: d["services"][0].update(locations=[])), "has no locations"),
        (_corrupt(lambda d: d["scan"].update(shard={"index": 4, "count": 3})),
         "'shard' is not a shard I/N with 1 <= I <= N: 4/3"),
    ],
)  # fmt: skip
def test_a_bad_source_fails_the_merge_in_one_line_naming_it(
    tmp_path: Path, fleet: Path, change: Callable[[str], str], message: str
) -> None:
    bad = tmp_path / "in" / "bad" / "report.json"
    bad.parent.mkdir(parents=True)
    bad.write_text(change((fleet / "dc1" / "shard-1" / "report.json").read_text()))
    with pytest.raises(ParseError) as caught:
        merge(tmp_path, fleet, tmp_path / "in")
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"{bad}: ")
    assert message in text
    assert caught.value.exit_code == 2


def test_nothing_to_merge_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no report\.json under"):
        merge(tmp_path, tmp_path)
    with pytest.raises(UsageError, match="no such directory"):
        merge(tmp_path, tmp_path / "nope")
    with pytest.raises(UsageError, match="no reports to merge"):
        merge_reports([], ["json"], tmp_path / "out")


class FakeStore:
    """What StoreSource needs of a bucket sink, in memory."""

    url = "s3://fleet/2026-11-30"

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def list(self, suffix: str = ".json") -> Iterator[str]:
        return iter(sorted(k for k in self.objects if k.endswith(suffix)))

    def open(self, key: str) -> BinaryIO:
        return io.BytesIO(self.objects[key])


def test_reports_stream_from_an_object_store(tmp_path: Path, fleet: Path) -> None:
    objects = {f"dc1/shard-{i}/report.json": (fleet / "dc1" / f"shard-{i}" / "report.json")
               .read_bytes() for i in (1, 2, 3)}  # fmt: skip
    objects["dc1/shard-1/not-a-report.json"] = b"{}"
    merged = merge_reports([StoreSource(FakeStore(objects))], ["json"], tmp_path, now=NOW)
    assert [p.source for p in merged.parts] == [
        f"s3://fleet/2026-11-30/dc1/shard-{i}/report.json" for i in (1, 2, 3)
    ]
    _, direct = merge(tmp_path / "direct", fleet)
    assert load(tmp_path / "report.json")["services"] == direct["services"]
    with pytest.raises(UsageError, match=r"no report\.json under s3://fleet/2026-11-30"):
        list(StoreSource(FakeStore({})))


def test_bench_reports_are_valid_reports(tmp_path: Path) -> None:
    """The benchmark's generated shards follow the schema, so its figures are about real input."""
    spec = importlib.util.spec_from_file_location("bench_merge", ROOT / "bench" / "bench_merge.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for number in (0, 9):  # an up-to-date shard and one matched with older data
        jsonschema.validate(json.loads(bench.shard_report(number, 20, 1)), SCHEMA)
    bench.generate(20, tmp_path / "shards", 1)
    merged = merge_reports([DirectorySource(tmp_path / "shards")], ["json"], tmp_path / "out")
    assert merged.coverage == () and len(merged.parts) == 20
    assert merged.written.hosts_up == 20 * bench.HOSTS
