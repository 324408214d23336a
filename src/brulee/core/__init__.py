"""Value types shared by every stage, with no I/O: the scan model, vulnerabilities, findings,
suppressions, the history's records and the report."""
