"""Group ports by the service running on them; one group lists every location and CVE."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from brulee.core.distro import DistroEvidence
from brulee.core.findings import (
    STATUS_ORDER,
    HostRecord,
    Location,
    OpenPort,
    ServiceGroup,
    group_key,
    group_order,
)
from brulee.core.scan import Host, Port, Service
from brulee.core.vulnerability import (
    Assessment,
    Status,
    Vulnerability,
    findings_status,
    merge_vulnerabilities,
)
from brulee.findings.spool import Spool

_NO_SERVICE = Service()
_PARTIAL_DATA = (
    "vulnerability data came from only some locations of this service; the vulnerabilities "
    "listed apply to the same software at all of them"
)


def _unite(known: dict[str, Vulnerability], vulns: Iterable[Vulnerability]) -> None:
    for vuln in vulns:
        seen = known.setdefault(vuln.id, vuln)
        if seen != vuln:
            known[vuln.id] = merge_vulnerabilities((seen, vuln))[0]


@dataclass(slots=True)
class GroupBuilder:
    """What is known so far about one service identity, from any number of findings: the
    assessments of its ports (``ServiceGrouper``) or the service sections of reports
    (``brulee.fleet``). ``finish`` applies the same rules to both."""

    service: Service
    protocol: str
    statuses: set[Status] = field(default_factory=set)
    notes: dict[str, None] = field(default_factory=dict)
    vulns: dict[str, Vulnerability] = field(default_factory=dict)
    references: dict[str, None] = field(default_factory=dict)
    fixed: dict[str, Vulnerability] = field(default_factory=dict)
    distribution: DistroEvidence | None = None
    nvd_names: dict[str, None] | None = field(default_factory=dict)

    def add(
        self,
        status: Status,
        vulnerabilities: Iterable[Vulnerability] = (),
        *,
        notes: Iterable[str] = (),
        references: Iterable[str] = (),
        fixed: Iterable[Vulnerability] = (),
        distribution: DistroEvidence | None = None,
        nvd_names: Iterable[str] | None = (),
    ) -> None:
        """Unite one finding: vulnerabilities (found, and fixed by the distribution) by id, the
        best-founded record kept with every source; the rest as sets in first-seen order; the
        first distribution recognised stays. NVD names unknown for one finding (None: a report
        that predates them) leave them unknown for the group."""
        self.statuses.add(status)
        self.notes.update(dict.fromkeys(n for n in notes if n))
        _unite(self.vulns, vulnerabilities)
        self.references.update(dict.fromkeys(references))
        _unite(self.fixed, fixed)
        self.distribution = self.distribution or distribution
        if nvd_names is None or self.nvd_names is None:
            self.nvd_names = None
        else:
            self.nvd_names.update(dict.fromkeys(nvd_names))

    def finish(self, key: str, locations: int) -> ServiceGroup:
        vulns = merge_vulnerabilities(self.vulns.values())
        # The most cautious status wins: one location with data makes the software vulnerable
        # (possibly vulnerable when none of its findings is established).
        if vulns:
            status = findings_status(vulns)
        else:
            status = min(self.statuses, key=STATUS_ORDER.__getitem__)
        notes = tuple(self.notes)
        if vulns and len(self.statuses) > 1:
            notes = (_PARTIAL_DATA,)
        return ServiceGroup(
            key=key,
            service=self.service,
            protocol=self.protocol,
            status=status,
            notes=notes,
            vulnerabilities=vulns,
            references=tuple(self.references),
            location_count=locations,
            distribution=self.distribution,
            fixed=merge_vulnerabilities(self.fixed.values()),
            nvd_names=None if self.nvd_names is None else tuple(self.nvd_names),
        )


class ServiceGrouper:
    """Collects (host, port, assessment) triples; locations go to the spool as they arrive."""

    def __init__(self, spool: Spool) -> None:
        self._spool = spool
        self._groups: dict[str, GroupBuilder] = {}
        # Sources return the same object for the same evidence: merge each one once per group.
        # The objects are kept so that their ids stay theirs.
        self._seen: dict[tuple[str, int], Assessment] = {}

    def add_host(
        self, host: Host, assessed: list[tuple[Port, Assessment]], origin: int = 0
    ) -> None:
        """Record one host of ``origin`` (a spool origin whose first port set is what its scan
        looked at): its summary, and each open port under its service group."""
        rows: list[tuple[str, Location]] = []
        open_ports: list[OpenPort] = []
        for port, assessment in assessed:
            service = port.service or _NO_SERVICE
            open_ports.append(OpenPort(port.protocol, port.portid, port.state, service.label))
            key = group_key(service, port.protocol)
            stable = service.stable
            builder = self._groups.get(key)
            if builder is None:
                builder = self._groups[key] = GroupBuilder(stable, port.protocol)
            if (key, id(assessment)) not in self._seen:
                self._seen[key, id(assessment)] = assessment
                builder.add(
                    assessment.status,
                    assessment.vulnerabilities,
                    notes=(assessment.note,),
                    references=assessment.references,
                    fixed=assessment.fixed,
                    distribution=assessment.distribution,
                    nvd_names=assessment.nvd_names,
                )
            volatile = service.extrainfo if service.extrainfo != stable.extrainfo else ""
            where = Location(host.address, host.hostname, port.portid, port.protocol, volatile)
            rows.append((key, where))
        record = HostRecord(
            host.address, host.hostnames, host.status, host.reason, host.timed_out,
            tuple(open_ports), host.closed_ports, host.filtered_ports,
        )  # fmt: skip
        looked = host.status == "up" and not host.timed_out
        self._spool.add_hosts([record], origin, [0 if looked else None])
        self._spool.add_locations(rows, origin)

    def groups(self) -> tuple[ServiceGroup, ...]:
        """The service groups, most urgent first."""
        counts = self._spool.location_counts()
        return tuple(
            sorted(
                (builder.finish(key, counts[key]) for key, builder in self._groups.items()),
                key=group_order,
            )
        )
