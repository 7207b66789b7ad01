"""``edoc serve`` runs its delivery worker as one child process beside the HTTP processes (service/worker_process.py):
it delivers, the HTTP processes start no worker thread of their own, and it never outlives the gateway, whether
the gateway stops normally or is SIGKILLed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.gateway import A, B, provision
from tests.support.pdfs import simple_pdf
from tests.support.server import EDOC, ROOT, GatewayProcess

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
    """And the HTTP worker processes uvicorn starts for --workers 2 die with it too (service/worker_process.py:
    exit_with_parent_process); they used to keep the listening socket and go on answering."""
    url = f"sqlite:///{tmp_path / 'edoc.sqlite3'}"
    keys = provision(url, tmp_path, prefix="proc")
    server = GatewayProcess(tmp_path, database_url=url, worker_poll_seconds="0.05").start("--workers", workers)
    try:
        _deliver_one(server, keys, "71")
        worker_pid = _worker_pid(server)
        assert psutil.Process(worker_pid).ppid() == server.pid
        children = [child.pid for child in psutil.Process(server.pid).children(recursive=True)]
        # the delivery worker, and with --workers N > 1 uvicorn's N HTTP worker processes: none may outlive it
        assert worker_pid in children and len(children) >= (1 if workers == "1" else 1 + int(workers)), children
        server.kill()  # SIGKILL: no shutdown code runs in the gateway
        assert _wait_gone(worker_pid), "the delivery worker outlived the killed gateway"
        left = [pid for pid in children if not _wait_gone(pid)]
        assert not left, f"processes of the killed gateway still run: {left}"
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


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_edoc_worker_stops_on_sigterm_and_sigint_even_if_started_with_sigint_ignored(
    tmp_path: Path, signum: signal.Signals
) -> None:
    """The worker takes its stop signals with sigwait in a thread of its own (service/worker_process.py), not in a
    Python signal handler that could deadlock on the worker's own Event lock. A shell that starts a command in the
    background makes it ignore SIGINT; the worker still stops on it, as it did with a handler."""
    url = f"sqlite:///{tmp_path / 'edoc.sqlite3'}"
    provision(url, tmp_path, prefix="sig")
    env = {**os.environ, "EDOC_DATA_DIR": str(tmp_path), "EDOC_DATABASE_URL": url,
           "EDOC_STORAGE_URL": (tmp_path / "objects").as_uri(), "EDOC_WORKER_POLL_SECONDS": "0.05"}

    def ignore_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen([str(EDOC), "worker"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, preexec_fn=ignore_sigint)
    try:
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if psutil.Process(proc.pid).num_threads() >= 2:  # started: its stop-signal thread is waiting
                break
            time.sleep(0.1)
        proc.send_signal(signum)
        assert proc.wait(timeout=15) == 0, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
