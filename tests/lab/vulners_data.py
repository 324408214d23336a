"""Vulners NSE output to insert into real lab scans (vulners.com is unreachable here).

The XML shape copies real ``nmap --script vulners`` output (Nmap 7.93's bundled script, API
1.2, same as 7.94SVN's): per port one ``<script id="vulners" output="...">`` holding one
``<table key="CPE or 'product version'">`` per CPE, each with one ``<table>`` per entry
whose elems are ``id``, ``cvss``, ``is_exploit``, ``type`` in that order; entries sorted by
CVSS then id, descending; text lines ``\\tID\\tCVSS\\thttps://vulners.com/TYPE/ID[\\t*EXPLOIT*]``.
Sources are listed in tests/assets/nmap/README.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Entry:
    """One vulners result. ``cvss``: None drops the elem, "" writes it empty."""

    id: str
    type: str
    cvss: str | None
    is_exploit: bool = False


Tables = tuple[tuple[str, tuple[Entry, ...]], ...]
Scripts = dict[tuple[str, str, int], Tables]

OPENSSH_74 = (
    "cpe:/a:openbsd:openssh:7.4p1",
    (
        Entry("F0979183-AE88-53B4-86CF-3AF0523F3807", "githubexploit", "9.8", True),
        Entry("CVE-2023-38408", "cve", "9.8"),
        Entry("CVE-2016-10009", "cve", "7.5"),
        Entry("PRION:CVE-2016-10009", "prion", "7.5"),
        Entry("EDB-ID:40963", "exploitdb", "7.5", True),
        Entry("CVE-2016-10012", "cve", "7.2"),
        Entry("CVE-2018-15473", "cve", "5.0"),
        Entry("EDB-ID:45233", "exploitdb", "5.0", True),
        Entry("CVE-2017-15906", "cve", "5.0"),
        Entry("CVE-2018-20685", "cve", "2.6"),
        Entry("SECURITYVULNS:VULN:9455", "securityvulns", "0.0"),
    ),
)

VULNERS_SCRIPTS: Scripts = {
    # No CPE result, so the script fell back to "product version" (seen in real output).
    ("10.213.77.11", "tcp", 21): (
        (
            "vsftpd 2.3.4",
            (
                Entry("PACKETSTORM:162145", "packetstorm", "10.0", True),
                Entry("EDB-ID:49757", "exploitdb", "10.0", True),
                Entry("E9B0AEBB-5138-50BF-8922-2D87E3C046DD", "githubexploit", "10.0", True),
                Entry("CVE-2011-2523", "cve", "10.0"),
                Entry("CNVD-2020-46837", "cnvd", "10.0"),
                Entry("CC3F6C15-182F-53F6-A5CC-812D37F1F047", "githubexploit", "10.0", True),
                Entry("A41B5EAD-1A4C-56A6-97C6-1C58A1CF1E3B", "githubexploit", "10.0", True),
            ),
        ),
    ),
    ("10.213.77.11", "tcp", 22): (OPENSSH_74,),
    ("10.213.77.14", "tcp", 22): (OPENSSH_74,),
    ("10.213.77.12", "tcp", 22): (
        (
            "cpe:/a:openbsd:openssh:8.2p1",
            (
                Entry("CVE-2023-38408", "cve", "9.8"),
                Entry("F0979183-AE88-53B4-86CF-3AF0523F3807", "githubexploit", "9.8", True),
                Entry("CVE-2020-15778", "cve", "6.8"),
                Entry("PRION:CVE-2020-15778", "prion", "6.8"),
                Entry("CVE-2021-41617", "cve", "4.4"),
            ),
        ),
    ),
    ("10.213.77.12", "tcp", 80): (
        (
            "cpe:/a:apache:http_server:2.4.49",
            (
                Entry("CVE-2021-42013", "cve", "7.5"),
                Entry("PRION:CVE-2021-42013", "prion", "7.5"),
                Entry(
                    "MSF:EXPLOIT-MULTI-HTTP-APACHE_NORMALIZE_PATH_RCE-", "metasploit", "7.5", True
                ),
                Entry("CVE-2021-44790", "cve", "7.5"),
                Entry("CVE-2021-40438", "cve", "6.8"),
                Entry("CVE-2021-41773", "cve", "4.3"),
                Entry("PACKETSTORM:164418", "packetstorm", "4.3", True),
                Entry("EDB-ID:50383", "exploitdb", "0.0", True),
            ),
        ),
    ),
    ("10.213.77.14", "tcp", 25): (
        (
            "cpe:/a:exim:exim:4.89",
            (
                Entry("CVE-2019-10149", "cve", "10.0"),
                Entry("CVE-2019-15846", "cve", "10.0"),
                Entry("EDB-ID:46996", "exploitdb", "10.0", True),
                Entry("CVE-2018-6789", "cve", "7.5"),
                Entry("EDB-ID:44571", "exploitdb", "7.5", True),
            ),
        ),
    ),
    # Two CPEs on one port, each with its own table; some ids appear in both.
    ("10.213.77.23", "udp", 53): (
        (
            "cpe:/a:isc:bind:9.11.4-p2",
            (
                Entry("CVE-2020-8616", "cve", "5.0"),
                Entry("CVE-2019-6477", "cve", "5.0"),
                Entry("CVE-2021-25215", "cve", "5.0"),
                Entry("CVE-2020-8617", "cve", "4.3"),
                Entry("PRION:CVE-2020-8617", "prion", "4.3"),
                Entry("EDB-ID:48521", "exploitdb", "4.3", True),
            ),
        ),
        (
            "cpe:/o:redhat:enterprise_linux:7",
            (
                Entry("CVE-2020-8616", "cve", "5.0"),
                Entry("CVE-2019-6477", "cve", "5.0"),
                Entry("CVE-2016-6515", "cve", "7.8"),
            ),
        ),
    ),
}

# Hand-made robustness cases: entries whose cvss elem is missing or empty.
NO_CVSS_SCRIPTS: Scripts = {
    ("10.213.77.11", "tcp", 22): (
        (
            "cpe:/a:openbsd:openssh:7.4p1",
            (
                Entry("CVE-2016-10009", "cve", "7.5"),
                Entry("CVE-2018-15473", "cve", "5.0"),
                Entry("EDB-ID:45233", "exploitdb", None, True),
                Entry("F0979183-AE88-53B4-86CF-3AF0523F3807", "githubexploit", "", True),
                Entry("CVE-2017-15906", "cve", None),
            ),
        ),
    ),
    ("10.213.77.14", "tcp", 22): (
        (
            "OpenSSH 7.4p1 Debian 10+deb9u7",
            (
                Entry("CVE-2018-20685", "cve", None),
                Entry("PRION:CVE-2018-20685", "prion", ""),
            ),
        ),
    ),
}


def xml_escape(text: str, attribute: bool = False) -> str:
    """Escape as Nmap does; in attributes also newline and tab as character references."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attribute:
        text = text.replace('"', "&quot;").replace("'", "&apos;")
        text = text.replace("\n", "&#xa;").replace("\t", "&#x9;")
    return text


