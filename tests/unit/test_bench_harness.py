"""bench/harness.py: the order of two versions in a paired run, the checkouts it accepts, the SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import harness


def test_two_versions_alternate_which_goes_first() -> None:
    orders = [list(harness.alternate(r, ["base", "new"])) for r in range(4)]
    assert orders == [["base", "new"], ["new", "base"], ["base", "new"], ["new", "base"]]


def test_a_folder_that_is_not_a_checkout_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as refused:
        harness.checkout(tmp_path)
    assert str(refused.value) == f"error: {tmp_path.resolve()} is not a checkout of edoc-gateway (no service/app.py)"
    assert harness.checkout(harness.ROOT / "bench" / "..") == harness.ROOT


def test_the_sqlite_database_lives_in_the_run_folder_and_an_unknown_backend_is_refused(tmp_path: Path) -> None:
    with harness.database("sqlite", tmp_path) as url:
        assert url == f"sqlite:///{tmp_path / 'edoc.sqlite3'}"
    with pytest.raises(SystemExit, match="unknown backend 'oracle'"), harness.database("oracle", tmp_path):
        pass


def test_a_process_tree_cpu_counts_this_process() -> None:
    import os

    spent = sum(range(3_000_000))  # some CPU of our own
    assert spent and harness.tree_cpu_seconds(os.getpid()) >= harness.cpu_seconds([os.getpid()]) > 0
