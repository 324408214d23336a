"""Over time: every scan, report and merge recorded (``store``, on the SQLite or PostgreSQL
backend of ``interface``, its schema in ``migrations`` and its SQL in ``queries``), what changed
between two of them (``compare``, ``diff``), what happens around each report (``tracking``),
findings set aside (``suppressions``) and changes announced (``alerts``, with the payloads of
``payloads``).

Identities the history relies on:

* A **scope** (:func:`brulee.history.store.scope_key`) is what a scan targeted: the sorted,
  normalised targets, the site and the shard. Its **baseline** is the latest complete (or
  partial) scan of the scope dated before it that looked at the same ports (Nmap's
  ``<scaninfo>``) with the same options (scripts, version intensity); a failed or interrupted
  scan only when there is nothing else, and the changes say so first.
* A **finding** is ``(site, address, protocol, port, vulnerability id)``: a CVE where it is
  exposed, whatever the software there. So upgrading a service to a version that is still
  vulnerable leaves that finding open (with its first-seen date) instead of showing it fixed and
  new again; and the same address at two sites (overlapping private ranges) is two findings.
  Its **first seen** is the earliest scan date (Nmap's start time, else the recording time) of
  any scan of the site that had it; it is never reset, so a finding that comes back after a fix
  keeps its first date and is reported as reappeared, not new.
* A **port** is ``(address, protocol, port)``; its service is compared by label (product and
  version), so a changed CPE or banner detail alone is not a version change. It is **closed**,
  and its findings **fixed**, only where the new scan looked: on a host it completed, among the
  ports it scanned there. Elsewhere they are unknown, never fixed.
"""
