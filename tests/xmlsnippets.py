"""Build small Nmap XML documents around real element shapes, for focused parser tests."""

from __future__ import annotations

from pathlib import Path

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n'
    '<nmaprun scanner="nmap" args="nmap -sV --script vulners 10.0.0.1" start="1700000000" '
    'version="7.93" xmloutputversion="1.05">\n'
    # Every port looked at: a port or finding absent from a later document is closed or fixed.
    '<scaninfo type="syn" protocol="tcp" numservices="65535" services="1-65535"/>\n'
    '<scaninfo type="udp" protocol="udp" numservices="65535" services="1-65535"/>\n'
)
TAIL = (
    '<runstats><finished time="1700000060" exit="success"/>'
    '<hosts up="1" down="0" total="1"/></runstats>\n</nmaprun>\n'
)


def host(address: str, ports: str, extra: str = "") -> str:
    return (
        f'<host><status state="up" reason="syn-ack"/><address addr="{address}" addrtype="ipv4"/>'
        f"<hostnames></hostnames>{extra}<ports>{ports}</ports></host>\n"
    )


def port(portid: int, service: str, scripts: str = "", proto: str = "tcp") -> str:
    return (
        f'<port protocol="{proto}" portid="{portid}"><state state="open" reason="syn-ack"/>'
        f"{service}{scripts}</port>"
    )


def vulners(cpe: str, entries: list[tuple[str, str | None, str, bool]]) -> str:
    """A vulners script element: one CPE table of (id, cvss, type, is_exploit) entries."""
    rows = []
    for ident, cvss, kind, exploit in entries:
        score = f'<elem key="cvss">{cvss}</elem>' if cvss is not None else ""
        rows.append(
            f'<table><elem key="id">{ident}</elem>{score}<elem key="type">{kind}</elem>'
            f'<elem key="is_exploit">{"true" if exploit else "false"}</elem></table>'
        )
    return (
        f'<script id="vulners" output="&#xa;  {cpe}: ...">'
        f'<table key="{cpe}">{"".join(rows)}</table></script>'
    )


def write(path: Path, *hosts: str) -> Path:
    path.write_text(HEAD + "".join(hosts) + TAIL, encoding="utf-8")
    return path
