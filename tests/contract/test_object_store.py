"""The object-store port's contract, written once and run against every backend (STYLE.md 3)."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from storage import objects
from storage.errors import BlobNotFound, StorageError, UnknownBackend
from storage.interfaces import ObjectStore
from tests.support.s3server import S3Server


class ObjectStoreContract:
    """Subclass with a ``store`` fixture returning a fresh, empty store."""

    def test_put_bytes_is_content_addressed(self, store: ObjectStore) -> None:
        ref = store.put_bytes(b"v\xc4\x83n b\xe1\xba\xa3n")
        assert ref.sha256 == hashlib.sha256(b"v\xc4\x83n b\xe1\xba\xa3n").hexdigest()
        assert ref.size == 10
        assert store.read(ref.sha256) == b"v\xc4\x83n b\xe1\xba\xa3n"
        assert store.exists(ref.sha256)

    def test_same_bytes_twice_give_the_same_ref(self, store: ObjectStore) -> None:
        assert store.put_bytes(b"x" * 100) == store.put_bytes(b"x" * 100)

    def test_stream_larger_than_a_chunk(self, store: ObjectStore) -> None:
        data = os.urandom(3 * 1024 * 1024 + 17)
        ref = store.put_stream(io.BytesIO(data))
        assert ref.size == len(data)
        with store.open(ref.sha256) as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == ref.sha256

    def test_put_file(self, store: ObjectStore, tmp_path: Path) -> None:
        path = tmp_path / "a.pdf"
        path.write_bytes(b"%PDF-1.7 test")
        assert store.read(store.put_file(path).sha256) == b"%PDF-1.7 test"

    def test_missing_blob_is_a_clear_error(self, store: ObjectStore) -> None:
        missing = "0" * 64
        assert not store.exists(missing)
        with pytest.raises(BlobNotFound):
            store.read(missing)

    def test_malformed_address_is_refused(self, store: ObjectStore) -> None:
        with pytest.raises(BlobNotFound):
            store.read("../../etc/passwd")
        assert not store.exists("../x")

    def test_empty_blob(self, store: ObjectStore) -> None:
        ref = store.put_bytes(b"")
        assert ref.size == 0 and store.read(ref.sha256) == b""

    def test_check_passes_on_a_healthy_store(self, store: ObjectStore) -> None:
        store.check()

    def test_put_many_answers_each_blobs_ref_in_order(self, store: ObjectStore) -> None:
        blobs = [b"package", os.urandom(3 * 1024 * 1024 + 5), b"", b"package"]  # a duplicate, an empty one
        refs = store.put_many(blobs)
        assert [(r.sha256, r.size) for r in refs] == [(hashlib.sha256(b).hexdigest(), len(b)) for b in blobs]
        assert [store.read(r.sha256) for r in refs] == blobs
        assert store.put_many([]) == []
        assert store.put_many([b"package"]) == [store.put_bytes(b"package")]

    def test_says_whether_it_enforces_retention(self, store: ObjectStore) -> None:
        assert isinstance(store.enforces_retention, bool)

    def test_retain_of_a_missing_blob_is_a_clear_error(self, store: ObjectStore) -> None:
        from storage.interfaces import Retention

        with pytest.raises(StorageError):
            store.retain("0" * 64, Retention.permanent())


class TestS3ObjectStore(ObjectStoreContract):
    """The same contract on a real S3 server (SeaweedFS on loopback, tests/support/s3server.py); the S3-only
    behaviour (large objects, retention, a store that is down) is in tests/integration/test_s3_store.py."""

    @pytest.fixture
    def store(self, s3_server: S3Server) -> ObjectStore:
        store: ObjectStore = s3_server.store()
        return store


class TestFilesystemObjectStore(ObjectStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> ObjectStore:
        return objects.from_url((tmp_path / "objects").as_uri())

    def test_no_partial_blob_is_left_behind_on_failure(self, store: ObjectStore) -> None:
        class Broken(io.RawIOBase):
            def read(self, n: int = -1) -> bytes:
                raise OSError("disk gone")

        with pytest.raises(StorageError):
            store.put_stream(Broken())  # type: ignore[arg-type]
        root = Path(store.url.removeprefix("file://"))
        assert [p for p in root.rglob("*") if p.is_file()] == []

    def test_a_put_makes_the_new_names_durable(self, store: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
        """The blob's bytes are fsynced before the rename, then every folder that got a new name: the blob's own
        folder, and for the first blob under a prefix the folders above the new prefix folders."""
        import stat

        from storage.objects import filesystem

        synced: list[str] = []
        real_fsync = os.fsync

        def spy(fd: int) -> None:
            info = os.fstat(fd)
            synced.append(f"dir:{info.st_ino}" if stat.S_ISDIR(info.st_mode) else "file")
            real_fsync(fd)

        monkeypatch.setattr(filesystem.os, "fsync", spy)
        root = Path(store.url.removeprefix("file://"))
        ref = store.put_bytes(b"first blob under its prefix")
        blob = root / ref.sha256[:2] / ref.sha256[2:4] / ref.sha256
        inode = {p: f"dir:{p.stat().st_ino}" for p in (root, blob.parent.parent, blob.parent)}
        assert synced[0] == "file"
        assert set(synced[1:]) == set(inode.values())  # the root, the ab folder, and the cd folder
        assert synced[-1] == inode[blob.parent]

        synced.clear()
        again = store.put_bytes(b"first blob under its prefix")  # same name, same folder: the file and its folder
        assert again == ref and synced == ["file", inode[blob.parent]]

    def test_put_many_syncs_every_file_before_any_rename_and_each_folder_once(
        self, store: ObjectStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A batch is durable as a whole: every file's bytes are fsynced before the first rename, and after the
        renames every folder that got a name is fsynced, once even if several blobs landed in it."""
        import stat

        from storage.objects import filesystem

        events: list[str] = []
        real_fsync, real_replace = os.fsync, os.replace

        def spy_fsync(fd: int) -> None:
            events.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
            real_fsync(fd)

        def spy_replace(src: str, dst: Path) -> None:
            real_replace(src, dst)  # may fail for a new prefix folder (made, then tried again): counted if it worked
            events.append("rename")

        store.put_bytes(b"seed")  # the tmp folder exists
        monkeypatch.setattr(filesystem.os, "fsync", spy_fsync)
        monkeypatch.setattr(filesystem.os, "replace", spy_replace)
        store.put_many([b"one", b"two", b"three", b"one"])
        renames = [n for n, e in enumerate(events) if e == "rename"]
        assert events[: renames[0]] == ["file"] * 4 and len(renames) == 4
        assert set(events[renames[-1] + 1 :]) == {"dir"} and "dir" not in events[: renames[-1]]
        root = Path(store.url.removeprefix("file://"))
        folders = {p for p in root.rglob("*") if p.is_dir() and p.name != "tmp"}
        assert events.count("dir") <= len(folders) + 1  # each folder at most once (the root for new prefixes)

    def test_a_batch_that_fails_leaves_none_of_its_blobs_behind(
        self, store: ObjectStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from storage.objects import filesystem

        real_fsync, calls = os.fsync, []

        def failing_second_fsync(fd: int) -> None:
            calls.append(fd)
            if len(calls) == 2:
                raise OSError(5, "Input/output error")
            real_fsync(fd)

        monkeypatch.setattr(filesystem.os, "fsync", failing_second_fsync)
        with pytest.raises(StorageError, match="Input/output error"):
            store.put_many([b"first", b"second", b"third"])
        root = Path(store.url.removeprefix("file://"))
        assert [p for p in root.rglob("*") if p.is_file()] == []  # no blob named, no temporary file left

    def test_does_not_enforce_retention(self, store: ObjectStore) -> None:
        """A folder cannot keep anyone from deleting a file: the flag says so and production refuses it."""
        from datetime import UTC, datetime, timedelta

        from storage.interfaces import Retention

        assert store.enforces_retention is False
        ref = store.put_bytes(b"kept?", retention=Retention(datetime.now(UTC) + timedelta(days=1)))
        store.retain(ref.sha256, Retention.permanent())  # accepted and ignored
        assert store.read(ref.sha256) == b"kept?"

    def test_check_fails_when_the_folder_cannot_take_files(self, tmp_path: Path) -> None:
        store = objects.from_url((tmp_path / "ro").as_uri())
        # A regular file where the store's temp folder should be: no write can succeed, even as root.
        tmp = tmp_path / "ro" / "tmp"
        if tmp.is_dir():
            tmp.rmdir()
        tmp.write_bytes(b"not a folder")
        with pytest.raises(StorageError):
            store.check()
        with pytest.raises(StorageError):
            store.put_bytes(b"x")


def test_unknown_scheme_names_the_known_ones() -> None:
    with pytest.raises(UnknownBackend, match="file://"):
        objects.from_url("ftp://example/bucket")


def test_schemes_resolve_through_the_alias_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheme added to the table is served by the backend it names (as ``s3://`` plugs in)."""
    monkeypatch.setitem(objects.BACKENDS, "local", "storage.objects.filesystem:FilesystemObjectStore")
    store = objects.from_url(f"local://{tmp_path / 'aliased'}")
    assert store.read(store.put_bytes(b"alias").sha256) == b"alias"
    assert (tmp_path / "aliased").is_dir()
    with pytest.raises(UnknownBackend, match="file://, s3://, local://"):
        objects.from_url("ftp://example/bucket")
