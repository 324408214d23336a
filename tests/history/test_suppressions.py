"""Suppressions: loading (line-numbered errors, hostile YAML), matching, expiry, staleness."""

from __future__ import annotations

import ipaddress
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from brulee.core.findings import Location, ServiceGroup
from brulee.core.scan import Service
from brulee.core.suppression import Applied, Suppression
from brulee.core.vulnerability import Severity, Vulnerability
from brulee.errors import EXIT_USAGE, UsageError
from brulee.history.suppressions import (
    SuppressionError,
    Suppressions,
    load_suppressions,
    parse_suppression,
)
from brulee.history.suppressions.load import MAX_FILE_BYTES

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def vuln(cve: str, severity: Severity = "high") -> Vulnerability:
    return Vulnerability(id=cve, severity=severity, confidence="certain")


def group(
    key: str, product: str, version: str, *cves: str, locations: int = 1, name: str = "http"
) -> ServiceGroup:
    service = Service(name=name, product=product, version=version)
    return ServiceGroup(
        key, service, "tcp", "vulnerable", (), tuple(vuln(c) for c in cves), (), locations
    )


class Locations:
    """``locations_of`` over a fixed table, counting the streams opened."""

    def __init__(self, table: dict[str, list[Location]]) -> None:
        self.table = table
        self.streams: list[str] = []

    def __call__(self, group: ServiceGroup) -> Iterator[Location]:
        self.streams.append(group.key)
        yield from self.table.get(group.key, [])


def loc(address: str, port: int = 80, protocol: str = "tcp", hostname: str = "") -> Location:
    return Location(address, hostname, port, protocol)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suppressions.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def load(tmp_path: Path, text: str) -> Suppressions:
    return load_suppressions(write(tmp_path, text))


def entry(*cve: str, **fields: object) -> Suppression:
    return parse_suppression({"cve": cve[0] if cve else "CVE-2021-41773", "reason": "r",
                              "author": "a", **fields})  # fmt: skip


def apply(
    entries: Suppressions | list[Suppression],
    groups: list[ServiceGroup],
    table: dict[str, list[Location]] | None = None,
    now: datetime | date = NOW,
) -> Applied:
    sups = entries if isinstance(entries, Suppressions) else Suppressions.from_entries(entries)
    return sups.apply(groups, Locations(table or {}), now)


def ids(group: ServiceGroup) -> list[str]:
    return [v.id for v in group.vulnerabilities]


# -- loading ------------------------------------------------------------------------------------


def test_load_a_full_file(tmp_path: Path) -> None:
    sups = load(
        tmp_path,
        """
        # accepted risks
        - cve: cve-2023-38408
          reason: Debian backported the fix
          author: alice@example.com
          product: OpenSSH
          version: "9.2*"
          host: Bastion.Example.com.
          port: 22
          protocol: TCP
          expires: 2026-06-30
        - cve: CVE-2021-41773
          reason: lab only
          author: bob
          cidr: 2001:db8::/32
          version: 2.10
        """,
    )
    first, second = sups.entries
    assert first == Suppression(
        cve="CVE-2023-38408",
        reason="Debian backported the fix",
        author="alice@example.com",
        product="OpenSSH",
        version="9.2*",
        host="bastion.example.com",
        port=22,
        protocol="tcp",
        expires=date(2026, 6, 30),
        origin=f"{tmp_path / 'suppressions.yaml'}:2",
    )
    assert second.cidr == ipaddress.ip_network("2001:db8::/32")
    assert second.version == "2.10"  # as written, not the float 2.1
    assert second.origin.endswith(":11")


def test_empty_file_is_no_entries(tmp_path: Path) -> None:
    assert len(load(tmp_path, "# nothing suppressed yet\n")) == 0


