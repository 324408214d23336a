"""Google Cloud Storage through google-cloud-storage (the ``gcs`` extra).

Credentials come from Application Default Credentials: ``GOOGLE_APPLICATION_CREDENTIALS``, gcloud's
user credentials, Workload Identity (GKE) and the metadata server. ``STORAGE_EMULATOR_HOST`` points
the client at an emulator such as fake-gcs-server, without authentication. The SDK's own retries are
off: the shared loop in interface.py retries instead.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

from brulee.errors import OutputError

try:
    from google.api_core.exceptions import GoogleAPICallError
    from google.auth.exceptions import DefaultCredentialsError, RefreshError, TransportError
    from google.cloud.storage import Client as StorageClient
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

    def _upload(self, body: BinaryIO, key: str, content_type: str) -> None:
        blob = self.client.bucket(self.bucket).blob(key)
        blob.upload_from_file(body, content_type=content_type, retry=None)

    def _list_page(self, token: str | None) -> tuple[list[str], str | None]:
        blobs = self.client.list_blobs(
            self.bucket,
            prefix=self.prefix or None,
            page_token=token,
            page_size=self.page_size,
            retry=None,
        )
        names = [str(blob.name) for blob in next(blobs.pages)]
        return names, blobs.next_page_token

    def _open(self, key: str) -> RawStream:
        blob = self.client.bucket(self.bucket).get_blob(key, retry=None)
        if blob is None:
            raise MissingObject(key)
        # Pinned to the generation just read: chunks cannot mix two versions of the object.
        stream: RawStream = blob.open(
            "rb", chunk_size=CHUNK, retry=None, if_generation_match=blob.generation
        )
        return stream

    def _classify(self, exc: Exception) -> Failure | None:
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
