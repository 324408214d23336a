"""The parsing floor: the cheapest flat-memory lxml pass over an Nmap XML file.

Usage: ``python bench/floor.py FILE [--tag TAG]``

A bare ``lxml.etree.iterparse(FILE, events=("end",))`` loop that clears every
element and deletes already-processed siblings, so memory stays flat however large
the file. No parser does useful work for less, so ``brulee report`` is compared with it.
``--tag host`` only wakes Python up at each ``</host>`` (a cheaper, lower floor).
Prints wall seconds (parse loop only, excluding interpreter start-up) and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Sequence

from lxml import etree


def peak_rss_mib() -> float:
    """This process's peak resident set size, in MiB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024  # bytes vs KiB


def floor(path: str, tag: str | None = None) -> tuple[float, int]:
    """Run the floor pass over ``path``; return (wall seconds, elements seen)."""
    t0 = time.perf_counter()
    n = 0
    for _event, elem in etree.iterparse(path, events=("end",), tag=tag):
        n += 1
        elem.clear()
        parent = elem.getparent()
        if parent is not None:
            while elem.getprevious() is not None:
                del parent[0]
    return time.perf_counter() - t0, n


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description="lxml iterparse floor for an Nmap XML file")
    ap.add_argument("file", help="Nmap XML file")
    ap.add_argument("--tag", help="only handle this element (e.g. host); default: every one")
    args = ap.parse_args(argv)
    wall, n = floor(args.file, args.tag)
    print(f"floor: {wall:.2f} s, peak RSS {peak_rss_mib():.1f} MiB, {n} elements ({args.file})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
