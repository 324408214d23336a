"""brulee: network vulnerability scanner built on Nmap service detection."""

__version__ = "0.1.0"
