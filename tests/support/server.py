"""Run the gateway as a real process (``edoc serve``) for end-to-end tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
EDOC = Path(sys.executable).parent / "edoc"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base: str, *, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60) -> bool:
    """Poll ``{base}/readyz`` until it answers 200 (True) or ``timeout`` passes (False).

    Raises RuntimeError at once if ``proc`` exits meanwhile, so a crashed server fails fast with its status.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"gateway exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


class GatewayProcess:
    """``edoc serve`` in a subprocess with its own settings (EDOC_* variables)."""

    def __init__(self, data_dir: Path, *, database_url: str, port: int | None = None, **settings: str) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "EDOC_DATA_DIR": str(data_dir),
            "EDOC_DATABASE_URL": database_url,
            "EDOC_STORAGE_URL": (data_dir / "objects").as_uri(),
            **{f"EDOC_{k.upper()}": v for k, v in settings.items()},
        }
        self.log = data_dir / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *extra: str, timeout: float = 60) -> GatewayProcess:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(EDOC), "serve", "--port", str(self.port), *extra],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        try:
            if wait_ready(self.base, proc=self.proc, timeout=timeout):
                return self
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}: {self.log.read_text()[-3000:]}") from exc
        self.stop()
        raise RuntimeError(f"gateway did not become ready: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flush; what was committed must be all that survives."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid
