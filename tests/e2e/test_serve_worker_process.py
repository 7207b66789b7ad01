"""``edoc serve`` runs its delivery worker as one child process beside the HTTP processes (service/worker_process.py):
it delivers, the HTTP processes start no worker thread of their own, and it never outlives the gateway, whether
the gateway stops normally or is SIGKILLed."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.gateway import A, B, provision
from tests.support.pdfs import simple_pdf
from tests.support.server import GatewayProcess

pytestmark = pytest.mark.slow


def _worker_pid(server: GatewayProcess) -> int:
    """The delivery worker's pid, from its log line; checks that exactly one worker loop runs under the gateway."""
    lines = server.log.read_text().splitlines()
    children = [line for line in lines if "delivery worker process" in line]
    assert len(children) == 1, lines[-40:]
    pid = int(children[0].split("delivery worker process ")[1].split()[0])
    loops = [line for line in lines if re.search(r"delivery worker \S+:\d+:\d+ started", line)]
    assert len(loops) == 1 and f":{pid}:" in loops[0], loops  # no worker thread in any HTTP process
    return pid


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.1)
    return False


def _deliver_one(server: GatewayProcess, keys: dict[str, str], number: str) -> None:
    header = {"from": A, "to": [B], "code": {"number": number, "notation": "STTTT-VP"}, "subject": "Thử tiến trình",
              "date": "2026-11-20"}
    with httpx.Client(base_url=server.base, timeout=30) as client:
        resp = client.post(
            "/api/v1/edocs",
            data={"header": json.dumps(header, ensure_ascii=False)},
            files=[("files", ("vb.pdf", simple_pdf(1), "application/pdf"))],
            headers={"Authorization": f"Bearer {keys['A']}"},
        )
        assert resp.status_code == 202, resp.text
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            items = client.get("/api/v1/inbox", headers={"Authorization": f"Bearer {keys['B']}"}).json()["items"]
            if any(i["kind"] == "edoc" for i in items):
                return
            time.sleep(0.1)
    raise AssertionError("the document was not delivered")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_one_worker_process_delivers_and_dies_with_a_killed_gateway(tmp_path: Path, workers: str) -> None:
    url = f"sqlite:///{tmp_path / 'edoc.sqlite3'}"
    keys = provision(url, tmp_path, prefix="proc")
    server = GatewayProcess(tmp_path, database_url=url, worker_poll_seconds="0.05").start("--workers", workers)
    try:
        _deliver_one(server, keys, "71")
        worker_pid = _worker_pid(server)
        assert psutil.Process(worker_pid).ppid() == server.pid
        server.kill()  # SIGKILL: no shutdown code runs in the gateway
        assert _wait_gone(worker_pid), "the delivery worker outlived the killed gateway"
    finally:
        server.stop()


def test_a_normal_stop_stops_the_worker_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'edoc.sqlite3'}"
    keys = provision(url, tmp_path, prefix="proc")
    server = GatewayProcess(tmp_path, database_url=url, worker_poll_seconds="0.05").start()
    try:
        _deliver_one(server, keys, "72")
        worker_pid = _worker_pid(server)
    finally:
        server.stop()  # SIGTERM
    assert _wait_gone(worker_pid, timeout=2), "the delivery worker outlived the stopped gateway"
