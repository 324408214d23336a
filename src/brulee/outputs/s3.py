"""S3 and S3-compatible stores through boto3 (the ``s3`` extra).

Credentials come from boto3's default chain: environment, shared config and credentials files
(``AWS_PROFILE``), IRSA web identity (``AWS_WEB_IDENTITY_TOKEN_FILE`` + ``AWS_ROLE_ARN``), ECS and
instance metadata. The endpoint is ``endpoint_url`` if given, else the one boto3 finds itself in
``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL`` or the config file (botocore then addresses buckets
path-style). Files go up through boto3's managed transfer: above ``part_size`` in parallel parts,
each retried by botocore's standard retry mode on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from brulee.errors import OutputError, UsageError

try:
    import boto3
    from boto3.exceptions import S3UploadFailedError
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        CredentialRetrievalError,
        HTTPClientError,
        NoCredentialsError,
        PartialCredentialsError,
        ProfileNotFound,
    )
    from botocore.exceptions import ConnectionError as BotoConnectionError
except ImportError as exc:  # pragma: no cover - exercised by simulating the missing extra
    raise OutputError("s3:// outputs need the s3 extra: pip install 'brulee[s3]'") from exc

from brulee.outputs.interface import (
    BucketSink,
    Failure,
    MissingObject,
    RawStream,
    Retry,
    redact_loggers,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ListObjectsV2RequestTypeDef

CHECK_CREDENTIALS = (
    "check credentials (environment, AWS_PROFILE, IRSA web identity or instance role)"
)
_BAD_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "InvalidClientTokenId",
}
_TRANSIENT = {"SlowDown", "Throttling", "RequestTimeout", "InternalError", "ServiceUnavailable"}
MAX_PARTS = 10_000  # S3's limit per multipart upload
PARALLEL_PARTS = 4


def _check_endpoint(url: str) -> None:
    """UsageError now (before a scan) for an endpoint that is no http(s)://HOST[:PORT]; the URL
    is not echoed, as it may carry a credential."""
    try:
        parts = urlsplit(url)
        usable = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number or out of range
    except ValueError:
        usable = False
    if not usable:
        raise UsageError("invalid --endpoint-url: expected http(s)://HOST[:PORT]")


class S3Sink(BucketSink["S3Client"]):
    """``s3://bucket/prefix``."""

    scheme = "s3"

    def __init__(
        self, url: str, *, endpoint_url: str | None = None, retry: Retry | None = None
    ) -> None:
        super().__init__(url, retry=retry)
        if endpoint_url is not None:
            _check_endpoint(endpoint_url)
        self.endpoint_url = endpoint_url
        # botocore logs request headers (Authorization, session tokens) at DEBUG level.
        redact_loggers("botocore.endpoint", "botocore.auth", "botocore.awsrequest")

    def _connect(self) -> S3Client:
        config = Config(
            retries={"total_max_attempts": self.retry.attempts, "mode": "standard"},
            max_pool_connections=PARALLEL_PARTS + 2,
            connect_timeout=10,
            read_timeout=60,
        )
        try:
            session = boto3.session.Session()  # credentials resolved now, not cached globally
            return session.client("s3", endpoint_url=self.endpoint_url, config=config)
        except ValueError as exc:  # a malformed endpoint URL
            raise OutputError(
                f"invalid S3 endpoint URL {self.endpoint_url!r}: expected http(s)://HOST[:PORT]"
            ) from exc

    @property
    def endpoint(self) -> str:
        """Scheme, host and port of the endpoint in use (never credentials or query strings)."""
        parts = urlsplit(self.client.meta.endpoint_url)
        host = parts.hostname or "?"
        return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")

    def _upload(self, path: Path, key: str, content_type: str) -> None:
        size = path.stat().st_size
        part = max(self.part_size, -(-size // MAX_PARTS))  # a 100 GB file still fits
        transfer = TransferConfig(
            multipart_threshold=self.part_size,
            multipart_chunksize=part,
            max_concurrency=PARALLEL_PARTS,
        )
        self.client.upload_file(
            str(path), self.bucket, key, ExtraArgs={"ContentType": content_type}, Config=transfer
        )

    def _list_page(self, token: str | None) -> tuple[list[str], str | None]:
        request: ListObjectsV2RequestTypeDef = {
            "Bucket": self.bucket,
            "Prefix": self.prefix,
            "MaxKeys": self.page_size,
        }
        if token:
            request["ContinuationToken"] = token
        page = self.client.list_objects_v2(**request)
        keys = [item["Key"] for item in page.get("Contents", []) if "Key" in item]
        return keys, page.get("NextContinuationToken") if page.get("IsTruncated") else None

    def _open(self, key: str) -> RawStream:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchKey":
                raise MissingObject(key) from exc
            raise

    def _classify(self, exc: Exception) -> Failure | None:
        if isinstance(exc, S3UploadFailedError) and isinstance(exc.__context__, Exception):
            return self._classify(exc.__context__)  # boto3 wraps the ClientError of a part
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            what = f"{code or 'error'}, HTTP {status}"
            if code == "NoSuchBucket":
                return Failure(f"bucket '{self.bucket}' does not exist")
            if code in _BAD_CREDENTIALS:
                return Failure(f"credentials rejected ({what}); {CHECK_CREDENTIALS}")
            if status in {401, 403}:
                return Failure(f"access denied ({what}); {CHECK_CREDENTIALS} and bucket policy")
            if code in _TRANSIENT or status in {408, 429} or status >= 500:
                return Failure(f"server error ({what})", retryable=True)
            return Failure(f"request refused ({what})")
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return Failure(f"no AWS credentials found; {CHECK_CREDENTIALS}")
        if isinstance(exc, CredentialRetrievalError | ProfileNotFound):
            reason = f"cannot load AWS credentials ({type(exc).__name__})"
            return Failure(f"{reason}; {CHECK_CREDENTIALS}")
        if isinstance(exc, BotoConnectionError | HTTPClientError):
            return Failure(f"cannot reach {self.endpoint} ({type(exc).__name__})", retryable=True)
        if isinstance(exc, BotoCoreError):
            return Failure(type(exc).__name__)
        return None
