"""SIGKILL the worker while it writes AIPs (issue 20, done-when): no AIP is left half-registered (a copy row
exists only for a complete AIP), and after a restart every document has exactly one complete AIP with exactly
one copy per archive store, each object present and hashing to its recorded digest. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from service.archive.archiving import sweep
from storage import archive as repo
from tests.integration.test_archive import complete_exchange
from tests.support.gateway import gateway_env
from tests.support.server import EDOC, ROOT

pytestmark = pytest.mark.slow
DOCS = 10


def _counts(gw) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """(complete AIPs, pending AIPs, copy rows of pending AIPs)."""
    with gw.sessions() as session:
        rows = [repo.aip_of_package(session, c) for c in _docs]
        copies_of_pending = sum(len(repo.copies_of(session, a.id)) for a in rows if a and a.state != "complete")
    done = sum(1 for a in rows if a and a.state == "complete")
    return done, sum(1 for a in rows if a and a.state == "pending"), copies_of_pending


_docs: list[str] = []


def _worker(env_vars: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([str(EDOC), "worker"], env=env_vars, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)


def test_sigkill_while_archiving_leaves_one_complete_aip_per_copy(empty_database_url: str, tmp_path: Path) -> None:
    urls = ((tmp_path / "copy-1").as_uri(), (tmp_path / "copy-2").as_uri())
    for env in gateway_env(empty_database_url, tmp_path, archive_urls=urls, archive_sweep_seconds=0):
        _docs.clear()
        for n in range(DOCS):  # each with a PDF of a few MB, so that writing the copies takes a while
            _docs.append(complete_exchange(env, pdf=b"%PDF-1.4\n" + os.urandom(3 * 1024 * 1024),
                                       number=str(100 + n)))
        assert sweep(env.gw) == DOCS
        variables = {
            **os.environ,
            "EDOC_DATA_DIR": str(tmp_path),
            "EDOC_DATABASE_URL": empty_database_url,
            "EDOC_STORAGE_URL": (tmp_path / "objects").as_uri(),
            "EDOC_ARCHIVE_URLS": ",".join(urls),
            "EDOC_ARCHIVE_SWEEP_SECONDS": "0",
            "EDOC_WORKER_LEASE_SECONDS": "2",
            "EDOC_WORKER_BATCH": "1",
            "EDOC_WORKER_POLL_SECONDS": "0.05",
        }
        log = tmp_path / "worker.log"
        proc = _worker(variables, log)
        deadline = time.monotonic() + 120
        while _counts(env.gw)[0] < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # mid-stream: some AIPs written, one being written, some not started
        proc.wait(timeout=10)
        done, pending, half = _counts(env.gw)
        assert done + pending == DOCS
        assert half == 0, "a pending AIP has copy rows"
        assert 0 < done < DOCS, (done, log.read_text()[-2000:])

        proc = _worker(variables, log)
        try:
            deadline = time.monotonic() + 180
            while _counts(env.gw)[0] < DOCS and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        assert _counts(env.gw) == (DOCS, 0, 0), log.read_text()[-3000:]
        stores = env.gw.archive_copies
        with env.gw.sessions() as session:
            for doc in _docs:
                aip = repo.aip_of_package(session, doc)
                assert aip is not None
                copies = repo.copies_of(session, aip.id)
                assert sorted(c.store_url for c in copies) == sorted(s.url for s in stores)
                for store, copy in zip(stores, copies, strict=True):
                    for path, entry in copy.files.items():
                        data = store.read(entry["sha256"])
                        assert hashlib.sha256(data).hexdigest() == entry["sha256"], path


def test_a_running_worker_sweeps_archives_and_audits_on_its_own(empty_database_url: str, tmp_path: Path) -> None:
    """No explicit sweep: ``edoc worker`` finds the completed exchange, archives it, then audits the copy."""
    for env in gateway_env(empty_database_url, tmp_path, archive_sweep_seconds=0):
        doc = complete_exchange(env)
        variables = {
            **os.environ,
            "EDOC_DATA_DIR": str(tmp_path),
            "EDOC_DATABASE_URL": empty_database_url,
            "EDOC_STORAGE_URL": (tmp_path / "objects").as_uri(),
            "EDOC_ARCHIVE_SWEEP_SECONDS": "0.2",
            "EDOC_WORKER_POLL_SECONDS": "0.05",
            "EDOC_FIXITY_DAYS": "0.00002",  # 1.7 s: the copy is due again soon after it was written
        }
        log = tmp_path / "worker.log"
        proc = _worker(variables, log)
        try:
            deadline, copy = time.monotonic() + 60, None
            while time.monotonic() < deadline and (copy is None or copy.checked_at is None):
                with env.gw.sessions() as session:
                    aip = repo.aip_of_package(session, doc)
                    copies = repo.copies_of(session, aip.id) if aip is not None else []
                copy = copies[0] if copies else None
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        assert copy is not None and copy.checked_at is not None, log.read_text()[-3000:]
        assert copy.store_url == (tmp_path / "archive").resolve().as_uri()  # the development default
        with env.gw.sessions() as session:
            assert [c["outcome"] for c in repo.fixity_checks(session, copy.aip_id)] == ["ok"]
