"""Object store on S3 (MinIO, SeaweedFS, Ceph RGW, AWS…) with the ``minio`` SDK: the production backend.

URL: ``s3://[ACCESS_KEY[:SECRET_KEY]@]BUCKET[/PREFIX]?endpoint=HOST:PORT&secure=0&region=REGION``

- ``endpoint``: ``host:port`` (TLS unless ``secure=0``) or ``http://host:port`` / ``https://host:port``;
  AWS's ``s3.amazonaws.com`` when absent. ``region``: skips the SDK's bucket-location request when given.
- Credentials: the URL's userinfo, else the ``EDOC_S3_ACCESS_KEY`` / ``EDOC_S3_SECRET_KEY`` environment
  variables (read here, as boto reads ``AWS_*``, so that they need not travel in a URL that someone may log).
  They are never part of :attr:`S3ObjectStore.url` nor of any message.

Layout: ``[PREFIX/]ab/cd/<sha256>``, as the file store, so a folder of the file store copies into a bucket as is
(``rclone copy``) when a node moves from the embedded tier to S3.

Put of a blob whose hash is not known yet (``put_stream``): the stream is **spooled** while it is hashed (in
memory up to 8 MiB, then into a temporary file), and uploaded under its final key once the hash is known. The
alternative, uploading to a temporary key and copying it server-side, would leave the temporary object behind on
an Object Lock bucket with a default retention (it can be neither deleted nor overwritten: versions stay) and as a
non-current version on any versioned bucket; a spool costs a local disk write instead. ``put_bytes`` hashes in
memory and ``put_file`` hashes the file first, neither spools. Uploads of more than one part are multipart, a part
of 8 MiB at a time with two in flight, so memory stays flat (about 3 parts) whatever the blob's size.

Idempotent put: a key that exists is not written again (a HEAD first; two puts of the same new bytes racing may
both write, which leaves two identical versions: harmless). A retention given to a put of an existing blob is
applied to it (:meth:`S3ObjectStore.retain`).

Retention: written as **Object Lock COMPLIANCE** retention until a date and/or a **legal hold** (permanent),
headers of the upload itself, so no unlocked moment exists. The bucket must have been created with Object Lock
(versioning on): :meth:`S3ObjectStore.create_bucket` does it; on a bucket without it the server refuses and the
put raises :class:`~storage.errors.RetentionUnsupported`. The S3 server enforces the lock, not this code.

Errors: every ``minio``/``urllib3`` exception is translated here: a store that does not answer raises
:class:`~storage.errors.ObjectStoreUnavailable` (``object_store_unavailable``: the API answers 503 with
``Retry-After``), a refusal (credentials, missing bucket) :class:`~storage.errors.ObjectStoreRefused`, a missing
object :class:`~storage.errors.BlobNotFound`.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.retention import Retention as S3Retention

from storage.errors import (
    BlobNotFound,
    InvalidStoreUrl,
    ObjectStoreRefused,
    ObjectStoreUnavailable,
    RetentionUnsupported,
    StorageError,
)
from storage.interfaces import BlobRef, Retention
from storage.objects.urls import redact as _redact

__all__ = ["S3Location", "S3ObjectStore"]

_CHUNK = 1024 * 1024
#: multipart part size and parts in flight: memory per upload is about (parallel + 1) parts
_PART = 8 * 1024 * 1024
_PARALLEL = 2
#: a stream of unknown hash is spooled in memory up to this size, then on disk
_SPOOL_IN_MEMORY = 8 * 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_OPTIONS = {"endpoint", "secure", "region"}
#: S3 error codes that mean "the store is busy or broken, try later" rather than "you may not"
_TRANSIENT = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "RequestTimeTooSkewed"}
_REFUSED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket", "AllAccessDisabled"}
_NOT_FOUND = {"NoSuchKey", "NoSuchVersion", "NoSuchObject"}
_LOCK_REFUSED = {"InvalidRequest", "ObjectLockConfigurationNotFoundError", "InvalidBucketState"}

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class S3Location:
    """What an ``s3://`` URL names, parsed without touching the network (settings validate URLs with it)."""

    bucket: str
    prefix: str
    endpoint: str
    secure: bool
    region: str | None
    access_key: str | None
    secret_key: str | None

    @property
    def url(self) -> str:
        """The URL without credentials: safe to log and to show."""
        path = f"/{quote(self.prefix)}" if self.prefix else ""
        query = f"endpoint={self.endpoint}&secure={int(self.secure)}"
        if self.region:
            query += f"&region={self.region}"
        return f"s3://{self.bucket}{path}?{query}"

    @classmethod
    def parse(cls, url: str, environ: Mapping[str, str] | None = None) -> S3Location:
        """Parse ``url`` (module docstring); :class:`InvalidStoreUrl` in one line when it cannot be used."""
        env = os.environ if environ is None else environ
        parts = urlsplit(url)
        if parts.scheme != "s3":
            raise InvalidStoreUrl(f"not an s3:// URL: {_redact(url)!r}")
        bucket = parts.hostname or ""
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
            raise InvalidStoreUrl(f"s3 URL without a valid bucket name (3-63 of a-z 0-9 . -): {_redact(url)!r}")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = sorted(set(query) - _OPTIONS)
        if unknown:
            raise InvalidStoreUrl(f"unknown s3 URL option {unknown[0]!r} (known: endpoint, region, secure)")
        endpoint, secure = _endpoint(query.get("endpoint", "s3.amazonaws.com"), query.get("secure"))
        access = unquote(parts.username) if parts.username else env.get("EDOC_S3_ACCESS_KEY") or None
        secret = unquote(parts.password) if parts.password else env.get("EDOC_S3_SECRET_KEY") or None
        if (access is None) != (secret is None):
            raise InvalidStoreUrl(
                f"s3 store {bucket}: an access key without a secret key or the reverse "
                "(give both in the URL or both in EDOC_S3_ACCESS_KEY / EDOC_S3_SECRET_KEY)"
            )
        prefix = unquote(parts.path).strip("/")
        return cls(bucket, prefix, endpoint, secure, query.get("region") or None, access, secret)


