"""Google Cloud Storage through google-cloud-storage (the ``gcs`` extra).

Credentials come from Application Default Credentials: ``GOOGLE_APPLICATION_CREDENTIALS``, gcloud's
user credentials, Workload Identity (GKE) and the metadata server. ``STORAGE_EMULATOR_HOST`` points
the client at an emulator such as fake-gcs-server, without authentication. Every request goes
through the library's retry policy (transient errors, with backoff; see Retry), uploads included:
the same bytes under the same name, they are safe to repeat. Files above ``part_size`` go up as
resumable uploads in chunks of that size, each chunk retried on its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from brulee.errors import OutputError

try:
    from google.api_core.exceptions import GoogleAPICallError, RetryError
    from google.api_core.retry import Retry as ApiRetry
    from google.auth.exceptions import DefaultCredentialsError, RefreshError, TransportError
    from google.cloud.storage import Client as StorageClient
    from google.cloud.storage.retry import DEFAULT_RETRY
except ImportError as exc:  # pragma: no cover - exercised by simulating the missing extra
    raise OutputError("gs:// outputs need the gcs extra: pip install 'brulee[gcs]'") from exc

from brulee.outputs.interface import BucketSink, Failure, MissingObject, RawStream

CHECK_CREDENTIALS = (
    "check credentials (GOOGLE_APPLICATION_CREDENTIALS, "
    "gcloud auth application-default login, or Workload Identity)"
)
CHUNK = 1 << 20  # download in ranged requests of 1 MiB: memory stays bounded


class GcsSink(BucketSink[Any]):
    """``gs://bucket/prefix``."""

    scheme = "gs"

    def _connect(self) -> Any:
        return StorageClient()

    @property
    def _retry(self) -> ApiRetry:
        """The library's policy for transient errors, with brulee's waits and deadline."""
        return DEFAULT_RETRY.with_delay(  # type: ignore[no-any-return]
            initial=self.retry.backoff, maximum=self.retry.max_wait, multiplier=2.0
        ).with_timeout(self.retry.deadline)

    def _gave_up(self) -> str:
        deadline = self.retry.deadline
        return f"gave up after retrying for {deadline:g} s" if deadline else "gave up"

    def _upload(self, path: Path, key: str, content_type: str) -> None:
        blob = self.client.bucket(self.bucket).blob(key, chunk_size=self.part_size)
        blob.upload_from_filename(str(path), content_type=content_type, retry=self._retry)

    def _list_page(self, token: str | None) -> tuple[list[str], str | None]:
        blobs = self.client.list_blobs(
            self.bucket,
            prefix=self.prefix or None,
            page_token=token,
            page_size=self.page_size,
            retry=self._retry,
        )
        names = [str(blob.name) for blob in next(blobs.pages)]
        return names, blobs.next_page_token

    def _open(self, key: str) -> RawStream:
        blob = self.client.bucket(self.bucket).get_blob(key, retry=self._retry)
        if blob is None:
            raise MissingObject(key)
        # Pinned to the generation just read: chunks cannot mix two versions of the object.
        stream: RawStream = blob.open(
            "rb", chunk_size=CHUNK, retry=self._retry, if_generation_match=blob.generation
        )
        return stream

    def _classify(self, exc: Exception) -> Failure | None:
        if isinstance(exc, RetryError) and isinstance(exc.cause, Exception):
            return self._classify(exc.cause)  # the last failure once the deadline passed
        if isinstance(exc, GoogleAPICallError):
            status = int(exc.code or 0)
            what = f"HTTP {status}"
            if status == 404:
                return Failure(f"bucket '{self.bucket}' does not exist ({what})")
            if status in {401, 403}:
                return Failure(f"access denied ({what}); {CHECK_CREDENTIALS}")
            if status in {408, 429} or status >= 500:
                return Failure(f"server error ({what})", retryable=True)
            return Failure(f"request refused ({what})")
        if isinstance(exc, DefaultCredentialsError):
            return Failure(f"no Google Cloud credentials found; {CHECK_CREDENTIALS}")
        if isinstance(exc, RefreshError):
            return Failure(f"credentials rejected (token refresh failed); {CHECK_CREDENTIALS}")
        # requests' ConnectionError and Timeout are OSErrors; so are socket errors.
        if isinstance(exc, TransportError | OSError):
            return Failure(f"cannot reach {_endpoint()} ({type(exc).__name__})", retryable=True)
        return None


def _endpoint() -> str:
    return os.environ.get("STORAGE_EMULATOR_HOST") or "storage.googleapis.com"
