"""The one alias table: what Nmap says -> the vendor:product names NVD uses.

The table is data, ``brulee/data/products.jsonl``: one product family per line, with the names
NVD's records use for it (``nvd``), the application CPEs Nmap 7.93's ``nmap-service-probes``
emits for it (``nmap_cpes``), Nmap's product names on match lines (``nmap_names``, which is how
a service without a CPE is named) and why they belong together (``basis``). Every entry is
tested against NVD's own names and against the probes file; ``bench/bench_coverage.py
--propose`` lists candidates for new entries, which are added only once reviewed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib.resources import files

from brulee.core.cpe import ANY, NA, Cpe, CpeError, VendorProduct, parse_cpe


@dataclass(frozen=True, slots=True)
class ProductFamily:
    """One product as Nmap and NVD name it.

    ``nvd`` holds every vendor:product NVD's data uses for the product (old and new owners
    alike); ``nmap_cpes`` the vendor:product of the CPEs Nmap emits for it; ``nmap_names``
    Nmap's product names, as Nmap writes them; ``basis`` why they are one product.
    """

    name: str
    nvd: frozenset[VendorProduct]
    nmap_cpes: frozenset[VendorProduct]
    nmap_names: tuple[str, ...]
    basis: str

    @property
    def products(self) -> frozenset[VendorProduct]:
        """Every vendor:product to look up for this product."""
        return self.nvd | self.nmap_cpes


def _pairs(names: list[str]) -> frozenset[VendorProduct]:
    return frozenset((vendor, product) for vendor, product in (n.split(":", 1) for n in names))


def _load() -> tuple[ProductFamily, ...]:
    text = (files("brulee") / "data" / "products.jsonl").read_text(encoding="utf-8")
    families = []
    for line in text.splitlines():
        raw = json.loads(line)
        families.append(
            ProductFamily(
                raw["family"],
                _pairs(raw["nvd"]),
                _pairs(raw["nmap_cpes"]),
                tuple(raw["nmap_names"]),
                raw["basis"],
            )
        )
    return tuple(families)


FAMILIES: tuple[ProductFamily, ...] = _load()

_BY_PAIR: dict[VendorProduct, frozenset[VendorProduct]] = {
    pair: family.products for family in FAMILIES for pair in family.products
}
_BY_NAME: dict[str, frozenset[VendorProduct]] = {
    name.lower(): family.products for family in FAMILIES for name in family.nmap_names
}
_NMAP_NAME: dict[VendorProduct, str] = {
    pair: family.nmap_names[0]
    for family in FAMILIES
    if family.nmap_names
    for pair in family.products
}


def nvd_products(cpe_or_vendor_product: str | Cpe | VendorProduct) -> frozenset[VendorProduct]:
    """The NVD vendor:product names to match for a CPE (2.2 or 2.3), ``vendor:product`` or pair.

    A name outside the alias table stands for itself (NVD may well use Nmap's name). Raise
    :class:`CpeError` for text that is neither a CPE nor ``vendor:product``.
    """
    pair = _vendor_product(cpe_or_vendor_product)
    return _BY_PAIR.get(pair, frozenset({pair}))


def nmap_product_name(pair: VendorProduct) -> str:
    """Nmap's usual product name for an NVD or Nmap vendor:product (``OpenSSH``); ''."""
    return _NMAP_NAME.get(pair, "")


def nvd_products_for_name(nmap_product: str) -> frozenset[VendorProduct]:
    """The NVD vendor:product names for Nmap's product name (``OpenSSH``); empty if unknown."""
    return _BY_NAME.get(nmap_product.strip().lower(), frozenset())


_SEPARATORS = re.compile(r"[^a-z0-9]+")
_COMPANY_WORDS = frozenset({
    "software", "technologies", "technology", "systems", "inc", "corp", "corporation",
    "foundation", "labs", "ltd", "llc", "gmbh", "solutions", "group",
})  # fmt: skip


def vendor_spelling(vendor: str) -> str:
    """A vendor's name without separators and trailing company words: NVD spells one vendor
    several ways (``trend_micro`` and ``trendmicro``, ``bea`` and ``bea_systems``, ``python``
    and ``python_software_foundation``), and equal spellings are one vendor. Owners that differ
    (``mortbay`` and ``eclipse``) are the alias table's business."""
    words = [word for word in _SEPARATORS.split(vendor.lower()) if word]
    while len(words) > 1 and words[-1] in _COMPANY_WORDS:
        words.pop()
    return "".join(words)


def _vendor_product(value: str | Cpe | VendorProduct) -> VendorProduct:
    if isinstance(value, Cpe):
        cpe = value
    elif isinstance(value, tuple):
        return (value[0].lower(), value[1].lower())
    elif value.lower().startswith("cpe:"):
        cpe = parse_cpe(value)
    else:
        vendor, sep, product = value.strip().lower().partition(":")
        if not sep or not vendor or not product or ":" in product:
            raise CpeError(f"expected a CPE or vendor:product, not {value!r}")
        return (vendor, product)
    if ANY in cpe.vendor_product or NA in cpe.vendor_product:
        raise CpeError(f"a CPE without vendor and product names nothing: {value!r}")
    return cpe.vendor_product
