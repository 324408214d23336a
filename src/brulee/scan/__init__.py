"""Stage 1, what and how to scan: targets and scope, the Nmap runner, the Nmap XML parser."""
