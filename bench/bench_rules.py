"""Measure what matching rules change: decisions that differ from a baseline revision of brulee.

Usage: ``python bench/bench_rules.py --baseline REV [--examples N]``

A decision is one (product, version, CVE) triple: does the CVE apply to that version, and how
surely (certain, conditional, or not at all). The records are every NVD record of
``bench/data/nvd-bulk`` plus the starter data (where a CVE is in both, the newer
``lastModified`` wins, as ``brulee db import`` does). The products swept are those the legacy
encodings touch: every application product with a range entry whose version is ``*`` and whose
update names a patch level, and every one whose NVD entries name a letter release (``5.0.51a``).
Each is tried at every version NVD names for it (exact versions, with their update, and range
bounds) against every CVE naming it as a vulnerable component.

The baseline is the same sweep run by brulee's code at git revision REV (its ``src/`` exported
to a temporary directory), so both sides evaluate exactly the same plan.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import brulee
from baseline import at_revision
from brulee.match.configurations import CompiledConfigurations, Evidence
from brulee.match.versions import parse_nmap_version, version_key

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
FEEDS = (
    *sorted((BENCH / "data" / "nvd-bulk").glob("nvdcve-2.0-*.json.gz")),
    *sorted((ROOT / "src" / "brulee" / "data" / "starter").glob("nvdcve-2.0-*.json.gz")),
)
_BOUNDS = ("versionStartIncluding", "versionStartExcluding", "versionEndIncluding",
           "versionEndExcluding")  # fmt: skip
_LETTER = re.compile(r"\d+(?:\.\d+)*[a-z]{1,2}")

_V = r"v?(\d+(?:\.\d+)+(?:-?p\d+|[a-z]{1,2}\d*)?)"
_BEFORE = re.compile(rf"\bbefore\s+(?:version\s+)?{_V}\b", re.I)
_THROUGH = re.compile(rf"\bthrough\s+{_V}\b|\b{_V}\s+and\s+earlier\b", re.I)
_BRANCH = re.compile(r"\d+(?:\.\d+)?")

Plan = dict[str, dict[str, list[str]]]
"""vendor:product -> {"versions": [...], "cves": [...]}."""


def records() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in FEEDS:
        with gzip.open(path) as stream:
            for item in json.load(stream)["vulnerabilities"]:
                cve = item["cve"]
                seen = found.get(cve["id"])
                if seen is None or cve["lastModified"] > seen["lastModified"]:
                    found[cve["id"]] = cve
    return found


def entries(cve: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for configuration in cve.get("configurations", []):
        for node in configuration.get("nodes", []):
            yield from node.get("cpeMatch", [])


def plan(data: dict[str, dict[str, Any]]) -> Plan:
    """The products to sweep, with the versions to try and the CVEs to evaluate."""
    versions: dict[str, set[str]] = defaultdict(set)
    cves: dict[str, set[str]] = defaultdict(set)
    touched: set[str] = set()
    for cve in data.values():
        for entry in entries(cve):
            fields = entry["criteria"].split(":")
            if fields[2] != "a" or not entry.get("vulnerable"):
                continue
            pair, version, update = f"{fields[3]}:{fields[4]}", fields[5], fields[6]
            cves[pair].add(cve["id"])
            bounds = [entry[name] for name in _BOUNDS if name in entry]
            versions[pair].update(bounds)
            if version not in ("*", "-"):
                versions[pair].add(version if update in ("*", "-") else f"{version}-{update}")
                if _LETTER.fullmatch(version):
                    touched.add(pair)
            elif version == "*" and update not in ("*", "-") and bounds:
                touched.add(pair)
    return {
        pair: {"versions": sorted(versions[pair]), "cves": sorted(cves[pair])}
        for pair in sorted(touched)
    }


def decide(data: dict[str, dict[str, Any]], sweep: Plan) -> dict[str, str]:
    """ "pair|version|cve" -> "confidence<TAB>reason" for the decisions that apply, by the
    brulee this process imported."""
    compiled = {}
    found = {}
    for pair, work in sweep.items():
        vendor, product = pair.split(":", 1)
        for version in work["versions"]:
            nmap = parse_nmap_version(product, version)
            evidence = Evidence(frozenset({(vendor, product)}), nmap)
            for cve in work["cves"]:
                if cve not in compiled:
                    compiled[cve] = CompiledConfigurations.compile(data[cve].get("configurations"))
                applies = compiled[cve].evaluate(evidence)
                if applies is not None:
                    found[f"{pair}|{version}|{cve}"] = f"{applies.confidence}\t{applies.reason}"
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", metavar="REV", help="git revision to compare with")
    parser.add_argument("--examples", type=int, default=3, help="examples shown per product")
    parser.add_argument("--collect", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    data = records()
    if args.collect:  # the baseline's side: evaluate the given plan with this code
        out, plan_file = args.collect
        sweep = json.loads(plan_file.read_text())
        out.write_text(json.dumps({**decide(data, sweep), "__brulee__": brulee.__file__}))
        return 0
    if not args.baseline:
        parser.error("--baseline REV is required (e.g. the commit before the rules changed)")
    sweep = plan(data)
    with tempfile.TemporaryDirectory() as tmp:
        plan_file = Path(tmp) / "plan.json"
        plan_file.write_text(json.dumps(sweep))
        before = at_revision(args.baseline, Path(__file__), str(plan_file))
    after = decide(data, sweep)
    report(data, sweep, before, after, revision=args.baseline, examples=args.examples)
    return 0


def _branch(version: str) -> str:
    match = _BRANCH.match(version)
    return match.group() if match else ""


def description_says(description: str, version: str) -> str:
    """What the CVE's description says about ``version``, judged by its "before X", "through X"
    and "X and earlier" phrases on the same major.minor branch: ``affected`` if one puts the
    version inside, ``not affected`` if all put it past the end, else ``silent``."""
    ends = [(end, True) for end in _BEFORE.findall(description)]
    ends += [(a or b, False) for a, b in _THROUGH.findall(description)]
    ends = [(end, excluding) for end, excluding in ends if _branch(end) == _branch(version)]
    if not _branch(version) or not ends:
        return "silent"
    key = version_key(version)
    inside = any(
        key < version_key(end) or (not excluding and key == version_key(end))
        for end, excluding in ends
    )
    return "affected" if inside else "not affected"


def report(
    data: dict[str, dict[str, Any]],
    sweep: Plan,
    before: dict[str, str],
    after: dict[str, str],
    *,
    revision: str,
    examples: int,
) -> None:
    """One row per product whose decisions changed: how they changed, and the rules named by
    the new reasons (a decision no longer made names none: it shows only in its column)."""
    decisions = sum(len(w["versions"]) * len(w["cves"]) for w in sweep.values())
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    rules: dict[str, Counter[str]] = defaultdict(Counter)
    shown: dict[str, list[str]] = defaultdict(list)
    said: Counter[str] = Counter()
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key, "none\t"), after.get(key, "none\t")
        if old == new:
            continue
        pair, version, cve = key.split("|")
        (old_confidence, _), (new_confidence, reason) = old.split("\t"), new.split("\t")
        named = reason.partition(" (rule ")[2].partition(":")[0]
        rules[pair].update(named.split(", ") if named else ())
        if old_confidence == new_confidence:
            rows[pair]["same decision, reason names a rule"] += 1
            continue
        rows[pair][f"{old_confidence} -> {new_confidence}"] += 1
        if new_confidence != "none":
            english = next(d["value"] for d in data[cve]["descriptions"] if d["lang"] == "en")
            said[description_says(english, version)] += 1
        if len(shown[pair]) < examples:
            shown[pair].append(
                f"{cve} @ {version}: {new_confidence if new_confidence != 'none' else 'no longer'}"
            )
    print(f"{len(data):,} records; {len(sweep)} products swept; {decisions:,} decisions; "
          f"baseline {revision}\n")  # fmt: skip
    kinds = sorted({kind for counts in rows.values() for kind in counts})
    print("| product | " + " | ".join(kinds) + " | rules named | examples |")
    print("|---|" + "---:|" * len(kinds) + "---|---|")
    totals: Counter[str] = Counter()
    all_rules: Counter[str] = Counter()
    for pair, counts in sorted(rows.items(), key=lambda item: -sum(item[1].values())):
        totals.update(counts)
        all_rules.update(rules[pair])
        cells = " | ".join(f"{counts.get(kind, 0):,}" for kind in kinds)
        named = ", ".join(f"{rule} {n:,}" for rule, n in rules[pair].most_common())
        print(f"| {pair} | {cells} | {named} | {'; '.join(shown[pair])} |")
    cells = " | ".join(f"{totals.get(kind, 0):,}" for kind in kinds)
    named = ", ".join(f"{rule} {n:,}" for rule, n in all_rules.most_common())
    print(f"| **all {len(rows)} products** | {cells} | {named} | |")
    print(
        f"\nWhat the descriptions say about the versions of the {sum(said.values()):,} decisions "
        "that now apply (their 'before X', 'through X', 'X and earlier' on the same branch): "
        + ", ".join(f"{word} {n:,}" for word, n in said.most_common())
    )


if __name__ == "__main__":
    raise SystemExit(main())
