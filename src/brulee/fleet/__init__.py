"""One report for a fleet: the JSON reports of many scans or shards read back and united."""
