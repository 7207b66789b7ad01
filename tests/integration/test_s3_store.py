"""The S3 object store against a real S3 server (SeaweedFS on loopback): what the shared contract cannot say.

Large objects stream with flat memory; a put of bytes already there writes nothing; a store that is down or
refuses the gateway raises a stable storage error quickly; and Object Lock retention written by the store is
enforced by the **server**: the tests delete and overwrite with the raw S3 client, not through our code.
"""

from __future__ import annotations

import hashlib
import io
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from minio.error import S3Error

from storage import objects
from storage.errors import (
    BlobNotFound,
    InvalidStoreUrl,
    ObjectStoreRefused,
    ObjectStoreUnavailable,
    RetentionUnsupported,
    UnknownBackend,
)
from storage.interfaces import Retention
from storage.objects.s3 import S3Location, S3ObjectStore
from tests.support.s3server import S3Server

MiB = 1024 * 1024


class _Generated(io.RawIOBase):
    """``size`` pseudo-random bytes produced on demand (never held whole), hashing what it hands out."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.digest = hashlib.sha256()
        self._block = hashlib.sha512(b"seed").digest() * 2048  # 128 KiB

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left, len(self._block))
        if n <= 0:
            return 0
        chunk = self._block[:n]
        self._block = hashlib.sha512(self._block[:64]).digest() + self._block[64:]  # vary the next block
        buffer[:n] = chunk
        self.digest.update(chunk)
        self.left -= n
        return n


def test_a_large_object_streams_both_ways_with_flat_memory(s3_server: S3Server) -> None:
    """130 MiB up (multipart, from a stream of unknown hash) and down, with Python's allocations staying under
    a fixed bound whatever the size: the parts in flight and the spool's buffer, not the object."""
    store = s3_server.store()
    size = 130 * MiB + 7
    source = _Generated(size)
    tracemalloc.start()
    try:
        ref = store.put_stream(io.BufferedReader(source, MiB))  # type: ignore[arg-type]
        _, peak_put = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest, got = hashlib.sha256(), 0
        with store.open(ref.sha256) as fh:
            while chunk := fh.read(MiB):
                digest.update(chunk)
                got += len(chunk)
        _, peak_get = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ref.size == size and ref.sha256 == source.digest.hexdigest()
    assert got == size and digest.hexdigest() == ref.sha256
    assert peak_put < 48 * MiB, f"put peaked at {peak_put / MiB:.1f} MiB"
    assert peak_get < 8 * MiB, f"get peaked at {peak_get / MiB:.1f} MiB"


def test_put_of_bytes_already_stored_writes_nothing(s3_server: S3Server) -> None:
    """On a versioned bucket every write is a version: a second put of the same bytes must add none."""
    store = s3_server.store(object_lock=True)  # Object Lock buckets are versioned
    first = store.put_bytes(b"once only")
    again = store.put_stream(io.BytesIO(b"once only"))  # type: ignore[arg-type]
    assert again == first
    versions = list(store.client.list_objects(store.bucket, include_version=True, recursive=True))
    assert [v.object_name for v in versions] == [store.key(first.sha256)]


