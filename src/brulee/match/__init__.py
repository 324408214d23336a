"""Stage 2, what applies: CPE names and versions, distributions, NVD configurations, the
vulnerability sources and the backport judge."""
