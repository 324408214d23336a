"""OpenVEX documents as suppressions: statuses, CPE and location matching, the latest statement
winning, and malformed or hostile documents refused in one line naming the file."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from brulee.core.findings import Location, ServiceGroup
from brulee.core.scan import Service
from brulee.core.suppression import Applied
from brulee.core.vulnerability import Vulnerability
from brulee.errors import EXIT_USAGE
from brulee.history.suppressions import Suppressions, VexError, load_suppressions, load_vex
from brulee.history.suppressions.vex import MAX_FILE_BYTES

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SSH = Service(name="ssh", product="OpenSSH", version="7.4p1 Debian 10+deb9u7",
              cpes=("cpe:/a:openbsd:openssh:7.4p1", "cpe:/o:linux:linux_kernel"))  # fmt: skip
NGINX = Service(name="http", product="nginx", version="1.14.0",
                cpes=("cpe:/a:igor_sysoev:nginx:1.14.0",))  # fmt: skip
EXIM = Service(name="smtp", product="Exim smtpd", version="4.89")  # no CPE: the product name
HOSTILE = "Apache/2.4.49 (\\input{/etc/passwd}<script>alert(1)</script>=cmd|'/C calc'!A0)\x1b[2J"
AGENT = "CVE-2023-38408"
XY = {"identifiers": {"cpe22": "cpe:/a:x:y"}}
SSH_LOCATIONS = [Location("10.0.0.1", "", 22, "tcp"), Location("10.0.0.2", "", 22, "tcp")]


def group(key: str, service: Service, *cves: str) -> ServiceGroup:
    vulns = tuple(Vulnerability(id=c, severity="high") for c in cves)
    return ServiceGroup(key, service, "tcp", "vulnerable", (), vulns, (), 2)


def groups() -> list[ServiceGroup]:
    return [
        group("ssh", SSH, "CVE-2023-38408", "CVE-2016-10009"),
        group("nginx", NGINX, "CVE-2021-23017"),
        group("exim", EXIM, "CVE-2019-10149"),
    ]


def locations(g: ServiceGroup) -> Iterator[Location]:
    yield from SSH_LOCATIONS if g.key == "ssh" else [Location("10.0.0.9", "", 80, "tcp")]


def statement(cve: str, status: str, *products: dict[str, Any], **fields: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "not_affected": {"justification": "vulnerable_code_not_in_execute_path"},
        "affected": {"action_statement": "upgrade in the next window"},
    }.get(status, {})
    return {"vulnerability": {"name": cve}, "products": list(products), "status": status,
            **defaults, **fields}  # fmt: skip


def document(*statements: Any, **fields: Any) -> dict[str, Any]:
    return {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "urn:uuid:1", "author":
            "secops@example.com", "timestamp": "2026-02-01T00:00:00Z", "version": 1,
            "statements": list(statements), **fields}  # fmt: skip


def cpe(text: str, at_id: str | None = None) -> dict[str, Any]:
    key = "cpe23" if text.startswith("cpe:2.3:") else "cpe22"
    return {"identifiers": {key: text}} | ({"@id": at_id} if at_id else {})


def write(tmp_path: Path, doc: Any, name: str = "vex.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def apply(*paths: Path) -> Applied:
    return load_vex(list(paths)).apply(groups(), locations, NOW)


def by_key(applied: Applied) -> dict[str, ServiceGroup]:
    return {g.key: g for g in applied.groups}


def test_not_affected_and_fixed_move_findings_to_the_appendix(tmp_path: Path) -> None:
    path = write(tmp_path, document(
        statement(AGENT, "not_affected", cpe("cpe:2.3:a:openbsd:openssh:7.4:p1:*:*:*:*:*:*"),
                  impact_statement="agent forwarding is off on every host"),
        statement("CVE-2021-23017", "fixed", cpe("cpe:2.3:a:f5:nginx:1.14.0:*:*:*:*:*:*:*"),
                  status_notes="rebuilt with the upstream patch"),
    ))  # fmt: skip
    applied = apply(path)
    kept = by_key(applied)
    assert [v.id for v in kept["ssh"].vulnerabilities] == ["CVE-2016-10009"]
    assert kept["nginx"].vulnerabilities == () and kept["nginx"].status == "clean"
    gone = {s.group.key: s.suppressed[0] for s in applied.suppressed}
    ssh_entry = gone["ssh"].entries[0]
    assert gone["ssh"].complete and gone["ssh"].vulnerability.id == "CVE-2023-38408"
    assert ssh_entry.author == "secops@example.com"
    assert ssh_entry.reason == ("VEX not_affected (vulnerable_code_not_in_execute_path): agent "
                                "forwarding is off on every host")  # fmt: skip
    assert ssh_entry.origin == f"{path} statement 1"
    assert ssh_entry.vex is not None and ssh_entry.vex.status == "not_affected"
    assert ssh_entry.scope == ("cpe cpe:2.3:a:openbsd:openssh:7.4:p1:*:*:*:*:*:*",)
    assert gone["nginx"].entries[0].reason == "VEX fixed: rebuilt with the upstream patch"
    assert applied.stale == ()


@pytest.mark.parametrize(
    ("product", "matches"),
    [
        ("cpe:/a:openbsd:openssh:7.4p1", True),  # CPE 2.2, as Nmap writes it
        ("cpe:2.3:a:openbsd:openssh:7.4:p1:*:*:*:*:*:*", True),  # NVD's version and update
        ("cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*", True),  # any version
        ("cpe:/a:openbsd:openssh", True),
        ("cpe:2.3:a:openbsd:openssh:7.4:*:*:*:*:*:*:*", False),  # 7.4 is not 7.4p1
        ("cpe:/a:openbsd:openssh:9.8p1", False),
        ("cpe:/a:openssl:openssl", False),
        ("cpe:/o:linux:linux_kernel", False),  # the platform is not the software
    ],
)
def test_products_match_by_cpe_vendor_product_and_version(
    tmp_path: Path, product: str, matches: bool
) -> None:
    path = write(tmp_path, document(statement("CVE-2023-38408", "fixed", cpe(product))))
    kept = by_key(apply(path))
    assert ("CVE-2023-38408" not in [v.id for v in kept["ssh"].vulnerabilities]) is matches


def test_aliases_and_product_names_reach_services_without_the_same_cpe(tmp_path: Path) -> None:
    path = write(tmp_path, document(
        statement("CVE-2021-23017", "fixed", cpe("cpe:2.3:a:nginx:nginx:1.14.0:*:*:*:*:*:*:*")),
        statement("GHSA-xxxx", "fixed", cpe("cpe:/a:exim:exim:4.89"),
                  vulnerability={"name": "GHSA-xxxx", "aliases": ["cve-2019-10149"]}),
    ))  # fmt: skip
    kept = by_key(apply(path))
    assert kept["nginx"].vulnerabilities == ()  # nginx:nginx and Nmap's igor_sysoev:nginx
    assert kept["exim"].vulnerabilities == ()  # an alias; Exim by its product name


def test_a_location_scope_suppresses_where_it_matches(tmp_path: Path) -> None:
    path = write(tmp_path, document(
        statement("CVE-2023-38408", "not_affected",
                  cpe("cpe:/a:openbsd:openssh:7.4p1", "tcp://10.0.0.2:22")),
        statement("CVE-2016-10009", "not_affected", {"@id": "tcp://*:22"}),
    ))  # fmt: skip
    applied = apply(path)
    (ssh,) = [s for s in applied.suppressed if s.group.key == "ssh"]
    agent, scp = ssh.suppressed
    assert not agent.complete
    assert [at.location.address for at in agent.locations] == ["10.0.0.2"]
    assert agent.entries[0].scope == ("cpe cpe:/a:openbsd:openssh:7.4p1", "host 10.0.0.2",
                                      "port 22/tcp")  # fmt: skip
    assert scp.complete  # every host, port 22
    assert [v.id for v in by_key(applied)["ssh"].vulnerabilities] == ["CVE-2023-38408"]


def test_affected_and_under_investigation_keep_the_finding_and_show_the_statement(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, document(
        statement("CVE-2023-38408", "affected", cpe("cpe:/a:openbsd:openssh")),
        statement("CVE-2021-23017", "under_investigation", cpe("cpe:/a:f5:nginx"),
                  status_notes="checking the resolver configuration"),
    ))  # fmt: skip
    applied = apply(path)
    assert applied.suppressed == ()
    kept = by_key(applied)
    (agent,) = [v for v in kept["ssh"].vulnerabilities if v.id == "CVE-2023-38408"]
    (note,) = agent.vex
    assert (note.status, note.statement, note.author) == (
        "affected", "upgrade in the next window", "secops@example.com")  # fmt: skip
    assert note.origin == f"{path} statement 1"
    assert kept["ssh"].status == "vulnerable"
    assert kept["nginx"].vulnerabilities[0].vex[0].status == "under_investigation"
    assert not next(v for v in kept["ssh"].vulnerabilities if v.id == "CVE-2016-10009").vex


def test_the_latest_statement_about_a_product_wins(tmp_path: Path) -> None:
    product = cpe("cpe:/a:openbsd:openssh:7.4p1")
    old = statement(AGENT, "not_affected", product, timestamp="2026-01-01T00:00:00Z")
    new = statement(AGENT, "affected", product, timestamp="2026-02-01T00:00:00+01:00")
    older, newer = (
        write(tmp_path, document(old), "a.json"),
        write(tmp_path, document(new), "b.json"),
    )
    for order in ((older, newer), (newer, older)):  # time decides, not the file order
        kept = by_key(apply(*order))
        (agent,) = [v for v in kept["ssh"].vulnerabilities if v.id == "CVE-2023-38408"]
        assert [n.status for n in agent.vex] == ["affected"]
    same_time = write(tmp_path, document(
        statement("CVE-2023-38408", "under_investigation", product),
        statement("CVE-2023-38408", "fixed", product),  # later in the document
    ), "c.json")  # fmt: skip
    assert [s.suppressed[0].entries[0].vex.status for s in apply(same_time).suppressed
            if s.suppressed[0].entries[0].vex] == ["fixed"]  # fmt: skip


def test_suppressions_and_vex_apply_together(tmp_path: Path) -> None:
    yaml = tmp_path / "s.yaml"
    yaml.write_text("- cve: CVE-2016-10009\n  reason: scp disabled\n  author: ops\n")
    vex = write(
        tmp_path, document(statement("CVE-2023-38408", "fixed", cpe("cpe:/a:openbsd:openssh")))
    )
    both = load_suppressions(yaml) + load_vex([vex])
    kept = by_key(both.apply(groups(), locations, NOW))
    assert kept["ssh"].vulnerabilities == () and kept["ssh"].status == "clean"


def test_products_brulee_cannot_match_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, document(
        statement("CVE-2023-38408", "fixed", {"@id": "pkg:deb/debian/openssh-server@1:7.4p1-10"}),
        statement("GHSA-only", "fixed", cpe("cpe:/a:openbsd:openssh")),
    ))  # fmt: skip
    with caplog.at_level(logging.WARNING):
        assert len(load_vex([path])) == 0
    assert "2 products name no CVE, or neither a CPE nor a location" in caplog.text


def test_an_empty_document_is_no_entries(tmp_path: Path) -> None:
    assert load_vex([write(tmp_path, document())]) == Suppressions()


BAD: list[tuple[Any, str]] = [
    ("{", "not valid JSON"),
    ("[" * 100 + "]" * 100, "nested deeper than 16 levels"),
    ('{"author": "a", "author": "b"}', "duplicate key 'author'"),
    ('{"a": NaN}', "not valid JSON"),
    ([], "not an OpenVEX document"),
    (document(**{"@context": "https://example.com/evil"}), "@context is 'https://example.com/evil'"),
    (document(author=""), "author is not non-empty text"),
    (document(statements={}), "statements is not a list"),
    (document(statement(AGENT, "exploitable", XY)),
     "statement 1: status 'exploitable' is not one of"),
    (document({"vulnerability": "CVE-2023-38408", "status": "fixed", "products": [{"@id": "x"}]}),
     "statement 1: vulnerability is not an object with a name (OpenVEX 0.2.0)"),
    (document(statement(AGENT, "not_affected", XY, justification=None)),
     "not_affected needs a justification or an impact_statement"),
    (document(statement(AGENT, "not_affected", XY, justification="trust me")),
     "justification 'trust me' is not one of OpenVEX's"),
    (document(statement(AGENT, "affected", XY, action_statement=None)),
     "affected needs an action_statement"),
    (document(statement(AGENT, "fixed")), "products is not a non-empty list"),
    (document(statement(AGENT, "fixed", cpe("cpe:/a::"))), "names no vendor and product"),
    (document(statement(AGENT, "fixed", cpe(f"cpe:2.3:a:{HOSTILE}"))),
     "is not a CPE 2.2 or 2.3 name"),
    (document(statement(AGENT, "fixed", {"@id": "tcp://10.0.0.1:99999"})),
     "port must be a number from 0 to 65535"),
    (document(statement(AGENT, "fixed", {"@id": f"tcp://{HOSTILE}"})),
     "is not a location like tcp://10.0.0.5:22"),
    (document(statement(AGENT, "fixed", {"@id": "tcp://bad\nhost:22"})),
     "host must be one address or hostname"),
    (document(statement(AGENT, "bad\x1b[2J\r\nstatus", XY)),
     "status 'bad\\x1b[2J\\r\\nstatus' is not one of"),
    (document(statement(AGENT, "fixed", XY, timestamp="yesterday")),
     "timestamp 'yesterday' is not an ISO 8601 time"),
    (document(statement(AGENT, "fixed", XY), 42), "statement 2: not an object"),
]  # fmt: skip


@pytest.mark.parametrize(("doc", "message"), BAD, ids=range(len(BAD)))
def test_malformed_or_hostile_documents_are_one_line_errors(
    tmp_path: Path, doc: Any, message: str
) -> None:
    path = write(tmp_path, doc)
    with pytest.raises(VexError) as caught:
        load_vex([path])
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and message in text
    assert text.isprintable()  # one line, no terminal escapes: hostile values are repr()ed
    assert caught.value.exit_code == EXIT_USAGE


def test_oversized_and_unreadable_files_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_FILE_BYTES + 1))
    with pytest.raises(VexError, match="larger than 16 MiB"):
        load_vex([big])
    with pytest.raises(VexError, match="cannot read it"):
        load_vex([tmp_path / "missing.json"])
