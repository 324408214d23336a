"""The scan model: frozen values parsed from Nmap XML, each with a stable identity ``key``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ScriptElem:
    """One ``<elem>`` of NSE structured output."""

    key: str | None
    value: str


@dataclass(frozen=True, slots=True)
class ScriptTable:
    """One ``<table>`` of NSE structured output; items keep document order."""

    key: str | None
    items: tuple[ScriptElem | ScriptTable, ...]

    def get(self, key: str) -> str | None:
        """Value of the first direct ``<elem>`` named ``key``."""
        for item in self.items:
            if isinstance(item, ScriptElem) and item.key == key:
                return item.value
        return None

    @property
    def tables(self) -> tuple[ScriptTable, ...]:
        return tuple(item for item in self.items if isinstance(item, ScriptTable))


@dataclass(frozen=True, slots=True)
class ScriptResult:
    """Output of one NSE script: the text and its structured tables."""

    id: str
    output: str
    items: tuple[ScriptElem | ScriptTable, ...] = ()

    @property
    def tables(self) -> tuple[ScriptTable, ...]:
        return tuple(item for item in self.items if isinstance(item, ScriptTable))


@dataclass(frozen=True, slots=True)
class Service:
    """What Nmap's service detection said about a port."""

    name: str = ""
    product: str = ""
    version: str = ""
    extrainfo: str = ""
    ostype: str = ""
    hostname: str = ""
    devicetype: str = ""
    tunnel: str = ""
    method: str = ""
    conf: int = 0
    cpes: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, ...]:
        """Identity: what the software is, not where it runs."""
        return (self.name, self.product, self.version, self.extrainfo, self.tunnel, *self.cpes)

    @property
    def label(self) -> str:
        """Human name: product and version, or the service name when unidentified."""
        text = " ".join(part for part in (self.product, self.version) if part)
        return text or self.name or "unknown"


@dataclass(frozen=True, slots=True)
class Port:
    """One scanned port and its state."""

    protocol: str
    portid: int
    state: str
    reason: str = ""
    service: Service | None = None
    scripts: tuple[ScriptResult, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.protocol}/{self.portid}"

    @property
    def is_open(self) -> bool:
        """Open, or possibly open (``open|filtered`` on UDP)."""
        return self.state.startswith("open")

    def script(self, script_id: str) -> ScriptResult | None:
        return next((s for s in self.scripts if s.id == script_id), None)


@dataclass(frozen=True, slots=True)
class Host:
    """One target host and what was found on it."""

    address: str
    addrtype: str = "ipv4"
    status: str = "up"
    reason: str = ""
    hostnames: tuple[str, ...] = ()
    ports: tuple[Port, ...] = ()
    closed_ports: int = 0
    filtered_ports: int = 0
    timed_out: bool = False
    mac: str = ""
    os_matches: tuple[str, ...] = ()
    scripts: tuple[ScriptResult, ...] = ()

    @property
    def key(self) -> str:
        return self.address

    @property
    def hostname(self) -> str:
        return self.hostnames[0] if self.hostnames else ""

    @property
    def open_ports(self) -> tuple[Port, ...]:
        return tuple(p for p in self.ports if p.is_open)


@dataclass(frozen=True, slots=True)
class ScanRun:
    """Facts about one Nmap run (or several merged), known once its hosts were read."""

    args: str = ""
    scanner_version: str = ""
    started: str = ""
    finished: str = ""
    hosts_up: int = 0
    hosts_down: int = 0
    incomplete: bool = False
    errors: tuple[str, ...] = ()
    sources: tuple[str, ...] = field(default=())
