"""The small pieces of text every format shows: scores, counts, ports, places and times."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from urllib.parse import quote, urlsplit

from brulee.core.findings import HostRecord, OpenPort
from brulee.core.vulnerability import VexNote, Vulnerability
from brulee.util.text import plural_text

# C0/C1 controls (but tab and newline) and bidirectional overrides: shown as U+FFFD, so a
# banner can neither corrupt the output nor visually reorder the text around it.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_URL_KEEP = "-._~:/?#[]@!$&*+,;=%"


class Raw(str):
    """Text already in the output format: a template's escaping passes it through unchanged."""

    __slots__ = ()


def printable(value: object) -> str:
    """``value`` as text with control and bidi-override characters made visible (U+FFFD)."""
    text = "" if value is None else str(value)
    return _UNPRINTABLE.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))


def safe_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL, percent-encoded to be inert anywhere; else ''."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return quote(parts.geturl(), safe=_URL_KEEP)


def cvss_text(vuln: Vulnerability) -> str:
    """``9.8 (v3.1)``, ``9.8``, or '' when unscored."""
    if vuln.cvss is None:
        return ""
    version = f" (v{vuln.cvss.version})" if vuln.cvss.version else ""
    return f"{vuln.cvss.score:.1f}{version}"


def percent_text(fraction: float, decimals: int) -> str:
    """``0.99992`` -> ``99.9%`` with one decimal: truncated, so that it never reads as 100%."""
    step = Decimal(1).scaleb(-decimals)
    value = (Decimal(repr(fraction)) * 100).quantize(step, rounding=ROUND_DOWN)
    return f"{value}%"


def epss_text(vuln: Vulnerability) -> str:
    """``94.4% (p99)``: the EPSS probability and its percentile; '' without EPSS data."""
    if vuln.epss is None:
        return ""
    score = vuln.epss.score
    decimals = 1 if score >= 0.01 else 2 if score >= 0.001 else 3
    percentile = int(Decimal(repr(vuln.epss.percentile)) * 100)
    return f"{percent_text(score, decimals)} (p{percentile})"


def kev_text(vuln: Vulnerability) -> str:
    """The CVE's CISA KEV entry in a sentence or two; '' when it is not in KEV."""
    kev = vuln.kev
    if kev is None:
        return ""
    text = "CISA KEV: added " + (kev.date_added or "on an unrecorded date")
    if kev.due_date:
        text += f", remediation due {kev.due_date}"
    if kev.known_ransomware == "Known":
        text += "; known to be used in ransomware campaigns"
    return text + (f". Required action: {kev.required_action}" if kev.required_action else ".")


def fixed_text(vuln: Vulnerability) -> str:
    """Why the distribution's package fixed ``vuln``: its reason, led by the advisory unless
    the reason names it (``DSA-4280-1 (2018-08-22): fixed in ...``); '' when neither is known."""
    reason = vuln.reason
    if vuln.advisory and not reason.startswith(vuln.advisory):
        reason = f"{vuln.advisory}: {reason}" if reason else vuln.advisory
    return reason


def vex_text(note: VexNote) -> str:
    """``VEX under_investigation by secops@example.com (vex.json statement 2; host 10.0.0.5):
    what it says``."""
    where = "; ".join((note.origin, *note.scope)) if note.origin else "; ".join(note.scope)
    text = f"VEX {note.status} by {note.author}" + (f" ({where})" if where else "")
    return text + (f": {note.statement}" if note.statement else "")


def port_text(port: int, protocol: str) -> str:
    return f"{port}/{protocol}"


def open_port_text(port: OpenPort) -> str:
    """``80/tcp Apache httpd 2.4.49`` (state added unless plainly open)."""
    state = "" if port.state == "open" else f" [{port.state}]"
    return f"{port_text(port.port, port.protocol)} {port.service}{state}"


def host_status(host: HostRecord) -> str:
    return host.status + (" (timed out)" if host.timed_out else "")


def where_text(address: str, hostname: str, port: int | None = None, protocol: str = "") -> str:
    """``10.0.0.5 (www.example.com) 80/tcp``: a location in one cell."""
    text = f"{address} ({hostname})" if hostname and hostname != address else address
    return f"{text} {port_text(port, protocol)}" if port is not None else text


def ranges_text(numbers: Iterable[int]) -> str:
    """``3, 7-9, 12``: every number, runs shortened."""
    spans: list[list[int]] = []
    for n in sorted(set(numbers)):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in spans)


def time_text(value: str) -> str:
    """``2024-05-01 10:00:00Z`` for an ISO 8601 time with an offset (in UTC), the same without
    the ``Z`` for one without; anything else as it is."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def date_text(value: str) -> str:
    """The date of an ISO 8601 time (in UTC when it has an offset); anything else as it is."""
    return time_text(value).partition(" ")[0]


def age_text(days: int | None) -> str:
    """``today``, ``1 day``, ``12 days``; '' when unknown (a fixed finding)."""
    if days is None:
        return ""
    return "today" if days <= 0 else plural_text(days, "day", "days")
