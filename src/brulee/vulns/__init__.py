"""Vulnerability sources and their merging."""
