"""Where results go and where ``brulee merge`` reads them: a directory, ``s3://`` or ``gs://``.

The S3 and GCS backends, and their SDKs (the ``s3`` and ``gcs`` extras), are imported only when
such a URL is used.
"""

from __future__ import annotations

import re
from pathlib import Path

from brulee.errors import UsageError
from brulee.outputs.interface import CONTENT_TYPES, Retry, Sink, content_type
from brulee.outputs.local import LocalSink

__all__ = [
    "CONTENT_TYPES",
    "LocalSink",
    "Retry",
    "Sink",
    "content_type",
    "sink_from_url",
    "source_from_url",
]

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def sink_from_url(
    url: str, *, endpoint_url: str | None = None, retry: Retry | None = None
) -> Sink | None:
    """The bucket sink for ``s3://bucket/prefix`` or ``gs://bucket/prefix``; None for a local path.

    ``endpoint_url`` selects an S3-compatible store (boto3 also reads ``AWS_ENDPOINT_URL``).
    Raises UsageError for a malformed or unsupported URL, OutputError if the extra is missing.
    """
    match = _SCHEME.match(url)
    if match is None:
        return None
    scheme = match.group(1).lower()
    if scheme == "s3":
        from brulee.outputs.s3 import S3Sink  # noqa: PLC0415 - optional dependency

        return S3Sink(url, endpoint_url=endpoint_url, retry=retry)
    if scheme == "gs":
        if endpoint_url:
            raise UsageError("--endpoint-url applies to s3:// outputs only")
        from brulee.outputs.gcs import GcsSink  # noqa: PLC0415 - optional dependency

        return GcsSink(url, retry=retry)
    raise UsageError(f"unsupported output URL {scheme}://: use s3://, gs:// or a directory")


def source_from_url(
    url: str, *, endpoint_url: str | None = None, retry: Retry | None = None
) -> Sink:
    """A bucket prefix or, for anything else, a LocalSink on that directory (for merge)."""
    return sink_from_url(url, endpoint_url=endpoint_url, retry=retry) or LocalSink(Path(url))
