"""What a brulee report says per service, and what its findings rest on (issue 12's before/after).

    python -m tests.lab.summary REPORT.json [LAB.json]

LAB.json (``real_scan`` writes it beside report.json, and it is read from there by default) adds
the Debian version each daemon really runs. Each finding is checked, from the report alone, for
what would make it weaker than its label: the service's version is a literal label of Nmap's
probe file or a range (``artefact``), the NVD entry names every version with no bounds
(``unbounded``), it needs a platform the scan contradicts (``platform``, e.g. Red Hat on a Debian
banner) or cannot see (``platform?``), the distribution may have backported a fix (``backport``).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROBES = Path("/usr/share/nmap/nmap-service-probes")
SEVERITIES = ("critical", "high", "medium", "low")
FLAGS = ("artefact", "unbounded", "platform", "platform?", "backport")
_FIELD = re.compile(r"\s([pv])([/|=%@#!])(.*?)\2")
_CRITERIA = re.compile(
    r"^(cpe:2\.3:\S+)((?: version(?:Start|End)(?:In|Ex)cluding \S+)*) (?:may )?match"
)
_ONLY_IF = re.compile(r"only if (.*?)(?:;|$)")
_CPE23 = re.compile(r"cpe:2\.3:([aoh]):([^:]+):([^:]+)")
# Operating systems by family, for deciding that a platform condition contradicts the scan.
_DEBIAN = {("debian", "debian_linux")}
_LINUX = {("linux", "linux_kernel")}
_OTHER_LINUX = {
    "redhat",
    "centos",
    "fedoraproject",
    "canonical",
    "suse",
    "opensuse",
    "oracle_linux",
}


def nmap_labels(path: Path = PROBES) -> set[tuple[str, str]]:
    """(product, version) pairs that match lines of Nmap's probe file set literally (no $n)."""
    labels: set[tuple[str, str]] = set()
    if not path.is_file():
        return labels
    for line in path.read_text("utf-8", "replace").splitlines():
        if not line.startswith(("match ", "softmatch ")):
            continue
        fields = {key: value for key, _, value in _FIELD.findall(line)}
        if "v" in fields and "$" not in fields["v"] and "$" not in fields.get("p", "$"):
            labels.add((fields["p"], fields["v"]))
    return labels


def is_artefact(product: str, version: str, labels: set[tuple[str, str]]) -> bool:
    """Whether Nmap's version is a label or a range rather than the running version."""
    if not version:
        return False
    return (product, version) in labels or " or later" in version or " - " in version


def _evidence(service: dict[str, Any]) -> set[str]:
    """What the scan shows of the service's OS: ``debian``/``ubuntu`` and/or ``linux``."""
    shown: set[str] = set()
    distro = (service.get("distribution") or {}).get("distro")
    if distro:
        shown |= {distro, "linux"}
    if service.get("ostype", "").lower() == "linux" or any(
        c.startswith("cpe:/o:linux:") for c in service.get("cpe", [])
    ):
        shown.add("linux")
    return shown


def _contradicted(part: str, vendor: str, product: str, shown: set[str]) -> bool:
    """Whether needing this platform contradicts what the scan shows (only OSes are judged)."""
    if part != "o" or (vendor, product) in _LINUX:
        return False
    if (vendor, product) in _DEBIAN:
        return bool(shown - {"debian", "linux"})
    if vendor in _OTHER_LINUX:
        return bool(shown & {"debian", "ubuntu"} - ({"ubuntu"} if vendor == "canonical" else set()))
    return "linux" in shown