def test_address_host_is_normalised(tmp_path: Path) -> None:
    assert entry(host="2001:DB8:0:0::1").host == "2001:db8::1"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("- cve: CVE-2021-1234\n  reason: r\n  author: a\n  prot: tcp\n", 4, "unknown key 'prot'"),
        ("- cve: CVE-21-1\n  reason: r\n  author: a\n", 1, "cve must be a CVE id"),
        ("- cve: '*'\n  reason: r\n  author: a\n", 1, "cve must be a CVE id"),
        ("- reason: r\n  author: a\n", 1, "missing cve"),
        ("- cve: CVE-2021-1234\n  author: a\n", 1, "missing reason"),
        ("- cve: CVE-2021-1234\n  reason: r\n", 1, "missing author"),
        ("- cve: CVE-2021-1234\n  reason: ''\n  author: a\n", 2, "reason must be non-empty"),
        ("- cve: CVE-2021-1234\n  reason:\n  author: a\n", 2, "reason must be non-empty"),
        ("- cve: CVE-2021-1234\n  reason: r\n  author: a\n  cidr: 10.0.0.0/33\n", 4, "cidr"),
        ("- cve: CVE-2021-1234\n  reason: r\n  author: a\n  cidr: 10.0.0.5/24\n", 4, "host bits"),
        ("- cve: CVE-2021-1234\n  reason: r\n  author: a\n  cidr: web1\n", 4, "not a network"),
        ("- cve: CVE-2021-1234\n  reason: r\n  author: a\n  expires: 2026-02-30\n", 4, "date"),
        ("- cve: CVE-2021-1234\n  reason: r\n  author: a\n  expires: soon\n", 4, "date"),
        ("- cve: CVE-2021-1234\n  reason: r\n  author: a\n  expires: 2026-01-01T10:00:00\n", 4,
         "date"),
        ("- cve: CVE-2021-1234\n  reason: r\n  author: a\n  port: https\n", 4, "port must be"),
        ("- cve: CVE-2021-1234\n  reason: r\n  author: a\n  port: 70000\n", 4, "port must be"),
        ("- cve: CVE-2021-1234\n  reason: r\n  author: a\n  port: true\n", 4, "port must be"),
        ("- cve: CVE-2021-1234\n  reason: r\n  author: a\n  port: [80, 443]\n", 4,
         "port must be a single value"),
        ("- cve: CVE-2021-1234\n  reason: r\n  author: a\n  product: {a: 1}\n", 4,
         "product must be a single value"),
        ("- cve: CVE-2021-1234\n  reason: r\n  author: a\n  port: 80\n  protocol: icmp\n", 5,
         "protocol must be one of"),
        ("- cve: CVE-2021-1234\n  reason: r\n  author: a\n  protocol: udp\n", 1,
         "protocol needs a port"),
        ("- cve: CVE-2021-1234\n  reason: r\n  author: a\n  host: 10.0.0.0/8\n", 4,
         "cidr takes networks"),
        ("- cve: CVE-2021-1234\n  reason: r\n  author: a\n  version: 2.*.1\n", 4, "'*' may only"),
        ("- cve: CVE-2021-1234\n  reason: r\n  reason: s\n  author: a\n", 3, "duplicate key"),
        ("cve: CVE-2021-1234\nreason: r\nauthor: a\n", 1, "expected a list"),
        ("just text\n", 1, "expected a list"),
        ("- CVE-2021-1234\n", 1, "each entry must be a mapping"),
        ("- cve: CVE-2021-1234\n  reason: [unclosed\n", 3, "invalid YAML"),
        ("- cve: CVE-2021-1234\n---\n- cve: CVE-2021-1235\n", 2, "invalid YAML"),
        ("- cve: CVE-2021-1234\n  reason: r\n  author: *nowhere\n", 3, "invalid YAML"),
    ],
)  # fmt: skip
def test_invalid_entries_name_the_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SuppressionError) as caught:
        load_suppressions(path)
    error = caught.value
    assert isinstance(error, UsageError)
    assert error.exit_code == EXIT_USAGE
    assert str(error).startswith(f"{path}:{line}: ")
    assert message in str(error)


