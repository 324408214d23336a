"""What Nmap 7.93 emits and the names NVD uses: the installed ``nmap-service-probes`` read for its
match lines' product names and application CPEs, and NVD's names (``assets/nvd-names``). Read
by the alias table's tests and by ``bench/bench_coverage.py``."""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from brulee.core.cpe import CpeError, VendorProduct, index_name, parse_cpe

PROBES = Path("/usr/share/nmap/nmap-service-probes")
NVD_NAMES = Path(__file__).parent / "assets" / "nvd-names" / "cpes.csv.gz"
_PRODUCT = re.compile(r"\sp([/|=%@#])(.*?)\1")
_CPE = re.compile(r"\scpe:/([^/\s]*)/")


@dataclass(frozen=True, slots=True)
class Probes:
    """The match lines of a probes file.

    ``uses``: every application CPE of every line, once per line; ``names``: every product
    name, lowercase; ``first_cpe``: product name -> the first application CPE of its lines;
    ``name_only``: literal product name -> the lines that give it and no application CPE.
    """

    uses: tuple[VendorProduct, ...]
    names: frozenset[str]
    first_cpe: dict[str, Counter[VendorProduct]]
    name_only: Counter[str]

    @property
    def cpes(self) -> frozenset[VendorProduct]:
        return frozenset(self.uses)


def read_probes(path: Path = PROBES) -> Probes:
    uses: list[VendorProduct] = []
    names: set[str] = set()
    first: dict[str, Counter[VendorProduct]] = defaultdict(Counter)
    name_only: Counter[str] = Counter()
    for line in path.read_text(encoding="latin-1").splitlines():
        if not line.startswith(("match ", "softmatch ")):
            continue
        cpes = []
        for text in _CPE.findall(line):
            try:
                cpe = parse_cpe(f"cpe:/{text}")
            except CpeError:
                continue  # a substitution ($1) where a name should be
            if cpe.part == "a" and "$" not in cpe.vendor + cpe.product:
                cpes.append(cpe.vendor_product)
        uses.extend(dict.fromkeys(cpes))
        product = _PRODUCT.search(line)
        if product:
            names.add(product.group(2).lower())
            if cpes:
                first[product.group(2)][cpes[0]] += 1
            elif "$" not in product.group(2):
                name_only[product.group(2)] += 1
    return Probes(tuple(uses), frozenset(names), dict(first), name_only)


def read_nvd_names(path: Path = NVD_NAMES) -> frozenset[VendorProduct]:
    """Every application vendor:product NVD uses, unquoted as the database's index stores it."""
    with gzip.open(path) as raw:
        rows = csv.reader(io.TextIOWrapper(raw, encoding="utf-8"))
        next(rows)  # "vendor","product"
        return frozenset((index_name(vendor), index_name(product)) for vendor, product in rows)
