"""The S3 object store goes away while the gateway runs (issue 20 item 1, issue 22 item 3).

A private SeaweedFS server (tests/support/s3server.py) backs a real gateway; a document is submitted; the server
is SIGKILLed. A submit and a read of a stored package must answer 503 problem+json with ``Retry-After`` and the
stable code ``object_store_unavailable``, ``/readyz`` must name the stores that are down (the blob store and
archive copy 1, not copy 2 on another server; no address), and
everything must work again once the server is back on the same port.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.env import require
from tests.support.exchange import header
from tests.support.gateway import A, B, Env, gateway_env
from tests.support.pdfs import simple_pdf
from tests.support.s3server import S3Server, start_weed


@pytest.fixture
def private_s3() -> Iterator[S3Server]:
    root = Path(tempfile.mkdtemp(prefix="edoc-s3-private-"))
    started = start_weed(root)
    try:
        if isinstance(started, str):
            require(False, f"no local S3 server: {started}")
            raise AssertionError("unreachable")
        yield started
        started.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def env(private_s3: S3Server, s3_server: S3Server, tmp_path: Path) -> Iterator[Env]:
    """Blobs on the private server; archive copy 1 there too, copy 2 on the session's server (stays up)."""
    url = private_s3.new_bucket_url()
    archives = [private_s3.new_bucket_url(object_lock=True), s3_server.new_bucket_url(object_lock=True)]
    db = f"sqlite:///{tmp_path / 'edoc.sqlite3'}"
    yield from gateway_env(db, tmp_path, storage_url=url, inline_blob_max_bytes=0, archive_urls=archives)


def _submit(env: Env, number: str) -> object:
    """A new document each time (a repeated số/ký hiệu would be answered from the database alone)."""
    data = {"header": json.dumps(header(A, [B], number=number))}
    return env.http.post("/api/v1/edocs", headers=env.as_("A"), data=data,
                         files=[("files", ("cv.pdf", simple_pdf(1), "application/pdf"))])


def _unavailable(resp: object) -> None:
    assert resp.status_code == 503, (resp.status_code, resp.text)  # type: ignore[attr-defined]
    assert int(resp.headers["retry-after"]) > 0  # type: ignore[attr-defined]
    assert resp.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    assert resp.json()["code"] == "object_store_unavailable", resp.text  # type: ignore[attr-defined]


def test_object_store_away_answers_503_names_it_in_readyz_and_comes_back(env: Env, private_s3: S3Server) -> None:
    first = _submit(env, "21")
    assert first.status_code == 202, first.text  # type: ignore[attr-defined]
    doc_id = first.json()["id"]  # type: ignore[attr-defined]
    everything_ok = {"database": "ok", "objects": "ok", "archive-1": "ok", "archive-2": "ok"}
    assert env.http.get("/readyz").json()["checks"] == everything_ok
    assert env.gw.store.url.startswith("s3://")

    private_s3.kill()
    _unavailable(_submit(env, "22"))
    _unavailable(env.http.get(f"/api/v1/edocs/{doc_id}/edxml", headers=env.as_("A")))
    ready = env.http.get("/readyz")
    assert ready.status_code == 503
    down = "fail: object_store_unavailable"
    assert ready.json()["checks"] == {"database": "ok", "objects": down, "archive-1": down, "archive-2": "ok"}
    assert private_s3.endpoint not in ready.text and private_s3.secret_key not in ready.text

    private_s3.restart()
    assert env.http.get("/readyz").json()["checks"] == everything_ok
    # The S3 port answers before the volume server has re-registered: reads come back within seconds, and each
    # refusal meanwhile is the same retryable 503.
    deadline = time.monotonic() + 60
    while (read := env.http.get(f"/api/v1/edocs/{doc_id}/edxml", headers=env.as_("A"))).status_code != 200:
        _unavailable(read)
        assert time.monotonic() < deadline, "reads did not resume within 60 s of the restart"
        time.sleep(0.5)
    while (sent := _submit(env, "23")).status_code != 202:  # type: ignore[attr-defined]
        _unavailable(sent)
        assert time.monotonic() < deadline, "writes did not resume within 60 s of the restart"
        time.sleep(0.5)