def test_every_problem_is_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - cve: CVE-2021-1234
          reason: r
          author: a
          colour: red
        - cve: nope
          reason: r
          author: a
        - cve: CVE-2021-1235
          reason: r
        """,
    )
    with pytest.raises(SuppressionError) as caught:
        load_suppressions(path)
    assert [line for line, _ in caught.value.problems] == [4, 5, 8]


def test_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SuppressionError, match="cannot read"):
        load_suppressions(tmp_path / "missing.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"- cve: CVE-2021-1234\n  reason: caf\xe9\n")
    with pytest.raises(SuppressionError, match=r":2: not UTF-8"):
        load_suppressions(bad)


def test_parse_validates_plain_values() -> None:
    made = parse_suppression(
        {"cve": "CVE-2021-1234", "reason": "r", "author": "a", "port": "443", "host": None,
         "expires": date(2026, 1, 1)},
        origin="history:7",
    )  # fmt: skip
    assert (made.port, made.host, made.expires, made.origin) == (
        443, None, date(2026, 1, 1), "history:7"
    )  # fmt: skip
    with pytest.raises(SuppressionError, match="history:8: unknown key 'cwe'"):
        parse_suppression({"cve": "CVE-2021-1234", "cwe": 79}, origin="history:8")


# -- hostile YAML -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("- !!python/object/apply:os.system ['touch /tmp/brulee-pwned']\n", 1),
        ("- cve: CVE-2021-1234\n  reason: !!python/object/apply:os.system [id]\n  author: a\n", 2),
        ("- cve: CVE-2021-1234\n  reason: !!python/name:os.system\n  author: a\n", 2),
        ("!!python/object:builtins.dict\n- cve: CVE-2021-1234\n", 1),
        ("- cve: CVE-2021-1234\n  reason: !custom r\n  author: a\n", 2),
        ("- cve: CVE-2021-1234\n  reason: !!binary aGVsbG8=\n  author: a\n", 2),
    ],
)
def test_tags_beyond_the_core_schema_are_refused(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SuppressionError, match=rf"^{path}:{line}: tag .* is not allowed"):
        load_suppressions(path)
    assert not Path("/tmp/brulee-pwned").exists()


LAUGHS = "".join(
    [f"- &a0 [{','.join(['lol'] * 9)}]\n"]
    + [f"- &a{i} [{','.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 12)]
)


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        ("", "each entry must be a mapping"),
        ("- *a11\n", "aliases of lists or mappings"),
        ("- cve: CVE-2021-1234\n  reason: *a11\n  author: a\n", "aliases of lists or mappings"),
    ],
)
def test_billion_laughs_is_refused_quickly(tmp_path: Path, tail: str, message: str) -> None:
    """9**12 "lol"s if expanded; aliases are never expanded, so this takes milliseconds."""
    path = write(tmp_path, LAUGHS + tail)
    started = time.monotonic()
    with pytest.raises(SuppressionError) as caught:
        load_suppressions(path)
    assert time.monotonic() - started < 2
    line, text = caught.value.problems[0]
    assert message in text
    assert line == {"": 1, "- *a11\n": 13}.get(tail, 14)


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SuppressionError, match=r":2: aliases of lists or mappings"):
        load(tmp_path, "- &x {cve: CVE-2021-1234, reason: r, author: a,\n   product: *x}\n")


def test_scalar_aliases_are_fine(tmp_path: Path) -> None:
    sups = load(
        tmp_path,
        """
        - {cve: CVE-2021-1234, reason: &why "vendor backport", author: &who ops}
        - {cve: CVE-2021-1235, reason: *why, author: *who}
        """,
    )
    assert [e.reason for e in sups.entries] == ["vendor backport"] * 2


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "- " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(SuppressionError, match=rf"^{path}:1: "):
        load_suppressions(path)
    nested = "- cve: CVE-2021-1234\n  reason: r\n  author: a\n  product: " + "[" * 500 + "]" * 500
    with pytest.raises(SuppressionError, match=r":4: product must be a single value"):
        load(tmp_path, nested + "\n")


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("w") as out:
        out.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(SuppressionError, match="larger than"):
        load_suppressions(path)


# -- matching -----------------------------------------------------------------------------------


def test_by_cve_only_removes_the_vulnerability_everywhere() -> None:
    apache = group("g1", "Apache httpd", "2.4.49", "CVE-2021-41773", "CVE-2021-42013")
    nginx = group("g2", "nginx", "1.18.0", "CVE-2021-23017")
    where = Locations({})
    applied = Suppressions.from_entries([entry("cve-2021-41773")]).apply(
        [apache, nginx], where, NOW
    )
    kept = {g.key: g for g in applied.groups}
    assert ids(kept["g1"]) == ["CVE-2021-42013"]
    assert ids(kept["g2"]) == ["CVE-2021-23017"]
    (service,) = applied.suppressed
    assert service.group is apache
    (done,) = service.complete
    assert done.vulnerability.id == "CVE-2021-41773"
    assert done.entries == (entry("cve-2021-41773"),)
    assert done.complete and done.locations == ()
    assert where.streams == []  # no location scope: locations are never read
    assert applied.count == 1 and applied.stale == () and applied.expired == ()


def test_all_vulnerabilities_suppressed_reads_clean() -> None:
    apache = group("g1", "Apache httpd", "2.4.49", "CVE-2021-41773")
    (kept,) = apply([entry()], [apache]).groups
    assert kept.vulnerabilities == () and kept.status == "clean"


@pytest.mark.parametrize(
    ("fields", "suppressed"),
    [
        ({"product": "apache HTTPD"}, True),
        ({"product": "nginx"}, False),
        ({"version": "2.4.49"}, True),
        ({"version": "2.4.4"}, False),
        ({"version": "2.4.*"}, True),
        ({"version": "2.4*"}, True),
        ({"version": "2.5.*"}, False),
        ({"product": "Apache httpd", "version": "2.4.*"}, True),
        ({"product": "Apache httpd", "version": "2.3.*"}, False),
    ],
)
def test_product_and_version(fields: dict[str, object], suppressed: bool) -> None:
    apache = group("g1", "Apache httpd", "2.4.49", "CVE-2021-41773")
    applied = apply([entry(**fields)], [apache])
    assert (ids(applied.groups[0]) == []) is suppressed
    assert (applied.stale == ()) is suppressed


LOCATIONS = {
    "g1": [
        loc("10.0.0.5", 80, hostname="web1.example.com"),
        loc("10.0.0.6", 80),
        loc("10.0.0.6", 8080),
        loc("10.0.0.6", 8080, "udp"),
        loc("192.168.1.9", 443),
        loc("2001:db8::7", 80),
        loc("2001:db8:1::7", 80),
    ]
}


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"host": "10.0.0.5"}, {("10.0.0.5", 80, "tcp")}),
        ({"host": "WEB1.example.com."}, {("10.0.0.5", 80, "tcp")}),
        ({"host": "2001:0db8::7"}, {("2001:db8::7", 80, "tcp")}),
        ({"port": 8080}, {("10.0.0.6", 8080, "tcp"), ("10.0.0.6", 8080, "udp")}),
        ({"port": 8080, "protocol": "udp"}, {("10.0.0.6", 8080, "udp")}),
        ({"host": "10.0.0.6", "port": 80}, {("10.0.0.6", 80, "tcp")}),
        ({"cidr": "10.0.0.0/24"},
         {("10.0.0.5", 80, "tcp"), ("10.0.0.6", 80, "tcp"), ("10.0.0.6", 8080, "tcp"),
          ("10.0.0.6", 8080, "udp")}),
        ({"cidr": "2001:db8::/48"}, {("2001:db8::7", 80, "tcp")}),
        ({"cidr": "2001:db8::/32", "port": 80},
         {("2001:db8::7", 80, "tcp"), ("2001:db8:1::7", 80, "tcp")}),
    ],
)  # fmt: skip
def test_location_scopes_suppress_only_where_they_match(
    fields: dict[str, object], where: set[tuple[str, int, str]]
) -> None:
    apache = group("g1", "Apache httpd", "2.4.49", "CVE-2021-41773", "CVE-2021-42013", locations=7)
    sup = entry(**fields)
    applied = apply([sup], [apache], LOCATIONS)
    # Partially suppressed: still a finding of the service, listed where suppressed.
    assert ids(applied.groups[0]) == ["CVE-2021-41773", "CVE-2021-42013"]
    (service,) = applied.suppressed
    (partial,) = service.partial
    assert partial.vulnerability.id == "CVE-2021-41773" and not partial.complete
    assert {(s.location.address, s.location.port, s.location.protocol) for s in partial.locations} \
        == where  # fmt: skip
    assert all(s.entry is sup for s in partial.locations)
    assert partial.location_count == 7
    assert applied.count == 0


def test_scoped_entries_that_cover_every_location_suppress_completely() -> None:
    apache = group("g1", "Apache httpd", "2.4.49", "CVE-2021-41773", locations=7)
    v4, v6 = entry(cidr="0.0.0.0/0", reason="v4"), entry(cidr="::/0", reason="v6")
    applied = apply([v4, v6], [apache], LOCATIONS)
    assert ids(applied.groups[0]) == []
    (done,) = applied.suppressed[0].suppressed
    assert done.complete and done.locations == () and done.entries == (v4, v6)


def test_first_matching_entry_is_credited_per_location() -> None:
    apache = group("g1", "Apache httpd", "2.4.49", "CVE-2021-41773", locations=7)
    host, net = entry(host="10.0.0.6", reason="host"), entry(cidr="10.0.0.0/8", reason="net")
    (partial,) = apply([host, net], [apache], LOCATIONS).suppressed[0].partial
    credited = [(s.location.address, s.location.port, s.entry.reason) for s in partial.locations]
    assert credited == [
        ("10.0.0.5", 80, "net"),
        ("10.0.0.6", 80, "host"),
        ("10.0.0.6", 8080, "host"),
        ("10.0.0.6", 8080, "host"),
    ]


def test_locations_are_read_only_for_services_a_scoped_entry_could_cover() -> None:
    apache = group("g1", "Apache httpd", "2.4.49", "CVE-2021-41773", locations=7)
    nginx = group("g2", "nginx", "1.18.0", "CVE-2021-23017")
    where = Locations(LOCATIONS)
    sups = Suppressions.from_entries([entry(host="10.0.0.5"), entry("CVE-2021-23017", port=80)])
    applied = sups.apply([apache, nginx], where, NOW)
    assert where.streams.count("g1") == 2  # count, then list the partial suppression
    assert where.streams.count("g2") == 1  # no locations: nothing matched, one pass
    assert [e.cve for e in applied.stale] == ["CVE-2021-23017"]


def test_thousands_of_scoped_entries_are_matched_through_an_index() -> None:
    # Before: every location was matched against every entry: 5,001 entries against 5,000
    # hosts took 151 s through `brulee report` (25 million matches); now a few per location.
    hosts = [f"10.0.{n >> 8}.{n & 255}" for n in range(1, 5001)]
    apache = group("g1", "Apache httpd", "2.4.49", "CVE-2021-41773", locations=5001)
    table = {"g1": [*(loc(a) for a in hosts), loc("10.9.0.1", hostname="edge.example.com")]}
    entries = [entry(host=a, reason=a) for a in hosts[:4000]]
    entries += [entry(cidr="10.0.16.0/22", reason="net"), entry(host="edge.example.com")]
    started = time.monotonic()
    applied = apply(entries, [apache], table)
    assert time.monotonic() - started < 20  # about 0.5 s; 60 s and more before
    (partial,) = applied.suppressed[0].partial
    credited = [s.entry.reason for s in partial.locations]
    # 4,000 hosts by their own entry, 10.0.16.x-10.0.19.x (hosts 4,096-5,000) by the network,
    # the named host; hosts 4,001-4,095 are in neither.
    assert len(credited) == 4000 + (5000 - 4096 + 1) + 1
    assert credited[:2] == ["10.0.0.1", "10.0.0.2"] and credited[-2:] == ["net", "r"]
    assert partial.location_count == 5001


def test_complete_suppression_reads_locations_once() -> None:
    apache = group("g1", "Apache httpd", "2.4.49", "CVE-2021-41773", locations=7)
    where = Locations(LOCATIONS)
    Suppressions.from_entries([entry(cidr="::/0"), entry(cidr="0.0.0.0/0")]).apply(
        [apache], where, NOW
    )
    assert where.streams == ["g1"]


# -- expiry and staleness -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "applies"),
    [
        (datetime(2026, 6, 29, 23, 59, tzinfo=UTC), True),
        (datetime(2026, 6, 30, 23, 59, tzinfo=UTC), True),  # the expiry day itself
        (datetime(2026, 7, 1, 0, 0, tzinfo=UTC), False),
        # 2026-07-01 01:00 at UTC+2 is still 2026-06-30 in UTC.
        (datetime(2026, 7, 1, 1, 0, tzinfo=timezone(timedelta(hours=2))), True),
        (datetime(2026, 7, 1, 0, 30), False),  # naive: taken as UTC
        (date(2026, 6, 30), True),
        (date(2027, 1, 1), False),
    ],
)
def test_expiry_with_an_injected_clock(now: datetime | date, applies: bool) -> None:
    apache = group("g1", "Apache httpd", "2.4.49", "CVE-2021-41773")
    sup = entry(expires="2026-06-30")
    applied = apply([sup], [apache], now=now)
    assert (ids(applied.groups[0]) == []) is applies
    assert applied.expired == (() if applies else (sup,))
    assert applied.stale == ()  # an expired entry is reported as expired, not stale


def test_expired_entries_from_a_file(tmp_path: Path) -> None:
    sups = load(
        tmp_path,
        """
        - cve: CVE-2021-41773
          reason: waiting for the upgrade window
          author: ops
          expires: 2026-01-31
        """,
    )
    apache = group("g1", "Apache httpd", "2.4.49", "CVE-2021-41773")
    before = apply(sups, [apache], now=datetime(2026, 1, 31, 12, tzinfo=UTC))
    after = apply(sups, [apache], now=datetime(2026, 2, 1, 12, tzinfo=UTC))
    assert before.count == 1 and before.expired == ()
    assert after.count == 0 and [e.origin.rsplit(":", 1)[1] for e in after.expired] == ["1"]
    assert ids(after.groups[0]) == ["CVE-2021-41773"]


def test_stale_entries_matched_nothing() -> None:
    apache = group("g1", "Apache httpd", "2.4.49", "CVE-2021-41773", locations=7)
    used = entry()
    unknown_cve = entry("CVE-1999-0001")
    other_product = entry(product="nginx")
    other_host = entry(host="10.9.9.9")
    redundant = entry(host="10.0.0.5")  # covered anyway by ``used``, but it did match
    applied = apply([used, unknown_cve, other_product, other_host, redundant], [apache], LOCATIONS)
    assert applied.stale == (unknown_cve, other_product, other_host)
    (done,) = applied.suppressed[0].suppressed
    assert done.complete and done.entries == (used, redundant)


def test_equal_entries_are_both_used() -> None:
    apache = group("g1", "Apache httpd", "2.4.49", "CVE-2021-41773", locations=7)
    one, two = entry(host="10.0.0.5"), entry(host="10.0.0.5")
    assert apply([one, two], [apache], LOCATIONS).stale == ()


def test_groups_are_resorted_and_keys_kept() -> None:
    critical = ServiceGroup(
        "g1", Service(product="A", version="1"), "tcp", "vulnerable", (),
        (vuln("CVE-2021-0001", "critical"),), (), 1,
    )  # fmt: skip
    low = ServiceGroup(
        "g2", Service(product="B", version="1"), "tcp", "vulnerable", (),
        (vuln("CVE-2021-0002", "low"),), (), 1,
    )  # fmt: skip
    applied = apply([entry("CVE-2021-0001")], [critical, low])
    assert [g.key for g in applied.groups] == ["g2", "g1"]
    found = applied.for_group("g1")
    assert found is not None and found.group is critical
    assert applied.for_group("g2") is None


def test_partial_suppressions_still_fail_gates() -> None:
    """A finding suppressed at some locations only stays in the groups the CI gate reads."""
    from brulee.findings.gate import FailOn

    apache = group("g1", "Apache httpd", "2.4.49", "CVE-2021-41773", locations=7)
    applied = apply([entry(host="10.0.0.5")], [apache], LOCATIONS)
    assert FailOn("high").failing(applied.groups) == ("CVE-2021-41773",)
    applied = apply([entry()], [apache], LOCATIONS)
    assert FailOn("high").failing(applied.groups) == ()


def test_many_locations_stream_without_listing_complete_ones() -> None:
    """A /16 of matched locations: complete suppression keeps no location in the result."""
    apache = group("g1", "Apache httpd", "2.4.49", "CVE-2021-41773", locations=65536)

    def locations_of(g: ServiceGroup) -> Iterator[Location]:
        for i in range(65536):
            yield loc(f"10.1.{i >> 8}.{i & 255}")

    applied = Suppressions.from_entries([entry(cidr="10.1.0.0/16")]).apply(
        [apache], locations_of, NOW
    )
    (done,) = applied.suppressed[0].suppressed
    assert done.complete and done.locations == () and done.location_count == 65536
