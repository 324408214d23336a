"""Vulnerability sources: the abstract source every matcher implements, and the judge that
decides their findings further."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from brulee.core.scan import Port, Service
from brulee.core.vulnerability import Assessment


class VulnerabilitySource(ABC):
    """Something that can say which vulnerabilities apply to the service on a port."""

    name: str

    @abstractmethod
    def assess(self, port: Port) -> Assessment:
        """Assess the port's service; ``unchecked`` when the source has nothing to say. The
        answer must depend only on the port's service and scripts: ``Assessor`` reuses it for
        every port that shares those objects."""


Judge = Callable[[Service | None, Assessment], Assessment]
"""Decides merged findings with further evidence (distribution backports)."""
