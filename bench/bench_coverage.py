"""Measure how much of what Nmap identifies brulee looks up under names NVD uses.

Usage: ``python bench/bench_coverage.py [--baseline REV] [--probes FILE] [--propose N]``

Over the match lines of Nmap's ``nmap-service-probes`` (default: the installed one):

- application CPEs: every ``cpe:/a:VENDOR:PRODUCT`` of every match line, once per line (a
  "use"); one is covered when the names brulee looks it up under (the alias table) include one
  of NVD's names (``tests/assets/nvd-names/cpes.csv.gz``, 70,785 pairs);
- product names without a CPE: the match lines whose ``p/.../`` is a literal product name and
  that give no application CPE; one is resolved when brulee's table maps the name to a name NVD
  uses.

``--baseline REV`` measures the same with the code of git revision REV too. ``--propose N``
lists the N most used uncovered CPEs and name-only products with candidate NVD names (the same
product under another vendor; a name NVD uses for exactly one product), for a person to review
before anything goes into the alias table (``src/brulee/data/products.jsonl``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import brulee
from baseline import ROOT, at_revision
from brulee.match.products import nvd_products, nvd_products_for_name

sys.path.insert(0, str(ROOT))
from tests.names import PROBES, read_nvd_names, read_probes

_WORDS = re.compile(r"[^a-z0-9]+")


def measure(probes: Path) -> dict[str, int]:
    """The figures, with the alias table of the brulee this process imported."""
    names = read_nvd_names()
    found = read_probes(probes)
    uses, name_only = found.uses, found.name_only
    return {
        "uses": len(uses),
        "covered": sum(1 for pair in uses if nvd_products(pair) & names),
        "distinct": len(set(uses)),
        "distinct_covered": sum(1 for pair in set(uses) if nvd_products(pair) & names),
        "name_lines": sum(name_only.values()),
        "name_resolved": sum(
            n for name, n in name_only.items() if nvd_products_for_name(name) & names
        ),
        "names": len(name_only),
        "names_resolved": sum(1 for name in name_only if nvd_products_for_name(name) & names),
    }


def _share(part: int, whole: int) -> str:
    return f"{part:,} of {whole:,} ({100 * part / whole:.1f}%)" if whole else "none"


def propose(probes: Path, count: int) -> None:
    """Candidates for the alias table, to be reviewed by a person (never added unreviewed)."""
    names = read_nvd_names()
    by_product: dict[str, set[str]] = defaultdict(set)
    for vendor, product in names:
        by_product[product].add(vendor)
    found = read_probes(probes)
    missing = Counter(pair for pair in found.uses if not nvd_products(pair) & names)
    print(f"Uncovered application CPEs (the {count} most used):")
    for (vendor, product), n in missing.most_common(count):
        others = sorted(by_product.get(product, set()) - {vendor})
        print(f"  {n:4d} {vendor}:{product}  same product under: {', '.join(others) or '-'}")
    print(f"Product names without a CPE that NVD names exactly once (of the {count} most used):")
    for name, n in found.name_only.most_common():
        if nvd_products_for_name(name):
            continue
        product = _WORDS.sub("_", name.lower()).strip("_")
        vendors = by_product.get(product, set())
        if len(vendors) == 1:
            print(f"  {n:4d} {name!r}: {next(iter(vendors))}:{product}")
            count -= 1
            if not count:
                break


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=Path, default=PROBES, help="an nmap-service-probes")
    parser.add_argument("--baseline", metavar="REV", help="also measure git revision REV")
    parser.add_argument("--propose", type=int, metavar="N", help="list N candidates of each kind")
    parser.add_argument("--collect", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.collect:  # the baseline's side
        args.collect.write_text(json.dumps({**measure(args.probes), "__brulee__": brulee.__file__}))
        return 0
    if args.propose:
        propose(args.probes, args.propose)
        return 0
    columns = {"this code": measure(args.probes)}
    if args.baseline:
        columns = {args.baseline: at_revision(args.baseline, Path(__file__), "--probes",
                                              str(args.probes)), **columns}  # fmt: skip
    print("| | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns))
    rows = [
        ("application CPE uses looked up under a name NVD uses", "covered", "uses"),
        ("distinct application vendor:product names", "distinct_covered", "distinct"),
        ("match lines with a product name and no CPE, resolved", "name_resolved", "name_lines"),
        ("distinct such product names, resolved", "names_resolved", "names"),
    ]
    for label, part, whole in rows:
        cells = " | ".join(_share(c[part], c[whole]) for c in columns.values())
        print(f"| {label} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
