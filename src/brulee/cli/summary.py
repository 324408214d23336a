"""The line a person reads when a scan, report or merge is done."""

from __future__ import annotations

from brulee.pipeline import Written
from brulee.util.text import count_text


def summary(written: Written) -> list[str]:
    """What was found, in words; when nothing was, where brulee looked and how to look further."""
    kev = f", {written.known_exploited:,} known exploited" if written.known_exploited else ""
    possibly = (
        f", {written.possibly_vulnerable:,} possibly vulnerable"
        if written.possibly_vulnerable
        else ""
    )
    lines = [
        f"{count_text(written.hosts_up, 'host')} up, {count_text(written.services, 'service')}, "
        f"{written.vulnerable:,} vulnerable{kev}{possibly}."
    ]
    if written.hosts_up == 0:
        lines.append(
            "No host answered. To find hosts that drop Nmap's ping probes, scan with "
            '--nmap-args "-Pn" (every target taken as up; slower).'
        )
    elif written.services == 0:
        lines.append(
            f"No open service on the ports scanned ({written.ports.describe()}). To look "
            'further, scan with --nmap-args "-p-" (all 65,535 TCP ports) or '
            '"-sU --top-ports 100" (UDP; as root).'
        )
    return lines
