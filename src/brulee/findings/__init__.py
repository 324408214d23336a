"""Stage 3, findings: ports grouped by service, per-host data spooled to disk, the CI gate."""