def flags(vuln: dict[str, Any], service: dict[str, Any], artefact: bool) -> list[str]:
    """What this finding rests on beyond a plain version match (see the module docstring)."""
    reason = vuln.get("reason") or ""
    out = ["artefact"] if artefact else []
    match = _CRITERIA.match(reason)
    if match and not match.group(2) and match.group(1).split(":")[5] in {"*", "-"}:
        out.append("unbounded")
    condition = _ONLY_IF.search(reason)
    own = tuple(match.group(1).split(":")[3:5]) if match else ()
    text = condition.group(1) if condition else ""
    # "only if Nmap version range ... is only partly within ...": the version, not a platform
    platforms = [] if text.startswith("Nmap version") else _CPE23.findall(text)
    platforms = [cpe for cpe in platforms if cpe[1:] != own]
    if platforms:
        shown = _evidence(service)
        every = all(_contradicted(part, v, p, shown) for part, v, p in platforms)
        out.append("platform" if every else "platform?")
    if vuln.get("confidence") == "unverified-backport":
        out.append("backport")
    return out


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding as the summary reads it."""

    id: str
    severity: str
    confidence: str
    kev: bool
    flags: tuple[str, ...]

    def tag(self) -> str:
        return f"{self.id} ({'; '.join((self.confidence, *self.flags))})"


@dataclass(frozen=True, slots=True)
class Row:
    """One service of the report: its label (with an Nmap label marked), ports, Debian package."""

    name: str
    ports: str
    debian: str
    status: str
    findings: tuple[Finding, ...]


def rows(report: dict[str, Any], lab: Sequence[dict[str, Any]] = ()) -> list[Row]:
    """One Row per service, in the report's order."""
    labels = nmap_labels()
    debian = {d["address"]: f"{d['package']} {d['version']}" for d in lab}
    out = []
    for svc in report["services"]:
        artefact = is_artefact(svc["product"], svc["version"], labels)
        name = f"{svc['product']} {svc['version']}".strip() + (" (Nmap label)" if artefact else "")
        if svc.get("extrainfo"):
            name += f", {svc['extrainfo']}"
        packages = sorted({debian.get(loc["address"], "") for loc in svc["locations"]} - {""})
        findings = tuple(
            Finding(v["id"], v["severity"], v["confidence"], bool(v.get("kev")),
                    tuple(flags(v, svc, artefact)))
            for v in svc["vulnerabilities"]
        )  # fmt: skip
        ports = "+".join(f"{loc['port']}/{loc['protocol']}" for loc in svc["locations"])
        out.append(Row(name, ports, ", ".join(packages), svc["status"], findings))
    return out


def _counts(counter: Counter[str], order: Iterable[str] = ()) -> str:
    keys = [k for k in order if counter[k]] + sorted(k for k in counter if k not in set(order))
    return ", ".join(f"{k} {counter[k]}" for k in keys if counter[k]) or "-"


def render(report: dict[str, Any], lab: Sequence[dict[str, Any]] = ()) -> str:
    """Markdown: one row per service (in the report's order), then what the headlines rest on."""
    table = rows(report, lab)
    summary = report.get("summary", {})
    lines = [
        f"brulee {report.get('generator', {}).get('version', '?')}, Nmap "
        f"{report['scan'].get('nmap_version', '')}, database {report['scan'].get('database', '')}",
        "",
        "| service [ports] | Debian package | status | findings by confidence | C/H/M/L "
        "| KEV | rests on |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in table:
        severity = Counter(f.severity for f in row.findings)
        lines.append(
            f"| {row.name} [{row.ports}] | {row.debian or '-'} | {row.status} "
            f"| {_counts(Counter(f.confidence for f in row.findings))} "
            f"| {'/'.join(str(severity[s]) for s in SEVERITIES)} "
            f"| {'; '.join(f.tag() for f in row.findings if f.kev) or '-'} "
            f"| {_counts(Counter(flag for f in row.findings for flag in f.flags), FLAGS)} |"
        )
    every = [(row, f) for row in table for f in row.findings]
    plain = sum(1 for _, f in every if not f.flags)
    lines += [
        "",
        f"Headlines as reported: services {_counts(Counter(summary.get('by_status', {})))}; "
        f"findings {_counts(Counter(summary.get('by_severity', {})), SEVERITIES)}.",
        f"KEV entries: {'; '.join(f'{r.name}: {f.tag()}' for r, f in every if f.kev) or 'none'}.",
        "Critical: "
        + (
            "; ".join(f"{r.name}: {f.tag()}" for r, f in every if f.severity == "critical")
            or "none"
        )
        + ".",
        f"Findings on a plain version match (none of {', '.join(FLAGS)}): {plain} of {len(every)}.",
    ]
    notable = [
        f"- {r.name}: {f.id} {f.severity} ({'; '.join((f.confidence, *f.flags))})"
        for r, f in every
        if {"unbounded", "platform", "platform?"} & set(f.flags)
    ]
    if notable:
        lines += ["", "Findings on an unbounded NVD entry or a platform condition:", *notable]
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 2
    report_path = Path(argv[0])
    lab_path = Path(argv[1]) if len(argv) > 1 else report_path.with_name("lab.json")
    lab = json.loads(lab_path.read_text("utf-8")) if lab_path.is_file() else []
    print(render(json.loads(report_path.read_text("utf-8")), lab))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