def _endpoint(value: str, secure: str | None) -> tuple[str, bool]:
    """``host:port`` and whether TLS is used, from ``endpoint`` and ``secure``."""
    tls = True
    if "://" in value:
        scheme, _, value = value.partition("://")
        if scheme not in ("http", "https"):
            raise InvalidStoreUrl(f"s3 endpoint scheme must be http or https, not {scheme!r}")
        tls = scheme == "https"
    if secure is not None:
        if secure not in ("0", "1", "true", "false"):
            raise InvalidStoreUrl(f"s3 URL option secure must be 0 or 1, not {secure!r}")
        tls = secure in ("1", "true")
    value = value.rstrip("/")
    if not value or "/" in value or "@" in value:
        raise InvalidStoreUrl(f"s3 endpoint must be host:port, not {value!r}")
    return value, tls


class _ResponseReader(io.RawIOBase):
    """A GET's body as a raw stream; closing it returns the connection to the pool. Errors while reading are
    the storage error tree's too (the store went away mid-transfer)."""

    def __init__(self, response: Any, describe: str) -> None:
        self._response = response
        self._describe = describe

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._response.read(len(buffer))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ObjectStoreUnavailable(f"{self._describe}: the transfer broke off ({type(exc).__name__})") from exc
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._response.release_conn()
        super().close()