def test_a_large_file_put_hashes_first_and_uploads_once(s3_server: S3Server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "big.pdf"
    with open(path, "wb") as out:
        src = _Generated(20 * MiB)
        while chunk := src.read(MiB):
            out.write(chunk)
    store = s3_server.store()
    ref = store.put_file(path)
    assert ref.sha256 == src.digest.hexdigest() and store.exists(ref.sha256)
    assert store.client.stat_object(store.bucket, store.key(ref.sha256)).metadata["x-amz-meta-sha256"] == ref.sha256


# --- a store that is down or refuses ---


def test_a_store_that_is_down_fails_fast_with_a_stable_code(s3_server: S3Server) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    store = objects.from_url(f"s3://k:s@edoc-down?endpoint=127.0.0.1:{port}&secure=0&region=us-east-1")
    started = time.monotonic()
    for call in (store.check, lambda: store.put_bytes(b"x"), lambda: store.read("a" * 64),
                 lambda: store.exists("a" * 64)):
        with pytest.raises(ObjectStoreUnavailable) as info:
            call()
        assert info.value.code == "object_store_unavailable"
        assert "k:s" not in str(info.value) and str(port) not in str(info.value)
    assert time.monotonic() - started < 10


def test_wrong_credentials_and_a_missing_bucket_are_refusals(s3_server: S3Server) -> None:
    wrong = objects.from_url(s3_server.url("edoc-whatever").replace(s3_server.secret_key, "not-the-secret"))
    with pytest.raises(ObjectStoreRefused) as info:
        wrong.check()
    assert "not-the-secret" not in str(info.value)
    missing = objects.from_url(s3_server.url("edoc-no-such-bucket"))
    with pytest.raises(ObjectStoreRefused, match="does not exist"):
        missing.check()


def test_a_missing_object_is_blob_not_found(s3_server: S3Server) -> None:
    store = s3_server.store()
    with pytest.raises(BlobNotFound):
        store.open("b" * 64)


# --- retention: enforced by the S3 server ---


def test_a_locked_version_cannot_be_deleted_or_overwritten_before_its_date(s3_server: S3Server) -> None:
    store = s3_server.store(object_lock=True)
    assert store.retention_enabled()
    ref = store.put_bytes(b"van ban luu tru", retention=Retention(datetime.now(UTC) + timedelta(days=3650)))
    key = store.key(ref.sha256)
    version = store.client.stat_object(store.bucket, key).version_id
    assert store.client.get_object_retention(store.bucket, key).mode == "COMPLIANCE"

    with pytest.raises(S3Error) as refused:  # the server refuses: our code is not in the way
        store.client.remove_object(store.bucket, key, version_id=version)
    assert refused.value.code == "AccessDenied"
    # Overwriting the key makes a new version; the locked one stays, bytes intact.
    store.client.put_object(store.bucket, key, io.BytesIO(b"tampered"), 8)
    kept = store.client.get_object(store.bucket, key, version_id=version)
    try:
        assert kept.read() == b"van ban luu tru"
    finally:
        kept.close()
        kept.release_conn()
    # Shortening a COMPLIANCE retention is refused too; retain() never tries (extend only).
    from minio.commonconfig import COMPLIANCE
    from minio.retention import Retention as S3Retention

    with pytest.raises(S3Error):
        store.client.set_object_retention(
            store.bucket, key, S3Retention(COMPLIANCE, datetime.now(UTC) + timedelta(days=1)), version_id=version
        )


def test_a_legal_hold_keeps_a_permanent_blob(s3_server: S3Server) -> None:
    store = s3_server.store(object_lock=True)
    ref = store.put_stream(io.BytesIO(b"vinh vien"), retention=Retention.permanent())  # type: ignore[arg-type]
    key = store.key(ref.sha256)
    version = store.client.stat_object(store.bucket, key).version_id
    assert store.client.is_object_legal_hold_enabled(store.bucket, key, version_id=version)
    with pytest.raises(S3Error) as refused:
        store.client.remove_object(store.bucket, key, version_id=version)
    assert refused.value.code == "AccessDenied"


def test_a_retention_given_for_bytes_already_stored_is_applied_to_them(s3_server: S3Server) -> None:
    store = s3_server.store(object_lock=True)
    ref = store.put_bytes(b"stored before it was archived")
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    store.put_bytes(b"stored before it was archived", retention=Retention(until))
    key = store.key(ref.sha256)
    assert store.client.get_object_retention(store.bucket, key).retain_until_date >= until
    store.retain(ref.sha256, Retention(until - timedelta(days=10)))  # earlier: left alone, no error
    assert store.client.get_object_retention(store.bucket, key).retain_until_date >= until


def test_the_lock_is_what_refuses_once_the_date_has_passed_the_delete_works(s3_server: S3Server) -> None:
    store = s3_server.store(object_lock=True)
    ref = store.put_bytes(b"short-lived", retention=Retention(datetime.now(UTC) + timedelta(seconds=3)))
    key = store.key(ref.sha256)
    version = store.client.stat_object(store.bucket, key).version_id
    with pytest.raises(S3Error):
        store.client.remove_object(store.bucket, key, version_id=version)
    time.sleep(4)
    store.client.remove_object(store.bucket, key, version_id=version)
    assert not store.exists(ref.sha256)


def test_a_bucket_without_object_lock_refuses_a_retention_clearly(s3_server: S3Server) -> None:
    store = s3_server.store(object_lock=False)
    assert not store.retention_enabled()
    with pytest.raises(RetentionUnsupported, match="Object Lock"):
        store.put_bytes(b"x", retention=Retention.permanent())


# --- URLs ---


def test_url_forms_and_credentials() -> None:
    loc = S3Location.parse("s3://AK:S%2Fk@edoc-archive/node-1?endpoint=http://minio:9000&region=vn-1", environ={})
    assert (loc.bucket, loc.prefix, loc.endpoint, loc.secure, loc.region) == (
        "edoc-archive", "node-1", "minio:9000", False, "vn-1")
    assert (loc.access_key, loc.secret_key) == ("AK", "S/k")
    assert "AK" not in loc.url and "S/k" not in loc.url
    env = {"EDOC_S3_ACCESS_KEY": "from-env", "EDOC_S3_SECRET_KEY": "secret-env"}
    loc = S3Location.parse("s3://edoc?endpoint=10.0.0.5:9000", environ=env)
    assert (loc.access_key, loc.secret_key, loc.secure) == ("from-env", "secret-env", True)
    assert S3Location.parse("s3://edoc?endpoint=h:1&secure=0", environ={}).secure is False


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://?endpoint=h:1", "bucket"),
        ("s3://Bad_Bucket?endpoint=h:1", "bucket"),
        ("s3://edoc?endpoint=h:1&colour=blue", "unknown s3 URL option 'colour'"),
        ("s3://edoc?endpoint=ftp://h:1", "http or https"),
        ("s3://edoc?endpoint=h:1&secure=maybe", "secure"),
        ("s3://onlykey@edoc?endpoint=h:1", "access key without a secret"),
    ],
)
def test_bad_urls_are_refused_in_one_line(url: str, message: str) -> None:
    with pytest.raises(InvalidStoreUrl, match=message) as info:
        objects.check_url(url)
    assert isinstance(info.value, UnknownBackend) and "\n" not in str(info.value)


def test_check_url_contacts_and_creates_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    objects.check_url((tmp_path / "not-made").as_uri())
    assert not (tmp_path / "not-made").exists()
    objects.check_url("s3://edoc?endpoint=127.0.0.1:1&secure=0")
    assert isinstance(objects.from_url("s3://edoc?endpoint=127.0.0.1:1"), S3ObjectStore)
