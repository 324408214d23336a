"""Services as every format shows them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from brulee.core.findings import ServiceGroup
from brulee.core.scan import Service
from brulee.core.vulnerability import Status, Vulnerability
from brulee.report.view.services import fixed_view, lookup_text, service_view


def test_fixed_view_names_the_advisory_once() -> None:
    fixed = Vulnerability("CVE-2000-0001", "low", confidence="fixed-by-distribution")
    named = replace(fixed, advisory="DSA-1-1", reason="DSA-1-1 (2000-01-01): fixed in 1.0-1")
    assert fixed_view(named).detail == "DSA-1-1 (2000-01-01): fixed in 1.0-1"
    assert fixed_view(replace(named, reason="fixed in 1.0-1")).detail == "DSA-1-1: fixed in 1.0-1"
    assert fixed_view(replace(named, reason="")).detail == "DSA-1-1"
    assert fixed_view(replace(fixed, reason="fixed upstream")).detail == "fixed upstream"


@pytest.mark.parametrize(
    ("status", "names", "shown"),
    [
        ("unknown", ("mortbay:jetty", "eclipse:jetty"),
         "mortbay:jetty, eclipse:jetty: not in the vulnerability database"),
        ("unknown", (), "no NVD name is known for this product"),
        ("unknown", None, ""),  # a report of schema 1.0 does not say
        ("clean", ("openbsd:openssh",), "openbsd:openssh"),
        ("unversioned", (), ""),
    ],
)  # fmt: skip
def test_what_a_service_was_looked_up_as(
    status: Status, names: tuple[str, ...] | None, shown: str
) -> None:
    group = ServiceGroup("k", Service(product="Jetty"), "tcp", status, (), (), (), 1,
                         nvd_names=names)  # fmt: skip
    assert lookup_text(group) == shown
    facts = dict(service_view(1, group).facts)
    assert facts.get("Looked up as", "") == shown