class S3ObjectStore:
    """Content-addressed blobs in an S3 bucket (see module docstring)."""

    enforces_retention = True

    def __init__(self, location: S3Location, *, spool_dir: str | None = None) -> None:
        self.location = location
        self.bucket = location.bucket
        self.url = location.url
        self._prefix = f"{location.prefix}/" if location.prefix else ""
        self._spool_dir = spool_dir
        # Bounded waits and few retries: a store that is down must become a 503 in seconds, not minutes.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5, read=60),
            maxsize=16,
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)),
        )
        self.client = Minio(
            location.endpoint,
            access_key=location.access_key,
            secret_key=location.secret_key,
            secure=location.secure,
            region=location.region,
            http_client=http,
        )

    @classmethod
    def from_url(cls, url: str) -> S3ObjectStore:
        """Build the store; nothing is contacted until the first call."""
        return cls(S3Location.parse(url))

    @classmethod
    def check_url(cls, url: str) -> None:
        """Raise :class:`InvalidStoreUrl` unless ``url`` can be used (settings validation, no network)."""
        S3Location.parse(url)

    @classmethod
    def place_of(cls, url: str) -> tuple[str, ...]:
        """The endpoint and bucket of ``url``: what must differ between two independent copies."""
        location = S3Location.parse(url, environ={})
        return ("s3", location.endpoint.lower(), location.bucket)

    # --- keys and errors ---

    def key(self, sha256: str) -> str:
        """The object key of a blob (public for tests and audits that talk to the bucket directly)."""
        if not _SHA256.match(sha256):
            raise BlobNotFound(f"not a SHA-256 blob address: {sha256!r}")
        return f"{self._prefix}{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except (S3Error, ServerError, InvalidResponseError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._translate(what, exc) from exc

    def _translate(self, what: str, exc: Exception) -> StorageError:
        where = f"object store s3://{self.bucket}: {what}"
        if isinstance(exc, S3Error):
            if exc.code in _NOT_FOUND:
                return BlobNotFound(f"{where}: no such object")
            if exc.code in _TRANSIENT:
                return ObjectStoreUnavailable(f"{where}: the server is unavailable ({exc.code})")
            if exc.code in _REFUSED:
                return ObjectStoreRefused(f"{where}: refused ({exc.code}); check the credentials and the bucket")
            return StorageError(f"{where}: the server answered {exc.code}", code="object_store_error")
        if isinstance(exc, ServerError | InvalidResponseError):
            return ObjectStoreUnavailable(f"{where}: the server is unavailable (HTTP {_status(exc)})")
        return ObjectStoreUnavailable(f"{where}: the server does not answer ({_cause(exc)})")

    # --- writes ---

    def put_bytes(self, data: bytes, *, retention: Retention | None = None) -> BlobRef:
        ref = BlobRef(hashlib.sha256(data).hexdigest(), len(data))
        return self._upload(io.BytesIO(data), ref, retention)

    def put_file(self, path: Path, *, retention: Retention | None = None) -> BlobRef:
        try:
            with open(path, "rb") as fh:
                ref = _hash(fh, None)
                fh.seek(0)
                return self._upload(fh, ref, retention)
        except OSError as exc:
            raise StorageError(f"cannot read {path} to store it: {exc}") from exc

    def put_stream(self, stream: BinaryIO, *, retention: Retention | None = None) -> BlobRef:
        try:
            spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY, dir=self._spool_dir)  # noqa: SIM115
        except OSError as exc:
            raise StorageError(f"cannot spool a blob for s3://{self.bucket}: {exc}") from exc
        with spool:
            try:
                ref = _hash(stream, spool)
                spool.seek(0)
            except OSError as exc:
                raise StorageError(f"cannot read or spool a blob for s3://{self.bucket}: {exc}") from exc
            return self._upload(spool, ref, retention)  # type: ignore[arg-type]

    def rewrite(self, stream: BinaryIO, *, retention: Retention | None = None) -> BlobRef:
        """Upload ``stream`` under its key even if an object is there (a repair after a fixity audit found the
        current version damaged or missing): on a versioned bucket this is a new version; a locked older version
        stays as it was."""
        try:
            spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY, dir=self._spool_dir)  # noqa: SIM115
        except OSError as exc:
            raise StorageError(f"cannot spool a blob for s3://{self.bucket}: {exc}") from exc
        with spool:
            ref = _hash(stream, spool)
            spool.seek(0)
            lock = S3Retention(COMPLIANCE, retention.until) if retention and retention.until else None
            self._call(f"cannot rewrite {ref.sha256}", self.client.put_object, self.bucket, self.key(ref.sha256),
                       spool, ref.size, metadata={"sha256": ref.sha256}, part_size=_PART,
                       num_parallel_uploads=_PARALLEL, retention=lock,
                       legal_hold=bool(retention and retention.legal_hold))
        return ref

    def put_many(self, blobs: Sequence[bytes]) -> list[BlobRef]:
        """One after the other: each is complete (on the server) when its upload answers."""
        return [self.put_bytes(data) for data in blobs]

    def _upload(self, data: BinaryIO, ref: BlobRef, retention: Retention | None) -> BlobRef:
        key = self.key(ref.sha256)
        if self._exists_key(key):
            if retention is not None:
                self.retain(ref.sha256, retention)
            return ref
        lock = S3Retention(COMPLIANCE, retention.until) if retention and retention.until else None
        try:
            self.client.put_object(
                self.bucket, key, data, ref.size,
                metadata={"sha256": ref.sha256},
                part_size=_PART, num_parallel_uploads=_PARALLEL,
                retention=lock, legal_hold=bool(retention and retention.legal_hold),
            )
        except S3Error as exc:
            if retention is not None and exc.code in _LOCK_REFUSED:
                raise self._no_lock(exc) from exc
            raise self._translate(f"cannot write {ref.sha256}", exc) from exc
        except (ServerError, InvalidResponseError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._translate(f"cannot write {ref.sha256}", exc) from exc
        return ref

    def _no_lock(self, exc: S3Error) -> RetentionUnsupported:
        return RetentionUnsupported(
            f"object store s3://{self.bucket}: the bucket cannot hold a retention ({exc.code}); "
            "create it with Object Lock enabled"
        )

    # --- retention ---

    def retain(self, sha256: str, retention: Retention) -> None:
        """Set or extend the COMPLIANCE retention of the blob's current version, and/or put it under legal hold.
        A date earlier than the one in force is left alone (COMPLIANCE can only be extended)."""
        key = self.key(sha256)
        try:
            if retention.until is not None:
                current = self._current_until(key)
                if current is None or current < retention.until:
                    self.client.set_object_retention(self.bucket, key, S3Retention(COMPLIANCE, retention.until))
            if retention.legal_hold:
                self.client.enable_object_legal_hold(self.bucket, key)
        except S3Error as exc:
            if exc.code in _LOCK_REFUSED:
                raise self._no_lock(exc) from exc
            raise self._translate(f"cannot retain {sha256}", exc) from exc
        except (ServerError, InvalidResponseError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._translate(f"cannot retain {sha256}", exc) from exc

    def _current_until(self, key: str) -> Any:
        try:
            current = self.client.get_object_retention(self.bucket, key)
        except S3Error as exc:
            if exc.code in ("NoSuchObjectLockConfiguration", "ObjectLockConfigurationNotFoundError"):
                return None
            raise
        return current.retain_until_date if current is not None else None

    def retention_enabled(self) -> bool:
        """Whether the bucket has Object Lock enabled (a start-up check for an archive store)."""
        try:
            config = self.client.get_object_lock_config(self.bucket)
        except S3Error as exc:
            if exc.code in _LOCK_REFUSED:
                return False
            raise self._translate("cannot read the Object Lock configuration", exc) from exc
        except (ServerError, InvalidResponseError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._translate("cannot read the Object Lock configuration", exc) from exc
        return config is not None

    def create_bucket(self, *, object_lock: bool = False) -> None:
        """Create the bucket if it does not exist (tests, first installs); ``object_lock`` turns on versioning and
        Object Lock, which S3 allows only at creation."""
        if self._call("cannot look up the bucket", self.client.bucket_exists, self.bucket):
            return
        self._call("cannot create the bucket", self.client.make_bucket, self.bucket, object_lock=object_lock)

    # --- reads ---

    def _exists_key(self, key: str) -> bool:
        try:
            self._call("cannot look up an object", self.client.stat_object, self.bucket, key)
        except BlobNotFound:
            return False
        return True

    def open(self, sha256: str) -> BinaryIO:
        key = self.key(sha256)
        response = self._call(f"cannot read {sha256}", self.client.get_object, self.bucket, key)
        return io.BufferedReader(_ResponseReader(response, f"object store s3://{self.bucket}: {sha256}"), _CHUNK)

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as fh:
            return fh.read()

    def exists(self, sha256: str) -> bool:
        try:
            return self._exists_key(self.key(sha256))
        except BlobNotFound:
            return False

    def check(self) -> None:
        """The bucket answers to the gateway's credentials (a HEAD on it: nothing is written, since on an Object
        Lock bucket a probe object could never be removed)."""
        if not self._call("cannot look up the bucket", self.client.bucket_exists, self.bucket):
            raise ObjectStoreRefused(f"object store s3://{self.bucket}: the bucket does not exist")

    def iter_keys(self) -> Iterator[str]:
        """Every blob address in the store (audits and tests)."""
        try:
            for item in self.client.list_objects(self.bucket, prefix=self._prefix, recursive=True):
                yield (item.object_name or "").rsplit("/", 1)[-1]
        except (S3Error, ServerError, InvalidResponseError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._translate("cannot list", exc) from exc


def _hash(stream: BinaryIO, out: Any) -> BlobRef:
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if out is not None:
            out.write(chunk)
    return BlobRef(digest.hexdigest(), size)


def _status(exc: Exception) -> str:
    return str(getattr(exc, "status_code", None) or "5xx")


def _cause(exc: Exception) -> str:
    """The innermost reason (ConnectionRefusedError, a timeout…) without hosts or URLs."""
    reason = getattr(exc, "reason", None)
    inner = reason if isinstance(reason, BaseException) else exc
    while inner.__cause__ is not None or inner.__context__ is not None:
        nxt = inner.__cause__ or inner.__context__
        assert nxt is not None
        inner = nxt
    return type(inner).__name__

