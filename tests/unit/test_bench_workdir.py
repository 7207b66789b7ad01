"""bench/harness.py: the folder each bench run gets, and the measured cost of creating a file there."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import harness


def test_a_given_workdir_is_used_as_it_is_and_the_run_folder_is_removed(tmp_path: Path) -> None:
    with harness.bench_folder("edoc-test-", tmp_path) as folder:
        assert folder.parent == tmp_path and folder.name.startswith("edoc-test-")
        (folder / "objects").mkdir()
        (folder / "objects" / "blob").write_bytes(b"x")
    assert not folder.exists()
    assert list(tmp_path.iterdir()) == []


def test_the_default_parent_spreads_its_folders_where_the_filesystem_can(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harness.tempfile, "tempdir", str(tmp_path))
    with harness.bench_folder("edoc-test-") as folder:
        parent = tmp_path / "edoc-bench"
        assert folder.parent == parent
        marked = harness.topdir_marked(parent)
        if marked is None:
            pytest.skip("this filesystem has no inode attributes (FS_IOC_GETFLAGS): nothing is marked there")
        if not marked and not harness._mark_topdir(parent):
            pytest.skip("this filesystem refuses the TOPDIR attribute: bench_folder leaves the parent as it is")
        assert marked, "the parent of the bench folders is not marked TOPDIR (chattr +T)"


def test_file_create_ms_measures_creates_and_keeps_the_files_it_made(tmp_path: Path) -> None:
    first = harness.file_create_ms(tmp_path, count=20)
    second = harness.file_create_ms(tmp_path, count=5)
    assert first > 0 and second > 0
    assert len(list((tmp_path / ".create-probe").iterdir())) == 25  # kept: deleting them makes later creates dearer
