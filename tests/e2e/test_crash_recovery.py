"""SIGKILL the gateway while submissions and deliveries are in flight; after a restart nothing accepted is lost
and nothing is delivered twice (issue "Done when", third point). Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.gateway import A, B, C, provision
from tests.support.pdfs import simple_pdf
from tests.support.server import GatewayProcess

pytestmark = pytest.mark.slow
DOCS = 60


def _submit(client: httpx.Client, key: str, n: int, pdf: bytes) -> httpx.Response:
    header = {
        "from": A,
        "to": [B, C],
        "code": {"number": str(n), "notation": "STTTT-VP"},
        "subject": f"Văn bản số {n}",
        "date": "2026-11-20",
    }
    return client.post(
        "/api/v1/edocs",
        data={"header": json.dumps(header, ensure_ascii=False)},
        files=[("files", (f"vb-{n}.pdf", pdf, "application/pdf"))],
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": f"crash-{n}"},
    )


def _inbox_ids(base: str, key: str) -> list[str]:
    ids, after = [], None
    with httpx.Client(base_url=base, timeout=30) as client:
        while True:
            params = {"limit": 500, **({"after": after} if after else {})}
            page = client.get("/api/v1/inbox", params=params, headers={"Authorization": f"Bearer {key}"}).json()
            ids += [i["id"] for i in page["items"] if i["kind"] == "edoc"]
            after = page["next_cursor"]
            if not after:
                return ids


def test_sigkill_loses_nothing_and_duplicates_nothing(empty_database_url: str, tmp_path: Path) -> None:
    keys = provision(empty_database_url, tmp_path, prefix="crash")
    server = GatewayProcess(
        tmp_path, database_url=empty_database_url, worker_poll_seconds="0.05", worker_lease_seconds="3"
    ).start()
    pdf = simple_pdf(2)
    accepted: dict[int, str] = {}
    failed: list[int] = []
    lock = threading.Lock()

    def sender(numbers: range) -> None:
        with httpx.Client(base_url=server.base, timeout=30) as client:
            for n in numbers:
                try:
                    resp = _submit(client, keys["A"], n, pdf)
                    with lock:
                        if resp.status_code == 202:
                            accepted[n] = resp.json()["id"]
                        else:
                            failed.append(n)
                except httpx.HTTPError:
                    with lock:
                        failed.append(n)

    threads = [threading.Thread(target=sender, args=(range(i, DOCS, 4),)) for i in range(4)]
    for thread in threads:
        thread.start()
    while len(accepted) < DOCS // 3:
        time.sleep(0.01)
    server.kill()  # mid-stream: submissions and deliveries are in flight
    for thread in threads:
        thread.join()
    assert failed, "the kill should have interrupted some submissions"

    server.start()
    try:
        with httpx.Client(base_url=server.base, timeout=30) as client:
            for n in sorted(failed):  # the DMS retries what it did not get an answer for, with the same key
                resp = _submit(client, keys["A"], n, pdf)
                assert resp.status_code == 202, resp.text
                accepted[n] = resp.json()["id"]
        assert len(accepted) == DOCS
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            b_ids, c_ids = _inbox_ids(server.base, keys["B"]), _inbox_ids(server.base, keys["C"])
            if len(b_ids) >= DOCS and len(c_ids) >= DOCS:
                break
            time.sleep(0.2)
        expected = sorted(accepted.values())
        assert sorted(b_ids) == expected  # every accepted document, exactly once
        assert sorted(c_ids) == expected
    finally:
        server.stop()
