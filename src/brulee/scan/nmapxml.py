"""Hardened streaming parser for Nmap XML: one ``Host`` at a time, its ports one at a time.

The XML is attacker-influenced (banners, hostnames, and whole files handed to ``brulee
report``): entities are never resolved, DTDs never loaded, nothing is fetched from the network,
and any entity declaration or external DTD is refused outright. A file cut off mid-scan (Nmap
killed) yields the hosts completed so far and marks the run incomplete.

Every number Nmap writes is checked against its range (a port 0-65535, a confidence 0-10, a
count): one out of range is a ParseError naming the element (the file is not Nmap's own work).
A service version is text from a banner, so any host can make it absurd: a version (or CPE) over
``MAX_VERSION`` characters is ignored, the service is then unversioned, and the reader says so
in ``warnings``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from brulee.core.ports import PortSet
from brulee.core.scan import Host, Port, ScanRun, ScriptElem, ScriptResult, ScriptTable, Service
from brulee.errors import ParseError
from brulee.util.xmlsafe import Element, forget, pull_parser, refusal

_CHUNK = 1 << 16
_CACHE_LIMIT = 4096
MAX_VERSION = 128
"""Longest service version kept (Nmap's are a few dozen characters; a CPE may add 64)."""
MAX_COUNT = 1 << 48
"""Largest host or port count accepted (far above any scope brulee scans)."""


def _bounded(elem: Element, attr: str, high: int) -> int:
    """An attribute that must be an integer from 0 to ``high`` (0 when absent); ValueError
    naming the element otherwise."""
    text = elem.get(attr)
    if not text:
        return 0
    if len(text) > 20 or not text.isascii() or not text.isdigit() or int(text) > high:
        shown = text if len(text) <= 24 else text[:20] + "..."
        raise ValueError(f"<{elem.tag} {attr}={shown!r}>: expects an integer from 0 to {high}")
    return int(text)


_TAGS = ("nmaprun", "scaninfo", "host", "port", "extraports", "finished", "hosts")


def _items(parent: Element) -> tuple[ScriptElem | ScriptTable, ...]:
    items: list[ScriptElem | ScriptTable] = []
    for child in parent:
        if child.tag == "elem":
            items.append(ScriptElem(child.get("key"), child.text or ""))
        elif child.tag == "table":
            items.append(ScriptTable(child.get("key"), _items(child)))
    return tuple(items)


_TEXT = etree.XPath("string(.)")


class _Interner:
    """Returns one shared object for identical elements (the same service or script output
    recurs on thousands of hosts of a fleet), bounded in size.

    A script is identified by its id, its output text and all the text of its structured
    tables in document order; a service by its attributes and CPEs.
    """

    def __init__(self) -> None:
        self._scripts: dict[tuple[str, str, str], ScriptResult] = {}
        self._services: dict[tuple[object, ...], Service] = {}
        self.long_versions: list[str] = []
        """Distinct service versions ignored for their length (shortened for display)."""

    def script(self, elem: Element) -> ScriptResult:
        key = (elem.get("id", ""), elem.get("output", ""), str(_TEXT(elem)))
        found = self._scripts.get(key)
        if found is None:
            if len(self._scripts) >= _CACHE_LIMIT:
                self._scripts.clear()
            found = self._scripts[key] = ScriptResult(key[0], key[1], _items(elem))
        return found

    def service(self, elem: Element) -> Service:
        cpes = tuple(c.text.strip() for c in elem.iterfind("cpe") if c.text)
        key = (*elem.items(), *cpes)
        found = self._services.get(key)
        if found is None:
            if len(self._services) >= _CACHE_LIMIT:
                self._services.clear()
            get = elem.get
            version = get("version", "")
            if len(version) > MAX_VERSION or any(len(c) > 2 * MAX_VERSION for c in cpes):
                self.long_versions.append(f"{get('product', '')} {version[:20]}...".strip())
                version, cpes = "", tuple(c for c in cpes if len(c) <= 2 * MAX_VERSION)
            found = self._services[key] = Service(
                name=get("name", ""),
                product=get("product", ""),
                version=version,
                extrainfo=get("extrainfo", ""),
                ostype=get("ostype", ""),
                hostname=get("hostname", ""),
                devicetype=get("devicetype", ""),
                tunnel=get("tunnel", ""),
                method=get("method", ""),
                conf=_bounded(elem, "conf", 10),
                cpes=cpes,
            )
        return found


def _iso(epoch: str | None) -> str:
    """Nmap's epoch seconds as ISO 8601 UTC ('' when absent or junk)."""
    try:
        return datetime.fromtimestamp(int(epoch or ""), UTC).isoformat(timespec="seconds")
    except (ValueError, OverflowError, OSError):
        return ""


class _Ports:
    """The ports of the host being read, parsed one by one as each ends (one host of a tarpit
    scanned with ``-p-`` lists them all), and its closed and filtered ports counted."""

    def __init__(self) -> None:
        self.ports: list[Port] = []
        self.closed = self.filtered = 0

    def add(self, port: Port) -> None:
        self.ports.append(port)
        # A few closed or filtered ports are listed one by one, not summed up.
        self.closed += port.state == "closed"
        self.filtered += port.state in ("filtered", "closed|filtered")

    def summed(self, elem: Element) -> None:
        state, count = elem.get("state", ""), _bounded(elem, "count", 65536)
        if state == "closed":
            self.closed += count
        elif "filtered" in state:
            self.filtered += count


def _address(host: Element) -> tuple[str, str, str]:
    """A ``<host>``'s address, its type, and its MAC address ('' when absent)."""
    address, addrtype, mac = "", "ipv4", ""
    for addr in host.iterfind("address"):
        kind = addr.get("addrtype", "")
        if kind == "mac":
            mac = addr.get("addr", "")
        elif not address:
            address, addrtype = addr.get("addr", ""), kind
    return address, addrtype, mac


class NmapXmlReader:
    """Streams the hosts of one Nmap XML file; ``run`` is complete once ``hosts()`` is exhausted."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.run = ScanRun(sources=(str(path),))
        self._interner = _Interner()

    def _fail(self, why: str) -> ParseError:
        return ParseError(f"{self.path}: {why}")

    @property
    def warnings(self) -> list[str]:
        """What was ignored in the hosts read so far, for the report."""
        ignored = self._interner.long_versions
        if not ignored:
            return []
        shown = ", ".join(ignored[:3]) + (" ..." if len(ignored) > 3 else "")
        return [
            f"{self.path}: {len(ignored)} service version(s) over {MAX_VERSION} characters were "
            f"ignored, those services are unversioned ({shown})"
        ]

    def _events(self) -> Iterator[tuple[str, Element]]:
        parser = pull_parser(("start", "end"), _TAGS)
        try:
            source = self.path.open("rb")
        except OSError as exc:
            raise self._fail(f"cannot read: {exc.strerror or exc}") from exc
        with source:
            while chunk := source.read(_CHUNK):
                try:
                    parser.feed(chunk)
                except etree.XMLSyntaxError as exc:
                    raise self._fail(f"not well-formed XML ({exc})") from exc
                yield from parser.read_events()
        try:
            parser.close()
        except etree.XMLSyntaxError:
            self._truncated()
        yield from parser.read_events()

    def _truncated(self) -> None:
        if not self.run.started and not self.run.args:
            raise self._fail("empty or truncated before the <nmaprun> element")
        self.run = replace(
            self.run,
            incomplete=True,
            errors=(*self.run.errors, "the file ends before </nmaprun>: Nmap was interrupted"),
        )

    def _check_prolog(self, root: Element) -> None:
        tag = root.getroottree().getroot().tag
        if tag != "nmaprun":
            raise self._fail(f"not an Nmap XML file (root element <{tag}>)")
        refused = refusal(root)
        if refused:
            raise self._fail(refused)

    def hosts(self) -> Iterator[Host]:
        """Yield each completed ``<host>``; fills ``run`` from the prolog and run stats.

        Host counts come from ``<runstats>`` (which also counts down hosts Nmap did not list);
        a file cut off before it counts the hosts it holds.
        """
        seen_root = False
        counted = {"up": 0, "down": 0}
        ports = _Ports()
        for event, elem in self._events():
            tag = elem.tag
            if event == "start":
                if not seen_root:
                    self._check_prolog(elem)
                    seen_root = True
                    self.run = replace(
                        self.run,
                        args=elem.get("args", ""),
                        scanner_version=elem.get("version", ""),
                        started=_iso(elem.get("start")),
                    )
                continue
            if tag in ("port", "extraports"):
                self._port_event(elem, ports)
            elif tag == "host":
                host = self._host(elem, ports)
                counted[host.status] = counted.get(host.status, 0) + 1
                forget(elem)
                ports = _Ports()
                yield host
            elif tag == "scaninfo":
                self._scaninfo(elem)
            elif tag == "finished":
                errors, failed = self.run.errors, elem.get("exit") == "error"
                if failed:
                    errors = (*errors, elem.get("errormsg") or "Nmap exited with an error")
                self.run = replace(
                    self.run,
                    finished=_iso(elem.get("time")),
                    errors=errors,
                    failed=self.run.failed or failed,
                )
            elif tag == "hosts":
                try:
                    up, down = _bounded(elem, "up", MAX_COUNT), _bounded(elem, "down", MAX_COUNT)
                except ValueError as exc:
                    raise self._fail(str(exc)) from exc
                self.run = replace(self.run, hosts_up=up, hosts_down=down)
        if not seen_root:
            raise self._fail("no <nmaprun> element: not an Nmap XML file")
        if self.run.incomplete:
            self.run = replace(self.run, hosts_up=counted["up"], hosts_down=counted["down"])

    def _scaninfo(self, elem: Element) -> None:
        """One protocol's ports, as Nmap was told to scan them."""
        try:
            ports = PortSet.of(elem.get("protocol", ""), elem.get("services", ""))
        except ValueError as exc:
            raise self._fail(f"<scaninfo>: {exc}") from exc
        self.run = replace(self.run, ports=self.run.ports | ports)

    def _port_event(self, elem: Element, ports: _Ports) -> None:
        """A ``<port>`` or ``<extraports>`` of a host's ``<ports>``, read and freed at once."""
        parent = elem.getparent()
        host = parent.getparent() if parent is not None else None
        if host is None or parent is None or (parent.tag, host.tag) != ("ports", "host"):
            return
        try:
            if elem.tag == "port":
                ports.add(self._port(elem))
            else:
                ports.summed(elem)
        except ValueError as exc:
            raise self._fail(f"host {_address(host)[0][:64]!r}: {exc}") from exc
        forget(elem)

    def _host(self, elem: Element, ports: _Ports) -> Host:
        address, addrtype, mac = _address(elem)
        status = elem.find("status")
        return Host(
            address=address,
            addrtype=addrtype,
            status=status.get("state", "unknown") if status is not None else "unknown",
            reason=status.get("reason", "") if status is not None else "",
            hostnames=tuple(
                dict.fromkeys(h.get("name", "") for h in elem.iterfind("hostnames/hostname"))
            ),
            ports=tuple(ports.ports),
            closed_ports=ports.closed,
            filtered_ports=ports.filtered,
            timed_out=elem.get("timedout") == "true",
            mac=mac,
            os_matches=tuple(m.get("name", "") for m in elem.iterfind("os/osmatch")),
            scripts=tuple(self._interner.script(s) for s in elem.iterfind("hostscript/script")),
        )

    def _port(self, elem: Element) -> Port:
        state = elem.find("state")
        service = elem.find("service")
        return Port(  # the same few words on every port: one string each
            protocol=sys.intern(elem.get("protocol", "")),
            portid=_bounded(elem, "portid", 65535),
            state=sys.intern(state.get("state", "") if state is not None else ""),
            reason=sys.intern(state.get("reason", "") if state is not None else ""),
            service=self._interner.service(service) if service is not None else None,
            scripts=tuple(self._interner.script(s) for s in elem.iterfind("script")),
        )


def merge_runs(runs: list[ScanRun]) -> ScanRun:
    """One ScanRun for several files (parallel workers, or ``brulee report a.xml b.xml``)."""
    if len(runs) == 1:
        return runs[0]
    started = [r.started for r in runs if r.started]
    finished = [r.finished for r in runs if r.finished]
    return ScanRun(
        args=" ; ".join(dict.fromkeys(r.args for r in runs if r.args)),
        scanner_version=", ".join(
            dict.fromkeys(r.scanner_version for r in runs if r.scanner_version)
        ),
        started=min(started) if started else "",
        finished=max(finished) if finished else "",
        hosts_up=sum(r.hosts_up for r in runs),
        hosts_down=sum(r.hosts_down for r in runs),
        incomplete=any(r.incomplete for r in runs),
        errors=tuple(e for r in runs for e in r.errors),
        sources=tuple(s for r in runs for s in r.sources),
        ports=PortSet.joined(r.ports for r in runs),
        failed=any(r.failed for r in runs),
    )
