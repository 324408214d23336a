"""The CI gate: only established findings fail it, unless --strict."""

from __future__ import annotations

from typing import get_args

import pytest

from brulee.core.findings import ServiceGroup
from brulee.core.history import FindingGroup
from brulee.core.scan import Service
from brulee.core.vulnerability import ESTABLISHED, Confidence, KevEntry, Vulnerability
from brulee.findings.gate import FailOn

KEV = KevEntry("2017-05-24", "", "Samba", "Samba", "", "", "Known", "")
POSSIBLE: tuple[Confidence, ...] = (
    "conditional", "reported", "version-range", "unbounded", "unverified-backport",
)  # fmt: skip


def group(*vulns: Vulnerability) -> ServiceGroup:
    return ServiceGroup("k", Service(product="Samba smbd", version="4.6.2"), "tcp",
                        "vulnerable", (), vulns, (), 1)  # fmt: skip


def test_the_policy_names_every_confidence_once() -> None:
    assert {"certain"} == ESTABLISHED
    assert set(POSSIBLE) | ESTABLISHED | {"fixed-by-distribution"} == set(get_args(Confidence))


@pytest.mark.parametrize("confidence", POSSIBLE)
def test_possible_findings_fail_only_with_strict(confidence: Confidence) -> None:
    # SambaCry on Nmap's "4.6.2" label: critical, in KEV, but on a version range.
    cry = Vulnerability("CVE-2017-7494", "critical", confidence=confidence, kev=KEV)
    for threshold in ("critical", "low", "kev"):
        assert FailOn(threshold).failing([group(cry)]) == ()
        assert FailOn(threshold, strict=True).failing([group(cry)]) == ("CVE-2017-7494",)


def test_certain_findings_fail_and_distribution_fixes_never() -> None:
    certain = Vulnerability("CVE-2023-38408", "critical", confidence="certain")
    fixed = Vulnerability("CVE-2018-15473", "critical", confidence="fixed-by-distribution")
    assert FailOn("critical").failing([group(certain, fixed)]) == ("CVE-2023-38408",)
    assert FailOn("critical", strict=True).failing([group(fixed)]) == ()
    assert FailOn("kev").failing([group(certain)]) == ()  # not in KEV
    medium = Vulnerability("CVE-2019-6111", "medium", confidence="certain")
    assert FailOn("high").failing([group(medium)]) == ()
    assert FailOn("medium").failing([group(medium)]) == ("CVE-2019-6111",)


def test_new_findings_follow_the_same_policy() -> None:
    def new(confidence: Confidence) -> FindingGroup:
        return FindingGroup("new", "CVE-2017-7494", "critical", 9.8, True, confidence,
                            "Samba smbd 4.6.2", 1, ())  # fmt: skip

    assert FailOn("kev").failing_new([new("version-range")]) == ()
    assert FailOn("kev", strict=True).failing_new([new("version-range")]) == ("CVE-2017-7494",)
    assert FailOn("kev").failing_new([new("certain")]) == ("CVE-2017-7494",)