def ordered(entries: tuple[Entry, ...]) -> list[Entry]:
    """The script's order: CVSS descending, then id descending; entries without CVSS last."""
    scored = sorted(
        (e for e in entries if e.cvss), key=lambda e: (float(e.cvss or 0), e.id), reverse=True
    )
    return scored + [e for e in entries if not e.cvss]


def script_xml(tables: Tables) -> str:
    """One ``<script id="vulners">`` element, formatted like Nmap's XML output."""
    text: list[str] = []
    xml: list[str] = []
    for key, entries in tables:
        text.append(f"\n  {key}: ")
        xml.append(f'<table key="{xml_escape(key, True)}">\n')
        for e in ordered(entries):
            flag = "\t*EXPLOIT*" if e.is_exploit else ""
            text.append(
                f"\n    \t{e.id}\t{e.cvss or ''}\thttps://vulners.com/{e.type}/{e.id}{flag}"
            )
            elems = [("id", e.id), ("cvss", e.cvss), ("is_exploit", str(e.is_exploit).lower())]
            elems.append(("type", e.type))
            xml.append("<table>\n")
            xml.extend(
                f'<elem key="{k}">{xml_escape(v)}</elem>\n' for k, v in elems if v is not None
            )
            xml.append("</table>\n")
        xml.append("</table>\n")
    output = xml_escape("".join(text), attribute=True)
    return f'<script id="vulners" output="{output}">{"".join(xml)}</script>'


def insert_scripts(document: str, scripts: Scripts) -> str:
    """Insert each script at the end of its ``<port>`` inside the matching ``<host>``."""
    for (address, protocol, port), tables in scripts.items():
        hosts = [
            m
            for m in re.finditer(r"<host [^>]*>.*?</host>", document, re.S)
            if f'<address addr="{address}" ' in m.group(0)
        ]
        if len(hosts) != 1:
            raise ValueError(f"{address}: {len(hosts)} <host> elements in the scan")
        port_open = f'<port protocol="{protocol}" portid="{port}">'
        start = document.find(port_open, hosts[0].start(), hosts[0].end())
        end = document.find("</port>", start, hosts[0].end())
        if start < 0 or end < 0:
            raise ValueError(f"{address} {protocol}/{port}: no such port in the scan")
        document = document[:end] + script_xml(tables) + document[end:]
    return document
